#define BOOST_TEST_DYN_LINK
#include "model/state_file.h"

#include <boost/test/unit_test.hpp>

#include "test_support.h"

using namespace webhookd;

namespace {

const std::string kAccount = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

const std::string kReferenceFile =
    "account_sid: ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
    "pre_webhook_url: https://www.example.com/pre\n"
    "post_webhook_url: https://www.example.com/post\n"
    "filters:\n"
    "  - onMessageRemove\n"
    "  - onParticipantAdd\n"
    "method: POST\n";

}  // namespace

// The configuration alone, as most cases here look at it; the ETag that
// comes with it is checked in its own cases below.
Result<WebhookConfig> parse_state_file(std::string_view text, const std::string& source) {
  auto read = read_state_file(text, source);
  if (!read.ok()) return read.error();
  return read.value().config;
}

BOOST_AUTO_TEST_SUITE(state_file)

BOOST_AUTO_TEST_CASE(loads_valid_files) {
  struct Case {
    const char* name;
    std::string text;
    std::optional<std::string> pre, method;
    std::optional<std::vector<std::string>> filters;
  } cases[] = {
      {"the contract's example", kReferenceFile, "https://www.example.com/pre", "POST",
       std::vector<std::string>{"onMessageRemove", "onParticipantAdd"}},
      {"only account_sid", "account_sid: " + kAccount + "\n", std::nullopt, std::nullopt, std::nullopt},
      {"explicit nulls", "account_sid: " + kAccount + "\npre_webhook_url: null\nfilters: ~\nmethod:\n", std::nullopt,
       std::nullopt, std::nullopt},
      {"empty flow list", "account_sid: " + kAccount + "\nfilters: []\n", std::nullopt, std::nullopt,
       std::vector<std::string>{}},
      {"hand edit: comments, quotes, lower-case method", "# edited by hand\naccount_sid: '" + kAccount +
       "'\npre_webhook_url: \"https://x/pre\"  # why\nmethod: get\nfilters: [onMessageAdded, onMessageAdded]\n",
       "https://x/pre", "GET", std::vector<std::string>{"onMessageAdded"}},
      {"keys in any order", "method: POST\naccount_sid: " + kAccount + "\n", std::nullopt, "POST", std::nullopt},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      auto got = parse_state_file(c.text, "IS.yaml");
      BOOST_TEST_REQUIRE(got.ok(), (got.ok() ? "" : got.error().message));
      BOOST_TEST(got.value().account_sid == kAccount);
      BOOST_TEST((got.value().pre_webhook_url == c.pre));
      BOOST_TEST((got.value().method == c.method));
      BOOST_TEST((got.value().filters == c.filters));
    }
  }
}

