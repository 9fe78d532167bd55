// yaml-cpp's event API rather than YAML::Load: events carry marks and show
// anchors, aliases and tags, which the node API hides. Every yaml-cpp
// exception is caught here and becomes a YamlProblem.
#include "model/strict_yaml.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <sstream>
#include <unordered_set>

namespace webhookd {
namespace {

constexpr size_t kMaxDepth = 16;

struct YamlProblem {
  int line = 0, column = 0;  // 1-based; 0 when unknown
  std::string message;
};

struct Refusal {
  YamlProblem problem;
};

class TreeBuilder : public YAML::EventHandler {
 public:
  YamlNode root;
  bool have_root = false;

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    check_anchor(mark, anchor);
    attach(make(YamlNode::Kind::kNull, mark));
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
    refuse(mark, "aliases (*name) are not allowed");
  }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    check_anchor(mark, anchor);
    check_tag(mark, tag);
    // A plain (untagged, unquoted) null spelling is null; a quoted one is text.
    bool plain = tag == "?";
    bool is_null = plain && (value.empty() || value == "~" || value == "null" || value == "Null" ||
                             value == "NULL");
    YamlNode node = make(is_null ? YamlNode::Kind::kNull : YamlNode::Kind::kScalar, mark);
    if (!is_null) node.value = value;
    attach(std::move(node));
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(mark, tag, anchor, YamlNode::Kind::kSequence);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(mark, tag, anchor, YamlNode::Kind::kMap);
  }
  void OnMapEnd() override { close(); }

 private:
  std::vector<YamlNode> stack_;

  [[noreturn]] static void refuse(int line, int column, std::string message) {
    throw Refusal{YamlProblem{line, column, std::move(message)}};
  }
  [[noreturn]] static void refuse(const YAML::Mark& mark, std::string message) {
    refuse(mark.line + 1, mark.column + 1, std::move(message));
  }
  static YamlNode make(YamlNode::Kind kind, const YAML::Mark& mark) {
    YamlNode node;
    node.kind = kind;
    node.line = mark.line + 1;
    node.column = mark.column + 1;
    return node;
  }
  static void check_anchor(const YAML::Mark& mark, YAML::anchor_t anchor) {
    if (anchor != YAML::NullAnchor) refuse(mark, "anchors (&name) are not allowed");
  }
  static void check_tag(const YAML::Mark& mark, const std::string& tag) {
    // "?" is a plain scalar or untagged collection, "!" a quoted scalar.
    if (!tag.empty() && tag != "?" && tag != "!") refuse(mark, "tags (" + tag + ") are not allowed");
  }
  void open(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor, YamlNode::Kind kind) {
    check_anchor(mark, anchor);
    check_tag(mark, tag);
    if (stack_.size() >= kMaxDepth) refuse(mark, "nested too deeply");
    stack_.push_back(make(kind, mark));
  }
  void close() {
    YamlNode node = std::move(stack_.back());
    stack_.pop_back();
    attach(std::move(node));
  }
  void attach(YamlNode node) {
    if (stack_.empty()) {
      root = std::move(node);
      have_root = true;
      return;
    }
    YamlNode& parent = stack_.back();
    bool is_key = parent.kind == YamlNode::Kind::kMap && parent.items.size() % 2 == 0;
    if (is_key) {
      if (node.kind != YamlNode::Kind::kScalar) refuse(node.line, node.column, "a key must be a plain name");
      for (size_t i = 0; i < parent.items.size(); i += 2) {
        if (parent.items[i].value == node.value) {
          refuse(node.line, node.column,
                 "duplicate key '" + node.value + "' (first at line " + std::to_string(parent.items[i].line) + ")");
        }
      }
    }
    parent.items.push_back(std::move(node));
  }
};

}  // namespace

const char* yaml_kind_name(YamlNode::Kind kind) {
  switch (kind) {
    case YamlNode::Kind::kNull: return "null";
    case YamlNode::Kind::kScalar: return "a string";
    case YamlNode::Kind::kSequence: return "a list";
    case YamlNode::Kind::kMap: return "a mapping";
  }
  return "?";
}

void yaml_invalid(const YamlNode& at, std::string message) {
  throw YamlInvalid{at.line, at.column, std::move(message)};
}

const std::string& yaml_scalar(const YamlNode& node, const std::string& what) {
  if (node.kind != YamlNode::Kind::kScalar) {
    yaml_invalid(node, what + " must be a string, not " + yaml_kind_name(node.kind));
  }
  return node.value;
}

std::string yaml_problem_text(const std::string& source, int line, int column, const std::string& message) {
  std::string where = source;
  if (line > 0) where += ":" + std::to_string(line) + ":" + std::to_string(column);
  return where + ": " + message;
}

Result<YamlNode> parse_strict_yaml(std::string_view text, const std::string& source) {
  YamlProblem problem;
  try {
    std::istringstream in{std::string(text)};
    YAML::Parser parser(in);
    TreeBuilder builder;
    parser.HandleNextDocument(builder);
    TreeBuilder second;
    if (parser.HandleNextDocument(second)) {
      problem = YamlProblem{0, 0, "more than one YAML document"};
    } else {
      return builder.have_root ? std::move(builder.root) : YamlNode{};
    }
  } catch (const Refusal& r) {
    problem = r.problem;
  } catch (const YAML::Exception& e) {
    // yaml-cpp's marks are 0-based.
    problem = YamlProblem{e.mark.is_null() ? 0 : e.mark.line + 1, e.mark.is_null() ? 0 : e.mark.column + 1, e.msg};
  } catch (const std::exception& e) {
    problem = YamlProblem{0, 0, e.what()};
  }
  return Error::corruption(yaml_problem_text(source, problem.line, problem.column, problem.message));
}

}  // namespace webhookd
