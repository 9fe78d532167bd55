// The scrape's answer. Content-Length always, so that HEAD tells the size.
#include "edge/metrics_endpoint.h"

#include <string>

namespace webhookd {

HttpResponse metrics_response(const HttpRequest& request, const Metrics& metrics, const ServerStats& server) {
  HttpResponse r;
  if (request.method == "GET" || request.method == "HEAD") {
    r.status = 200;
    r.body = metrics.exposition(server);
    r.set_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  } else {
    r.status = 405;
    r.body = "Method Not Allowed: /metrics answers GET and HEAD\n";
    r.set_header("Allow", "GET, HEAD");
    r.set_header("Content-Type", "text/plain; charset=utf-8");
  }
  r.set_header("Content-Length", std::to_string(r.body.size()));
  if (request.method == "HEAD") r.body.clear();
  return r;
}

}  // namespace webhookd
