// webhookctl set: an update as a POST makes it, to a service's webhooks or
// (--account) to an account's global webhooks. The options become the form
// the API would receive and go through the API's own parser and rules, then
// the store's update (lock, group commit, never over an invalid file; an
// account's first change creates its file).
#include <cstdio>

#include "api/api_error.h"
#include "api/form_parser.h"
#include "base/text.h"
#include "ctl/commands.h"
#include "ctl/options.h"
#include "ctl/service_text.h"
#include "store/state_store.h"

namespace webhookd::ctl {
namespace {

int run(const Command& self, const Argv& argv) {
  int status = 0;
  const std::vector<std::string> fields = {"--pre-webhook-url", "--post-webhook-url", "--filters", "--method",
                                           "--target"};
  std::vector<std::string> valued = fields;
  valued.push_back("--account");
  auto parsed = parse_options(self, argv, with(kWhereOptions, {valued, {}, {}}), &status);
  if (!parsed) return status;
  const Args& args = *parsed;
  const bool account = args.has("--account");
  if (account) {
    if (!args.positional.empty()) return usage_error(self, "set takes a SID or --account AC..., not both");
    if (!is_account_sid(args.value("--account"))) {
      return usage_error(self, "--account must be AC followed by 32 hex digits");
    }
    // Only the config says which accounts webhookd serves; a file of another
    // would never be read, and the next export would carry it into git.
    if (!args.has("--config")) {
      return usage_error(self, "set --account needs --config: only the accounts it lists can have a file");
    }
  } else {
    if (args.positional.size() != 1) return usage_error(self, "set takes one SID");
    // An AC… here would be written with a service's rules and no look at the config.
    const std::string& sid = args.positional[0];
    if (!is_service_sid(sid)) {
      return usage_error(self, "SID must be IS followed by 32 hex digits (an account's global webhooks: set --account " +
                                   (is_account_sid(sid) ? sid : std::string("AC...")) + ")");
    }
    if (args.has("--target")) return usage_error(self, "--target is an account's setting: set --account AC... --target");
  }
  FormParams form;
  if (args.has("--pre-webhook-url")) form.emplace_back("PreWebhookUrl", args.value("--pre-webhook-url"));
  if (args.has("--post-webhook-url")) form.emplace_back("PostWebhookUrl", args.value("--post-webhook-url"));
  if (args.has("--method")) form.emplace_back("Method", args.value("--method"));
  if (args.has("--filters")) {
    // "a, b" as a person types it; '' is the API's single empty Filters= (an empty list).
    const std::string& list = args.value("--filters");
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
  if (args.has("--target")) form.emplace_back("Target", args.value("--target"));
  if (form.empty()) {
    return usage_error(self, "set what? give at least one of " + fields[0] + ", " + fields[1] + ", " + fields[2] +
                                 ", " + fields[3] + (account ? ", " + fields[4] : ""));
  }
  auto update = parse_update(form, account ? Scope::kAccount : Scope::kService);
  if (!update.ok()) {
    const ApiErrorSpec& spec = api_error_spec(update.error().kind);
    return fail(api_error_message(update.error()) + " (Twilio code " + std::to_string(spec.code) + ")");
  }
  PosixFileSystem fs;
  auto where = where_from(args, fs, ActAs::kOwnerToWrite);
  if (!where.ok()) return fail(where.error().message);
  const std::string sid = account ? args.value("--account") : args.positional[0];
  if (account) {
    // Only accounts of the config can have a file: webhookd would never read another.
    Status known = check_account_in_config(where.value(), sid);
    if (!known.ok()) return fail(known.error().message);
  }
  StateStore store(fs, where.value().state_dir);
  const WebhookUpdate changes = update.value();
  auto result = store.update(sid, [&](const ServiceState& current) -> Result<WebhookConfig> {
    return apply(current.config, changes);
  });
  if (!result.ok()) return fail_for(sid, result.error());
  print_state(sid, *result.value());
  return 0;
}

}  // namespace

const Command kSet = {
    "set",
    "set SID (--state-dir DIR | --config FILE) [--pre-webhook-url U] [--post-webhook-url U]\n"
    "[--filters a,b] [--method M] [--verbose]\n"
    "set --account AC... --config FILE [--state-dir DIR] [--target webhook|flex]\n"
    "[--pre-webhook-url U] [--post-webhook-url U] [--filters a,b] [--method M] [--verbose]",
    "An update with the API's validation, lock and group commit. An empty\n"
    "value clears a URL; --filters '' sets []. --account: the account's global\n"
    "webhooks (the 23 filter names, --target), as POST /v1/Configuration/Webhooks\n"
    "makes it; only with --config, and refused for an account it does not list\n"
    "(webhookd would never read its file).",
    run,
};

}  // namespace webhookd::ctl
