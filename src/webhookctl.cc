// webhookctl: webhookd's rules from the command line, on the same model and
// store (never a second parser or validator), and the API's own form rules
// and JSON where it must answer as the API would (set, show --json). Never
// the edge: no FastCGI. Exit 0 on success, 1 on error, 2 on bad usage (and
// diff: 2 when the live state differs).
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>

#include <cstdio>
#include <functional>
#include <iostream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "api/form_parser.h"
#include "api/json_render.h"
#include "base/random.h"
#include "base/sha256.h"
#include "base/text.h"
#include "base/version.h"
#include "model/service_plan.h"
#include "model/webhook_event.h"
#include "store/config_file.h"
#include "store/file_system.h"
#include "store/gitops.h"
#include "store/state_store.h"
#include "webhook_sender.h"

namespace webhookd {
namespace {

const char kUsage[] =
    "usage: webhookctl COMMAND [OPTIONS]\n"
    "\n"
    "Where the state is: --state-dir DIR, or --config FILE (its state_dir).\n"
    "\n"
    "  check [--config FILE] [PATH...]\n"
    "      Checks state files (and directories of them) and the config exactly as\n"
    "      webhookd loads them; every problem as file:line:column: message on\n"
    "      stderr. With --config and no PATH, also the config's state_dir.\n"
    "  diff SRC (--state-dir DIR | --config FILE) [--prune] [--json]\n"
    "      What apply would do, service by service and field by field. Exit 0 when\n"
    "      the live state equals SRC, 2 when it differs, 1 on error.\n"
    "  apply SRC (--state-dir DIR | --config FILE) [--prune] [--dry-run] [--force] [--json]\n"
    "      Makes the live state match SRC (a checkout of the GitOps repository):\n"
    "      all of SRC is checked first (one invalid file and nothing is touched),\n"
    "      then each service is created, replaced or (--prune) removed through\n"
    "      webhookd's own lock + temp + fsync + rename. Refuses, naming them,\n"
    "      services changed since the last apply (an API write, a hand edit)\n"
    "      unless --force. --dry-run prints the plan only.\n"
    "  export (--state-dir DIR | --config FILE) DEST\n"
    "      Writes the live state as canonical files into DEST (a git checkout), and\n"
    "      removes DEST's service files that are no longer live.\n"
    "  show SID (--state-dir DIR | --config FILE) [--json]\n"
    "      The service's state file, or with --json the API's answer.\n"
    "  set SID (--state-dir DIR | --config FILE) [--pre-webhook-url U] [--post-webhook-url U]\n"
    "         [--filters a,b] [--method M]\n"
    "      An update with the API's validation, lock and group commit. An empty\n"
    "      value clears a URL; --filters '' sets [].\n"
    "  create-service --account AC... [--sid IS...] (--state-dir DIR | --config FILE)\n"
    "      A new service (a random SID from the kernel's CSPRNG when none is\n"
    "      given); refuses to overwrite one that exists.\n"
    "  hash-secret [--account AC... | --api-key SK... --account AC...] [--generate]\n"
    "      Reads an auth token or API key secret from stdin (never from the command\n"
    "      line) and prints its webhookd.yaml entry with the SHA-256 digest; with no\n"
    "      --account, the digest alone. --generate makes a strong random secret\n"
    "      instead, prints it once on stderr, and the entry on stdout, so that\n"
    "      `>> webhookd.yaml` never stores the secret.\n"
    "  fire SID --event NAME --config FILE [--param Key=Value]... [--timeout S]\n"
    "       [--token-file F] [--anyway] [--json]\n"
    "      Sends the service's configured webhook a signed test event as Twilio\n"
    "      would: a pre-event (onMessageAdd, ...) to pre_webhook_url, a post-event\n"
    "      (onMessageAdded, ...) to post_webhook_url, with the configured method\n"
    "      and the event's documented parameters (each overridable), signed with\n"
    "      X-Twilio-Signature. The account's auth token comes from stdin or\n"
    "      --token-file and must match its digest in the config. Refuses an event\n"
    "      not in the service's filters (unless --anyway) and an unset URL. Exit 0\n"
    "      when the endpoint answers 2xx, 1 otherwise.\n"
    "  --version, --help, COMMAND --help\n"
    "\n"
    "Exit status: 0 success, 1 error, 2 bad usage; diff: 2 when the live state differs.\n";

int usage_error(const std::string& why) {
  std::fprintf(stderr, "webhookctl: %s\n%s", why.c_str(), kUsage);
  return 2;
}

int fail(const std::string& why) {
  std::fprintf(stderr, "webhookctl: %s\n", why.c_str());
  return 1;
}

// "--name value" pairs and bare flags; anything else is a usage error.
struct Args {
  std::map<std::string, std::string> values;
  std::map<std::string, bool> flags;
  std::vector<std::string> positional;
};

bool parse_options(const std::vector<std::string>& argv, const std::vector<std::string>& with_value,
                   const std::vector<std::string>& bare, Args* out, std::string* why) {
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    auto is = [&](const std::vector<std::string>& names) {
      for (const auto& n : names) {
        if (n == a) return true;
      }
      return false;
    };
    if (is(with_value)) {
      if (i + 1 >= argv.size()) {
        *why = a + " needs a value";
        return false;
      }
      out->values[a] = argv[++i];
    } else if (is(bare)) {
      out->flags[a] = true;
    } else if (a.rfind("--", 0) == 0) {
      *why = "unknown option " + a;
      return false;
    } else {
      out->positional.push_back(a);
    }
  }
  return true;
}

bool wants_help(const std::vector<std::string>& argv);
int help();

// The secret as a person pipes it in: one line, its line end dropped.
Result<std::string> read_secret_from_stdin() {
  std::string secret((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  if (!secret.empty() && secret.back() == '\n') secret.pop_back();
  if (!secret.empty() && secret.back() == '\r') secret.pop_back();
  if (secret.empty()) return Error::invalid_argument("no secret on stdin (pipe it in: webhookctl hash-secret < file)");
  if (secret.find('\n') != std::string::npos) return Error::invalid_argument("the secret on stdin spans several lines");
  return secret;
}

int hash_secret(const std::vector<std::string>& argv) {
  if (wants_help(argv)) return help();
  Args args;
  std::string why;
  if (!parse_options(argv, {"--account", "--api-key"}, {"--generate"}, &args, &why)) return usage_error(why);
  if (!args.positional.empty()) return usage_error("hash-secret takes no secret on the command line; pipe it to stdin");
  const std::string account = args.values.count("--account") ? args.values["--account"] : "";
  const std::string key = args.values.count("--api-key") ? args.values["--api-key"] : "";
  if (!account.empty() && !is_account_sid(account)) return usage_error("--account must be AC followed by 32 hex digits");
  if (!key.empty() && !is_api_key_sid(key)) return usage_error("--api-key must be SK followed by 32 hex digits");
  if (!key.empty() && account.empty()) return usage_error("--api-key needs --account, the account the key acts for");

  std::string secret;
  if (args.flags["--generate"]) {
    auto bytes = random_bytes(16);  // 32 hex digits, the shape of a Twilio auth token
    if (!bytes.ok()) return fail(bytes.error().message);
    secret = to_hex(bytes.value());
    std::fprintf(stderr, "secret (shown once, store it now): %s\n", secret.c_str());
  } else {
    auto read = read_secret_from_stdin();
    if (!read.ok()) return fail(read.error().message);
    secret = std::move(read.value());
  }
  const std::string digest = sha256_hex(secret);
  if (!key.empty()) {
    std::printf("  # under api_keys:\n  - sid: %s\n    account_sid: %s\n    secret_sha256: %s\n", key.c_str(),
                account.c_str(), digest.c_str());
  } else if (!account.empty()) {
    std::printf("  - sid: %s\n    auth_token_sha256: %s\n", account.c_str(), digest.c_str());
  } else {
    std::printf("%s\n", digest.c_str());
  }
  return 0;
}

// --state-dir, or the state_dir of --config (which is loaded as webhookd loads it).
struct Where {
  std::string state_dir;
  std::optional<Config> config;
};

Result<Where> where_from(const Args& args, FileSystem& fs) {
  Where w;
  auto config_path = args.values.find("--config");
  if (config_path != args.values.end()) {
    auto config = load_config(fs, config_path->second);
    if (!config.ok()) return config.error();
    w.state_dir = config.value().state_dir;
    w.config = std::move(config.value());
  }
  auto dir = args.values.find("--state-dir");
  if (dir != args.values.end()) w.state_dir = dir->second;
  if (w.state_dir.empty()) return Error::invalid_argument("say where the state is: --state-dir DIR or --config FILE");
  Status usable = fs.check_writable_dir(w.state_dir);
  if (!usable.ok()) return Error::invalid_argument("state dir: " + usable.error().message);
  return w;
}

const std::vector<std::string> kWhereOptions = {"--state-dir", "--config"};

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

bool wants_help(const std::vector<std::string>& argv) {
  for (const auto& a : argv) {
    if (a == "--help" || a == "-h") return true;
  }
  return false;
}

int help() {
  std::fputs(kUsage, stdout);
  return 0;
}

// ---- check

int check(const std::vector<std::string>& argv) {
  if (wants_help(argv)) return help();
  Args args;
  std::string why;
  if (!parse_options(argv, {"--config"}, {}, &args, &why)) return usage_error(why);
  PosixFileSystem fs;
  std::vector<std::string> problems;
  std::vector<std::string> paths = args.positional;
  int files = 0;
  if (args.values.count("--config")) {
    ++files;
    auto config = load_config(fs, args.values["--config"]);
    if (!config.ok()) {
      problems.push_back(config.error().message);
    } else if (paths.empty()) {
      paths.push_back(config.value().state_dir);
    }
  }
  if (paths.empty() && !args.values.count("--config")) return usage_error("check what? name files, directories or --config");
  for (const std::string& path : paths) {
    // A directory is what can be listed (read-only is fine: a CI checkout
    // may be); anything else is checked as one file.
    auto source = read_source_dir(fs, path);
    if (source.ok()) {
      files += static_cast<int>(source.value().services.size() + source.value().problems.size());
      problems.insert(problems.end(), source.value().problems.begin(), source.value().problems.end());
    } else if (source.error().os_errno != ENOTDIR) {
      problems.push_back(path + ": " + source.error().message);
    } else {
      ++files;
      std::vector<std::string> found = check_state_file(fs, path, /*check_name=*/true);
      problems.insert(problems.end(), found.begin(), found.end());
    }
  }
  for (const auto& p : problems) std::fprintf(stderr, "%s\n", p.c_str());
  if (!problems.empty()) {
    std::fprintf(stderr, "webhookctl check: %zu problem(s)\n", problems.size());
    return 1;
  }
  std::printf("webhookctl check: ok (%d file(s))\n", files);
  return 0;
}

// ---- plans: diff, apply

std::string plan_json(const Plan& plan) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("services");
  w.StartArray();
  for (const ServicePlan& s : plan.services) {
    if (s.action == PlanAction::kUnchanged) continue;
    w.StartObject();
    w.Key("sid");
    w.String(s.sid.c_str());
    w.Key("action");
    w.String(plan_action_name(s.action));
    w.Key("drifted");
    w.Bool(s.drifted);
    if (s.drifted) {
      w.Key("drift_reason");
      w.String(s.drift_reason.c_str());
    }
    w.Key("changes");
    w.StartArray();
    for (const FieldChange& c : s.changes) {
      w.StartObject();
      w.Key("field");
      w.String(c.field.c_str());
      w.Key("before");
      w.String(c.before.c_str());
      w.Key("after");
      w.String(c.after.c_str());
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  for (auto [key, n] : {std::pair<const char*, int>{"create", plan.creates}, {"update", plan.updates},
                        {"remove", plan.removes}, {"unchanged", plan.unchanged}, {"drifted", plan.drifted}}) {
    w.Key(key);
    w.Int(n);
  }
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

void print_plan(const Plan& plan) {
  for (const ServicePlan& s : plan.services) {
    if (s.action == PlanAction::kUnchanged) continue;
    const char mark = s.action == PlanAction::kCreate ? '+' : s.action == PlanAction::kRemove ? '-' : '~';
    std::printf("%c %s  %s%s\n", mark, s.sid.c_str(), plan_action_name(s.action), s.drifted ? "  (DRIFTED)" : "");
    if (s.drifted) std::printf("    ! %s\n", s.drift_reason.c_str());
    for (const FieldChange& c : s.changes) {
      if (s.action == PlanAction::kCreate) {
        std::printf("    %s: %s\n", c.field.c_str(), c.after.c_str());
      } else if (s.action == PlanAction::kRemove) {
        std::printf("    %s: %s\n", c.field.c_str(), c.before.c_str());
      } else {
        std::printf("    %s: %s -> %s\n", c.field.c_str(), c.before.c_str(), c.after.c_str());
      }
    }
  }
  std::printf("Plan: %d to create, %d to update, %d to remove, %d unchanged", plan.creates, plan.updates, plan.removes,
              plan.unchanged);
  if (plan.drifted) std::printf("; %d changed since the last apply", plan.drifted);
  std::printf(".\n");
}

// The plan for SRC against the live state; problems of SRC are printed and fail it.
struct Planned {
  Plan plan;
  std::unique_ptr<StateStore> store;
};

Result<Planned> plan_for(const std::string& src, const Where& where, bool prune, FileSystem& fs) {
  auto source = read_source_dir(fs, src);
  if (!source.ok()) return Error::invalid_argument(src + ": " + source.error().message);
  if (!source.value().problems.empty()) {
    for (const auto& p : source.value().problems) std::fprintf(stderr, "%s\n", p.c_str());
    return Error::invalid_argument(src + " has " + std::to_string(source.value().problems.size()) +
                                   " problem(s): nothing was changed");
  }
  Planned out;
  out.store = std::make_unique<StateStore>(fs, where.state_dir);
  auto live = read_live(*out.store);
  if (!live.ok()) return live.error();
  auto applied = read_apply_record(fs, where.state_dir);
  if (!applied.ok()) return applied.error();
  out.plan = make_plan(source.value().services, live.value(), applied.value(), prune);
  return out;
}

int diff(const std::vector<std::string>& argv) {
  if (wants_help(argv)) return help();
  Args args;
  std::string why;
  if (!parse_options(argv, kWhereOptions, {"--prune", "--json"}, &args, &why)) return usage_error(why);
  if (args.positional.size() != 1) return usage_error("diff takes one SRC directory");
  PosixFileSystem fs;
  auto where = where_from(args, fs);
  if (!where.ok()) return fail(where.error().message);
  auto planned = plan_for(args.positional[0], where.value(), args.flags["--prune"], fs);
  if (!planned.ok()) return fail(planned.error().message);
  const Plan& plan = planned.value().plan;
  if (args.flags["--json"]) {
    std::printf("%s\n", plan_json(plan).c_str());
  } else {
    print_plan(plan);
  }
  return plan.changes_anything() ? 2 : 0;
}

int apply(const std::vector<std::string>& argv) {
  if (wants_help(argv)) return help();
  Args args;
  std::string why;
  if (!parse_options(argv, kWhereOptions, {"--prune", "--dry-run", "--force", "--json"}, &args, &why)) {
    return usage_error(why);
  }
  if (args.positional.size() != 1) return usage_error("apply takes one SRC directory");
  PosixFileSystem fs;
  auto where = where_from(args, fs);
  if (!where.ok()) return fail(where.error().message);
  auto planned = plan_for(args.positional[0], where.value(), args.flags["--prune"], fs);
  if (!planned.ok()) return fail(planned.error().message);
  const Plan& plan = planned.value().plan;
  const bool json = args.flags["--json"];
  if (json) {
    std::printf("%s\n", plan_json(plan).c_str());
  } else {
    print_plan(plan);
  }
  if (args.flags["--dry-run"]) return 0;
  int failed = 0;
  auto steps = apply_plan(*planned.value().store, fs, plan, args.flags["--force"], [&](const ApplyStep& step) {
    if (!step.status.ok()) {
      ++failed;
      std::fprintf(stderr, "webhookctl: %s not %sd: %s\n", step.sid.c_str(), plan_action_name(step.action),
                   step.status.error().message.c_str());
    } else if (!json) {
      std::printf("%sd %s\n", plan_action_name(step.action), step.sid.c_str());
    }
  });
  if (!steps.ok()) return fail(steps.error().message);
  if (!json) std::printf("Applied: %zu service(s) changed, %d failed.\n", steps.value().size() - failed, failed);
  return failed ? 1 : 0;
}

int export_state(const std::vector<std::string>& argv) {
  if (wants_help(argv)) return help();
  Args args;
  std::string why;
  if (!parse_options(argv, kWhereOptions, {}, &args, &why)) return usage_error(why);
  if (args.positional.size() != 1) return usage_error("export takes one DEST directory");
  PosixFileSystem fs;
  auto where = where_from(args, fs);
  if (!where.ok()) return fail(where.error().message);
  StateStore store(fs, where.value().state_dir);
  auto exported = export_live(store, fs, args.positional[0]);
  if (!exported.ok()) return fail(exported.error().message);
  for (const auto& sid : exported.value().written) std::printf("wrote %s.yaml\n", sid.c_str());
  for (const auto& sid : exported.value().removed) std::printf("removed %s.yaml\n", sid.c_str());
  std::printf("Exported: %zu written, %zu removed, %d unchanged.\n", exported.value().written.size(),
              exported.value().removed.size(), exported.value().unchanged);
  return 0;
}

// ---- one service: show, set, create-service

std::string resource_url(const Where& where, const std::string& sid) {
  std::string base = where.config ? where.config->public_base_url : "";
  return base + "/v1/Services/" + sid + "/Configuration/Webhooks";
}

// A service's state as `show` and `set` print it: its SID and ETag, then the
// canonical state file.
void print_state(const std::string& sid, const ServiceState& state) {
  std::printf("# %s  ETag %s\n%s", sid.c_str(), state.etag.c_str(), emit_state_file(state.config).c_str());
}

// A store failure for one service, in the words a person expects.
int fail_for(const std::string& sid, const Error& error) {
  return fail(error.is_not_found() ? "no service " + sid : error.message);
}

int show(const std::vector<std::string>& argv) {
  if (wants_help(argv)) return help();
  Args args;
  std::string why;
  if (!parse_options(argv, kWhereOptions, {"--json"}, &args, &why)) return usage_error(why);
  if (args.positional.size() != 1) return usage_error("show takes one SID");
  PosixFileSystem fs;
  auto where = where_from(args, fs);
  if (!where.ok()) return fail(where.error().message);
  StateStore store(fs, where.value().state_dir);
  const std::string& sid = args.positional[0];
  auto state = store.load(sid);
  if (!state.ok()) return fail_for(sid, state.error());
  if (args.flags["--json"]) {
    auto body = render_config(state.value()->config, sid, resource_url(where.value(), sid));
    if (!body.ok()) return fail(body.error().detail);
    std::printf("%s\n", body.value().c_str());
  } else {
    print_state(sid, *state.value());
  }
  return 0;
}

int set(const std::vector<std::string>& argv) {
  if (wants_help(argv)) return help();
  Args args;
  std::string why;
  const std::vector<std::string> fields = {"--pre-webhook-url", "--post-webhook-url", "--filters", "--method"};
  if (!parse_options(argv, with(kWhereOptions, fields), {}, &args, &why)) return usage_error(why);
  if (args.positional.size() != 1) return usage_error("set takes one SID");
  // The options become the form a POST would send, checked by the API's own rules.
  FormParams form;
  if (args.values.count("--pre-webhook-url")) form.emplace_back("PreWebhookUrl", args.values["--pre-webhook-url"]);
  if (args.values.count("--post-webhook-url")) form.emplace_back("PostWebhookUrl", args.values["--post-webhook-url"]);
  if (args.values.count("--method")) form.emplace_back("Method", args.values["--method"]);
  if (args.values.count("--filters")) {
    const std::string& list = args.values["--filters"];
    if (list.empty()) form.emplace_back("Filters", "");
    for (size_t pos = 0; pos < list.size();) {
      size_t comma = list.find(',', pos);
      std::string item = list.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
      while (!item.empty() && item.front() == ' ') item.erase(0, 1);
      while (!item.empty() && item.back() == ' ') item.pop_back();
      form.emplace_back("Filters", item);
      pos = comma == std::string::npos ? list.size() : comma + 1;
    }
  }
  if (form.empty()) return usage_error("set what? give at least one of " + fields[0] + ", " + fields[1] + ", " + fields[2] + ", " + fields[3]);
  auto update = parse_update(form);
  if (!update.ok()) {
    const ApiErrorSpec& spec = api_error_spec(update.error().kind);
    return fail(api_error_message(update.error()) + " (Twilio code " + std::to_string(spec.code) + ")");
  }
  PosixFileSystem fs;
  auto where = where_from(args, fs);
  if (!where.ok()) return fail(where.error().message);
  StateStore store(fs, where.value().state_dir);
  const std::string& sid = args.positional[0];
  const WebhookUpdate changes = update.value();
  auto result = store.update(sid, [&](const ServiceState& current) -> Result<WebhookConfig> {
    return apply(current.config, changes);
  });
  if (!result.ok()) return fail_for(sid, result.error());
  print_state(sid, *result.value());
  return 0;
}

int create_service(const std::vector<std::string>& argv) {
  if (wants_help(argv)) return help();
  Args args;
  std::string why;
  if (!parse_options(argv, with(kWhereOptions, {"--account", "--sid"}), {}, &args, &why)) return usage_error(why);
  if (!args.positional.empty()) return usage_error("create-service takes options only");
  const bool sid_given = args.values.count("--sid") > 0;
  const std::string account = args.values.count("--account") ? args.values.at("--account") : "";
  if (!is_account_sid(account)) return usage_error("--account must be AC followed by 32 hex digits");
  std::string sid = sid_given ? args.values.at("--sid") : "";
  if (!sid_given) {
    auto bytes = random_bytes(16);
    if (!bytes.ok()) return fail(bytes.error().message);
    sid = "IS" + to_hex(bytes.value());
  } else if (!is_service_sid(sid)) {
    return usage_error("--sid must be IS followed by 32 hex digits");
  }
  PosixFileSystem fs;
  auto where = where_from(args, fs);
  if (!where.ok()) return fail(where.error().message);
  if (where.value().config && !where.value().config->credentials.account_token_digest.count(account)) {
    return fail("account " + account + " is not in " + where.value().config->source +
                ": webhookd would answer 404 to everyone for this service");
  }
  StateStore store(fs, where.value().state_dir);
  WebhookConfig config;
  config.account_sid = account;
  auto created = store.create(sid, config);
  if (!created.ok()) {
    return fail(created.error().code == ErrorCode::kConflict ? sid + " exists already; nothing was changed"
                                                             : created.error().message);
  }
  std::printf("%s\n", sid.c_str());
  return 0;
}

// ---- fire

int fire(const std::vector<std::string>& argv_in) {
  if (wants_help(argv_in)) return help();
  // --param may be repeated: taken out before the other options.
  EventParams overrides;
  std::vector<std::string> argv;
  for (size_t i = 0; i < argv_in.size(); ++i) {
    if (argv_in[i] != "--param") {
      argv.push_back(argv_in[i]);
      continue;
    }
    if (i + 1 >= argv_in.size()) return usage_error("--param needs Key=Value");
    const std::string& kv = argv_in[++i];
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) return usage_error("--param needs Key=Value, not '" + kv + "'");
    overrides.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  Args args;
  std::string why;
  if (!parse_options(argv, with(kWhereOptions, {"--event", "--timeout", "--token-file"}), {"--json", "--anyway"},
                     &args, &why)) {
    return usage_error(why);
  }
  if (args.positional.size() != 1) return usage_error("fire takes one SID");
  if (!args.values.count("--event")) return usage_error("fire needs --event NAME (one of the 20 filter names)");
  if (!args.values.count("--config")) {
    return usage_error("fire needs --config: the auth token is checked against the account's digest there");
  }
  const std::string sid = args.positional[0];
  const std::string event = args.values.at("--event");
  if (!is_filter_name(event)) return usage_error("--event '" + event + "' is not one of the 20 event names");
  double timeout_s = 5.0;  // Twilio's own limit for Conversations webhooks
  if (args.values.count("--timeout")) {
    char* end = nullptr;
    timeout_s = std::strtod(args.values.at("--timeout").c_str(), &end);
    if (!end || *end || timeout_s <= 0 || timeout_s > 600) return usage_error("--timeout takes seconds, up to 600");
  }
  PosixFileSystem fs;
  auto where = where_from(args, fs);
  if (!where.ok()) return fail(where.error().message);
  const Config& config = *where.value().config;
  StateStore store(fs, where.value().state_dir);
  auto state = store.load(sid);
  if (!state.ok()) return fail_for(sid, state.error());
  const WebhookConfig& webhooks = state.value()->config;

  // What Twilio would do with this event for this service.
  const bool pre = is_pre_event(event);
  const std::optional<std::string>& target = pre ? webhooks.pre_webhook_url : webhooks.post_webhook_url;
  if (!target) {
    return fail(std::string(pre ? "pre" : "post") + "_webhook_url of " + sid + " is not set: " + event + " (a " +
                (pre ? "pre" : "post") + "-event) would go nowhere");
  }
  const bool in_filters = webhooks.filters &&
                          std::find(webhooks.filters->begin(), webhooks.filters->end(), event) != webhooks.filters->end();
  if (!in_filters && !args.flags["--anyway"]) {
    return fail(event + " is not in the filters of " + sid + ": Twilio would not send it (--anyway sends it all the same)");
  }
  const std::string method = webhooks.method.value_or("POST");  // Twilio's default

  // The auth token: never on the command line, checked before anything is sent.
  std::string token;
  if (args.values.count("--token-file")) {
    auto bytes = fs.read_file(args.values.at("--token-file"));
    if (!bytes.ok()) return fail("--token-file: " + bytes.error().message);
    token = bytes.value();
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  } else {
    auto read = read_secret_from_stdin();
    if (!read.ok()) return fail("the auth token of " + webhooks.account_sid + ": " + read.error().message);
    token = std::move(read.value());
  }
  auto digest = config.credentials.account_token_digest.find(webhooks.account_sid);
  if (digest == config.credentials.account_token_digest.end()) {
    return fail("account " + webhooks.account_sid + " of " + sid + " is not in " + config.source);
  }
  if (sha256_raw(token) != digest->second) {
    return fail("that auth token does not match account " + webhooks.account_sid + "'s digest in " + config.source +
                ": nothing was sent");
  }

  auto params = sample_event(event, webhooks.account_sid, sid, overrides);
  if (!params.ok()) return fail(params.error().message);
  OutgoingRequest request;
  request.method = method;
  SignedEvent signed_event = sign_event(method, *target, token, params.value());
  const std::string signature = signed_event.signature;
  request.url = std::move(signed_event.url);
  request.body = std::move(signed_event.body);
  if (method != "GET") request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  auto idempotency = random_bytes(16);
  request.headers.emplace_back("X-Twilio-Signature", signature);
  if (idempotency.ok()) request.headers.emplace_back("I-Twilio-Idempotency-Token", to_hex(idempotency.value()));

  auto reply = send_request(request, std::chrono::milliseconds(static_cast<long long>(timeout_s * 1000)));
  const bool ok = reply.ok() && reply.value().status >= 200 && reply.value().status < 300;
  std::string verdict;
  if (pre) {
    verdict = ok ? "Twilio would let the action go ahead (a JSON body in the answer may modify it)"
                 : "Twilio would reject the action";
  } else {
    verdict = ok ? "Twilio would count the event delivered" : "Twilio would count the event failed";
  }
  if (args.flags["--json"]) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("event");
    w.String(event.c_str());
    w.Key("method");
    w.String(method.c_str());
    w.Key("url");
    w.String(request.url.c_str());
    w.Key("signature");
    w.String(signature.c_str());
    w.Key("params");
    w.StartObject();
    for (const auto& [k, v] : params.value()) {
      w.Key(k.c_str());
      w.String(v.c_str());
    }
    w.EndObject();
    if (reply.ok()) {
      w.Key("status");
      w.Int64(reply.value().status);
      w.Key("seconds");
      w.Double(reply.value().seconds);
      w.Key("body");
      w.String(sanitize_utf8(reply.value().body).c_str());
    } else {
      w.Key("error");
      w.String(reply.error().message.c_str());
    }
    w.Key("ok");
    w.Bool(ok);
    w.Key("verdict");
    w.String(verdict.c_str());
    w.EndObject();
    std::printf("%s\n", buf.GetString());
    return ok ? 0 : 1;
  }
  std::printf("%s %s  (%s, a %s-event%s)\n", method.c_str(), request.url.c_str(), event.c_str(), pre ? "pre" : "post",
              in_filters ? "" : ", not in the filters: --anyway");
  std::printf("X-Twilio-Signature: %s\n", signature.c_str());
  for (const auto& [k, v] : params.value()) std::printf("  %s=%s\n", k.c_str(), v.c_str());
  if (!reply.ok()) {
    std::fprintf(stderr, "webhookctl: no answer from %s: %s\n", target->c_str(), reply.error().message.c_str());
    std::printf("-> %s\n", verdict.c_str());
    return 1;
  }
  std::string head = sanitize_utf8(reply.value().body.substr(0, 500));
  std::printf("<- %ld in %.0f ms%s%s\n", reply.value().status, reply.value().seconds * 1000, head.empty() ? "" : ": ",
              head.c_str());
  std::printf("-> %s\n", verdict.c_str());
  return ok ? 0 : 1;
}

int run(int argc, char** argv) {
  if (argc < 2) return usage_error("no command");
  const std::string command = argv[1];
  const std::vector<std::string> rest(argv + 2, argv + argc);
  if (command == "--version") {
    std::printf("webhookctl %s\n", kVersion);
    return 0;
  }
  if (command == "--help" || command == "-h" || command == "help") return help();
  const std::map<std::string, std::function<int(const std::vector<std::string>&)>> commands = {
      {"check", check},   {"diff", diff}, {"apply", apply}, {"export", export_state}, {"show", show},
      {"set", set},       {"create-service", create_service}, {"hash-secret", hash_secret}, {"fire", fire},
  };
  auto it = commands.find(command);
  if (it == commands.end()) return usage_error("unknown command '" + command + "'");
  return it->second(rest);
}

}  // namespace
}  // namespace webhookd

int main(int argc, char** argv) { return webhookd::run(argc, argv); }
