// The resources' JSON is written directly (values the state-file reader
// already checked to be UTF-8, escaped as RapidJSON escapes them); what may
// be any bytes (an error's echoed parts, a Host that is not UTF-8) goes
// through RapidJSON's Writer with UTF-8 validation on, every call's result
// checked, because a failed value leaves a half-written key while
// IsComplete() is true.
#include "api/json_render.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "base/text.h"

namespace webhookd {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer, rapidjson::UTF8<>, rapidjson::UTF8<>,
                                     rapidjson::CrtAllocator, rapidjson::kWriteValidateEncodingFlag>;

template <typename W>
bool put_string(W& w, const std::string& s) {
  return w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
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

// A JSON string of valid UTF-8 as RapidJSON's Writer escapes it: '"', '\\'
// and the control characters (\b \t \n \f \r by name, the others as
// \u00XX with capital hex digits); everything else as it is.
void append_json_string(std::string* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  *out += '"';
  size_t plain = 0;  // start of the run not yet appended
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(s.data() + plain, i - plain);
    plain = i + 1;
    switch (c) {
      case '"': *out += "\\\""; break;
      case '\\': *out += "\\\\"; break;
      case '\b': *out += "\\b"; break;
      case '\t': *out += "\\t"; break;
      case '\n': *out += "\\n"; break;
      case '\f': *out += "\\f"; break;
      case '\r': *out += "\\r"; break;
      default:
        *out += "\\u00";
        *out += kHex[c >> 4];
        *out += kHex[c & 15];
    }
  }
  out->append(s.data() + plain, s.size() - plain);
  *out += '"';
}

// A value as a JSON string: escaped, or as it is when the caller knows it
// needs no escape (plain).
void append_text(std::string* out, std::string_view s, bool plain) {
  if (!plain) return append_json_string(out, s);
  *out += '"';
  out->append(s);
  *out += '"';
}

void append_optional(std::string* out, std::string_view key, const std::optional<std::string_view>& v, bool plain) {
  *out += key;
  if (v) {
    append_text(out, *v, plain);
  } else {
    *out += "null";
  }
}

void append_filters(std::string* out, const std::optional<FilterNamesView>& filters, bool plain) {
  *out += ",\"filters\":";
  if (!filters) {
    *out += "null";
    return;
  }
  *out += '[';
  bool first = true;
  filters->each([&](std::string_view name) {
    if (!first) *out += ',';
    first = false;
    append_text(out, name, plain);
  });
  *out += ']';
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
  if (!all_utf8(c, key)) return ApiError::internal("render_config: a value is not valid UTF-8 for " + key);
  std::string out;
  out.reserve(320);
  append_config_head(&out, view_of(c), key, JsonText::kEscape);
  return out;
}

void append_config_head(std::string* out, const WebhookConfigView& c, std::string_view key, JsonText text) {
  const bool plain = text == JsonText::kPlain;
  // Written directly, byte for byte what RapidJSON's Writer writes (the
  // unit tests compare the two over every ASCII byte): its Writer cost 8,300
  // of the 66,000 instructions of a GET that misses the caches (callgrind).
  *out += "{\"account_sid\":";
  if (c.scope == Scope::kService) {
    append_text(out, c.account_sid, plain);
    *out += ",\"chat_service_sid\":";
    append_text(out, key, plain);
    append_optional(out, ",\"pre_webhook_url\":", c.pre_webhook_url, plain);
    append_optional(out, ",\"post_webhook_url\":", c.post_webhook_url, plain);
    append_filters(out, c.filters, plain);
    append_optional(out, ",\"method\":", c.method, plain);
  } else {
    // The account's file does not name it: the key (the credentials' account) does.
    append_text(out, key, plain);
    append_optional(out, ",\"pre_webhook_url\":", c.pre_webhook_url, plain);
    append_optional(out, ",\"post_webhook_url\":", c.post_webhook_url, plain);
    append_optional(out, ",\"method\":", c.method, plain);
    append_filters(out, c.filters, plain);
    append_optional(out, ",\"target\":", c.target, plain);
  }
  *out += ",\"url\":";
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
