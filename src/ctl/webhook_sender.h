// One webhook request over HTTP(S) with libcurl, as Twilio sends it: TLS
// verified, no redirect followed, a time limit. webhookctl fire's only
// network code; webhookd itself never makes an outgoing request.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"

namespace webhookd {

struct OutgoingRequest {
  std::string method;  // GET or POST
  std::string url;     // with the query string for a GET
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // POST only
};

struct Reply {
  long status = 0;
  double seconds = 0;  // from the start to the end of the answer
  std::string body;    // the first 64 KiB
};

// kIOError with curl's words (refused, timed out, TLS) when no answer came.
Result<Reply> send_request(const OutgoingRequest& request, std::chrono::milliseconds timeout);

}  // namespace webhookd
