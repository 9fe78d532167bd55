#define BOOST_TEST_DYN_LINK
#include "api/handler.h"

#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <cstring>
#include <regex>
#include <utility>

#include "base/sha256.h"
#include "model/state_file.h"
#include "test_support.h"

using namespace webhookd;
using webhookd_test::read_file;
using webhookd_test::TempDir;
using webhookd_test::write_file;

namespace {

const std::string kSid = "ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const std::string kEmptySid = "ISbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";   // never configured
const std::string kForeignSid = "IScccccccccccccccccccccccccccccccc"; // another account's
const std::string kBrokenSid = "ISdddddddddddddddddddddddddddddddd";  // invalid hand edit
const std::string kAccount = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const std::string kOther = "ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const std::string kPath = "/v1/Services/" + kSid + "/Configuration/Webhooks";
// base64("ACaaa…:token123"), as python's client sends it.
const std::string kAuth = "Basic QUNhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYTp0b2tlbjEyMw==";

const std::string kStored =
    "account_sid: ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
    "pre_webhook_url: https://www.example.com/pre\n"
    "post_webhook_url: https://www.example.com/post\n"
    "filters:\n  - onMessageRemove\n  - onParticipantAdd\n"
    "method: POST\n";
const std::string kBroken = "account_sid: ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nmethod: GET\nmethod: POST\n";

struct Fixture {
  TempDir dir;
  PosixFileSystem fs;
  Config config;
  StateStore store{fs, dir.path()};

  Fixture() {
    config.state_dir = dir.path();
    config.credentials.account_token_digest[kAccount] = sha256_raw("token123");
    config.credentials.account_token_digest[kOther] = sha256_raw("other");
    write_file(dir.file(kSid + ".yaml"), kStored);
    write_file(dir.file(kEmptySid + ".yaml"), "account_sid: " + kAccount + "\n");
    write_file(dir.file(kForeignSid + ".yaml"), "account_sid: " + kOther + "\n");
    write_file(dir.file(kBrokenSid + ".yaml"), kBroken);
  }
  HttpResponse call(HttpRequest r) { return handle(r, config, store); }
};

HttpRequest request(const std::string& method, const std::string& path = kPath, const std::string& body = "") {
  HttpRequest r;
  r.method = method;
  r.path = path;
  r.scheme = "http";
  r.host = "127.0.0.1:8080";
  r.authorization = kAuth;
  r.body = body;
  if (!body.empty()) r.content_type = "application/x-www-form-urlencoded";
  return r;
}

int code_of(const HttpResponse& r) {
  std::smatch m;
  static const std::regex code("^\\{\"code\":(\\d+),");
  return std::regex_search(r.body, m, code) ? std::stoi(m[1]) : 0;
}

std::string path_of(const std::string& sid) { return "/v1/Services/" + sid + "/Configuration/Webhooks"; }

}  // namespace

BOOST_FIXTURE_TEST_SUITE(handler, Fixture)

BOOST_AUTO_TEST_CASE(fetch_answers_the_resource) {
  HttpResponse r = call(request("GET"));
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body ==
             R"({"account_sid":"ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","chat_service_sid":"ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",)"
             R"("pre_webhook_url":"https://www.example.com/pre","post_webhook_url":"https://www.example.com/post",)"
             R"("filters":["onMessageRemove","onParticipantAdd"],"method":"POST",)"
             R"("url":"http://127.0.0.1:8080/v1/Services/ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Configuration/Webhooks"})");
  BOOST_TEST(*r.header("Content-Type") == "application/json; charset=utf-8");
  BOOST_TEST(std::regex_match(*r.header("Twilio-Request-Id"), std::regex("^RQ[0-9a-f]{32}$")));
  BOOST_TEST(r.header("ETag") != nullptr);
  BOOST_TEST(r.account_sid == kAccount);
}