BOOST_AUTO_TEST_CASE(refuses_invalid_files_naming_line_and_problem) {
  const std::string a = "account_sid: " + kAccount + "\n";
  struct Case {
    const char* name;
    std::string text;
    const char* where_and_what;
  } cases[] = {
      {"empty file", "", "f.yaml: the file must be a mapping"},
      {"not a mapping", "- a\n", "f.yaml:1:1: the file must be a mapping"},
      {"missing account_sid", "method: POST\n", "account_sid is missing"},
      {"bad account_sid", "account_sid: ACxyz\n", "f.yaml:1:14: account_sid must be AC"},
      {"account_sid null", "account_sid: null\n", "account_sid must be a string"},
      {"unknown key", a + "friendly_name: x\n", "f.yaml:2:1: unknown key 'friendly_name'"},
      {"duplicate key", a + "method: GET\nmethod: POST\n", "f.yaml:3:1: duplicate key 'method'"},
      {"anchor", a + "pre_webhook_url: &u https://x/y\npost_webhook_url: *u\n", "anchors"},
      {"tag", a + "method: !!str POST\n", "tags"},
      {"bad method", a + "method: PUT\n", "f.yaml:2:9: method must be GET or POST"},
      {"method list", a + "method: [GET]\n", "method must be a string, not a list"},
      {"bad url", a + "pre_webhook_url: ftp://x\n", "f.yaml:2:18: pre_webhook_url is not an absolute http(s) URL"},
      {"url port 0", a + "pre_webhook_url: https://x:0/pre\n", "f.yaml:2:18: pre_webhook_url is not an absolute http(s) URL"},
      {"url port 65536", a + "post_webhook_url: https://u:p@x:65536/\n", "f.yaml:2:19: post_webhook_url is not an absolute"},
      {"url port empty", a + "post_webhook_url: http://x:/\n", "f.yaml:2:19: post_webhook_url is not an absolute"},
      {"url number", a + "post_webhook_url: 123\n", "post_webhook_url is not an absolute"},
      {"url mapping", a + "post_webhook_url: {a: 1}\n", "post_webhook_url must be a string, not a mapping"},
      {"filters scalar", a + "filters: onMessageAdded\n", "filters must be a list, not a string"},
      {"unknown filter", a + "filters:\n  - onMessageAdded\n  - onBogus\n", "f.yaml:4:5: unknown filter 'onBogus'"},
      {"filter null", a + "filters:\n  - ~\n", "each filter must be a string"},
      {"yaml syntax", a + "filters: [onMessageAdded\n", "f.yaml:"},
      {"two documents", a + "---\n" + a, "more than one YAML document"},
      {"not utf-8", a + "pre_webhook_url: https://x/\xFF\n", "not UTF-8"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      auto got = parse_state_file(c.text, "f.yaml");
      BOOST_TEST_REQUIRE(!got.ok());
      BOOST_TEST((got.error().code == ErrorCode::kCorruption));
      BOOST_TEST(got.error().message.find(c.where_and_what) != std::string::npos, got.error().message);
    }
  }
}

