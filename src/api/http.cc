// Header helpers and the reason phrases of the statuses webhookd answers.
#include "api/http.h"

#include "base/text.h"

namespace webhookd {

void HttpResponse::set_header(std::string name, std::string value) {
  for (auto& h : headers) {
    if (iequals(h.first, name)) {
      h.second = std::move(value);
      return;
    }
  }
  headers.emplace_back(std::move(name), std::move(value));
}

const std::string* HttpResponse::header(std::string_view name) const {
  for (const auto& h : headers) {
    if (iequals(h.first, name)) return &h.second;
  }
  return nullptr;
}

std::string status_line(int status) {
  const char* reason = "Unknown";
  switch (status) {
    case 200: reason = "OK"; break;
    case 304: reason = "Not Modified"; break;
    case 400: reason = "Bad Request"; break;
    case 401: reason = "Unauthorized"; break;
    case 403: reason = "Forbidden"; break;
    case 404: reason = "Not Found"; break;
    case 405: reason = "Method Not Allowed"; break;
    case 412: reason = "Precondition Failed"; break;
    case 413: reason = "Payload Too Large"; break;
    case 415: reason = "Unsupported Media Type"; break;
    case 500: reason = "Internal Server Error"; break;
    case 503: reason = "Service Unavailable"; break;
  }
  return std::to_string(status) + " " + reason;
}

}  // namespace webhookd
