// The one table of Twilio's answers: each kind of API failure with its HTTP
// status, Twilio error code and message, and the one mapping from the
// neutral codes of the layers below. Nothing else knows codes or statuses.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "base/result.h"

namespace webhookd {

enum class ApiErrorKind {
  kUnauthenticated,
  kForbiddenManagedInGit,  // api_writes: deny
  kNotFound,               // args: resource path
  kMethodNotAllowed,       // args: resource path, method
  kInvalidPreWebhookUrl,
  kInvalidPostWebhookUrl,
  kInvalidMethod,
  kInvalidFilter,          // args: the bad value
  kInvalidTarget,          // args: the bad value (the account's global webhooks only)
  kMalformedBody,          // args: what is wrong
  kBodyTooLarge,
  kUnsupportedMediaType,
  kPreconditionFailed,     // If-Match does not match
  kPreconditionFailedNoneMatch,  // a POST's If-None-Match matches (RFC 9110 13.1.2)
  kInternal,               // detail goes to the log only
  kUnavailable,            // the state directory fails, or the host is out of descriptors: this host steps aside
                           // (Retry-After); detail to the log
};

struct ApiErrorSpec {
  int http_status;
  int code;
  const char* message_template;  // {0}, {1} are replaced by ApiError::args
};

struct ApiError {
  ApiErrorKind kind;
  std::vector<std::string> args;  // shown to the client through the template
  std::string detail;             // for the log, never for the client

  static ApiError internal(std::string detail) { return ApiError{ApiErrorKind::kInternal, {}, std::move(detail)}; }
};

template <typename T>
using ApiResult = Result<T, ApiError>;

const ApiErrorSpec& api_error_spec(ApiErrorKind kind);
std::string api_error_message(const ApiError& error);
std::string more_info_url(int code);

// A failure from below as the API answers it: kNotFound is the resource's
// 404 (named by resource_path), kConflict a failed precondition (412),
// kUnavailable 503 (the state directory fails, or the host is out of file
// descriptors: a fleet's front asks another host), and everything else our own fault (500, the message kept for the log).
ApiError from_error(const Error& error, const std::string& resource_path);

}  // namespace webhookd
