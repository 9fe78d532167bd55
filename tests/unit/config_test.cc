#define BOOST_TEST_DYN_LINK
#include "model/config.h"

#include <boost/test/unit_test.hpp>

#include "base/sha256.h"
#include "store/config_file.h"
#include "test_support.h"

using namespace webhookd;

namespace {

const std::string kDigest = "b13ae34b9231f95675ff502761b64aedd0c278f5b6e8730ce99b72f35b2ddfb0";  // "token123"
const std::string kValid =
    "state_dir: /var/lib/webhookd\n"
    "public_base_url: https://conversations.example.com/\n"
    "accounts:\n"
    "  - sid: ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
    "    auth_token_sha256: " + kDigest + "\n"
    "api_keys:\n"
    "  - sid: SKaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
    "    account_sid: ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
    "    secret_sha256: " + kDigest + "\n";

}  // namespace

BOOST_AUTO_TEST_SUITE(config)

BOOST_AUTO_TEST_CASE(loads_a_valid_config) {
  auto got = parse_config(kValid, "/etc/webhookd/webhookd.yaml");
  BOOST_TEST_REQUIRE(got.ok(), (got.ok() ? "" : got.error().message));
  const Config& c = got.value();
  BOOST_TEST(c.state_dir == "/var/lib/webhookd");
  BOOST_TEST(c.public_base_url == "https://conversations.example.com");  // trailing '/' dropped
  BOOST_TEST(c.credentials.account_token_digest.at("ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") == sha256_raw("token123"));
  BOOST_TEST(c.credentials.api_keys.at("SKaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa").account_sid == "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
}

BOOST_AUTO_TEST_CASE(relative_state_dir_is_taken_from_the_config_directory) {
  auto got = parse_config("state_dir: ../state\naccounts: []\n", "/srv/repo/conf/webhookd.yaml");
  BOOST_TEST_REQUIRE(got.ok());
  BOOST_TEST(got.value().state_dir == "/srv/repo/conf/../state");
  BOOST_TEST(got.value().public_base_url.empty());
}

BOOST_AUTO_TEST_CASE(refuses_bad_configs_naming_file_line_and_problem) {
  const std::string acct = "accounts:\n  - sid: ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n    auth_token_sha256: " + kDigest + "\n";
  struct Case {
    const char* name;
    std::string text;
    const char* says;
  } cases[] = {
      {"empty", "", "c.yaml: the config must be a mapping"},
      {"no state_dir", acct, "the config needs 'state_dir'"},
      {"no accounts", "state_dir: /s\n", "needs 'accounts'"},
      {"unknown key", "state_dir: /s\nlisten: x\n" + acct, "c.yaml:2:1: unknown key 'listen'"},
      {"duplicate key", "state_dir: /s\nstate_dir: /t\n" + acct, "c.yaml:2:1: duplicate key 'state_dir'"},
      {"bad base url", "state_dir: /s\npublic_base_url: example.com\n" + acct, "c.yaml:2:18: public_base_url must be"},
      {"bad account sid", "state_dir: /s\naccounts:\n  - sid: AC1\n    auth_token_sha256: " + kDigest + "\n",
       "c.yaml:3:10: account sid must be AC"},
      {"short digest", "state_dir: /s\naccounts:\n  - sid: ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n    auth_token_sha256: abc\n",
       "c.yaml:4:24: auth_token_sha256 must be 64 hex digits"},
      {"plain token instead of digest",
       "state_dir: /s\naccounts:\n  - sid: ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n    auth_token: token123\n",
       "unknown key 'auth_token' in an account"},
      {"account listed twice", "state_dir: /s\n" + acct + acct.substr(acct.find("  -")), "listed twice"},
      {"key of unknown account",
       "state_dir: /s\n" + acct + "api_keys:\n  - sid: SKaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n    account_sid: ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n    secret_sha256: " + kDigest + "\n",
       "c.yaml:7:18: account_sid ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb is not among accounts"},
      {"key sid not SK",
       "state_dir: /s\n" + acct + "api_keys:\n  - sid: ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n    account_sid: ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n    secret_sha256: " + kDigest + "\n",
       "api key sid must be SK"},
      {"accounts not a list", "state_dir: /s\naccounts: x\n", "accounts must be a list"},
      {"yaml syntax", "state_dir: [\n", "c.yaml:"},
      {"api_writes neither allow nor deny", "state_dir: /s\n" + acct + "api_writes: maybe\n", "c.yaml:5:13: api_writes must be allow or deny"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      auto got = parse_config(c.text, "c.yaml");
      BOOST_TEST_REQUIRE(!got.ok());
      BOOST_TEST(got.error().message.find(c.says) != std::string::npos, got.error().message);
    }
  }
}

BOOST_AUTO_TEST_CASE(load_config_reads_the_file_and_names_it) {
  webhookd_test::TempDir dir;
  PosixFileSystem fs;
  auto missing = load_config(fs, dir.file("missing.yaml"));
  BOOST_TEST_REQUIRE(!missing.ok());
  BOOST_TEST((missing.error().code == ErrorCode::kNotFound));
  BOOST_TEST(missing.error().message == dir.file("missing.yaml") + ": no such file");
  webhookd_test::write_file(dir.file("w.yaml"), kValid);
  BOOST_TEST(load_config(fs, dir.file("w.yaml")).ok());
}

BOOST_AUTO_TEST_CASE(api_writes_defaults_to_allow) {
  const std::string base = "state_dir: /s\naccounts: []\n";
  struct Case {
    std::string extra;
    bool allowed;
  } cases[] = {{"", true}, {"api_writes: allow\n", true}, {"api_writes: deny\n", false}};
  for (const auto& c : cases) {
    auto got = parse_config(base + c.extra, "c.yaml");
    BOOST_TEST_REQUIRE(got.ok());
    BOOST_TEST(got.value().api_writes == c.allowed);
    BOOST_TEST(got.value().credentials.account_token_digest.empty());  // a fresh install lets nobody in
  }
}

// The check behind start-up and SIGHUP: a state_dir that cannot be served
// from is refused, naming the config file.
BOOST_AUTO_TEST_CASE(state_dir_must_be_a_usable_directory) {
  webhookd_test::TempDir dir;
  PosixFileSystem fs;
  webhookd_test::write_file(dir.file("plain-file"), "x");
  struct Case {
    std::string state_dir;
    bool ok;
    const char* says;
  } cases[] = {
      {dir.path(), true, ""},
      {dir.file("missing"), false, "No such file or directory"},
      {dir.file("plain-file"), false, "Not a directory"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.state_dir) {
      Config config;
      config.source = "/etc/webhookd/webhookd.yaml";
      config.state_dir = c.state_dir;
      Status s = check_state_dir(fs, config);
      BOOST_TEST(s.ok() == c.ok);
      if (!s.ok()) {
        BOOST_TEST((s.error().code == ErrorCode::kInvalidArgument));
        BOOST_TEST(s.error().message.find("/etc/webhookd/webhookd.yaml: state_dir: ") == 0u, s.error().message);
        BOOST_TEST(s.error().message.find(c.says) != std::string::npos, s.error().message);
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
