#define BOOST_TEST_DYN_LINK
#include "base/errors.h"

#include <boost/test/unit_test.hpp>

#include "test_support.h"

using namespace webhookd;

BOOST_AUTO_TEST_SUITE(errors)

BOOST_AUTO_TEST_CASE(table_maps_each_kind_to_status_code_and_message) {
  struct Case {
    Error error;
    int status, code;
    const char* message;
  } cases[] = {
      {{ErrorKind::kUnauthenticated, {}, {}}, 401, 20003, "Authenticate"},
      {{ErrorKind::kNotFound, {"/Services/ISx/Configuration/Webhooks"}, {}}, 404, 20404,
       "The requested resource /Services/ISx/Configuration/Webhooks was not found"},
      {{ErrorKind::kMethodNotAllowed, {"/Services/ISx/Configuration/Webhooks", "PUT"}, {}}, 405, 20004,
       "The requested resource /Services/ISx/Configuration/Webhooks does not support the attempted HTTP method PUT"},
      {{ErrorKind::kInvalidPreWebhookUrl, {}, {}}, 400, 50077, "Invalid pre-webhook url"},
      {{ErrorKind::kInvalidPostWebhookUrl, {}, {}}, 400, 50078, "Invalid post-webhook url"},
      {{ErrorKind::kInvalidMethod, {}, {}}, 400, 50055, "Invalid webhook method"},
      {{ErrorKind::kInvalidFilter, {"onNothing"}, {}}, 400, 50365, "Invalid filter: onNothing"},
      {{ErrorKind::kMalformedBody, {"bad percent escape"}, {}}, 400, 400, "Malformed request body: bad percent escape"},
      {{ErrorKind::kBodyTooLarge, {}, {}}, 413, 413, "Request body too large: the limit is 65536 bytes"},
      {{ErrorKind::kUnsupportedMediaType, {}, {}}, 415, 415,
       "Unsupported Media Type: the body must be application/x-www-form-urlencoded"},
      {{ErrorKind::kPreconditionFailed, {}, {}}, 412, 412, "Precondition Failed: If-Match does not match the current ETag"},
      {Error::internal("disk on fire"), 500, 20500, "Internal Server Error"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("code " << c.code) {
      BOOST_TEST(error_spec(c.error.kind).http_status == c.status);
      BOOST_TEST(error_spec(c.error.kind).code == c.code);
      BOOST_TEST(error_message(c.error) == c.message);
    }
  }
}

BOOST_AUTO_TEST_CASE(internal_detail_never_reaches_the_message) {
  BOOST_TEST(error_message(Error::internal("/var/lib/webhookd/IS1.yaml:3:1: secret path")) == "Internal Server Error");
}

BOOST_AUTO_TEST_CASE(more_info_points_at_twilio_docs) {
  BOOST_TEST(more_info_url(20404) == "https://www.twilio.com/docs/errors/20404");
}

BOOST_AUTO_TEST_CASE(result_holds_value_or_error) {
  Result<int> v = 7;
  BOOST_TEST(v.ok());
  BOOST_TEST(v.value() == 7);
  Result<int> e = Error::internal("x");
  BOOST_TEST(!e.ok());
  BOOST_TEST(e.error().detail == "x");
}

BOOST_AUTO_TEST_SUITE_END()
