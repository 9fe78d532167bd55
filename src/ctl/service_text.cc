// The ETag is printed beside the file because it is what a script passes
// back as If-Match; the file itself is exactly what webhookd would write.
#include "ctl/service_text.h"

#include <cstdio>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "ctl/options.h"

namespace webhookd::ctl {

void print_state(const std::string& sid, const ServiceState& state) {
  std::printf("# %s  ETag %s\n%s", sid.c_str(), resource_etag(sid, state).c_str(),
              emit_state_file(state.config).c_str());
}

int fail_for(const std::string& sid, const Error& error) {
  return fail(error.is_not_found() ? "no service " + sid : error.message);
}

std::string describe_source(const std::string& service_sid, const std::string& account_sid,
                            const EffectiveHooks& hooks) {
  std::string text;
  switch (hooks.source) {
    case HookSource::kService:
      text = "the service's own webhooks (" + service_sid +
             " sets a URL: its account's global webhooks do not fire for it)";
      break;
    case HookSource::kAccount:
      text = "the account's global webhooks (" + account_sid + "): " + service_sid + " sets no URL of its own";
      break;
    case HookSource::kNone:
      text = "none: no webhook URL is set, neither on " + service_sid + " nor on its account " + account_sid;
      break;
  }
  if (hooks.target == "flex") text += "; target flex: Twilio routes the events to Flex and sends no webhook";
  return text;
}

void print_effective(const std::string& service_sid, const std::string& account_sid, const EffectiveHooks& hooks) {
  std::string filters = "[";
  for (size_t i = 0; i < hooks.filters.size(); ++i) filters += (i ? ", " : "") + hooks.filters[i];
  filters += "]";
  std::printf("# %s: effective webhooks: %s\n", service_sid.c_str(),
              describe_source(service_sid, account_sid, hooks).c_str());
  std::printf("source: %s\ntarget: %s\npre_webhook_url: %s\npost_webhook_url: %s\nmethod: %s\nfilters: %s\n",
              hook_source_name(hooks.source), hooks.target.c_str(), hooks.pre_webhook_url.value_or("null").c_str(),
              hooks.post_webhook_url.value_or("null").c_str(), hooks.method.c_str(), filters.c_str());
}

std::string effective_json(const EffectiveHooks& hooks) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  auto optional = [&](const char* key, const std::optional<std::string>& v) {
    w.Key(key);
    if (v) {
      w.String(v->c_str());
    } else {
      w.Null();
    }
  };
  w.StartObject();
  w.Key("source");
  w.String(hook_source_name(hooks.source));
  w.Key("target");
  w.String(hooks.target.c_str());
  optional("pre_webhook_url", hooks.pre_webhook_url);
  optional("post_webhook_url", hooks.post_webhook_url);
  w.Key("method");
  w.String(hooks.method.c_str());
  w.Key("filters");
  w.StartArray();
  for (const auto& f : hooks.filters) w.String(f.c_str());
  w.EndArray();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

Status check_account_in_config(const Where& where, const std::string& account_sid) {
  if (!where.config || where.config->credentials.account_token_digest.count(account_sid)) return ok_status();
  return Error::invalid_argument("account " + account_sid + " is not in " + where.config->source +
                                 ": webhookd serves only the accounts of its config, and would never read its "
                                 "global webhooks");
}

}  // namespace webhookd::ctl
