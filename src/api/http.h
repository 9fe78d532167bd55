// HttpRequest and HttpResponse: the plain values between the FastCGI edge and
// the handler (the edge builds the one and writes the other). Only what the resource needs is carried; nothing here reads
// the environment or a socket.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace webhookd {

// 64 KiB, the contract's body limit; nginx is configured with the same.
constexpr size_t kMaxBodyBytes = 64 * 1024;

struct HttpRequest {
  std::string method;         // REQUEST_METHOD
  std::string path;           // DOCUMENT_URI: decoded and normalized by nginx
  std::string raw_path;       // REQUEST_URI without the query, as the client sent it
  std::string scheme;         // "http" or "https"
  std::string host;           // Host header
  std::string authorization;  // Authorization header
  std::string content_type;
  std::string if_match;
  std::string if_none_match;
  std::string body;
  bool body_too_large = false;  // Content-Length over kMaxBodyBytes: body not read
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // For the log line only.
  std::string account_sid;
  std::string log_detail;  // internal error details, never sent

  void set_header(std::string name, std::string value);
  const std::string* header(std::string_view name) const;
};

// "200 OK", "404 Not Found", ...: the FastCGI Status line.
std::string status_line(int status);

}  // namespace webhookd