BOOST_AUTO_TEST_CASE(never_configured_service_answers_nulls) {
  HttpResponse r = call(request("GET", path_of(kEmptySid)));
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body.find(R"("pre_webhook_url":null,"post_webhook_url":null,"filters":null,"method":null,)") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(url_comes_from_public_base_url_when_set) {
  config.public_base_url = "https://conversations.example.com";
  HttpResponse r = call(request("GET"));
  BOOST_TEST(r.body.find(R"("url":"https://conversations.example.com/v1/Services/)" + kSid) != std::string::npos);
  HttpRequest https = request("GET");
  https.scheme = "https";
  config.public_base_url.clear();
  BOOST_TEST(call(https).body.find(R"("url":"https://127.0.0.1:8080/v1/)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(head_is_get_without_body) {
  HttpResponse get = call(request("GET"));
  HttpResponse head = call(request("HEAD"));
  BOOST_TEST(head.status == 200);
  BOOST_TEST(head.body.empty());
  BOOST_TEST(*head.header("Content-Length") == std::to_string(get.body.size()));
  BOOST_TEST(*head.header("ETag") == *get.header("ETag"));
}

// The contract's HTTP table, row by row.
BOOST_AUTO_TEST_CASE(status_code_and_headers_for_every_row) {
  struct Case {
    const char* name;
    HttpRequest req;
    int status, code;
    const char* message;  // a substring of the message every row must have
  } cases[] = {
      {"PUT", request("PUT"), 405, 20004,
       "The requested resource /Services/ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Configuration/Webhooks does not support the attempted HTTP method PUT"},
      {"DELETE", request("DELETE"), 405, 20004, "method DELETE"},
      {"PATCH", request("PATCH"), 405, 20004, "method PATCH"},
      {"OPTIONS", request("OPTIONS"), 405, 20004, "method OPTIONS"},
      {"malformed sid", request("GET", path_of("ISnotfound")), 404, 20404,
       "The requested resource /Services/ISnotfound/Configuration/Webhooks was not found"},
      {"sid lower-case prefix", request("GET", path_of("isaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")), 404, 20404,
       "The requested resource /Services/isaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Configuration/Webhooks was not found"},
      {"sid too long", request("GET", path_of(kSid + "a")), 404, 20404,
       "The requested resource /Services/ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Configuration/Webhooks was not found"},
      {"other path", request("GET", "/v1/Services/" + kSid), 404, 20404, "/Services/ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa was not found"},
      {"no state file", request("GET", path_of("ISeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee")), 404, 20404,
       "/Services/ISeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee/Configuration/Webhooks was not found"},
      {"another account's", request("GET", path_of(kForeignSid)), 404, 20404,
       "/Services/IScccccccccccccccccccccccccccccccc/Configuration/Webhooks was not found"},
      {"POST to another account's", request("POST", path_of(kForeignSid), "Method=GET"), 404, 20404,
       "The requested resource /Services/IScccccccccccccccccccccccccccccccc/Configuration/Webhooks was not found"},
      {"POST to a missing service", request("POST", path_of("ISeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"), "Method=GET"), 404, 20404,
       "The requested resource /Services/ISeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee/Configuration/Webhooks was not found"},
      {"invalid state file", request("GET", path_of(kBrokenSid)), 500, 20500, "Internal Server Error"},
      {"bad pre url", request("POST", kPath, "PreWebhookUrl=nope"), 400, 50077, "Invalid pre-webhook url"},
      {"bad post url", request("POST", kPath, "PostWebhookUrl=ftp%3A%2F%2Fx"), 400, 50078, "Invalid post-webhook url"},
      {"pre url port 0", request("POST", kPath, "PreWebhookUrl=https%3A%2F%2Fx%3A0%2Fpre"), 400, 50077,
       "Invalid pre-webhook url"},
      {"post url port 65536", request("POST", kPath, "PostWebhookUrl=https%3A%2F%2Fx%3A65536%2F"), 400, 50078,
       "Invalid post-webhook url"},
      {"post url port empty", request("POST", kPath, "PostWebhookUrl=https%3A%2F%2Fx%3A%2F"), 400, 50078,
       "Invalid post-webhook url"},
      {"bad method", request("POST", kPath, "Method=PUT"), 400, 50055, "Invalid webhook method"},
      {"bad filter", request("POST", kPath, "Filters=onMessageAdded&Filters=onBogus"), 400, 50365, "onBogus"},
      {"bad escape", request("POST", kPath, "Method=%G0"), 400, 400, "bad percent escape"},
      {"bad utf-8", request("POST", kPath, "PreWebhookUrl=%FF"), 400, 400, "not UTF-8"},
  };
  for (auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      BOOST_TEST_REQUIRE(std::string(c.message).size() > 0u);  // no row may assert nothing
      HttpResponse r = call(c.req);
      BOOST_TEST(r.status == c.status);
      BOOST_TEST(code_of(r) == c.code, r.body);
      BOOST_TEST(r.body.find(c.message) != std::string::npos, r.body);
      BOOST_TEST(r.body.find("\"more_info\":\"https://www.twilio.com/docs/errors/" + std::to_string(c.code) + "\"") != std::string::npos);
      BOOST_TEST(r.body.find("\"status\":" + std::to_string(c.status) + "}") != std::string::npos);
      BOOST_TEST(*r.header("Content-Type") == "application/json; charset=utf-8");
      BOOST_TEST(r.header("Twilio-Request-Id") != nullptr);
      if (c.status == 405) BOOST_TEST(*r.header("Allow") == "GET, POST");
    }
  }
  // A 4xx writes nothing.
  BOOST_TEST(read_file(dir.file(kSid + ".yaml")) == kStored);
  BOOST_TEST(read_file(dir.file(kForeignSid + ".yaml")) == "account_sid: " + kOther + "\n");
}

BOOST_AUTO_TEST_CASE(authentication_rows) {
  struct Case {
    const char* name;
    std::string authorization;
    int status;
  } cases[] = {
      {"none", "", 401},
      {"wrong token", "Basic QUNhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYTp3cm9uZw==", 401},
      {"not basic", "Bearer x", 401},
      {"right", kAuth, 200},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      HttpRequest req = request("GET");
      req.authorization = c.authorization;
      HttpResponse r = call(req);
      BOOST_TEST(r.status == c.status);
      if (c.status == 401) {
        BOOST_TEST(code_of(r) == 20003);
        BOOST_TEST(r.body.find("\"message\":\"Authenticate\"") != std::string::npos);
        BOOST_TEST(*r.header("WWW-Authenticate") == "Basic realm=\"Twilio API\"");
      }
    }
  }
  // Unauthenticated requests learn nothing, not even whether the SID is well formed.
  HttpRequest bad_sid = request("DELETE", path_of("ISx"));
  bad_sid.authorization.clear();
  BOOST_TEST(call(bad_sid).status == 401);
}

BOOST_AUTO_TEST_CASE(only_the_canonical_path_names_the_resource) {
  struct Case {
    const char* name;
    std::string raw;
    int status;
  } cases[] = {
      {"as sent", kPath, 200},
      {"no raw path (not behind nginx)", "", 200},
      {"encoded SID", "/v1/Services/%49Saaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Configuration/Webhooks", 404},
      {"dot segments", "/x/.." + kPath, 404},
      {"double slash", "/" + kPath, 404},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      HttpRequest req = request("GET");
      req.raw_path = c.raw;
      BOOST_TEST(call(req).status == c.status);
      HttpRequest post = request("POST", kPath, "Method=GET");
      post.raw_path = c.raw;
      BOOST_TEST(call(post).status == c.status);
      write_file(dir.file(kSid + ".yaml"), kStored);
    }
  }
}

BOOST_AUTO_TEST_CASE(update_applies_partially_and_persists) {
  HttpResponse r = call(request("POST", kPath, "Method=get&Filters=onMessageAdded&Filters=onMessageAdded&Unknown=1"));
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body.find(R"("pre_webhook_url":"https://www.example.com/pre")") != std::string::npos);
  BOOST_TEST(r.body.find(R"("filters":["onMessageAdded"],"method":"GET")") != std::string::npos);
  BOOST_TEST(read_file(dir.file(kSid + ".yaml")) ==
             "account_sid: ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\npre_webhook_url: https://www.example.com/pre\n"
             "post_webhook_url: https://www.example.com/post\nfilters:\n  - onMessageAdded\nmethod: GET\n");
  HttpResponse cleared = call(request("POST", kPath, "PreWebhookUrl=&Filters="));
  BOOST_TEST(cleared.body ==
             R"({"account_sid":"ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","chat_service_sid":"ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",)"
             R"("pre_webhook_url":null,"post_webhook_url":"https://www.example.com/post","filters":[],"method":"GET",)"
             R"("url":"http://127.0.0.1:8080/v1/Services/ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Configuration/Webhooks"})");
  // What a POST answers is what the next GET reads back from the disk.
  HttpResponse reread = call(request("GET"));
  BOOST_TEST(reread.body == cleared.body);
  BOOST_TEST(*reread.header("ETag") == *cleared.header("ETag"));
}

BOOST_AUTO_TEST_CASE(bodiless_posts_are_empty_updates) {
  // python's client with an empty list: no Content-Length, no Content-Type.
  HttpRequest python_empty = request("POST");
  HttpResponse r = call(python_empty);
  BOOST_TEST(r.status == 200);
  BOOST_TEST(read_file(dir.file(kSid + ".yaml")) == kStored);  // nothing rewritten
  HttpRequest typed_empty = request("POST");
  typed_empty.content_type = "application/json";
  BOOST_TEST(call(typed_empty).status == 200);
}

BOOST_AUTO_TEST_CASE(body_limits_and_types) {
  HttpRequest json = request("POST", kPath, R"({"Method":"GET"})");
  json.content_type = "application/json";
  HttpResponse r = call(json);
  BOOST_TEST(r.status == 415);
  BOOST_TEST(code_of(r) == 415);

  HttpRequest too_big = request("POST");
  too_big.body_too_large = true;
  r = call(too_big);
  BOOST_TEST(r.status == 413);
  BOOST_TEST(code_of(r) == 413);

  HttpRequest big = request("POST", kPath, "Method=GET&x=" + std::string(kMaxBodyBytes, 'a'));
  BOOST_TEST(call(big).status == 413);
  BOOST_TEST(read_file(dir.file(kSid + ".yaml")) == kStored);
}

BOOST_AUTO_TEST_CASE(an_invalid_file_is_reported_and_not_clobbered) {
  HttpResponse r = call(request("POST", path_of(kBrokenSid), "Method=GET"));
  BOOST_TEST(r.status == 500);
  BOOST_TEST(code_of(r) == 20500);
  BOOST_TEST(r.body.find("duplicate") == std::string::npos);  // details only in the log
  BOOST_TEST(r.log_detail.find("duplicate key 'method'") != std::string::npos, r.log_detail);
  BOOST_TEST(read_file(dir.file(kBrokenSid + ".yaml")) == kBroken);
}

BOOST_AUTO_TEST_CASE(hand_edits_are_seen_by_the_next_request) {
  BOOST_TEST(call(request("GET")).body.find(R"("method":"POST")") != std::string::npos);
  write_file(dir.file(kSid + ".yaml"), "account_sid: " + kAccount + "\nmethod: GET\n");
  BOOST_TEST(call(request("GET")).body.find(R"("method":"GET")") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(conditional_requests) {
  std::string etag = *call(request("GET")).header("ETag");
  HttpRequest cached = request("GET");
  cached.if_none_match = etag;
  HttpResponse r = call(cached);
  BOOST_TEST(r.status == 304);
  BOOST_TEST(r.body.empty());
  BOOST_TEST(*r.header("ETag") == etag);
  // RFC 9110 15.4.5: a 304 carries no Content-Length but the 200's; we send none.
  BOOST_TEST(r.header("Content-Length") == nullptr);
  cached.if_none_match = "\"other\"";
  BOOST_TEST(call(cached).status == 200);

  HttpRequest stale = request("POST", kPath, "Method=GET");
  stale.if_match = "\"stale\"";
  r = call(stale);
  BOOST_TEST(r.status == 412);
  BOOST_TEST(code_of(r) == 412);
  BOOST_TEST(read_file(dir.file(kSid + ".yaml")) == kStored);

  HttpRequest fresh = request("POST", kPath, "Method=GET");
  fresh.if_match = "\"x\", " + etag;
  r = call(fresh);
  BOOST_TEST(r.status == 200);
  BOOST_TEST(*r.header("ETag") != etag);

  HttpRequest any = request("POST", kPath, "Method=POST");
  any.if_match = "*";
  BOOST_TEST(call(any).status == 200);
  HttpRequest any_missing = request("POST", path_of("ISeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"), "Method=POST");
  any_missing.if_match = "*";
  BOOST_TEST(call(any_missing).status == 404);
}

// RFC 9110 13.1.2 on a POST: an If-None-Match that matches the current ETag
// (weakly), or * on an existing service, fails the update with 412 and
// writes nothing; If-Match is evaluated first (13.2.2).
BOOST_AUTO_TEST_CASE(if_none_match_on_a_post) {
  const std::string etag = *call(request("GET")).header("ETag");
  const char* kNoneMatch = "Precondition Failed: If-None-Match matches the current ETag";
  const char* kMatch = "Precondition Failed: If-Match does not match the current ETag";
  struct Case {
    const char* name;
    std::string sid, if_match, if_none_match;
    int status;
    const char* message;  // "" for a 200
  } cases[] = {
      {"matching tag", kSid, "", etag, 412, kNoneMatch},
      {"matching weak tag", kSid, "", "W/" + etag, 412, kNoneMatch},
      {"matching tag in a list", kSid, "", "\"x\", " + etag, 412, kNoneMatch},
      {"* on an existing service", kSid, "", "*", 412, kNoneMatch},
      {"stale If-Match is checked first", kSid, "\"stale\"", etag, 412, kMatch},
      {"good If-Match, matching If-None-Match", kSid, etag, etag, 412, kNoneMatch},
      {"* on a missing service", "ISeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "", "*", 404, "was not found"},
      {"* on another account's", kForeignSid, "", "*", 404, "was not found"},
      {"* on an invalid file", kBrokenSid, "", "*", 500, "Internal Server Error"},
      {"another tag", kSid, "", "\"other\"", 200, ""},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      write_file(dir.file(kSid + ".yaml"), kStored);
      HttpRequest req = request("POST", path_of(c.sid), "Method=GET");
      req.if_match = c.if_match;
      req.if_none_match = c.if_none_match;
      HttpResponse r = call(req);
      BOOST_TEST(r.status == c.status, r.body);
      if (c.status == 200) {
        BOOST_TEST(read_file(dir.file(kSid + ".yaml")) != kStored);
        continue;
      }
      BOOST_TEST(r.body.find(c.message) != std::string::npos, r.body);
      if (c.status == 412) {
        BOOST_TEST(r.body == std::string(R"({"code":412,"message":")") + c.message +
                                 R"(","more_info":"https://www.twilio.com/docs/errors/412","status":412})");
      }
      BOOST_TEST(read_file(dir.file(kSid + ".yaml")) == kStored);  // nothing written
      BOOST_TEST(read_file(dir.file(kBrokenSid + ".yaml")) == kBroken);
    }
  }
  // A POST that would change nothing still fails its precondition.
  write_file(dir.file(kSid + ".yaml"), kStored);
  HttpRequest no_op = request("POST", kPath, "Method=POST");
  no_op.if_none_match = etag;
  BOOST_TEST(call(no_op).status == 412);
}

// The file system a concurrent writer races: the state file changes between
// the update's unlocked first read and its lock.
class WriterBeforeLock : public PosixFileSystem {
 public:
  std::string path, bytes;
  Result<std::unique_ptr<FileLock>> lock(const std::string& lock_path, LockFile make) override {
    if (!bytes.empty()) write_file(path, std::exchange(bytes, ""));
    return PosixFileSystem::lock(lock_path, make);
  }
};

// If-None-Match is decided under the service's lock, against the state the
// write would replace: a tag that only became current after the first read
// still fails the update, and the other writer's file stands.
BOOST_AUTO_TEST_CASE(if_none_match_is_decided_under_the_lock) {
  const std::string other = "account_sid: " + kAccount + "\nmethod: GET\n";
  write_file(dir.file(kSid + ".yaml"), other);
  const std::string other_etag = *call(request("GET")).header("ETag");
  write_file(dir.file(kSid + ".yaml"), kStored);
  WriterBeforeLock racing;
  racing.path = dir.file(kSid + ".yaml");
  racing.bytes = other;
  StateStore racing_store(racing, dir.path());
  HttpRequest req = request("POST", kPath, "Filters=onMessageAdded");
  req.if_none_match = other_etag;
  HttpResponse r = handle(req, config, racing_store);
  BOOST_TEST(racing.bytes.empty());  // the race happened
  BOOST_TEST(r.status == 412, r.body);
  BOOST_TEST(r.body.find("If-None-Match matches the current ETag") != std::string::npos, r.body);
  BOOST_TEST(read_file(dir.file(kSid + ".yaml")) == other);
}

// Only a regular file is state: a FIFO, a socket or a directory named like
// one answers 500/20500 at once (the reason in the log line), a GET and a
// POST alike.
BOOST_AUTO_TEST_CASE(a_state_file_that_is_not_a_regular_file_answers_500_at_once) {
  const std::string fifo = "ISffffffffffffffffffffffffffffffff", directory = "IS00000000000000000000000000000000";
  const std::string socket = "IS33333333333333333333333333333333";
  BOOST_TEST_REQUIRE(::mkfifo(dir.file(fifo + ".yaml").c_str(), 0644) == 0);
  BOOST_TEST_REQUIRE(::mkdir(dir.file(directory + ".yaml").c_str(), 0755) == 0);
  BOOST_TEST_REQUIRE(webhookd_test::make_socket_file(dir.file(socket + ".yaml")));
  struct Case {
    std::string sid, kind;
  } cases[] = {{fifo, "a FIFO"}, {directory, "a directory"}, {socket, "a socket"}};
  for (const auto& c : cases) {
    for (const char* method : {"GET", "POST"}) {
      BOOST_TEST_CONTEXT(c.kind << " " << method) {
        HttpResponse r;
        BOOST_TEST_REQUIRE(webhookd_test::returns_without_blocking(
            [&] { r = call(request(method, path_of(c.sid), std::string(method) == "POST" ? "Method=GET" : "")); },
            {dir.file(fifo + ".yaml")}));
        BOOST_TEST(r.status == 500);
        BOOST_TEST(r.body ==
                   R"({"code":20500,"message":"Internal Server Error","more_info":"https://www.twilio.com/docs/errors/20500","status":500})");
        BOOST_TEST(r.log_detail == "corruption: " + dir.file(c.sid + ".yaml") + ": not a regular file (" + c.kind + ")");
      }
    }
  }
  BOOST_TEST(call(request("GET")).status == 200);  // the others go on
}

// The disk failing under a POST: the client hears 500/20500 and nothing
// more, the log gets the reason, and the file is intact byte for byte.
BOOST_AUTO_TEST_CASE(disk_failures_answer_500_and_keep_the_old_file) {
  using webhookd_test::Op;
  struct Case {
    const char* name;
    Op op;
  } cases[] = {{"ENOSPC on write", Op::kWrite}, {"EIO on fsync", Op::kSync}, {"rename fails", Op::kRename},
               {"directory fsync fails", Op::kSyncDir}, {"lock fails", Op::kLock}};
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      webhookd_test::FaultyFileSystem faulty;
      faulty.fail = c.op;
      StateStore faulty_store(faulty, dir.path());
      HttpResponse r = handle(request("POST", kPath, "Method=GET"), config, faulty_store);
      BOOST_TEST(r.status == 500);
      BOOST_TEST(r.body ==
                 R"({"code":20500,"message":"Internal Server Error","more_info":"https://www.twilio.com/docs/errors/20500","status":500})");
      BOOST_TEST(r.log_detail.find("injected") != std::string::npos, r.log_detail);
      BOOST_TEST(read_file(dir.file(kSid + ".yaml")) == kStored);
      for (const auto& name : webhookd_test::list_dir(dir.path())) BOOST_TEST(name.find(".tmp.") == std::string::npos, name);
    }
  }
}

// The state directory failing (a dead FUSE client, a stale handle, EIO,
// EACCES on the directory) answers 503/20503 with Retry-After, so a fleet's
// front asks another host; one unreadable file answers 500/20500, as an
// invalid one does. GET and POST alike; nothing written.
BOOST_AUTO_TEST_CASE(a_failing_state_directory_answers_503_a_failing_file_500) {
  const std::string k503 =
      R"({"code":20503,"message":"Service Unavailable","more_info":"https://www.twilio.com/docs/errors/20503","status":503})";
  const std::string k500 =
      R"({"code":20500,"message":"Internal Server Error","more_info":"https://www.twilio.com/docs/errors/20500","status":500})";
  for (int err : {EIO, ENOTCONN, ESTALE, EACCES}) {
    for (bool directory : {true, false}) {
      // A service's file, and the account's global webhooks (no file: read all the same).
      for (const std::string& path : {kPath, std::string("/v1/Configuration/Webhooks")})
      for (const char* method : {"GET", "HEAD", "POST"}) {
        BOOST_TEST_CONTEXT(std::strerror(err) << (directory ? " on the directory " : " on the file alone ") << method
                                              << " " << path) {
          webhookd_test::FaultyFileSystem faulty;
          faulty.read_errno = err;
          faulty.dir_errno = directory ? err : 0;
          StateStore faulty_store(faulty, dir.path());
          HttpResponse r = handle(request(method, path, std::string(method) == "POST" ? "Method=GET" : ""), config,
                                  faulty_store);
          BOOST_TEST(r.status == (directory ? 503 : 500));
          if (std::string(method) != "HEAD") BOOST_TEST(r.body == (directory ? k503 : k500));
          const std::string* retry = r.header("Retry-After");
          BOOST_TEST((retry != nullptr) == directory);
          if (retry) BOOST_TEST(*retry == "1");
          BOOST_TEST(r.log_detail.find(std::strerror(err)) != std::string::npos, r.log_detail);
          BOOST_TEST(*r.header("Content-Type") == "application/json; charset=utf-8");
          BOOST_TEST(read_file(dir.file(kSid + ".yaml")) == kStored);
        }
      }
    }
  }
  BOOST_TEST(call(request("GET")).status == 200);
}

// If-None-Match compares weakly (RFC 9110 13.1.2), If-Match strongly (13.1.1).
BOOST_AUTO_TEST_CASE(etag_comparison_weak_for_if_none_match_strong_for_if_match) {
  const std::string etag = *call(request("GET")).header("ETag");
  struct Case {
    std::string list;
    bool weak, strong;
  } cases[] = {
      {etag, true, true},
      {"W/" + etag, true, false},
      {"\"x\", W/" + etag, true, false},
      {"\"x\",  " + etag + " ", true, true},
      {"*", true, true},
      {"W/\"x\"", false, false},
      {etag.substr(1, etag.size() - 2), false, false},  // unquoted
      {"", false, false},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.list) {
      BOOST_TEST(etag_list_matches(c.list, etag, EtagComparison::kWeak) == c.weak);
      BOOST_TEST(etag_list_matches(c.list, etag, EtagComparison::kStrong) == c.strong);
    }
  }
  HttpRequest weak_get = request("GET");
  weak_get.if_none_match = "W/" + etag;
  BOOST_TEST(call(weak_get).status == 304);
  HttpRequest weak_post = request("POST", kPath, "Method=GET");
  weak_post.if_match = "W/" + etag;
  BOOST_TEST(call(weak_post).status == 412);
  BOOST_TEST(read_file(dir.file(kSid + ".yaml")) == kStored);
}

BOOST_AUTO_TEST_CASE(api_writes_deny_refuses_posts_and_serves_reads) {
  config.api_writes = false;
  HttpResponse r = call(request("POST", kPath, "Method=GET"));
  BOOST_TEST(r.status == 403);
  BOOST_TEST(r.body ==
             R"({"code":20403,"message":"Forbidden: this configuration is managed in git",)"
             R"("more_info":"https://www.twilio.com/docs/errors/20403","status":403})");
  BOOST_TEST(read_file(dir.file(kSid + ".yaml")) == kStored);
  BOOST_TEST(call(request("GET")).status == 200);
  BOOST_TEST(call(request("HEAD")).status == 200);
  HttpRequest unauthenticated = request("POST", kPath, "Method=GET");
  unauthenticated.authorization.clear();
  BOOST_TEST(call(unauthenticated).status == 401);  // who you are is checked first
}

// The account's global webhooks: /v1/Configuration/Webhooks, the account
// from the credentials, the same code as the service path.
namespace {
const std::string kGlobal = "/v1/Configuration/Webhooks";
const std::string kGlobalDefaults =
    R"({"account_sid":"ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","pre_webhook_url":null,"post_webhook_url":null,)"
    R"("method":"POST","filters":[],"target":"webhook","url":"http://127.0.0.1:8080/v1/Configuration/Webhooks"})";
// base64("ACbbb…:other")
const std::string kOtherAuth = "Basic QUNiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYjpvdGhlcg==";
}  // namespace

BOOST_AUTO_TEST_CASE(global_webhooks_of_a_never_set_account_are_the_defaults) {
  HttpResponse r = call(request("GET", kGlobal));
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body == kGlobalDefaults);
  BOOST_TEST(*r.header("ETag") == resource_etag(kAccount, ServiceState{account_defaults(), config_etag(account_defaults())}));
  BOOST_TEST(r.account_sid == kAccount);
  HttpResponse head = call(request("HEAD", kGlobal));
  BOOST_TEST(head.status == 200);
  BOOST_TEST(head.body.empty());
  BOOST_TEST(*head.header("Content-Length") == std::to_string(r.body.size()));
  BOOST_TEST(*head.header("ETag") == *r.header("ETag"));
  BOOST_TEST(webhookd_test::list_dir(dir.path()).count(kAccount + ".yaml") == 0u);  // reads create nothing
  config.public_base_url = "https://conversations.example.com";
  BOOST_TEST(call(request("GET", kGlobal)).body.find(R"("url":"https://conversations.example.com/v1/Configuration/Webhooks"})") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(global_webhooks_update_and_persist) {
  HttpResponse r = call(request("POST", kGlobal,
                                "Target=flex&Filters=onUserAdded&Filters=onMessageAdded&Method=get&"
                                "PostWebhookUrl=https%3A%2F%2Fhooks.example.com%2Fglobal&FriendlyName=ignored"));
  BOOST_TEST(r.status == 200, r.body);
  BOOST_TEST(r.body ==
             R"({"account_sid":"ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","pre_webhook_url":null,)"
             R"("post_webhook_url":"https://hooks.example.com/global","method":"GET",)"
             R"("filters":["onUserAdded","onMessageAdded"],"target":"flex",)"
             R"("url":"http://127.0.0.1:8080/v1/Configuration/Webhooks"})");
  BOOST_TEST(read_file(dir.file(kAccount + ".yaml")) ==
             "pre_webhook_url: null\npost_webhook_url: https://hooks.example.com/global\nfilters:\n  - onUserAdded\n"
             "  - onMessageAdded\nmethod: GET\ntarget: flex\n");
  HttpResponse again = call(request("GET", kGlobal));
  BOOST_TEST(again.body == r.body);
  BOOST_TEST(*again.header("ETag") == *r.header("ETag"));
  // Partial: what is not sent stays.
  HttpResponse partial = call(request("POST", kGlobal, "Target=webhook"));
  BOOST_TEST(partial.body.find(R"("method":"GET","filters":["onUserAdded","onMessageAdded"],"target":"webhook")") !=
             std::string::npos, partial.body);
  // Another account sees its own settings only; an API key acts for its account.
  HttpRequest other = request("GET", kGlobal);
  other.authorization = kOtherAuth;
  HttpResponse theirs = call(other);
  BOOST_TEST(theirs.status == 200);
  BOOST_TEST(theirs.body.find(R"({"account_sid":"ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","pre_webhook_url":null,)") == 0u,
             theirs.body);
  BOOST_TEST(theirs.body.find("flex") == std::string::npos);
  // The service path is untouched by any of it.
  BOOST_TEST(read_file(dir.file(kSid + ".yaml")) == kStored);
}

BOOST_AUTO_TEST_CASE(global_webhooks_rows) {
  const char* kResource = "/Configuration/Webhooks";
  struct Case {
    const char* name;
    HttpRequest req;
    int status, code;
    std::string message;
  } cases[] = {
      {"PUT", request("PUT", kGlobal), 405, 20004,
       "The requested resource /Configuration/Webhooks does not support the attempted HTTP method PUT"},
      {"DELETE", request("DELETE", kGlobal), 405, 20004,
       "The requested resource " + std::string(kResource) + " does not support the attempted HTTP method DELETE"},
      {"bad target", request("POST", kGlobal, "Target=studio"), 400, 20001, "Invalid Target: studio"},
      {"target in another case", request("POST", kGlobal, "Target=Flex"), 400, 20001, "Invalid Target: Flex"},
      {"unknown filter", request("POST", kGlobal, "Filters=onUserRemoved"), 400, 50365, "Invalid filter: onUserRemoved"},
      {"bad pre url", request("POST", kGlobal, "PreWebhookUrl=nope"), 400, 50077, "Invalid pre-webhook url"},
      {"bad post url", request("POST", kGlobal, "PostWebhookUrl=ftp%3A%2F%2Fx"), 400, 50078, "Invalid post-webhook url"},
      {"bad method", request("POST", kGlobal, "Method=PUT"), 400, 50055, "Invalid webhook method"},
      {"onUserAdded on the service path", request("POST", kPath, "Filters=onUserAdded"), 400, 50365,
       "Invalid filter: onUserAdded"},
      {"a malformed path under /v1/Configuration/", request("GET", "/v1/Configuration/Webhook"), 404, 20404,
       "The requested resource /Configuration/Webhook was not found"},
      {"a trailing slash", request("GET", kGlobal + "/"), 404, 20404,
       "The requested resource /Configuration/Webhooks/ was not found"},
      {"the service resource without a service", request("GET", "/v1/Services/Configuration/Webhooks"), 404, 20404,
       "The requested resource /Services/Configuration/Webhooks was not found"},
  };
  for (auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      HttpResponse r = call(c.req);
      BOOST_TEST(r.status == c.status);
      BOOST_TEST(code_of(r) == c.code, r.body);
      BOOST_TEST(r.body.find("\"message\":\"" + c.message + "\"") != std::string::npos, r.body);
      if (c.status == 405) BOOST_TEST(*r.header("Allow") == "GET, POST");
    }
  }
  // A 4xx writes nothing: still no file, and Target on a service is an
  // unknown parameter, ignored.
  BOOST_TEST(webhookd_test::list_dir(dir.path()).count(kAccount + ".yaml") == 0u);
  BOOST_TEST(call(request("POST", kPath, "Target=studio")).status == 200);
  BOOST_TEST(read_file(dir.file(kSid + ".yaml")) == kStored);
  // Who you are first: no credentials, 401 whatever the method.
  for (const char* method : {"GET", "POST", "DELETE"}) {
    HttpRequest anonymous = request(method, kGlobal, std::string(method) == "POST" ? "Target=flex" : "");
    anonymous.authorization.clear();
    HttpResponse r = call(anonymous);
    BOOST_TEST(r.status == 401);
    BOOST_TEST(*r.header("WWW-Authenticate") == "Basic realm=\"Twilio API\"");
  }
  // Only the path as nginx matched it names the resource.
  HttpRequest dotted = request("GET", kGlobal);
  dotted.raw_path = "/v1/x/../Configuration/Webhooks";
  BOOST_TEST(call(dotted).status == 404);
}

// ETag, If-Match and If-None-Match as on the service path. A never-set
// account has a representation (its defaults): If-Match: * matches it and
// If-None-Match: * fails a POST; a GET with its ETag is a 304.
BOOST_AUTO_TEST_CASE(global_webhooks_conditional_requests) {
  const std::string defaults_etag = *call(request("GET", kGlobal)).header("ETag");
  HttpRequest cached = request("GET", kGlobal);
  cached.if_none_match = defaults_etag;
  HttpResponse r = call(cached);
  BOOST_TEST(r.status == 304);
  BOOST_TEST(r.body.empty());

  struct Case {
    const char* name;
    std::string if_match, if_none_match;
    int status;
  } refused[] = {
      {"stale If-Match", "\"stale\"", "", 412},
      {"weak If-Match", "W/" + defaults_etag, "", 412},
      {"If-None-Match *", "", "*", 412},
      {"If-None-Match of the defaults", "", defaults_etag, 412},
  };
  for (const auto& c : refused) {
    BOOST_TEST_CONTEXT(c.name) {
      HttpRequest post = request("POST", kGlobal, "Target=flex");
      post.if_match = c.if_match;
      post.if_none_match = c.if_none_match;
      BOOST_TEST(call(post).status == c.status);
      BOOST_TEST(webhookd_test::list_dir(dir.path()).count(kAccount + ".yaml") == 0u);
    }
  }
  HttpRequest any = request("POST", kGlobal, "Target=flex");
  any.if_match = "*";
  HttpResponse created = call(any);
  BOOST_TEST(created.status == 200);
  BOOST_TEST(*created.header("ETag") != defaults_etag);
  HttpRequest exact = request("POST", kGlobal, "Target=webhook");
  exact.if_match = defaults_etag;  // stale now
  BOOST_TEST(call(exact).status == 412);
  exact.if_match = *created.header("ETag");
  HttpResponse back = call(exact);
  BOOST_TEST(back.status == 200);
  BOOST_TEST(*back.header("ETag") == defaults_etag);  // the defaults again: the defaults' ETag
}

// Review 19, finding 4: one URL, /v1/Configuration/Webhooks, answers each
// account its own body, so the ETag folds in the account SID: two
// never-set accounts (the same defaults, the same file content) no longer
// share one, and one account's ETag is neither a 304 nor an If-Match for
// another. A service's ETag is its file's, unchanged: pinned to the value
// it has always had, so that no client's stored ETag goes stale.
BOOST_AUTO_TEST_CASE(an_accounts_etag_is_its_own_a_services_is_unchanged) {
  HttpResponse mine = call(request("GET", kGlobal));
  HttpRequest theirs_get = request("GET", kGlobal);
  theirs_get.authorization = kOtherAuth;
  HttpResponse theirs = call(theirs_get);
  BOOST_TEST_REQUIRE(mine.status == 200);
  BOOST_TEST_REQUIRE(theirs.status == 200);
  BOOST_TEST(mine.body != theirs.body);  // account_sid differs
  BOOST_TEST(*mine.header("ETag") != *theirs.header("ETag"));
  BOOST_TEST(*mine.header("ETag") != config_etag(account_defaults()));  // not the file's alone

  struct Case {
    const char* name;
    std::string method, if_match, if_none_match;
    int status;
  } cases[] = {
      {"GET, If-None-Match of the other's ETag", "GET", "", *theirs.header("ETag"), 200},
      {"GET, If-None-Match of its own", "GET", "", *mine.header("ETag"), 304},
      {"POST, If-Match of the other's ETag", "POST", *theirs.header("ETag"), "", 412},
      {"POST, If-None-Match of the other's ETag", "POST", "", *theirs.header("ETag"), 200},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      HttpRequest r = request(c.method, kGlobal, c.method == "POST" ? "Method=POST" : "");
      r.if_match = c.if_match;
      r.if_none_match = c.if_none_match;
      HttpResponse answer = call(r);
      BOOST_TEST(answer.status == c.status, answer.body);
      if (c.status == 304) BOOST_TEST(*answer.header("ETag") == *mine.header("ETag"));
    }
  }
  // The same file content under two accounts: still two ETags.
  write_file(dir.file(kAccount + ".yaml"), "target: flex\n");
  write_file(dir.file(kOther + ".yaml"), "target: flex\n");
  BOOST_TEST(*call(request("GET", kGlobal)).header("ETag") != *call(theirs_get).header("ETag"));

  // A service's ETag, as it was before this change (kStored's canonical
  // bytes, SHA-256, 32 hex digits), on GET, 304 and POST alike.
  const std::string kStoredEtag = "\"62434d19087627885ed9129ba679c4a5\"";
  BOOST_TEST(*call(request("GET")).header("ETag") == kStoredEtag);
  HttpRequest cached = request("GET");
  cached.if_none_match = kStoredEtag;
  BOOST_TEST(call(cached).status == 304);
  HttpRequest guarded = request("POST", kPath, "Method=POST");
  guarded.if_match = kStoredEtag;
  HttpResponse same = call(guarded);
  BOOST_TEST(same.status == 200);
  BOOST_TEST(*same.header("ETag") == kStoredEtag);
}

BOOST_AUTO_TEST_CASE(global_webhooks_invalid_file_and_api_writes_deny) {
  const std::string broken = "target: flex\ntarget: webhook\n";
  write_file(dir.file(kAccount + ".yaml"), broken);
  HttpResponse r = call(request("GET", kGlobal));
  BOOST_TEST(r.status == 500);
  BOOST_TEST(code_of(r) == 20500);
  BOOST_TEST(r.log_detail.find(kAccount + ".yaml:2:1: duplicate key 'target'") != std::string::npos, r.log_detail);
  BOOST_TEST(call(request("POST", kGlobal, "Target=webhook")).status == 500);
  BOOST_TEST(read_file(dir.file(kAccount + ".yaml")) == broken);

  std::remove(dir.file(kAccount + ".yaml").c_str());
  config.api_writes = false;
  HttpResponse denied = call(request("POST", kGlobal, "Target=flex"));
  BOOST_TEST(denied.status == 403);
  BOOST_TEST(code_of(denied) == 20403);
  BOOST_TEST(webhookd_test::list_dir(dir.path()).count(kAccount + ".yaml") == 0u);
  BOOST_TEST(call(request("GET", kGlobal)).status == 200);
  BOOST_TEST(call(request("HEAD", kGlobal)).status == 200);
}

BOOST_AUTO_TEST_SUITE_END()
