// GET /metrics on webhookd's own FastCGI socket: the Prometheus text format
// 0.0.4, without Basic auth (the shipped nginx location lets only loopback
// in). Routed here in the edge, before the API's handler: the Twilio resource
// never sees it, and the API layer knows nothing of Prometheus. Its answers
// are plain text, not Twilio's JSON: it is not Twilio's API.
#pragma once

#include <string_view>

#include "api/http.h"
#include "edge/metrics.h"

namespace webhookd {

constexpr std::string_view kMetricsPath = "/metrics";

// On nginx's normalized path (DOCUMENT_URI), as every route is.
inline bool is_metrics_request(const HttpRequest& request) { return request.path == kMetricsPath; }

// GET and HEAD: 200 with the exposition (HEAD: its headers alone); any other
// method: 405, Allow: GET, HEAD, in plain text.
HttpResponse metrics_response(const HttpRequest& request, const Metrics& metrics, const ServerStats& server);

}  // namespace webhookd
