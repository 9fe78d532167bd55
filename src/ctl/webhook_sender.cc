// libcurl's easy interface, one handle per request. CURLOPT_NOSIGNAL: no
// SIGALRM for DNS timeouts. Only http and https, and redirects are never
// followed: Twilio does not follow them either, and a redirect would send
// the signed body where it was not configured to go.
#include "ctl/webhook_sender.h"

#include <curl/curl.h>

#include <memory>

namespace webhookd {
namespace {

constexpr size_t kBodyHead = 64 * 1024;

size_t collect(char* data, size_t size, size_t n, void* out) {
  std::string* body = static_cast<std::string*>(out);
  const size_t len = size * n;
  if (body->size() < kBodyHead) body->append(data, std::min(len, kBodyHead - body->size()));
  return len;
}

}  // namespace

Result<Reply> send_request(const OutgoingRequest& request, std::chrono::milliseconds timeout) {
  static const bool initialised = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  if (!initialised) return Error::internal("curl_global_init failed");
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return Error::internal("curl_easy_init failed");
  struct curl_slist* headers = nullptr;
  for (const auto& [name, value] : request.headers) headers = curl_slist_append(headers, (name + ": " + value).c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_list(headers, curl_slist_free_all);
  Reply reply;
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(c, CURLOPT_USERAGENT, "TwilioProxy/1.1");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, header_list.get());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply.body);
  if (request.method == "POST") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
  } else {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  }
  char error[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  const CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    return Error::io(std::string(curl_easy_strerror(rc)) + (error[0] ? std::string(": ") + error : ""), 0);
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply.status);
  curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &reply.seconds);
  return reply;
}

}  // namespace webhookd
