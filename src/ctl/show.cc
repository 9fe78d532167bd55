// webhookctl show: a service's state file, or with --json exactly what the
// API answers for it (the API's own renderer); --effective, which hooks
// actually fire for it and from which level (the model's one rule);
// --account, an account's global webhooks, as the API has them (its
// defaults while it has no file).
#include <cstdio>

#include "api/json_render.h"
#include "base/text.h"
#include "ctl/commands.h"
#include "ctl/options.h"
#include "ctl/service_text.h"
#include "model/effective_hooks.h"
#include "store/state_store.h"

namespace webhookd::ctl {
namespace {

// The resource's url as webhookd builds it; with no public_base_url in the
// config there is no request to take a host from, so it is a path.
std::string resource_url(const Where& where, const std::string& path) {
  std::string base = where.config ? where.config->public_base_url : "";
  return base + path;
}

int show_account(const Args& args, const std::string& account) {
  PosixFileSystem fs;
  auto where = where_from(args, fs, ActAs::kOwnerToRead);
  if (!where.ok()) return fail(where.error().message);
  Status known = check_account_in_config(where.value(), account);
  if (!known.ok()) return fail(known.error().message);
  StateStore store(fs, where.value().state_dir);
  auto state = store.load(account);  // no file: the defaults, as the API answers
  if (!state.ok()) return fail(state.error().message);
  if (args.flag("--json")) {
    auto body = render_config(state.value()->config, account, resource_url(where.value(), "/v1/Configuration/Webhooks"));
    if (!body.ok()) return fail(body.error().detail);
    std::printf("%s\n", body.value().c_str());
  } else {
    print_state(account, *state.value());
  }
  return 0;
}

int show_effective(const Args& args, StateStore& store, const std::string& sid, const ServiceState& service) {
  auto account = store.load(service.config.account_sid);
  if (!account.ok()) return fail(account.error().message);
  const EffectiveHooks hooks = effective_hooks(service.config, account.value()->config);
  if (args.flag("--json")) {
    std::printf("%s\n", effective_json(hooks).c_str());
  } else {
    print_effective(sid, service.config.account_sid, hooks);
  }
  return 0;
}

int run(const Command& self, const Argv& argv) {
  int status = 0;
  auto parsed = parse_options(self, argv, with(kWhereOptions, {{"--account"}, {"--json", "--effective"}, {}}), &status);
  if (!parsed) return status;
  const Args& args = *parsed;
  if (args.has("--account")) {
    if (!args.positional.empty()) return usage_error(self, "show takes a SID or --account AC..., not both");
    if (args.flag("--effective")) return usage_error(self, "--effective is a service's: show SID --effective");
    if (!is_account_sid(args.value("--account"))) {
      return usage_error(self, "--account must be AC followed by 32 hex digits");
    }
    return show_account(args, args.value("--account"));
  }
  if (args.positional.size() != 1) return usage_error(self, "show takes one SID (or --account AC...)");
  PosixFileSystem fs;
  auto where = where_from(args, fs, ActAs::kOwnerToRead);
  if (!where.ok()) return fail(where.error().message);
  StateStore store(fs, where.value().state_dir);
  const std::string& sid = args.positional[0];
  if (!is_service_sid(sid)) return usage_error(self, "SID must be IS followed by 32 hex digits (an account: --account)");
  auto state = store.load(sid);
  if (!state.ok()) return fail_for(sid, state.error());
  if (args.flag("--effective")) return show_effective(args, store, sid, *state.value());
  if (args.flag("--json")) {
    auto body = render_config(state.value()->config, sid,
                              resource_url(where.value(), "/v1/Services/" + sid + "/Configuration/Webhooks"));
    if (!body.ok()) return fail(body.error().detail);
    std::printf("%s\n", body.value().c_str());
  } else {
    print_state(sid, *state.value());
  }
  return 0;
}

}  // namespace

const Command kShow = {
    "show",
    "show SID (--state-dir DIR | --config FILE) [--json] [--effective] [--verbose]\n"
    "show --account AC... (--state-dir DIR | --config FILE) [--json] [--verbose]",
    "The service's state file, or with --json the API's answer. --effective:\n"
    "which webhooks actually fire for the service and from where (its own\n"
    "when it sets a URL, else its account's global webhooks; none, or Flex);\n"
    "--json then prints {\"source\",\"target\",\"pre_webhook_url\",\n"
    "\"post_webhook_url\",\"method\",\"filters\"}. --account: the account's global\n"
    "webhooks (its defaults while it never set them), --json as the API's\n"
    "/v1/Configuration/Webhooks answers; refused for an account --config\n"
    "does not list.",
    run,
};

}  // namespace webhookd::ctl
