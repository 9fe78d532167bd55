// Which hooks actually fire for a service: its own, or its account's global
// ones. Twilio's reference: "service-scoped webhooks will override your
// global webhook settings such that only the service-scoped hooks will fire.
// This applies only to the services where service-level hooks are
// configured." The rule lives here alone; webhookctl show --effective and
// fire use it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/webhook_config.h"

namespace webhookd {

enum class HookSource { kService, kAccount, kNone };
const char* hook_source_name(HookSource source);  // "service", "account", "none"

struct EffectiveHooks {
  HookSource source = HookSource::kNone;
  std::string target = "webhook";  // "flex": Twilio routes the events to Flex, no webhook is sent
  std::optional<std::string> pre_webhook_url, post_webhook_url;
  std::string method = "POST";
  std::vector<std::string> filters;

  bool operator==(const EffectiveHooks& o) const {
    return source == o.source && target == o.target && pre_webhook_url == o.pre_webhook_url &&
           post_webhook_url == o.post_webhook_url && method == o.method && filters == o.filters;
  }
};

// A service with pre_webhook_url or post_webhook_url set: its own URLs,
// filters and method (null method: POST; null filters: none), target
// webhook: the account's global settings, Flex routing included, do not
// apply to it. Otherwise the account's global settings (source account when
// it sets a URL, none when neither level does; the values are the
// account's either way).
EffectiveHooks effective_hooks(const WebhookConfig& service, const WebhookConfig& account);

// Why Twilio would send no webhook for `event` under these hooks ("" when
// it would): Flex routing, no URL for the event's phase, or the event not
// in the filters. `ignore_filters` leaves the last out (webhookctl fire
// --anyway).
std::string why_not_sent(const EffectiveHooks& hooks, std::string_view event, bool ignore_filters = false);

}  // namespace webhookd
