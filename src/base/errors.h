// The one error type of webhookd and the one table that maps each kind of
// failure to an HTTP status, a Twilio error code and a message. Every module
// returns these as values (Result<T>); nothing else knows codes or statuses.
#pragma once

#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace webhookd {

enum class ErrorKind {
  kUnauthenticated,
  kNotFound,              // args: resource path
  kMethodNotAllowed,      // args: resource path, method
  kInvalidPreWebhookUrl,
  kInvalidPostWebhookUrl,
  kInvalidMethod,
  kInvalidFilter,         // args: the bad value
  kMalformedBody,         // args: what is wrong
  kBodyTooLarge,
  kUnsupportedMediaType,
  kPreconditionFailed,
  kInternal,              // detail goes to the log only
};

struct ErrorSpec {
  int http_status;
  int code;
  const char* message_template;  // {0}, {1} are replaced by Error::args
};

struct Error {
  ErrorKind kind;
  std::vector<std::string> args;  // shown to the client through the template
  std::string detail;             // for the log, never for the client

  static Error internal(std::string detail) { return Error{ErrorKind::kInternal, {}, std::move(detail)}; }
};

const ErrorSpec& error_spec(ErrorKind kind);
std::string error_message(const Error& error);
std::string more_info_url(int code);

// A value or an Error. C++17 has no std::expected.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}      // NOLINT
  bool ok() const { return v_.index() == 0; }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

using Status = Result<std::monostate>;
inline Status ok_status() { return Status(std::monostate{}); }

}  // namespace webhookd
