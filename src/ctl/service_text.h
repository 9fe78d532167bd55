// One service or account as show, set and fire speak of it: its state
// printed, its effective webhooks (text and JSON), a store failure in the
// words a person expects, and the check that webhookd knows an account.
#pragma once

#include <string>

#include "base/result.h"
#include "ctl/options.h"
#include "model/effective_hooks.h"
#include "model/state_file.h"

namespace webhookd::ctl {

// "# IS…  ETag "…"" (or "# AC…  ETag "…"") and then the canonical state
// file, on stdout; an account that never set its global webhooks prints its
// defaults, as the API answers them.
void print_state(const std::string& sid, const ServiceState& state);

// "no service IS…" for kNotFound, the store's own message otherwise; exit status 1.
int fail_for(const std::string& sid, const Error& error);

// Where the effective webhooks of a service come from, in a person's words:
// "the service's own webhooks (...)", "the account's global webhooks (AC…)...".
std::string describe_source(const std::string& service_sid, const std::string& account_sid,
                            const EffectiveHooks& hooks);
// A comment line saying where they come from, then source, target, the URLs,
// method and filters as "key: value" lines, on stdout.
void print_effective(const std::string& service_sid, const std::string& account_sid, const EffectiveHooks& hooks);
// {"source":…,"target":…,"pre_webhook_url":…,"post_webhook_url":…,"method":…,"filters":[…]}
std::string effective_json(const EffectiveHooks& hooks);

// kInvalidArgument naming the config when it is known and does not list
// the account: webhookd would never serve (nor read a file of) it.
Status check_account_in_config(const Where& where, const std::string& account_sid);

}  // namespace webhookd::ctl
