// The one way to fail below the API (leveldb's Status): a [[nodiscard]]
// Result<T> holding a value or an Error with a neutral code. Nothing here
// knows HTTP or Twilio; the API layer maps codes to answers in one table.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace webhookd {

enum class ErrorCode {
  kNotFound,         // no such service, file or entry: a value to look at, not a fault
  kInvalidArgument,  // a value broke a rule; message names the rule
  kCorruption,       // a stored file is unreadable as what it should be; message is "file:line:column: problem",
                     // or "file: problem" for the whole file (not a regular file: a FIFO, a directory)
  kIOError,          // the operating system refused; os_errno says why
  kConflict,         // a precondition on the current state did not hold
  kUnavailable,      // the state directory itself fails (EIO, ENOTCONN, ESTALE, EACCES on the directory), or
                     // the host is out of file descriptors (EMFILE, ENFILE): this host can serve no state
                     // now, another may; os_errno is the directory's, or EMFILE/ENFILE
  kInternal,         // a bug or an exception that escaped a boundary
};

const char* error_code_name(ErrorCode code);

struct Error {
  ErrorCode code;
  std::string message;  // for logs and operators, never for API clients
  int os_errno = 0;     // kIOError and kUnavailable only

  static Error not_found(std::string message) { return Error{ErrorCode::kNotFound, std::move(message)}; }
  static Error invalid_argument(std::string message) {
    return Error{ErrorCode::kInvalidArgument, std::move(message)};
  }
  static Error corruption(std::string message) { return Error{ErrorCode::kCorruption, std::move(message)}; }
  static Error io(std::string message, int err) { return Error{ErrorCode::kIOError, std::move(message), err}; }
  static Error conflict(std::string message) { return Error{ErrorCode::kConflict, std::move(message)}; }
  static Error unavailable(std::string message, int err) {
    return Error{ErrorCode::kUnavailable, std::move(message), err};
  }
  static Error internal(std::string message) { return Error{ErrorCode::kInternal, std::move(message)}; }

  bool is_not_found() const { return code == ErrorCode::kNotFound; }
};

// A value or an error. C++17 has no std::expected. E is Error below the API;
// the API layer uses its own Twilio error type with the same template.
template <typename T, typename E = Error>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(E error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT
  bool ok() const { return v_.index() == 0; }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  const E& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, E> v_;
};

using Status = Result<std::monostate>;
inline Status ok_status() { return Status(std::monostate{}); }

}  // namespace webhookd
