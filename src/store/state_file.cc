// State file rules: account_sid required; pre/post_webhook_url, filters and
// method optional or null; any other key, type or value makes the file
// invalid. URLs are written plain when that is unambiguous YAML, else quoted.
#include "store/state_file.h"

#include <array>

#include "base/sha256.h"
#include "base/text.h"
#include "store/strict_yaml.h"

namespace webhookd {
namespace {

std::optional<std::string> optional_url(const YamlNode& node, const std::string& key) {
  if (node.kind == YamlNode::Kind::kNull) return std::nullopt;
  const std::string& v = yaml_scalar(node, key);
  if (!is_webhook_url(v)) yaml_invalid(node, key + " is not an absolute http(s) URL");
  return v;
}

WebhookConfig interpret(const YamlNode& root) {
  if (root.kind != YamlNode::Kind::kMap) yaml_invalid(root, "the file must be a mapping with account_sid");
  WebhookConfig config;
  bool have_account = false;
  for (size_t i = 0; i < root.map_size(); ++i) {
    const std::string& key = root.key(i).value;
    const YamlNode& v = root.value_at(i);
    if (key == "account_sid") {
      config.account_sid = yaml_scalar(v, key);
      if (!is_account_sid(config.account_sid)) yaml_invalid(v, "account_sid must be AC followed by 32 hex digits");
      have_account = true;
    } else if (key == "pre_webhook_url") {
      config.pre_webhook_url = optional_url(v, key);
    } else if (key == "post_webhook_url") {
      config.post_webhook_url = optional_url(v, key);
    } else if (key == "method") {
      if (v.kind != YamlNode::Kind::kNull) {
        config.method = normalize_method(yaml_scalar(v, key));
        if (!config.method) yaml_invalid(v, "method must be GET or POST");
      }
    } else if (key == "filters") {
      if (v.kind == YamlNode::Kind::kNull) continue;
      if (v.kind != YamlNode::Kind::kSequence) yaml_invalid(v, std::string("filters must be a list, not ") + yaml_kind_name(v.kind));
      std::vector<std::string> filters;
      for (const YamlNode& f : v.items) {
        const std::string& name = yaml_scalar(f, "each filter");
        if (!is_filter_name(name)) yaml_invalid(f, "unknown filter '" + name + "'");
        filters.push_back(name);
      }
      config.filters = dedupe_filters(filters);
    } else {
      yaml_invalid(root.key(i), "unknown key '" + key + "'");
    }
  }
  if (!have_account) yaml_invalid(root, "account_sid is missing");
  return config;
}

// A URL can stand as a plain scalar when it holds only URL characters and
// cannot be read as anything else; otherwise it is double-quoted.
bool plain_safe(const std::string& s) {
  // The characters of a URL that need no quoting in a block scalar.
  static const auto kSafe = [] {
    std::array<bool, 256> safe{};
    for (int c = 'a'; c <= 'z'; ++c) safe[c] = true;
    for (int c = 'A'; c <= 'Z'; ++c) safe[c] = true;
    for (int c = '0'; c <= '9'; ++c) safe[c] = true;
    for (char c : std::string_view("-._~:/?#[]@!$&()*+,;=%")) safe[static_cast<unsigned char>(c)] = true;
    return safe;
  }();
  if (s.empty() || s.back() == ':') return false;
  for (unsigned char c : s) {
    if (!kSafe[c]) return false;
  }
  return true;
}

void emit_string(std::string& out, const std::string& s) {
  if (plain_safe(s)) {
    out += s;
    return;
  }
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;  // URLs hold no control characters; UTF-8 stands as is
  }
  out += '"';
}

void emit_optional(std::string& out, const char* key, const std::optional<std::string>& v) {
  out += key;
  out += ": ";
  if (v) {
    emit_string(out, *v);
  } else {
    out += "null";
  }
  out += '\n';
}

}  // namespace

// The fast path for what webhookd itself writes: a line-by-line read of the
// canonical form, accepted only if the same rules hold and emitting the
// result gives back exactly these bytes, so it can never disagree with the
// YAML reader. Anything else (hand edits, quoted URLs) returns nullopt and
// goes through yaml-cpp.
static std::optional<WebhookConfig> parse_canonical(std::string_view text) {
  auto line = [&](std::string_view key, std::string_view* value) {
    if (text.substr(0, key.size()) != key) return false;
    size_t nl = text.find('\n', key.size());
    if (nl == std::string_view::npos) return false;
    *value = text.substr(key.size(), nl - key.size());
    text.remove_prefix(nl + 1);
    return true;
  };
  auto url = [](std::string_view v, std::optional<std::string>* out) {
    if (v == "null") return true;
    if (!is_webhook_url(v)) return false;
    *out = std::string(v);
    return true;
  };
  WebhookConfig c;
  std::string_view v;
  if (!line("account_sid: ", &v) || !is_account_sid(v)) return std::nullopt;
  c.account_sid = std::string(v);
  if (!line("pre_webhook_url: ", &v) || !url(v, &c.pre_webhook_url)) return std::nullopt;
  if (!line("post_webhook_url: ", &v) || !url(v, &c.post_webhook_url)) return std::nullopt;
  if (line("filters: ", &v)) {
    if (v == "[]") {
      c.filters = std::vector<std::string>{};
    } else if (v != "null") {
      return std::nullopt;
    }
  } else if (line("filters:", &v) && v.empty()) {
    c.filters = std::vector<std::string>{};
    while (line("  - ", &v)) {
      if (!is_filter_name(v)) return std::nullopt;
      c.filters->emplace_back(v);
    }
    if (c.filters->empty()) return std::nullopt;
    c.filters = dedupe_filters(*c.filters);  // as the YAML reader does; the emit check then sends repeats there
  } else {
    return std::nullopt;
  }
  if (!line("method: ", &v)) return std::nullopt;
  if (v == "GET" || v == "POST") {
    c.method = std::string(v);
  } else if (v != "null") {
    return std::nullopt;
  }
  if (!text.empty()) return std::nullopt;
  return c;
}

Result<WebhookConfig> parse_state_file(std::string_view text, const std::string& source, bool* canonical) {
  if (canonical) *canonical = false;
  if (!is_valid_utf8(text)) return Error::internal(source + ": not UTF-8");
  if (std::optional<WebhookConfig> fast = parse_canonical(text)) {
    if (emit_state_file(*fast) == text) {
      if (canonical) *canonical = true;
      return std::move(*fast);
    }
  }
  return interpret_yaml<WebhookConfig>(text, source, interpret);
}

std::string emit_state_file(const WebhookConfig& c) {
  std::string out;
  out.reserve(256);
  out += "account_sid: " + c.account_sid + "\n";
  emit_optional(out, "pre_webhook_url", c.pre_webhook_url);
  emit_optional(out, "post_webhook_url", c.post_webhook_url);
  if (!c.filters) {
    out += "filters: null\n";
  } else if (c.filters->empty()) {
    out += "filters: []\n";
  } else {
    out += "filters:\n";
    for (const auto& f : *c.filters) out += "  - " + f + "\n";
  }
  emit_optional(out, "method", c.method);
  return out;
}

std::string etag_of_canonical(std::string_view canonical_bytes) {
  return "\"" + sha256_hex(canonical_bytes).substr(0, 32) + "\"";
}

std::string config_etag(const WebhookConfig& config) { return etag_of_canonical(emit_state_file(config)); }

}  // namespace webhookd
