#define BOOST_TEST_DYN_LINK
#include "model/strict_yaml.h"

#include <boost/test/unit_test.hpp>

#include "test_support.h"

using namespace webhookd;

BOOST_AUTO_TEST_SUITE(strict_yaml)

BOOST_AUTO_TEST_CASE(builds_trees_with_positions) {
  auto parsed = parse_strict_yaml("a: 1\nb:\n  - x\n  - 'null'\nc: ~\nd:\n", "f.yaml");
  BOOST_TEST_REQUIRE(parsed.ok());
  const YamlNode& root = parsed.value();
  BOOST_TEST((root.kind == YamlNode::Kind::kMap));
  BOOST_TEST(root.map_size() == 4u);
  BOOST_TEST(root.key(0).value == "a");
  BOOST_TEST(root.value_at(0).value == "1");
  BOOST_TEST(root.value_at(0).line == 1);
  BOOST_TEST(root.value_at(0).column == 4);
  BOOST_TEST((root.value_at(1).kind == YamlNode::Kind::kSequence));
  BOOST_TEST(root.value_at(1).items.at(1).value == "null");  // quoted: text
  BOOST_TEST((root.value_at(1).items.at(1).kind == YamlNode::Kind::kScalar));
  BOOST_TEST(root.value_at(1).items.at(1).line == 4);
  BOOST_TEST((root.value_at(2).kind == YamlNode::Kind::kNull));
  BOOST_TEST((root.value_at(3).kind == YamlNode::Kind::kNull));
}

BOOST_AUTO_TEST_CASE(empty_text_is_null) {
  auto parsed = parse_strict_yaml("", "f.yaml");
  BOOST_TEST_REQUIRE(parsed.ok());
  BOOST_TEST((parsed.value().kind == YamlNode::Kind::kNull));
}

BOOST_AUTO_TEST_CASE(refuses_what_hand_edits_must_not_rely_on) {
  struct Case {
    const char* name;
    std::string text;
    const char* where;  // "f.yaml:line:column: ", or "f.yaml: " when yaml-cpp knows no place
    const char* says;
  } cases[] = {
      {"duplicate key", "method: GET\nmethod: POST\n", "f.yaml:2:1: ", "duplicate key 'method' (first at line 1)"},
      {"anchor", "a: &x 1\nb: 2\n", "f.yaml:1:4: ", "anchors (&name) are not allowed"},
      // An unknown alias is yaml-cpp's own error; a known one never gets that far (its anchor is refused).
      {"alias", "a: 1\nb: *x\n", "f.yaml:2:4: ", "the referenced anchor is not defined"},
      {"anchor and alias", "a: &x [1]\nb: *x\n", "f.yaml:1:4: ", "anchors (&name) are not allowed"},
      {"tag", "a: !!str 1\n", "f.yaml:1:4: ", "tags (tag:yaml.org,2002:str) are not allowed"},
      {"custom tag", "a: !custom 1\n", "f.yaml:1:4: ", "tags (!custom) are not allowed"},
      {"two documents", "a: 1\n---\nb: 2\n", "f.yaml: ", "more than one YAML document"},
      {"syntax error", "a: [1, 2\n", "f.yaml:2:1: ", "end of sequence flow not found"},
      {"bad indentation", "a:\n  - x\n - y\n", "f.yaml:3:2: ", "end of map not found"},
      {"map as key", "? {a: 1}\n: 2\n", "f.yaml:1:3: ", "a key must be a plain name"},
      {"deep nesting", std::string(20, '[') + std::string(20, ']'), "f.yaml:1:17: ", "nested too deeply"},
      {"very deep nesting", std::string(2000, '[') + std::string(2000, ']'), "f.yaml:1:", "nested too deeply"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      auto parsed = parse_strict_yaml(c.text, "f.yaml");
      BOOST_TEST_REQUIRE(!parsed.ok());
      const std::string& message = parsed.error().message;
      BOOST_TEST((parsed.error().code == ErrorCode::kCorruption));
      BOOST_TEST(message.rfind(c.where, 0) == 0u, message);
      BOOST_TEST(message.find(c.says) != std::string::npos, message);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
