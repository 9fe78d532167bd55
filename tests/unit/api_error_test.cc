#define BOOST_TEST_DYN_LINK
#include "api/api_error.h"

#include <boost/test/unit_test.hpp>
#include <cerrno>

#include "test_support.h"

using namespace webhookd;

BOOST_AUTO_TEST_SUITE(api_error)

BOOST_AUTO_TEST_CASE(table_maps_each_kind_to_status_code_and_message) {
  struct Case {
    ApiError error;
    int status, code;
    const char* message;
  } cases[] = {
      {{ApiErrorKind::kUnauthenticated, {}, {}}, 401, 20003, "Authenticate"},
      {{ApiErrorKind::kForbiddenManagedInGit, {}, {}}, 403, 20403, "Forbidden: this configuration is managed in git"},
      {{ApiErrorKind::kNotFound, {"/Services/ISx/Configuration/Webhooks"}, {}}, 404, 20404,
       "The requested resource /Services/ISx/Configuration/Webhooks was not found"},
      {{ApiErrorKind::kMethodNotAllowed, {"/Services/ISx/Configuration/Webhooks", "PUT"}, {}}, 405, 20004,
       "The requested resource /Services/ISx/Configuration/Webhooks does not support the attempted HTTP method PUT"},
      {{ApiErrorKind::kInvalidPreWebhookUrl, {}, {}}, 400, 50077, "Invalid pre-webhook url"},
      {{ApiErrorKind::kInvalidPostWebhookUrl, {}, {}}, 400, 50078, "Invalid post-webhook url"},
      {{ApiErrorKind::kInvalidMethod, {}, {}}, 400, 50055, "Invalid webhook method"},
      {{ApiErrorKind::kInvalidFilter, {"onNothing"}, {}}, 400, 50365, "Invalid filter: onNothing"},
      {{ApiErrorKind::kInvalidTarget, {"studio"}, {}}, 400, 20001, "Invalid Target: studio"},
      {{ApiErrorKind::kMalformedBody, {"bad percent escape"}, {}}, 400, 400, "Malformed request body: bad percent escape"},
      {{ApiErrorKind::kBodyTooLarge, {}, {}}, 413, 413, "Request body too large: the limit is 65536 bytes"},
      {{ApiErrorKind::kUnsupportedMediaType, {}, {}}, 415, 415,
       "Unsupported Media Type: the body must be application/x-www-form-urlencoded"},
      {{ApiErrorKind::kPreconditionFailed, {}, {}}, 412, 412, "Precondition Failed: If-Match does not match the current ETag"},
      {{ApiErrorKind::kPreconditionFailedNoneMatch, {}, {}}, 412, 412,
       "Precondition Failed: If-None-Match matches the current ETag"},
      {ApiError::internal("disk on fire"), 500, 20500, "Internal Server Error"},
      {{ApiErrorKind::kUnavailable, {}, "ENOTCONN"}, 503, 20503, "Service Unavailable"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("code " << c.code) {
      BOOST_TEST(api_error_spec(c.error.kind).http_status == c.status);
      BOOST_TEST(api_error_spec(c.error.kind).code == c.code);
      BOOST_TEST(api_error_message(c.error) == c.message);
    }
  }
}

BOOST_AUTO_TEST_CASE(neutral_codes_map_once) {
  const std::string path = "/Services/ISx/Configuration/Webhooks";
  struct Case {
    Error error;
    ApiErrorKind kind;
    bool detail_kept;
  } cases[] = {
      {Error::not_found("x.yaml: no such file"), ApiErrorKind::kNotFound, false},
      {Error::conflict("If-Match"), ApiErrorKind::kPreconditionFailed, false},
      {Error::corruption("x.yaml:3:1: duplicate key"), ApiErrorKind::kInternal, true},
      {Error::corruption("x.yaml: not a regular file (a FIFO)"), ApiErrorKind::kInternal, true},
      {Error::io("fsync x: Input/output error", 5), ApiErrorKind::kInternal, true},
      {Error::unavailable("open x: Transport endpoint is not connected", ENOTCONN), ApiErrorKind::kUnavailable, true},
      {Error::invalid_argument("not a service SID"), ApiErrorKind::kInternal, true},
      {Error::internal("bug"), ApiErrorKind::kInternal, true},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.error.message) {
      ApiError e = from_error(c.error, path);
      BOOST_TEST((e.kind == c.kind));
      BOOST_TEST((e.detail.find(c.error.message) != std::string::npos) == c.detail_kept);
      if (c.kind == ApiErrorKind::kNotFound) BOOST_TEST(api_error_message(e) == "The requested resource " + path + " was not found");
    }
  }
}

BOOST_AUTO_TEST_CASE(internal_detail_never_reaches_the_message) {
  BOOST_TEST(api_error_message(ApiError::internal("/var/lib/webhookd/IS1.yaml:3:1: secret path")) ==
             "Internal Server Error");
}

BOOST_AUTO_TEST_CASE(more_info_points_at_twilio_docs) {
  BOOST_TEST(more_info_url(20404) == "https://www.twilio.com/docs/errors/20404");
}

BOOST_AUTO_TEST_SUITE_END()
