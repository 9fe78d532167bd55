// Credential check. The secret is hashed and compared with CRYPTO_memcmp, and
// an unknown user is compared against a dummy digest, so the time taken says
// nothing about which part was wrong.
#include "api/auth.h"

#include <openssl/crypto.h>

#include "base/sha256.h"
#include "base/text.h"

namespace webhookd {
namespace {

// Value of each byte as a base64 digit, -1 if none (a table: every request
// decodes its Authorization header).
struct Base64Table {
  signed char value[256];
  constexpr Base64Table() : value() {
    for (int c = 0; c < 256; ++c) {
      value[c] = c >= 'A' && c <= 'Z' ? c - 'A'
                 : c >= 'a' && c <= 'z' ? c - 'a' + 26
                 : c >= '0' && c <= '9' ? c - '0' + 52
                 : c == '+' ? 62
                 : c == '/' ? 63
                 : -1;
    }
  }
};
constexpr Base64Table kBase64;

int base64_value(char c) { return kBase64.value[static_cast<unsigned char>(c)]; }

// RFC 4648 base64; padding optional, nothing else tolerated.
bool decode_base64(std::string_view in, std::string* out) {
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  if (in.size() % 4 == 1) return false;
  out->resize(in.size() * 3 / 4);  // exact: 4 digits -> 3 bytes, 3 -> 2, 2 -> 1
  size_t n = 0;  // ends at out->size(): the resize above is exact
  unsigned bits = 0;
  int nbits = 0;
  for (char c : in) {
    int v = base64_value(c);
    if (v < 0) return false;
    bits = (bits << 6) | static_cast<unsigned>(v);
    nbits += 6;
    if (nbits >= 8) {
      nbits -= 8;
      (*out)[n++] = static_cast<char>((bits >> nbits) & 0xFF);
    }
  }
  return true;
}

bool digest_equals(const std::string& expected, const Sha256Digest& actual) {
  return expected.size() == actual.size() && CRYPTO_memcmp(expected.data(), actual.data(), actual.size()) == 0;
}

}  // namespace

Result<BasicCredentials> parse_basic_auth(std::string_view header) {
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  if (header.size() < 6 || !iequals(header.substr(0, 5), "basic") || header[5] != ' ') {
    return Error::invalid_argument("not Basic credentials");
  }
  std::string_view encoded = header.substr(6);
  while (!encoded.empty() && encoded.front() == ' ') encoded.remove_prefix(1);
  while (!encoded.empty() && encoded.back() == ' ') encoded.remove_suffix(1);
  BasicCredentials out;
  if (encoded.empty() || !decode_base64(encoded, &out.decoded)) return Error::invalid_argument("not base64");
  out.colon = out.decoded.find(':');
  if (out.colon == std::string::npos) return Error::invalid_argument("no colon between user and password");
  return out;
}

ApiResult<std::string> authenticate(std::string_view authorization, const Credentials& credentials) {
  static const std::string kDummyDigest(32, '\0');
  const ApiError denied{ApiErrorKind::kUnauthenticated, {}, {}};
  auto basic = parse_basic_auth(authorization);
  if (!basic.ok()) return denied;
  const Sha256Digest actual = sha256_digest(basic.value().password());
  const std::string_view user = basic.value().user();
  const std::string* expected = &kDummyDigest;
  const std::string* account = nullptr;
  if (is_account_sid(user)) {
    auto it = credentials.account_token_digest.find(user);
    if (it != credentials.account_token_digest.end()) {
      expected = &it->second;
      account = &it->first;
    }
  } else if (is_api_key_sid(user)) {
    auto it = credentials.api_keys.find(user);
    if (it != credentials.api_keys.end()) {
      expected = &it->second.secret_digest;
      account = &it->second.account_sid;
    }
  }
  bool match = digest_equals(*expected, actual);
  if (!match || !account) return denied;
  return *account;
}

}  // namespace webhookd
