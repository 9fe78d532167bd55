// The table behind ApiErrorKind: HTTP status, Twilio code and message, in one
// place. Where Twilio has no specific code, the HTTP status is the code.
#include "api/api_error.h"

#include <cstdlib>

namespace webhookd {
namespace {

struct Row {
  ApiErrorKind kind;
  ApiErrorSpec spec;
};

constexpr Row kTable[] = {
    {ApiErrorKind::kUnauthenticated, {401, 20003, "Authenticate"}},
    {ApiErrorKind::kForbiddenManagedInGit, {403, 20403, "Forbidden: this configuration is managed in git"}},
    {ApiErrorKind::kNotFound, {404, 20404, "The requested resource {0} was not found"}},
    {ApiErrorKind::kMethodNotAllowed,
     {405, 20004, "The requested resource {0} does not support the attempted HTTP method {1}"}},
    {ApiErrorKind::kInvalidPreWebhookUrl, {400, 50077, "Invalid pre-webhook url"}},
    {ApiErrorKind::kInvalidPostWebhookUrl, {400, 50078, "Invalid post-webhook url"}},
    {ApiErrorKind::kInvalidMethod, {400, 50055, "Invalid webhook method"}},
    {ApiErrorKind::kInvalidFilter, {400, 50365, "Invalid filter: {0}"}},
    {ApiErrorKind::kInvalidTarget, {400, 20001, "Invalid Target: {0}"}},
    {ApiErrorKind::kMalformedBody, {400, 400, "Malformed request body: {0}"}},
    {ApiErrorKind::kBodyTooLarge, {413, 413, "Request body too large: the limit is 65536 bytes"}},
    {ApiErrorKind::kUnsupportedMediaType,
     {415, 415, "Unsupported Media Type: the body must be application/x-www-form-urlencoded"}},
    {ApiErrorKind::kPreconditionFailed,
     {412, 412, "Precondition Failed: If-Match does not match the current ETag"}},
    {ApiErrorKind::kPreconditionFailedNoneMatch,
     {412, 412, "Precondition Failed: If-None-Match matches the current ETag"}},
    {ApiErrorKind::kInternal, {500, 20500, "Internal Server Error"}},
    {ApiErrorKind::kUnavailable, {503, 20503, "Service Unavailable"}},
};

}  // namespace

const ApiErrorSpec& api_error_spec(ApiErrorKind kind) {
  for (const Row& row : kTable) {
    if (row.kind == kind) return row.spec;
  }
  std::abort();  // every ApiErrorKind has a row; a missing one is a programming error
}

std::string api_error_message(const ApiError& error) {
  const char* t = api_error_spec(error.kind).message_template;
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

ApiError from_error(const Error& error, const std::string& resource_path) {
  switch (error.code) {
    case ErrorCode::kNotFound: return ApiError{ApiErrorKind::kNotFound, {resource_path}, {}};
    case ErrorCode::kConflict: return ApiError{ApiErrorKind::kPreconditionFailed, {}, {}};
    case ErrorCode::kUnavailable:
      return ApiError{ApiErrorKind::kUnavailable, {}, std::string(error_code_name(error.code)) + ": " + error.message};
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kCorruption:
    case ErrorCode::kIOError:
    case ErrorCode::kInternal: break;
  }
  return ApiError::internal(std::string(error_code_name(error.code)) + ": " + error.message);
}

}  // namespace webhookd
