// The parameter lists follow Twilio's Conversations Webhooks page
// (twilio.com/docs/conversations/conversations-webhooks): pre-events carry
// what the action would create or change, post-events add the SIDs and dates
// of what was done. Optional parameters that Twilio sends only sometimes
// (Media, ClientIdentity for SDK-sourced actions) are left out; --param adds
// them.
#include "model/webhook_event.h"

#include <algorithm>
#include <ctime>
#include <map>

#include "base/hmac.h"
#include "base/random.h"
#include "base/sha256.h"
#include "model/webhook_config.h"

namespace webhookd {
namespace {

using Names = std::vector<std::string_view>;

const std::map<std::string_view, Names>& table() {
  static const Names conversation = {"ConversationSid", "MessagingServiceSid", "FriendlyName", "UniqueName",
                                     "Attributes", "DateCreated", "DateUpdated", "State"};
  static const Names message = {"ConversationSid", "MessageSid", "MessagingServiceSid", "Index", "Author", "Body",
                                "Attributes", "DateCreated", "DateUpdated", "ParticipantSid"};
  static const Names participant = {"ConversationSid", "ParticipantSid", "MessagingServiceSid", "DateCreated",
                                    "DateUpdated", "Identity", "RoleSid", "Attributes", "LastReadMessageIndex",
                                    "MessagingBinding.Address", "MessagingBinding.ProxyAddress"};
  static const std::map<std::string_view, Names> kTable = {
      {"onConversationAdd", {"MessagingServiceSid", "FriendlyName", "UniqueName", "Attributes", "DateCreated", "State",
                             "MessagingBinding.Address", "MessagingBinding.ProxyAddress"}},
      {"onConversationAdded", {"ConversationSid", "MessagingServiceSid", "FriendlyName", "UniqueName", "Attributes",
                               "DateCreated", "State", "MessagingBinding.Address", "MessagingBinding.ProxyAddress"}},
      {"onConversationUpdate", conversation},
      {"onConversationUpdated", conversation},
      {"onConversationRemove", conversation},
      {"onConversationRemoved", conversation},
      {"onConversationStateUpdated", {"ConversationSid", "MessagingServiceSid", "StateFrom", "StateTo", "Reason",
                                      "DateCreated", "DateUpdated"}},
      {"onMessageAdd", {"ConversationSid", "MessagingServiceSid", "Author", "Body", "Attributes", "ParticipantSid"}},
      {"onMessageAdded", {"ConversationSid", "MessageSid", "MessagingServiceSid", "Index", "Author", "Body",
                          "Attributes", "DateCreated", "ParticipantSid"}},
      {"onMessageUpdate", message},
      {"onMessageUpdated", message},
      {"onMessageRemove", message},
      {"onMessageRemoved", message},
      {"onParticipantAdd", {"ConversationSid", "MessagingServiceSid", "Identity", "RoleSid", "Attributes",
                            "MessagingBinding.Address", "MessagingBinding.ProxyAddress"}},
      {"onParticipantAdded", {"ConversationSid", "ParticipantSid", "MessagingServiceSid", "DateCreated", "Identity",
                              "RoleSid", "Attributes", "MessagingBinding.Address", "MessagingBinding.ProxyAddress"}},
      {"onParticipantUpdate", participant},
      {"onParticipantUpdated", participant},
      {"onParticipantRemove", participant},
      {"onParticipantRemoved", participant},
      {"onDeliveryUpdated", {"ConversationSid", "MessageSid", "MessageIndex", "DeliveryReceiptSid", "ParticipantSid",
                             "Status", "ErrorCode", "DateCreated", "DateUpdated"}},
  };
  return kTable;
}

std::string random_sid(std::string_view prefix) {
  auto bytes = random_bytes(16);
  // getrandom fails only if the kernel refuses; a fixed SID still tests the endpoint.
  return std::string(prefix) + (bytes.ok() ? to_hex(bytes.value()) : std::string(32, '0'));
}

std::string now_iso8601() {
  std::time_t t = std::time(nullptr);
  std::tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
  return buf;
}

// A value of the right shape for each parameter name.
std::string sample_value(std::string_view name, std::string_view event) {
  static const std::map<std::string_view, std::string_view> kPrefixes = {
      {"ConversationSid", "CH"}, {"MessageSid", "IM"}, {"ParticipantSid", "MB"}, {"MessagingServiceSid", "MG"},
      {"RoleSid", "RL"},         {"DeliveryReceiptSid", "DY"}};
  auto prefix = kPrefixes.find(name);
  if (prefix != kPrefixes.end()) return random_sid(prefix->second);
  if (name == "DateCreated" || name == "DateUpdated") return now_iso8601();
  if (name == "Body") return "Hello from webhookctl fire (" + std::string(event) + ")";
  if (name == "Author" || name == "Identity") return "webhookctl-test-user";
  if (name == "Attributes") return "{}";
  if (name == "FriendlyName") return "webhookctl test conversation";
  if (name == "UniqueName") return "webhookctl-test-conversation";
  if (name == "State" || name == "StateFrom") return "active";
  if (name == "StateTo") return "inactive";
  if (name == "Reason") return "API";
  if (name == "Index" || name == "MessageIndex" || name == "LastReadMessageIndex") return "0";
  if (name == "MessagingBinding.Address") return "+15005550006";
  if (name == "MessagingBinding.ProxyAddress") return "+15005550001";
  if (name == "Status") return "delivered";
  if (name == "ErrorCode") return "0";
  return "";
}

bool unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

void percent_encode(std::string& out, std::string_view s) {
  static const char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : s) {
    if (unreserved(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
}

}  // namespace

const std::vector<std::string_view>& event_parameters(std::string_view event) {
  static const Names kNone;
  auto it = table().find(event);
  return it == table().end() ? kNone : it->second;
}

Result<EventParams> sample_event(std::string_view event, const std::string& account_sid,
                                 const std::string& service_sid, const EventParams& overrides) {
  if (!is_filter_name(event)) return Error::invalid_argument("unknown event '" + std::string(event) + "'");
  EventParams params = {{"EventType", std::string(event)},
                        {"AccountSid", account_sid},
                        {"ChatServiceSid", service_sid},
                        {"Source", "API"}};
  for (std::string_view name : event_parameters(event)) params.emplace_back(std::string(name), sample_value(name, event));
  for (const auto& override_param : overrides) {
    const std::string& name = override_param.first;
    auto it = std::find_if(params.begin(), params.end(), [&](const auto& p) { return p.first == name; });
    if (it != params.end()) {
      it->second = override_param.second;
    } else {
      params.push_back(override_param);
    }
  }
  return params;
}

std::string form_encode(const EventParams& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += '&';
    percent_encode(out, name);
    out += '=';
    percent_encode(out, value);
  }
  return out;
}

std::string twilio_signature(std::string_view auth_token, std::string_view url, EventParams post_params) {
  // Sorted by name (and by value for a repeated name), as Twilio's validators do.
  std::sort(post_params.begin(), post_params.end());
  std::string data(url);
  for (const auto& [name, value] : post_params) data.append(name).append(value);
  return base64_encode(hmac_sha1(auth_token, data));
}

SignedEvent sign_event(std::string_view method, std::string_view url, std::string_view auth_token,
                       const EventParams& params) {
  SignedEvent out;
  out.url = std::string(url.substr(0, url.find('#')));
  if (method == "GET") {
    out.url += out.url.find('?') == std::string::npos ? '?' : '&';
    out.url += form_encode(params);
    out.signature = twilio_signature(auth_token, out.url, {});
  } else {
    out.body = form_encode(params);
    out.signature = twilio_signature(auth_token, out.url, params);
  }
  return out;
}

}  // namespace webhookd
