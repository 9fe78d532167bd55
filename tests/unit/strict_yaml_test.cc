#define BOOST_TEST_DYN_LINK
#include "store/strict_yaml.h"

#include <boost/test/unit_test.hpp>

#include "test_support.h"

using namespace webhookd;

BOOST_AUTO_TEST_SUITE(strict_yaml)

BOOST_AUTO_TEST_CASE(builds_trees_with_positions) {
  YamlNode root;
  YamlProblem problem;
  BOOST_TEST_REQUIRE(parse_strict_yaml("a: 1\nb:\n  - x\n  - 'null'\nc: ~\nd:\n", &root, &problem));
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
  YamlNode root;
  YamlProblem problem;
  BOOST_TEST_REQUIRE(parse_strict_yaml("", &root, &problem));
  BOOST_TEST((root.kind == YamlNode::Kind::kNull));
}

BOOST_AUTO_TEST_CASE(refuses_what_hand_edits_must_not_rely_on) {
  struct Case {
    const char* name;
    std::string text;
    int line;
    const char* says;
  } cases[] = {
      {"duplicate key", "method: GET\nmethod: POST\n", 2, "duplicate key 'method' (first at line 1)"},
      {"anchor", "a: &x 1\nb: 2\n", 1, "anchors"},
      {"alias", "a: 1\nb: *x\n", 2, ""},  // an unknown alias is a yaml-cpp error; a known one is ours
      {"anchor and alias", "a: &x [1]\nb: *x\n", 1, "anchors"},
      {"tag", "a: !!str 1\n", 1, "tags"},
      {"custom tag", "a: !custom 1\n", 1, "tags"},
      {"two documents", "a: 1\n---\nb: 2\n", 0, "more than one YAML document"},
      {"syntax error", "a: [1, 2\n", 0, ""},
      {"bad indentation", "a:\n  - x\n - y\n", 0, ""},
      {"map as key", "? {a: 1}\n: 2\n", 1, "a key must be a plain name"},
      {"deep nesting", std::string(20, '[') + std::string(20, ']'), 1, "nested too deeply"},
      {"very deep nesting", std::string(2000, '[') + std::string(2000, ']'), 1, ""},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      YamlNode root;
      YamlProblem problem;
      BOOST_TEST_REQUIRE(!parse_strict_yaml(c.text, &root, &problem));
      BOOST_TEST(!problem.message.empty());
      if (c.line > 0) BOOST_TEST(problem.line == c.line);
      if (*c.says) BOOST_TEST(problem.message.find(c.says) != std::string::npos, problem.message);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
