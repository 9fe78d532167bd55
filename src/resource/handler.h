// The pure core: one request, the config and the store in; one response out.
// No socket, no environment; tests call it directly.
#pragma once

#include "config.h"
#include "edge/http.h"
#include "store/state_store.h"

namespace webhookd {

HttpResponse handle(const HttpRequest& request, const Config& config, StateStore& store);

}  // namespace webhookd
