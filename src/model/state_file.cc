// State file rules, for both kinds of file. A service's (IS….yaml):
// account_sid required; pre/post_webhook_url, filters and method optional or
// null. An account's (AC….yaml, its global webhooks): no account_sid (the
// name is the account), the same four keys plus target, all optional; an
// absent or null method, filters or target reads as POST, [] and webhook.
// Any other key, type or value makes a file invalid. The keys, the scope of
// each and the rule of each value are in kFields, which both readers and the
// emitter walk, so a new field is one row and one case.
#include "model/state_file.h"

#include <array>
#include <type_traits>

#include "base/sha256.h"
#include "base/text.h"
#include "model/strict_yaml.h"

namespace webhookd {
namespace {

enum class Field { kAccountSid, kPreWebhookUrl, kPostWebhookUrl, kFilters, kMethod, kTarget };
struct FieldSpec {
  Field field;
  std::string_view key;
  bool service, account;  // the kinds of file the key belongs to
};
// Canonical order: the contract's for a service; the same for an account,
// without account_sid and with target appended. A service file's bytes are
// exactly what they were before accounts had files (their ETags too).
constexpr FieldSpec kFields[] = {
    {Field::kAccountSid, "account_sid", true, false},
    {Field::kPreWebhookUrl, "pre_webhook_url", true, true},
    {Field::kPostWebhookUrl, "post_webhook_url", true, true},
    {Field::kFilters, "filters", true, true},
    {Field::kMethod, "method", true, true},
    {Field::kTarget, "target", false, true},
};

bool in_scope(const FieldSpec& spec, Scope scope) { return scope == Scope::kService ? spec.service : spec.account; }

// Why a key of the table is not one of this kind of file.
std::string out_of_scope(const FieldSpec& spec) {
  if (spec.field == Field::kAccountSid) {
    return "account_sid is not a key of an account's file: its name (AC….yaml) is the account";
  }
  return std::string(spec.key) + " is a key of an account's global settings (AC….yaml), not of a service's";
}

// The optional scalar member of a field, of a value or a view, const or not.
template <typename Config>
auto optional_scalar(Config& c, Field f) -> decltype(&c.pre_webhook_url) {
  switch (f) {
    case Field::kPreWebhookUrl: return &c.pre_webhook_url;
    case Field::kPostWebhookUrl: return &c.post_webhook_url;
    case Field::kMethod: return &c.method;
    case Field::kTarget: return &c.target;
    default: return nullptr;
  }
}

// Sets a scalar field from its text; the problem, or "" when it is valid.
// The one rule of each scalar value, for both readers.
std::string set_scalar(WebhookConfig& c, Field f, std::string_view v) {
  switch (f) {
    case Field::kAccountSid:
      if (!is_account_sid(v)) return "account_sid must be AC followed by 32 hex digits";
      c.account_sid = std::string(v);
      return "";
    case Field::kPreWebhookUrl:
    case Field::kPostWebhookUrl:
      if (!is_webhook_url(v)) {
        return std::string(f == Field::kPreWebhookUrl ? "pre" : "post") + "_webhook_url is not an absolute http(s) URL";
      }
      *optional_scalar(c, f) = std::string(v);
      return "";
    case Field::kMethod:
      c.method = normalize_method(v);
      return c.method ? "" : "method must be GET or POST";
    case Field::kTarget:
      if (!is_target(v)) return "target must be webhook or flex";
      c.target = std::string(v);
      return "";
    case Field::kFilters: break;
  }
  return "filters must be a list";
}

std::string add_filter(WebhookConfig& c, std::string_view name) {
  if (!is_filter_name(name, c.scope)) return "unknown filter '" + std::string(name) + "'";
  c.filters->emplace_back(name);
  return "";
}

// Reads the fields of a parsed state file. Each key is read on its own, and
// a problem with it goes to on_problem: read_state_file stops at the first
// (it rethrows), state_file_problems collects them all. One reader either way.
template <typename OnProblem>
WebhookConfig read_fields(const YamlNode& root, Scope scope, OnProblem on_problem) {
  WebhookConfig config;
  config.scope = scope;
  if (root.kind != YamlNode::Kind::kMap) {
    on_problem(YamlInvalid{root.line, root.column,
                           scope == Scope::kService ? "the file must be a mapping with account_sid"
                                                    : "the file must be a mapping"});
    return config;
  }
  bool have_account = false;
  for (size_t i = 0; i < root.map_size(); ++i) {
    try {
      const std::string& key = root.key(i).value;
      const YamlNode& v = root.value_at(i);
      const FieldSpec* spec = nullptr;
      for (const FieldSpec& s : kFields) {
        if (s.key == key) spec = &s;
      }
      if (!spec) yaml_invalid(root.key(i), "unknown key '" + key + "'");
      if (!in_scope(*spec, scope)) yaml_invalid(root.key(i), out_of_scope(*spec));
      if (spec->field == Field::kAccountSid) have_account = true;
      if (v.kind == YamlNode::Kind::kNull && spec->field != Field::kAccountSid) continue;
      if (spec->field == Field::kFilters) {
        if (v.kind != YamlNode::Kind::kSequence) {
          yaml_invalid(v, std::string("filters must be a list, not ") + yaml_kind_name(v.kind));
        }
        config.filters.emplace();
        for (const YamlNode& f : v.items) {
          std::string problem = add_filter(config, yaml_scalar(f, "each filter"));
          if (!problem.empty()) yaml_invalid(f, problem);
        }
        config.filters = dedupe_filters(*config.filters);
        continue;
      }
      std::string problem = set_scalar(config, spec->field, yaml_scalar(v, key));
      if (!problem.empty()) yaml_invalid(v, problem);
    } catch (const YamlInvalid& e) {
      on_problem(e);
    }
  }
  if (scope == Scope::kService && !have_account) {
    on_problem(YamlInvalid{root.line, root.column, "account_sid is missing"});
  }
  if (scope == Scope::kAccount) fill_account_defaults(&config);
  return config;
}

// A URL can stand as a plain scalar when it holds only URL characters and
// cannot be read as anything else; otherwise it is double-quoted.
bool plain_safe(std::string_view s) {
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

// Where the emitter writes: appended to a string, or matched against bytes
// that must be exactly what it would write (and then its values are views
// into those bytes). lit() is syntax, value() a value, placed where value()
// says.
struct Appender {
  std::string* out;
  void lit(std::string_view s) { out->append(s); }
  void lit(char c) { out->push_back(c); }
  std::string_view value(std::string_view s) {
    out->append(s);
    return s;
  }
  size_t pos() const { return out->size(); }
  std::string_view since(size_t) const { return {}; }
};
struct Matcher {
  std::string_view bytes;
  size_t at = 0;
  bool ok = true;
  void lit(std::string_view s) {
    if (ok && bytes.size() - at >= s.size() && bytes.compare(at, s.size(), s) == 0) {
      at += s.size();
    } else {
      ok = false;
    }
  }
  void lit(char c) { lit(std::string_view(&c, 1)); }
  std::string_view value(std::string_view s) {
    const size_t start = at;
    lit(s);
    return ok ? bytes.substr(start, s.size()) : std::string_view();
  }
  size_t pos() const { return at; }
  std::string_view since(size_t start) const { return bytes.substr(start, at - start); }
};

template <typename Sink>
std::string_view emit_string(Sink& out, std::string_view s) {
  if (plain_safe(s)) return out.value(s);
  out.lit('"');
  for (char c : s) {
    if (c == '"' || c == '\\') out.lit('\\');
    out.lit(c);  // values hold no control characters (validate_config); UTF-8 stands as is
  }
  out.lit('"');
  // A quoted value is not a view of the bytes: a match fails (the canonical
  // files webhookd reads fast hold none).
  if constexpr (std::is_same_v<Sink, Matcher>) out.ok = false;
  return s;
}

// The value of a key as it stands in canonical bytes: what emit_state_file
// writes for the value that set_scalar would read from the same text. A
// plain URL is written plain exactly when plain_safe (a quoted one is left
// to yaml-cpp), a method in capitals: anything else re-emits differently.
bool canonical_scalar(Field f, std::string_view v) {
  switch (f) {
    case Field::kAccountSid: return is_account_sid(v);
    case Field::kPreWebhookUrl:
    case Field::kPostWebhookUrl: return plain_safe(v) && is_webhook_url(v);
    case Field::kMethod: return v == "GET" || v == "POST";
    case Field::kTarget: return is_target(v);
    case Field::kFilters: break;
  }
  return false;
}

// The emitter, over a view so that a canonical file can be checked against
// its own re-emission without building the value. Returns the view of the
// values where the sink placed them (for a Matcher: into its bytes).
template <typename Sink>
WebhookConfigView emit_view(const WebhookConfigView& c, Sink& out) {
  WebhookConfigView placed;
  placed.scope = c.scope;
  for (const FieldSpec& spec : kFields) {
    if (!in_scope(spec, c.scope)) continue;
    out.lit(spec.key);
    if (spec.field == Field::kAccountSid) {
      out.lit(": ");
      placed.account_sid = out.value(c.account_sid);
      out.lit('\n');
    } else if (spec.field == Field::kFilters) {
      if (!c.filters) {
        out.lit(": null\n");
      } else if (c.filters->empty()) {
        out.lit(": []\n");
        placed.filters = FilterNamesView::lines({});
      } else {
        out.lit(":\n");
        const size_t start = out.pos();
        c.filters->each([&](std::string_view f) {
          out.lit("  - ");
          out.value(f);
          out.lit('\n');
        });
        placed.filters = FilterNamesView::lines(out.since(start));
      }
    } else {
      const std::optional<std::string_view>* v = optional_scalar(c, spec.field);
      out.lit(": ");
      if (*v) {
        *optional_scalar(placed, spec.field) = emit_string(out, **v);
      } else {
        out.lit("null");
      }
      out.lit('\n');
    }
  }
  return placed;
}

}  // namespace

// The fast path for what webhookd itself writes: a line-by-line read of the
// canonical form along kFields into views of the bytes, each value checked
// by its rule and by being the very text the emitter writes for it (see
// canonical_scalar), the whole accepted only if emitting the view gives back
// exactly these bytes, so it can never disagree with the YAML reader (the
// state_file fuzz target checks it against yaml-cpp). Anything else (hand
// edits, quoted URLs, repeats, an account's spelled-out nulls) is nullopt
// and goes through yaml-cpp. Every value it accepts is ASCII.
std::optional<WebhookConfigView> read_canonical_view(std::string_view bytes, Scope scope) {
  std::string_view text = bytes;
  auto line = [&](std::string_view key, std::string_view sep, std::string_view* value) {
    if (text.size() < key.size() + sep.size() || text.substr(0, key.size()) != key ||
        text.substr(key.size(), sep.size()) != sep) {
      return false;
    }
    size_t start = key.size() + sep.size();
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) return false;
    *value = text.substr(start, nl - start);
    text.remove_prefix(nl + 1);
    return true;
  };
  WebhookConfigView c;
  c.scope = scope;
  std::string_view v;
  for (const FieldSpec& spec : kFields) {
    if (!in_scope(spec, scope)) continue;
    // An account's null method, filters or target reads as its default,
    // which the canonical form writes out: "null" there is not canonical.
    const bool null_allowed = spec.field != Field::kAccountSid &&
                              (scope == Scope::kService || spec.field == Field::kPreWebhookUrl ||
                               spec.field == Field::kPostWebhookUrl);
    if (spec.field == Field::kFilters) {
      if (line(spec.key, ": ", &v)) {
        if (v == "[]") {
          c.filters = FilterNamesView::lines({});
        } else if (v != "null" || !null_allowed) {
          return std::nullopt;
        }
      } else if (line(spec.key, ":", &v) && v.empty()) {
        const std::string_view block = text;
        std::string_view names[32];
        size_t count = 0;
        while (line("  -", " ", &v)) {
          if (!is_filter_name(v, scope) || count == std::size(names)) return std::nullopt;
          for (size_t i = 0; i < count; ++i) {
            if (names[i] == v) return std::nullopt;  // a repeat: the YAML reader drops it, the emitter never writes one
          }
          names[count++] = v;
        }
        if (count == 0) return std::nullopt;
        c.filters = FilterNamesView::lines(block.substr(0, block.size() - text.size()));
      } else {
        return std::nullopt;
      }
      continue;
    }
    if (!line(spec.key, ": ", &v)) return std::nullopt;
    if (v == "null" && null_allowed) continue;
    if (!canonical_scalar(spec.field, v)) return std::nullopt;
    if (spec.field == Field::kAccountSid) {
      c.account_sid = v;
    } else {
      *optional_scalar(c, spec.field) = v;
    }
  }
  if (!text.empty()) return std::nullopt;
  // The proof: the emitter writes exactly these bytes for this view.
  Matcher match{bytes};
  (void)emit_view(c, match);
  if (!match.ok || match.at != bytes.size()) return std::nullopt;
  return c;
}

std::string canonical_etag(std::string_view canonical_bytes) {
  return "\"" + sha256_hex(canonical_bytes).substr(0, 32) + "\"";
}

bool match_canonical(const WebhookConfigView& config, std::string_view bytes, WebhookConfigView* in_bytes) {
  Matcher match{bytes};
  WebhookConfigView placed = emit_view(config, match);
  if (!match.ok || match.at != bytes.size()) return false;
  *in_bytes = placed;
  return true;
}

Result<ServiceState> read_state_file(std::string_view text, const std::string& source, Scope scope) {
  if (!is_valid_utf8(text)) return Error::corruption(source + ": not UTF-8");
  // Repeats or a non-canonical spelling are read (and reported, or
  // accepted) by the YAML reader below.
  if (std::optional<WebhookConfigView> fast = read_canonical_view(text, scope)) {
    return ServiceState{config_of(*fast), canonical_etag(text)};
  }
  auto config = interpret_yaml<WebhookConfig>(
      text, source, [scope](const YamlNode& root) { return read_fields(root, scope, [](const YamlInvalid& e) { throw e; }); });
  if (!config.ok()) return config.error();
  std::string etag = config_etag(config.value());
  return ServiceState{std::move(config.value()), std::move(etag)};
}

std::string emit_state_file(const WebhookConfig& c) {
  std::string out;
  out.reserve(256);
  Appender append{&out};
  (void)emit_view(view_of(c), append);
  return out;
}

std::string config_etag(const WebhookConfig& config) { return canonical_etag(emit_state_file(config)); }

namespace {
size_t chunk(size_t n) { return (n + 8 + 15) / 16 * 16; }
}  // namespace

size_t heap_bytes(const std::string& s) { return s.capacity() > 15 ? chunk(s.capacity() + 1) : 0; }

size_t heap_bytes(const ServiceState& state) {
  const WebhookConfig& c = state.config;
  // make_shared's one allocation: the control block (16) and the object.
  size_t n = chunk(16 + sizeof(ServiceState)) + heap_bytes(c.account_sid) + heap_bytes(state.etag);
  for (const std::optional<std::string>* s : {&c.pre_webhook_url, &c.post_webhook_url, &c.method, &c.target}) {
    if (*s) n += heap_bytes(**s);
  }
  if (c.filters) {
    if (c.filters->capacity()) n += chunk(c.filters->capacity() * sizeof(std::string));
    for (const std::string& f : *c.filters) n += heap_bytes(f);
  }
  return n;
}

std::string resource_etag(const std::string& sid, const ServiceState& state) { return resource_etag(sid, state.etag); }

std::string resource_etag(const std::string& sid, std::string file_etag) {
  if (scope_of_sid(sid) != Scope::kAccount) return file_etag;
  return canonical_etag(sid + "\n" + file_etag);
}

std::vector<std::string> state_file_problems(std::string_view text, const std::string& source, Scope scope) {
  if (!is_valid_utf8(text)) return {source + ": not UTF-8"};
  auto root = parse_strict_yaml(text, source);
  if (!root.ok()) return {root.error().message};
  std::vector<std::string> problems;
  (void)read_fields(root.value(), scope, [&](const YamlInvalid& e) {
    problems.push_back(yaml_problem_text(source, e.line, e.column, e.message));
  });
  return problems;
}

std::vector<std::pair<std::string, std::string>> state_fields(const WebhookConfig& c) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const FieldSpec& spec : kFields) {
    if (!in_scope(spec, c.scope)) continue;
    std::string text;
    if (spec.field == Field::kAccountSid) {
      text = c.account_sid.empty() ? "null" : c.account_sid;
    } else if (spec.field == Field::kFilters) {
      if (!c.filters) {
        text = "null";
      } else {
        text = "[";
        for (size_t i = 0; i < c.filters->size(); ++i) text += (i ? ", " : "") + (*c.filters)[i];
        text += "]";
      }
    } else {
      const std::optional<std::string>* v = optional_scalar(c, spec.field);
      text = *v ? **v : "null";
    }
    out.emplace_back(spec.key, std::move(text));
  }
  return out;
}

Result<EncodedState> encode_state(WebhookConfig config) {
  Status valid = validate_config(config);
  if (!valid.ok()) return valid.error();
  EncodedState out;
  out.bytes = emit_state_file(config);
  out.state.etag = canonical_etag(out.bytes);
  out.state.config = std::move(config);
  return out;
}

}  // namespace webhookd
