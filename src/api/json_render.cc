// RapidJSON Writer with UTF-8 validation on; every call's result is checked,
// because a failed value leaves a half-written key while IsComplete() is true.
#include "api/json_render.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "base/text.h"

namespace webhookd {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer, rapidjson::UTF8<>, rapidjson::UTF8<>,
                                     rapidjson::CrtAllocator, rapidjson::kWriteValidateEncodingFlag>;
// For strings already checked with is_valid_utf8, which is several times
// faster than RapidJSON's character-by-character validation.
using CheckedJsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

template <typename W>
bool put_string(W& w, const std::string& s) {
  return w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

template <typename W>
bool put_optional(W& w, const char* key, const std::optional<std::string>& v) {
  if (!w.Key(key)) return false;
  return v ? put_string(w, *v) : w.Null();
}

bool all_utf8(const WebhookConfig& c, const std::string& sid) {
  auto ok = [](const std::optional<std::string>& v) { return !v || is_valid_utf8(*v); };
  if (!is_valid_utf8(c.account_sid) || !is_valid_utf8(sid) || !ok(c.pre_webhook_url) || !ok(c.post_webhook_url) ||
      !ok(c.method) || !ok(c.target)) {
    return false;
  }
  if (c.filters) {
    for (const auto& f : *c.filters) {
      if (!is_valid_utf8(f)) return false;
    }
  }
  return true;
}

// The URL string and the closing brace. The URL holds the request's Host,
// which is not trusted to be UTF-8.
void append_url(std::string* out, std::string_view url) {
  // Almost always plain printable ASCII, which JSON takes as it is.
  bool plain = true;
  for (char ch : url) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x7F || c == '"' || c == '\\') {
      plain = false;
      break;
    }
  }
  if (plain) {
    *out += '"';
    out->append(url.data(), url.size());
    *out += "\"}";
    return;
  }
  const std::string clean = sanitize_utf8(url);
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  (void)put_string(w, clean);  // cannot fail: sanitize_utf8 made it valid
  out->append(buf.GetString(), buf.GetSize()).append("}");
}

template <typename W>
bool put_filters(W& w, const std::optional<std::vector<std::string>>& filters) {
  if (!w.Key("filters")) return false;
  if (!filters) return w.Null();
  bool ok = w.StartArray();
  for (const auto& f : *filters) ok = ok && put_string(w, f);
  return ok && w.EndArray();
}

}  // namespace

ApiResult<std::string> render_config(const WebhookConfig& c, const std::string& service_sid, std::string_view url) {
  auto head = render_config_head(c, service_sid);
  if (!head.ok()) return head;
  append_config_url(&head.value(), url);
  return head;
}

void append_config_url(std::string* out, std::string_view url) { append_url(out, url); }

ApiResult<std::string> render_config_head(const WebhookConfig& c, const std::string& key) {
  const auto invalid = [&] { return ApiError::internal("render_config: a value is not valid UTF-8 for " + key); };
  if (!all_utf8(c, key)) return invalid();
  rapidjson::StringBuffer buf;
  CheckedJsonWriter w(buf);
  bool ok = w.StartObject();
  if (c.scope == Scope::kService) {
    ok = ok && w.Key("account_sid") && put_string(w, c.account_sid) && w.Key("chat_service_sid") &&
         put_string(w, key) && put_optional(w, "pre_webhook_url", c.pre_webhook_url) &&
         put_optional(w, "post_webhook_url", c.post_webhook_url) && put_filters(w, c.filters) &&
         put_optional(w, "method", c.method);
  } else {
    // The account's file does not name it: the key (the credentials' account) does.
    ok = ok && w.Key("account_sid") && put_string(w, key) && put_optional(w, "pre_webhook_url", c.pre_webhook_url) &&
         put_optional(w, "post_webhook_url", c.post_webhook_url) && put_optional(w, "method", c.method) &&
         put_filters(w, c.filters) && put_optional(w, "target", c.target);
  }
  // Stop after the "url" key: the URL is appended below, checked its own way.
  ok = ok && w.Key("url");
  if (!ok) return invalid();
  std::string out;
  out.reserve(buf.GetSize() + 1);
  // RapidJSON writes a key's ':' only with its value.
  out.append(buf.GetString(), buf.GetSize()).append(":");
  return out;
}

std::string render_error(const ApiError& error) {
  const ApiErrorSpec& spec = api_error_spec(error.kind);
  // Echoed parts (a SID from the path, a filter value) may be any bytes.
  const std::string message = sanitize_utf8(api_error_message(error));
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  // Sanitized and ASCII otherwise: none of these can fail.
  (void)(w.StartObject() && w.Key("code") && w.Int(spec.code) && w.Key("message") && put_string(w, message) &&
         w.Key("more_info") && put_string(w, more_info_url(spec.code)) && w.Key("status") &&
         w.Int(spec.http_status) && w.EndObject());
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace webhookd
