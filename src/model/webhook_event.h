// The events a service's webhooks receive, as Twilio sends them: the
// parameters of each event type (from Twilio's Conversations Webhooks
// documentation), plausible values for a test event, the form encoding, and
// X-Twilio-Signature. Pure but for the random SIDs. webhookctl fire sends
// what this builds.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace webhookd {

using EventParams = std::vector<std::pair<std::string, std::string>>;

// The parameters an event carries besides the ones every event has
// (AccountSid, ChatServiceSid, EventType, Source), in the documentation's
// order; empty for a name that is not one of the 20.
const std::vector<std::string_view>& event_parameters(std::string_view event);

// A test event of `event` for a service: every parameter with a value of the
// right shape (SIDs of the right prefix from the kernel's CSPRNG, dates now
// in ISO 8601), then `overrides` replacing or adding. kInvalidArgument for an
// unknown event.
Result<EventParams> sample_event(std::string_view event, const std::string& account_sid,
                                 const std::string& service_sid, const EventParams& overrides);

// application/x-www-form-urlencoded, each name and value percent-encoded
// (unreserved characters stay, a space is %20), in the given order.
std::string form_encode(const EventParams& params);

// Twilio's X-Twilio-Signature: base64(HMAC-SHA1(auth token, url followed by
// each POST parameter's name and value, sorted by name)). For a GET the
// parameters are in the URL's query string and `post_params` is empty.
std::string twilio_signature(std::string_view auth_token, std::string_view url, EventParams post_params);

// An event as Twilio sends it to a webhook `url` with `method` (GET or POST):
// for GET the parameters appended to the URL's query string and the
// signature over that URL; for POST the form body, and the signature over
// the URL and the parameters. A #fragment of the configured URL is dropped
// first, as every HTTP client drops it (libcurl included): GET parameters
// after it would never arrive, and a signature over it could never be
// rebuilt by the receiver.
struct SignedEvent {
  std::string url;        // what is requested: no fragment, the query for GET
  std::string body;       // POST only
  std::string signature;  // X-Twilio-Signature
};
SignedEvent sign_event(std::string_view method, std::string_view url, std::string_view auth_token,
                       const EventParams& params);

}  // namespace webhookd
