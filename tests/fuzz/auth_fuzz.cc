// libFuzzer target: the Basic auth parser and the credential check. The one
// valid credential must never be matched by anything but itself.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "base/sha256.h"
#include "api/auth.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const webhookd::Credentials credentials = [] {
    webhookd::Credentials c;
    c.account_token_digest["ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"] = webhookd::sha256_raw("token123");
    c.api_keys["SKaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"] = {"ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", webhookd::sha256_raw("key")};
    return c;
  }();
  std::string header(reinterpret_cast<const char*>(data), size);
  auto basic = webhookd::parse_basic_auth(header);
  auto account = webhookd::authenticate(header, credentials);
  if (account.ok()) {
    bool right = basic.ok() &&
                 ((basic.value().user() == "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" && basic.value().password() == "token123") ||
                  (basic.value().user() == "SKaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" && basic.value().password() == "key"));
    if (!right) std::abort();
  }
  return 0;
}
