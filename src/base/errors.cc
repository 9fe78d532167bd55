// The table behind ErrorKind: HTTP status, Twilio code and message, in one
// place. Where Twilio has no specific code, the HTTP status is the code.
#include "base/errors.h"

#include <cstdlib>

namespace webhookd {
namespace {

struct Row {
  ErrorKind kind;
  ErrorSpec spec;
};

constexpr Row kTable[] = {
    {ErrorKind::kUnauthenticated, {401, 20003, "Authenticate"}},
    {ErrorKind::kNotFound, {404, 20404, "The requested resource {0} was not found"}},
    {ErrorKind::kMethodNotAllowed,
     {405, 20004, "The requested resource {0} does not support the attempted HTTP method {1}"}},
    {ErrorKind::kInvalidPreWebhookUrl, {400, 50077, "Invalid pre-webhook url"}},
    {ErrorKind::kInvalidPostWebhookUrl, {400, 50078, "Invalid post-webhook url"}},
    {ErrorKind::kInvalidMethod, {400, 50055, "Invalid webhook method"}},
    {ErrorKind::kInvalidFilter, {400, 50365, "Invalid filter: {0}"}},
    {ErrorKind::kMalformedBody, {400, 400, "Malformed request body: {0}"}},
    {ErrorKind::kBodyTooLarge, {413, 413, "Request body too large: the limit is 65536 bytes"}},
    {ErrorKind::kUnsupportedMediaType,
     {415, 415, "Unsupported Media Type: the body must be application/x-www-form-urlencoded"}},
    {ErrorKind::kPreconditionFailed,
     {412, 412, "Precondition Failed: If-Match does not match the current ETag"}},
    {ErrorKind::kInternal, {500, 20500, "Internal Server Error"}},
};

}  // namespace

const ErrorSpec& error_spec(ErrorKind kind) {
  for (const Row& row : kTable) {
    if (row.kind == kind) return row.spec;
  }
  std::abort();  // every ErrorKind has a row; a missing one is a programming error
}

std::string error_message(const Error& error) {
  const char* t = error_spec(error.kind).message_template;
  std::string out;
  for (; *t; ++t) {
    if (t[0] == '{' && t[1] >= '0' && t[1] <= '9' && t[2] == '}') {
      size_t i = static_cast<size_t>(t[1] - '0');
      if (i < error.args.size()) out += error.args[i];
      t += 2;
    } else {
      out += *t;
    }
  }
  return out;
}

std::string more_info_url(int code) {
  return "https://www.twilio.com/docs/errors/" + std::to_string(code);
}

}  // namespace webhookd
