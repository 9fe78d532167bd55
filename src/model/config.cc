// Config file rules, strict like the state files: unknown keys, duplicate
// keys, anchors, wrong types and malformed SIDs or digests are all errors.
#include "model/config.h"

#include <set>

#include "base/sha256.h"
#include "base/text.h"
#include "model/strict_yaml.h"

namespace webhookd {
namespace {

const YamlNode& need_kind(const YamlNode& n, YamlNode::Kind kind, const std::string& what) {
  if (n.kind != kind) yaml_invalid(n, what + " must be " + yaml_kind_name(kind) + ", not " + yaml_kind_name(n.kind));
  return n;
}

// Reads a mapping whose keys must all be in `allowed`; returns key -> node.
std::vector<std::pair<std::string, const YamlNode*>> fields(const YamlNode& map, const std::set<std::string>& allowed,
                                                             const std::set<std::string>& required,
                                                             const std::string& what) {
  need_kind(map, YamlNode::Kind::kMap, what);
  std::vector<std::pair<std::string, const YamlNode*>> out;
  std::set<std::string> seen;
  for (size_t i = 0; i < map.map_size(); ++i) {
    const std::string& k = map.key(i).value;
    if (!allowed.count(k)) yaml_invalid(map.key(i), "unknown key '" + k + "' in " + what);
    seen.insert(k);
    out.emplace_back(k, &map.value_at(i));
  }
  for (const auto& r : required) {
    if (!seen.count(r)) yaml_invalid(map, what + " needs '" + r + "'");
  }
  return out;
}

std::string digest(const YamlNode& n, const std::string& key) {
  const std::string& hex = yaml_scalar(n, key);
  auto raw = from_hex(hex);
  if (hex.size() != 64 || !raw.ok()) yaml_invalid(n, key + " must be 64 hex digits (a SHA-256 digest)");
  return raw.value();
}

std::string directory_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

Config interpret(const YamlNode& root, const std::string& source) {
  Config config;
  config.source = source;
  std::vector<const YamlNode*> api_key_nodes;
  for (const auto& [key, node] : fields(root, {"state_dir", "public_base_url", "accounts", "api_keys", "api_writes"},
                                        {"state_dir", "accounts"}, "the config")) {
    if (key == "api_writes") {
      const std::string& mode = yaml_scalar(*node, key);
      if (mode != "allow" && mode != "deny") yaml_invalid(*node, "api_writes must be allow or deny");
      config.api_writes = mode == "allow";
    } else if (key == "state_dir") {
      config.state_dir = yaml_scalar(*node, key);
      if (config.state_dir.empty()) yaml_invalid(*node, "state_dir is empty");
      if (config.state_dir[0] != '/') config.state_dir = directory_of(source) + "/" + config.state_dir;
    } else if (key == "public_base_url") {
      if (node->kind == YamlNode::Kind::kNull) continue;
      std::string url = yaml_scalar(*node, key);
      while (!url.empty() && url.back() == '/') url.pop_back();
      if (!is_webhook_url(url)) yaml_invalid(*node, "public_base_url must be an absolute http(s) URL");
      config.public_base_url = url;
    } else if (key == "accounts") {
      if (node->kind == YamlNode::Kind::kNull) continue;  // "accounts:" alone: nobody is let in yet
      for (const YamlNode& a : need_kind(*node, YamlNode::Kind::kSequence, "accounts").items) {
        std::string sid, token;
        for (const auto& [k, v] : fields(a, {"sid", "auth_token_sha256"}, {"sid", "auth_token_sha256"}, "an account")) {
          if (k == "sid") {
            sid = yaml_scalar(*v, k);
            if (!is_account_sid(sid)) yaml_invalid(*v, "account sid must be AC followed by 32 hex digits");
          } else {
            token = digest(*v, k);
          }
        }
        if (!config.credentials.account_token_digest.emplace(sid, token).second) yaml_invalid(a, "account " + sid + " is listed twice");
      }
    } else if (key == "api_keys") {
      if (node->kind == YamlNode::Kind::kNull) continue;
      for (const YamlNode& k : need_kind(*node, YamlNode::Kind::kSequence, "api_keys").items) api_key_nodes.push_back(&k);
    }
  }
  for (const YamlNode* k : api_key_nodes) {  // after accounts, wherever they stand in the file
    std::string sid;
    Credentials::ApiKey key;
    for (const auto& [f, v] : fields(*k, {"sid", "account_sid", "secret_sha256"}, {"sid", "account_sid", "secret_sha256"}, "an api key")) {
      if (f == "sid") {
        sid = yaml_scalar(*v, f);
        if (!is_api_key_sid(sid)) yaml_invalid(*v, "api key sid must be SK followed by 32 hex digits");
      } else if (f == "account_sid") {
        key.account_sid = yaml_scalar(*v, f);
        if (!config.credentials.account_token_digest.count(key.account_sid)) yaml_invalid(*v, "account_sid " + key.account_sid + " is not among accounts");
      } else {
        key.secret_digest = digest(*v, f);
      }
    }
    if (!config.credentials.api_keys.emplace(sid, key).second) yaml_invalid(*k, "api key " + sid + " is listed twice");
  }
  return config;
}

}  // namespace

Result<Config> parse_config(std::string_view text, const std::string& source) {
  return interpret_yaml<Config>(text, source, [&](const YamlNode& root) { return interpret(root, source); });
}

}  // namespace webhookd
