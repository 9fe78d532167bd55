// Names of the neutral error codes, for log lines and command-line messages.
#include "base/result.h"

namespace webhookd {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kNotFound: return "not found";
    case ErrorCode::kInvalidArgument: return "invalid argument";
    case ErrorCode::kCorruption: return "corruption";
    case ErrorCode::kIOError: return "I/O error";
    case ErrorCode::kConflict: return "conflict";
    case ErrorCode::kUnavailable: return "state directory unavailable";
    case ErrorCode::kInternal: return "internal error";
  }
  return "?";
}

}  // namespace webhookd
