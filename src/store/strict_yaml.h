// A strict YAML reader for files people edit by hand: builds a small tree
// with a line and column on every node, and refuses what a hand edit should
// never rely on: duplicate keys (yaml-cpp keeps the first silently), anchors
// and aliases (billion laughs), tags, several documents, deep nesting.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace webhookd {

struct YamlNode {
  enum class Kind { kNull, kScalar, kSequence, kMap };
  Kind kind = Kind::kNull;
  std::string value;            // kScalar
  int line = 0, column = 0;     // 1-based
  std::vector<YamlNode> items;  // kSequence: elements; kMap: key, value, key, value...

  size_t map_size() const { return items.size() / 2; }
  const YamlNode& key(size_t i) const { return items[2 * i]; }
  const YamlNode& value_at(size_t i) const { return items[2 * i + 1]; }
};

struct YamlProblem {
  int line = 0, column = 0;  // 1-based; 0 when unknown
  std::string message;
};

// An empty text is a kNull root. Keys are always scalars.
bool parse_strict_yaml(std::string_view text, YamlNode* root, YamlProblem* problem);

const char* yaml_kind_name(YamlNode::Kind kind);

}  // namespace webhookd
