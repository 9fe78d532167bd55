// The override is all or nothing per service, decided by its URLs alone:
// a service that sets only filters or a method still uses the account's
// global webhooks, as Twilio's "where service-level hooks are configured"
// reads (a hook is a URL).
#include "model/effective_hooks.h"

#include <algorithm>

namespace webhookd {

const char* hook_source_name(HookSource source) {
  switch (source) {
    case HookSource::kService: return "service";
    case HookSource::kAccount: return "account";
    case HookSource::kNone: return "none";
  }
  return "?";
}

EffectiveHooks effective_hooks(const WebhookConfig& service, const WebhookConfig& account) {
  EffectiveHooks e;
  const bool service_hooks = service.pre_webhook_url || service.post_webhook_url;
  const WebhookConfig& from = service_hooks ? service : account;
  if (service_hooks) {
    e.source = HookSource::kService;
  } else {
    e.source = account.pre_webhook_url || account.post_webhook_url ? HookSource::kAccount : HookSource::kNone;
    e.target = account.target.value_or("webhook");
  }
  e.pre_webhook_url = from.pre_webhook_url;
  e.post_webhook_url = from.post_webhook_url;
  e.method = from.method.value_or("POST");  // Twilio's default
  e.filters = from.filters.value_or(std::vector<std::string>{});
  return e;
}

std::string why_not_sent(const EffectiveHooks& e, std::string_view event, bool ignore_filters) {
  if (e.target == "flex") return "the account's target is flex: Twilio routes its events to Flex and sends no webhook";
  if (e.source == HookSource::kNone) return "no webhook URL is set, neither on the service nor on the account";
  const bool pre = is_pre_event(event);
  if (!(pre ? e.pre_webhook_url : e.post_webhook_url)) {
    return std::string(pre ? "pre" : "post") + "_webhook_url is not set at the " + hook_source_name(e.source) +
           " level: " + std::string(event) + " (a " + (pre ? "pre" : "post") + "-event) would go nowhere";
  }
  if (!ignore_filters && std::find(e.filters.begin(), e.filters.end(), event) == e.filters.end()) {
    return std::string(event) + " is not in the " + hook_source_name(e.source) +
           "'s filters: Twilio would not send it";
  }
  return "";
}

}  // namespace webhookd
