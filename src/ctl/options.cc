// Usage texts are built from each command's synopsis and description, so the
// list (webhookctl --help) and COMMAND --help never disagree.
#include "ctl/options.h"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <iterator>

#include "ctl/owner.h"
#include "store/config_file.h"

namespace webhookd::ctl {
namespace {

bool is_one_of(const std::string& a, const std::vector<std::string>& names) {
  return std::find(names.begin(), names.end(), a) != names.end();
}

// Each line of text after the first prefixed with `rest`, the first with `first`.
std::string indent(const std::string& text, const std::string& first, const std::string& rest) {
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    const size_t end = nl == std::string::npos ? text.size() : nl;
    out += (pos == 0 ? first : rest) + text.substr(pos, end - pos) + "\n";
    pos = end + 1;
  }
  return out;
}

}  // namespace

const std::string& Args::value(const std::string& name) const {
  static const std::string kNone;
  auto it = values.find(name);
  return it == values.end() ? kNone : it->second;
}

const std::vector<std::string>& Args::list(const std::string& name) const {
  static const std::vector<std::string> kNone;
  auto it = lists.find(name);
  return it == lists.end() ? kNone : it->second;
}

std::optional<Args> parse_options(const Command& command, const Argv& argv, const OptionSpec& spec,
                                  int* exit_status) {
  // --help anywhere wins, as it always has: a person who asks for help
  // gets it, whatever else is on the line.
  for (const auto& a : argv) {
    if (a == "--help" || a == "-h") {
      std::fputs(command_usage(command).c_str(), stdout);
      *exit_status = 0;
      return std::nullopt;
    }
  }
  Args out;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    const bool takes_value = is_one_of(a, spec.with_value) || is_one_of(a, spec.repeated);
    if (takes_value) {
      if (i + 1 >= argv.size()) {
        *exit_status = usage_error(command, a + " needs a value");
        return std::nullopt;
      }
      if (is_one_of(a, spec.repeated)) {
        out.lists[a].push_back(argv[++i]);
      } else {
        out.values[a] = argv[++i];
      }
    } else if (is_one_of(a, spec.bare)) {
      out.flags.insert(a);
    } else if (a.rfind("--", 0) == 0) {
      *exit_status = usage_error(command, "unknown option " + a);
      return std::nullopt;
    } else {
      out.positional.push_back(a);
    }
  }
  return out;
}

OptionSpec with(OptionSpec a, const OptionSpec& b) {
  a.with_value.insert(a.with_value.end(), b.with_value.begin(), b.with_value.end());
  a.bare.insert(a.bare.end(), b.bare.begin(), b.bare.end());
  a.repeated.insert(a.repeated.end(), b.repeated.begin(), b.repeated.end());
  return a;
}

std::string command_usage(const Command& command) {
  return indent(command.synopsis, "usage: webhookctl ", std::string(20, ' ')) + "\n" +
         indent(command.description, "  ", "  ") + "\nExit status: " +
         (command.exit_status ? command.exit_status : "0 success, 1 error, 2 bad usage") + ".\n";
}

std::string command_summary(const Command& command) {
  return indent(command.synopsis, "  ", std::string(8, ' ')) + indent(command.description, "      ", "      ");
}

int usage_error(const Command& command, const std::string& why) {
  std::fprintf(stderr, "webhookctl: %s\n%s", why.c_str(), command_usage(command).c_str());
  return command.exit_status ? 1 : 2;
}

int fail(const std::string& why) {
  std::fprintf(stderr, "webhookctl: %s\n", why.c_str());
  return 1;
}

const OptionSpec kWhereOptions = {{"--state-dir", "--config"}, {"--verbose"}, {}};

Result<Where> locate_state(const Args& args, FileSystem& fs) {
  Where w;
  if (args.has("--config")) {
    auto config = load_config(fs, args.value("--config"));
    if (!config.ok()) return config.error();
    w.state_dir = config.value().state_dir;
    w.config = std::move(config.value());
  }
  if (args.has("--state-dir")) w.state_dir = args.value("--state-dir");
  if (w.state_dir.empty()) return Error::invalid_argument("say where the state is: --state-dir DIR or --config FILE");
  return w;
}

Status enter_state_dir(const Where& where, PosixFileSystem& fs, ActAs act_as, const Args& args) {
  std::string who;
  if (act_as != ActAs::kCaller) {
    auto acting = act_as_owner_of(where.state_dir, act_as == ActAs::kOwnerToWrite);
    if (!acting.ok()) return acting.error();
    who = acting.value();
  } else {
    who = "acting as " + describe_self() + ", who runs it: it writes nothing in " + where.state_dir;
  }
  const std::string links = refuse_links_others_planted(where.state_dir, fs);
  if (!links.empty()) who += "; " + links;
  if (args.flag("--verbose")) std::fprintf(stderr, "webhookctl: %s\n", who.c_str());
  Status usable = fs.check_writable_dir(where.state_dir);
  if (!usable.ok()) return Error::invalid_argument("state dir: " + usable.error().message);
  return ok_status();
}

Result<Where> where_from(const Args& args, PosixFileSystem& fs, ActAs act_as) {
  auto where = locate_state(args, fs);
  if (!where.ok()) return where.error();
  Status entered = enter_state_dir(where.value(), fs, act_as, args);
  if (!entered.ok()) return entered.error();
  return where;
}

Result<std::string> read_secret_from_stdin() {
  std::string secret((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  if (!secret.empty() && secret.back() == '\n') secret.pop_back();
  if (!secret.empty() && secret.back() == '\r') secret.pop_back();
  if (secret.empty()) return Error::invalid_argument("no secret on stdin (pipe it in: webhookctl hash-secret < file)");
  if (secret.find('\n') != std::string::npos) return Error::invalid_argument("the secret on stdin spans several lines");
  return secret;
}

}  // namespace webhookd::ctl
