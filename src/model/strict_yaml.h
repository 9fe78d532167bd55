// A strict YAML reader for files people edit by hand: builds a small tree
// with a line and column on every node, and refuses what a hand edit should
// never rely on: duplicate keys (yaml-cpp keeps the first silently), anchors
// and aliases (billion laughs), tags, several documents, deep nesting.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

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

// An empty text is a kNull root. Keys are always scalars. Any problem is
// kCorruption with "<source>:<line>:<column>: <problem>".
Result<YamlNode> parse_strict_yaml(std::string_view text, const std::string& source);

const char* yaml_kind_name(YamlNode::Kind kind);

// For the readers of a tree (state files, the config): a problem at a node,
// thrown from deep inside and turned into an Error by interpret_yaml.
struct YamlInvalid {
  int line, column;
  std::string message;
};
[[noreturn]] void yaml_invalid(const YamlNode& at, std::string message);
// The node's text; YamlInvalid "<what> must be a string, not ..." otherwise.
const std::string& yaml_scalar(const YamlNode& node, const std::string& what);
// "<source>:<line>:<column>: <message>" (just "<source>: ..." when the line is unknown).
std::string yaml_problem_text(const std::string& source, int line, int column, const std::string& message);

// Parses `text` strictly and hands the root to `interpret`; every problem,
// syntax or meaning, becomes kCorruption with yaml_problem_text as message.
// The YamlInvalid a reader throws stops here: nothing above sees exceptions.
template <typename T, typename Interpret>
Result<T> interpret_yaml(std::string_view text, const std::string& source, Interpret interpret) {
  auto root = parse_strict_yaml(text, source);
  if (!root.ok()) return root.error();
  try {
    return interpret(root.value());
  } catch (const YamlInvalid& e) {
    return Error::corruption(yaml_problem_text(source, e.line, e.column, e.message));
  }
}

}  // namespace webhookd
