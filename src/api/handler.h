// The pure core: one request, the config and the store in; one response out.
// No socket, no environment; tests call it directly. Thread-safe as the store
// is: any number of workers call it at once.
#pragma once

#include "api/http.h"
#include "model/config.h"
#include "store/state_store.h"

namespace webhookd {

// Never throws: whatever fails inside is a Twilio-shaped 500.
HttpResponse handle(const HttpRequest& request, const Config& config, StateStore& store);

// If-Match / If-None-Match lists ("*" or comma-separated entity tags)
// against the current strong ETag. Strong comparison (If-Match, RFC 9110
// 13.1.1) never matches a weak tag W/"..."; weak comparison (If-None-Match,
// 13.1.2) matches W/"x" and "x" alike.
enum class EtagComparison { kStrong, kWeak };
bool etag_list_matches(std::string_view list, const std::string& etag, EtagComparison comparison);

}  // namespace webhookd
