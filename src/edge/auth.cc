// Credential check. The secret is hashed and compared with CRYPTO_memcmp, and
// an unknown user is compared against a dummy digest, so the time taken says
// nothing about which part was wrong.
#include "edge/auth.h"

#include <openssl/crypto.h>

#include "base/sha256.h"
#include "base/text.h"

namespace webhookd {
namespace {

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// RFC 4648 base64; padding optional, nothing else tolerated.
bool decode_base64(std::string_view in, std::string* out) {
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  if (in.size() % 4 == 1) return false;
  out->clear();
  unsigned bits = 0;
  int nbits = 0;
  for (char c : in) {
    int v = base64_value(c);
    if (v < 0) return false;
    bits = (bits << 6) | static_cast<unsigned>(v);
    nbits += 6;
    if (nbits >= 8) {
      nbits -= 8;
      *out += static_cast<char>((bits >> nbits) & 0xFF);
    }
  }
  return true;
}

bool digest_equals(const std::string& expected, const std::string& actual) {
  return expected.size() == actual.size() &&
         CRYPTO_memcmp(expected.data(), actual.data(), expected.size()) == 0;
}

}  // namespace

std::optional<BasicCredentials> parse_basic_auth(std::string_view header) {
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  if (header.size() < 6 || !iequals(header.substr(0, 5), "basic") || header[5] != ' ') return std::nullopt;
  std::string_view encoded = header.substr(6);
  while (!encoded.empty() && encoded.front() == ' ') encoded.remove_prefix(1);
  while (!encoded.empty() && encoded.back() == ' ') encoded.remove_suffix(1);
  std::string decoded;
  if (encoded.empty() || !decode_base64(encoded, &decoded)) return std::nullopt;
  size_t colon = decoded.find(':');
  if (colon == std::string::npos) return std::nullopt;
  return BasicCredentials{decoded.substr(0, colon), decoded.substr(colon + 1)};
}

Result<std::string> authenticate(std::string_view authorization, const Credentials& credentials) {
  static const std::string kDummyDigest(32, '\0');
  const Error denied{ErrorKind::kUnauthenticated, {}, {}};
  std::optional<BasicCredentials> basic = parse_basic_auth(authorization);
  if (!basic) return denied;
  const std::string actual = sha256_raw(basic->password);
  const std::string* expected = &kDummyDigest;
  std::string account;
  if (is_account_sid(basic->user)) {
    auto it = credentials.account_token_digest.find(basic->user);
    if (it != credentials.account_token_digest.end()) {
      expected = &it->second;
      account = it->first;
    }
  } else if (is_api_key_sid(basic->user)) {
    auto it = credentials.api_keys.find(basic->user);
    if (it != credentials.api_keys.end()) {
      expected = &it->second.secret_digest;
      account = it->second.account_sid;
    }
  }
  bool match = digest_equals(*expected, actual);
  if (!match || account.empty()) return denied;
  return account;
}

}  // namespace webhookd