BOOST_AUTO_TEST_CASE(emits_canonical_bytes) {
  auto parsed = parse_state_file(kReferenceFile, "x");
  BOOST_TEST_REQUIRE(parsed.ok());
  BOOST_TEST(emit_state_file(parsed.value()) == kReferenceFile);

  WebhookConfig empty;
  empty.account_sid = kAccount;
  BOOST_TEST(emit_state_file(empty) ==
             "account_sid: " + kAccount +
                 "\npre_webhook_url: null\npost_webhook_url: null\nfilters: null\nmethod: null\n");
  empty.filters = std::vector<std::string>{};
  BOOST_TEST(emit_state_file(empty).find("\nfilters: []\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(urls_round_trip_through_yaml) {
  const char* urls[] = {
      "https://www.example.com/pre",
      "https://x/a:",                 // trailing ':' would be a mapping indicator unquoted
      "https://x/a#frag",
      "https://x/?q=1&r=[2]{3},4",
      "https://x/'quote'",
      "https://x/\"dq\"\\",
      "https://caf\xC3\xA9.example/\xE2\x82\xAC",
      "http://[::1]:8080/x",
      "https://x/%41%20",
      "https://x/yes",
      "https://x/!&*|>@`",
  };
  for (const char* url : urls) {
    BOOST_TEST_CONTEXT(url) {
      WebhookConfig c;
      c.account_sid = kAccount;
      c.pre_webhook_url = url;
      c.post_webhook_url = url;
      c.method = "GET";
      c.filters = std::vector<std::string>{"onMessageAdded"};
      std::string bytes = emit_state_file(c);
      auto back = parse_state_file(bytes, "x");
      BOOST_TEST_REQUIRE(back.ok(), (back.ok() ? "" : back.error().message) << "\n" << bytes);
      BOOST_TEST((back.value() == c));
      BOOST_TEST(emit_state_file(back.value()) == bytes);  // stable
    }
  }
}

// webhookd's own files take a fast path (no yaml-cpp); a leading comment
// forces the YAML reader. Both must always agree, on valid and invalid input.
BOOST_AUTO_TEST_CASE(the_fast_path_agrees_with_the_yaml_reader) {
  const std::string a = "account_sid: " + kAccount + "\n";
  const std::string nulls = "pre_webhook_url: null\npost_webhook_url: null\n";
  const std::string cases[] = {
      kReferenceFile,
      a + nulls + "filters: null\nmethod: null\n",
      a + nulls + "filters: []\nmethod: GET\n",
      a + "pre_webhook_url: https://x/a#b\npost_webhook_url: null\nfilters:\n  - onMessageAdded\nmethod: POST\n",
      a + "pre_webhook_url: \"https://x/a:\"\npost_webhook_url: null\nfilters: null\nmethod: null\n",  // quoted
      a + nulls + "filters:\n  - onMessageAdded\n  - onMessageAdded\nmethod: POST\n",  // duplicate filter
      a + nulls + "filters:\n  - onBogus\nmethod: POST\n",
      a + nulls + "filters:\nmethod: POST\n",
      a + nulls + "filters: null\nmethod: PUT\n",
      a + nulls + "filters: null\nmethod: post\n",
      a + "pre_webhook_url: ftp://x\npost_webhook_url: null\nfilters: null\nmethod: null\n",
      a + "pre_webhook_url: https://x:0/\npost_webhook_url: null\nfilters: null\nmethod: null\n",
      a + "pre_webhook_url: https://u:p@x:443/\npost_webhook_url: null\nfilters: null\nmethod: null\n",
      a + "pre_webhook_url: https://x/ #c\npost_webhook_url: null\nfilters: null\nmethod: null\n",
      a + nulls + "filters: null\nmethod: null\nextra: 1\n",
      a + nulls + "filters: null\nmethod: null",  // no final newline
      "account_sid: ACxyz\n" + nulls + "filters: null\nmethod: null\n",
  };
  for (const std::string& text : cases) {
    BOOST_TEST_CONTEXT(text) {
      auto fast = parse_state_file(text, "x");
      auto yaml = parse_state_file("# force the YAML reader\n" + text, "x");
      BOOST_TEST(fast.ok() == yaml.ok());
      if (fast.ok() && yaml.ok()) BOOST_TEST((fast.value() == yaml.value()));
    }
  }
}

BOOST_AUTO_TEST_CASE(etag_follows_the_configuration_not_the_formatting) {
  auto a = parse_state_file(kReferenceFile, "x");
  auto b = parse_state_file("# a comment\nmethod: post\n" + kReferenceFile.substr(0, kReferenceFile.find("method:")), "x");
  BOOST_TEST_REQUIRE(a.ok());
  BOOST_TEST_REQUIRE(b.ok());
  BOOST_TEST(config_etag(a.value()) == config_etag(b.value()));
  WebhookConfig changed = a.value();
  changed.method = "GET";
  BOOST_TEST(config_etag(changed) != config_etag(a.value()));
  BOOST_TEST(config_etag(changed).size() == 34u);
  BOOST_TEST(config_etag(changed).front() == '"');
}

// Both readers hand out the ETag with the value: the digest of the
// canonical bytes, whatever the file looked like.
BOOST_AUTO_TEST_CASE(the_etag_comes_with_the_value) {
  const std::string hand = "# a comment\nmethod: post\n" + kReferenceFile.substr(0, kReferenceFile.find("method:"));
  for (const std::string& text : {kReferenceFile, hand}) {
    auto read = read_state_file(text, "x");
    BOOST_TEST_REQUIRE(read.ok());
    BOOST_TEST(read.value().etag == config_etag(read.value().config));
  }
}

// encode_state is what the store writes: it refuses any configuration the
// reader would refuse, so nothing written can fail to load.
BOOST_AUTO_TEST_CASE(encode_refuses_what_the_reader_would_refuse) {
  WebhookConfig good;
  good.account_sid = kAccount;
  good.pre_webhook_url = "https://x/pre";
  auto encoded = encode_state(good);
  BOOST_TEST_REQUIRE(encoded.ok());
  BOOST_TEST(encoded.value().bytes == emit_state_file(good));
  BOOST_TEST(encoded.value().state.etag == config_etag(good));
  auto back = read_state_file(encoded.value().bytes, "x");
  BOOST_TEST_REQUIRE(back.ok());
  BOOST_TEST((back.value().config == good));

  struct Case {
    const char* name;
    WebhookConfig config;
  } bad[] = {
      {"newline in a URL", [] { WebhookConfig c; c.account_sid = kAccount; c.pre_webhook_url = "https://x/\nmethod: GET"; return c; }()},
      {"no account", [] { WebhookConfig c; c.method = "GET"; return c; }()},
      {"unknown filter", [] { WebhookConfig c; c.account_sid = kAccount; c.filters = std::vector<std::string>{"onX"}; return c; }()},
  };
  for (const auto& c : bad) {
    BOOST_TEST_CONTEXT(c.name) {
      auto refused = encode_state(c.config);
      BOOST_TEST_REQUIRE(!refused.ok());
      BOOST_TEST((refused.error().code == ErrorCode::kInvalidArgument));
      BOOST_TEST(!read_state_file(emit_state_file(c.config), "x").ok());  // what it would have written
    }
  }
}

// webhookctl check lists every problem of a file; read_state_file stops at
// the first. Both are the same reader: the first problem is the same.
BOOST_AUTO_TEST_CASE(every_problem_of_a_file) {
  struct Case {
    const char* name;
    std::string text;
    std::vector<std::string> problems;
  } cases[] = {
      {"valid", "account_sid: " + kAccount + "\n", {}},
      {"three at once", "account_sid: " + kAccount + "\nbogus: 1\nmethod: PUT\nfilters: [onX, onMessageAdd]\n",
       {"f:2:1: unknown key 'bogus'", "f:3:9: method must be GET or POST", "f:4:11: unknown filter 'onX'"}},
      {"missing account and a bad url", "pre_webhook_url: nope\n",
       {"f:1:18: pre_webhook_url is not an absolute http(s) URL", "f:1:1: account_sid is missing"}},
      {"not a mapping", "- a\n", {"f:1:1: the file must be a mapping with account_sid"}},
      {"syntax: one problem", "a: [\n", {"f:2:1: end of sequence flow not found"}},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      BOOST_TEST(state_file_problems(c.text, "f") == c.problems, boost::test_tools::per_element());
      auto read = read_state_file(c.text, "f");
      BOOST_TEST(read.ok() == c.problems.empty());
      if (!read.ok()) BOOST_TEST(read.error().message == c.problems.front());
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

// The account's global webhooks (AC….yaml) are the second kind of file of
// the same table: no account_sid (the name is the account), target added,
// the 23 filter names, and method, filters and target never null.
BOOST_AUTO_TEST_SUITE(account_state_file)

namespace {
const std::string kAccountDefaults =
    "pre_webhook_url: null\npost_webhook_url: null\nfilters: []\nmethod: POST\ntarget: webhook\n";
}

// What webhookd wrote for services before accounts had files, it writes
// still, byte for byte and with the same ETag: files in git and the ETags
// clients hold stay valid.
BOOST_AUTO_TEST_CASE(service_files_keep_their_bytes_and_etags) {
  struct Case {
    std::string text, etag;
  } cases[] = {
      {kReferenceFile, "\"62434d19087627885ed9129ba679c4a5\""},
      {"account_sid: " + kAccount + "\npre_webhook_url: null\npost_webhook_url: null\nfilters: null\nmethod: null\n",
       "\"07af45612ffdefd3331d61995cbcdab9\""},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.text) {
      auto read = read_state_file(c.text, "x");
      BOOST_TEST_REQUIRE(read.ok());
      BOOST_TEST(read.value().etag == c.etag);
      BOOST_TEST(emit_state_file(read.value().config) == c.text);
      BOOST_TEST(config_etag(read.value().config) == c.etag);
      BOOST_TEST((read.value().config.scope == Scope::kService));
      BOOST_TEST(!read.value().config.target.has_value());
    }
  }
}

BOOST_AUTO_TEST_CASE(loads_valid_account_files) {
  using Strings = std::vector<std::string>;
  struct Case {
    const char* name;
    std::string text;
    std::optional<std::string> pre;
    std::string method, target;
    Strings filters;
  } cases[] = {
      {"canonical defaults", kAccountDefaults, std::nullopt, "POST", "webhook", {}},
      {"an empty mapping reads as the defaults", "{}\n", std::nullopt, "POST", "webhook", {}},
      {"nulls read as the defaults", "method: null\nfilters: ~\ntarget:\n", std::nullopt, "POST", "webhook", {}},
      {"full, Twilio's order", "pre_webhook_url: https://example.com/pre\npost_webhook_url: http://example.com/post\n"
       "method: get\nfilters: [onConversationUpdated, onUserAdded, onUserUpdate, onUserUpdated]\ntarget: flex\n",
       "https://example.com/pre", "GET", "flex", {"onConversationUpdated", "onUserAdded", "onUserUpdate", "onUserUpdated"}},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      auto got = read_state_file(c.text, "AC.yaml", Scope::kAccount);
      BOOST_TEST_REQUIRE(got.ok(), (got.ok() ? "" : got.error().message));
      const WebhookConfig& v = got.value().config;
      BOOST_TEST((v.scope == Scope::kAccount));
      BOOST_TEST(v.account_sid.empty());
      BOOST_TEST((v.pre_webhook_url == c.pre));
      BOOST_TEST(v.method.value() == c.method);
      BOOST_TEST(v.target.value() == c.target);
      BOOST_TEST((v.filters.value() == c.filters));
      BOOST_TEST(got.value().etag == config_etag(v));
      BOOST_TEST(validate_config(v).ok());
    }
  }
  // Null, absent and written-out defaults are one configuration: one ETag.
  BOOST_TEST(read_state_file("{}\n", "a", Scope::kAccount).value().etag ==
             read_state_file(kAccountDefaults, "a", Scope::kAccount).value().etag);
  BOOST_TEST(read_state_file(kAccountDefaults, "a", Scope::kAccount).value().etag == config_etag(account_defaults()));
}

// The rows of the one table, each in the wrong kind of file, and the
// account's own rules.
BOOST_AUTO_TEST_CASE(each_kind_refuses_the_others_keys_and_names) {
  const std::string a = "account_sid: " + kAccount + "\n";
  struct Case {
    const char* name;
    Scope scope;
    std::string text;
    const char* where_and_what;
  } cases[] = {
      {"account_sid in an account file", Scope::kAccount, a,
       "f.yaml:1:1: account_sid is not a key of an account's file: its name (AC….yaml) is the account"},
      {"target in a service file", Scope::kService, a + "target: webhook\n",
       "f.yaml:2:1: target is a key of an account's global settings (AC….yaml), not of a service's"},
      {"onUserAdded in a service file", Scope::kService, a + "filters: [onUserAdded]\n",
       "f.yaml:2:11: unknown filter 'onUserAdded'"},
      {"bad target", Scope::kAccount, "target: Flex\n", "f.yaml:1:9: target must be webhook or flex"},
      {"target list", Scope::kAccount, "target: [flex]\n", "target must be a string, not a list"},
      {"unknown filter", Scope::kAccount, "filters: [onUserRemoved]\n", "f.yaml:1:11: unknown filter 'onUserRemoved'"},
      {"bad method", Scope::kAccount, "method: PUT\n", "f.yaml:1:9: method must be GET or POST"},
      {"bad url", Scope::kAccount, "post_webhook_url: ftp://x\n", "post_webhook_url is not an absolute http(s) URL"},
      {"unknown key", Scope::kAccount, "friendly_name: x\n", "f.yaml:1:1: unknown key 'friendly_name'"},
      {"duplicate key", Scope::kAccount, "target: flex\ntarget: webhook\n", "f.yaml:2:1: duplicate key 'target'"},
      {"empty file", Scope::kAccount, "", "f.yaml: the file must be a mapping"},
      {"not a mapping", Scope::kAccount, "- a\n", "f.yaml:1:1: the file must be a mapping"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      auto got = read_state_file(c.text, "f.yaml", c.scope);
      BOOST_TEST_REQUIRE(!got.ok());
      BOOST_TEST((got.error().code == ErrorCode::kCorruption));
      BOOST_TEST(got.error().message.find(c.where_and_what) != std::string::npos, got.error().message);
      BOOST_TEST(state_file_problems(c.text, "f.yaml", c.scope).front() == got.error().message);
    }
  }
}

BOOST_AUTO_TEST_CASE(emits_the_canonical_account_file) {
  BOOST_TEST(emit_state_file(account_defaults()) == kAccountDefaults);
  WebhookConfig c = account_defaults();
  c.pre_webhook_url = "https://x/a:";
  c.filters = std::vector<std::string>{"onUserAdded", "onMessageAdded"};
  c.method = "GET";
  c.target = "flex";
  const std::string bytes = emit_state_file(c);
  BOOST_TEST(bytes ==
             "pre_webhook_url: \"https://x/a:\"\npost_webhook_url: null\nfilters:\n  - onUserAdded\n  - onMessageAdded\n"
             "method: GET\ntarget: flex\n");
  auto back = read_state_file(bytes, "x", Scope::kAccount);
  BOOST_TEST_REQUIRE(back.ok());
  BOOST_TEST((back.value().config == c));
  auto encoded = encode_state(c);
  BOOST_TEST_REQUIRE(encoded.ok());
  BOOST_TEST(encoded.value().bytes == bytes);
  // What the reader would not read back as the same value is never written.
  WebhookConfig with_account = c;
  with_account.account_sid = kAccount;
  WebhookConfig null_method = c;
  null_method.method.reset();
  WebhookConfig service_target;
  service_target.account_sid = kAccount;
  service_target.target = "flex";
  for (const WebhookConfig& bad : {with_account, null_method, service_target}) {
    auto refused = encode_state(bad);
    BOOST_TEST_REQUIRE(!refused.ok());
    BOOST_TEST((refused.error().code == ErrorCode::kInvalidArgument));
  }
}

// The fast path walks the same rows for an account file.
BOOST_AUTO_TEST_CASE(the_fast_path_agrees_with_the_yaml_reader_for_accounts) {
  const std::string nulls = "pre_webhook_url: null\npost_webhook_url: null\n";
  const std::string cases[] = {
      kAccountDefaults,
      nulls + "filters:\n  - onUserAdded\nmethod: GET\ntarget: flex\n",
      nulls + "filters: null\nmethod: POST\ntarget: webhook\n",  // null filters: the defaults' [] is canonical
      nulls + "filters: []\nmethod: null\ntarget: webhook\n",
      nulls + "filters: []\nmethod: POST\ntarget: null\n",
      nulls + "filters: []\nmethod: POST\ntarget: Flex\n",
      nulls + "filters: []\nmethod: POST\n",  // no target line
      "account_sid: " + kAccount + "\n" + kAccountDefaults,
      nulls + "filters:\n  - onUserAdded\n  - onUserAdded\nmethod: POST\ntarget: webhook\n",
  };
  for (const std::string& text : cases) {
    BOOST_TEST_CONTEXT(text) {
      auto fast = read_state_file(text, "x", Scope::kAccount);
      auto yaml = read_state_file("# force the YAML reader\n" + text, "x", Scope::kAccount);
      BOOST_TEST(fast.ok() == yaml.ok());
      if (fast.ok() && yaml.ok()) {
        BOOST_TEST((fast.value().config == yaml.value().config));
        BOOST_TEST(fast.value().etag == yaml.value().etag);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(state_fields_walk_the_kind_of_file) {
  using Fields = std::vector<std::pair<std::string, std::string>>;
  WebhookConfig c = account_defaults();
  c.filters = std::vector<std::string>{"onUserAdded", "onMessageAdded"};
  BOOST_TEST((state_fields(c) == Fields{{"pre_webhook_url", "null"}, {"post_webhook_url", "null"},
                                        {"filters", "[onUserAdded, onMessageAdded]"}, {"method", "POST"},
                                        {"target", "webhook"}}));
  WebhookConfig s;
  s.account_sid = kAccount;
  s.method = "GET";
  BOOST_TEST((state_fields(s) == Fields{{"account_sid", kAccount}, {"pre_webhook_url", "null"},
                                        {"post_webhook_url", "null"}, {"filters", "null"}, {"method", "GET"}}));
}

BOOST_AUTO_TEST_SUITE_END()
