// SHA-256 via OpenSSL, safe from any thread.
#include "base/sha256.h"

#include <openssl/evp.h>

#include <stdexcept>

#include "base/text.h"

namespace webhookd {

Sha256Digest sha256_digest(std::string_view data) {
  // OpenSSL 3 looks the algorithm up through its providers on every
  // EVP_Digest(EVP_sha256()) and every SHA256() call: several thousand
  // instructions, most of a request's hashing (measured with callgrind).
  // Fetch it once, and keep one context per thread.
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  struct Ctx {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Ctx() { EVP_MD_CTX_free(ctx); }
  };
  thread_local Ctx local;
  Sha256Digest md;
  unsigned int len = 0;
  if (!kSha256 || !local.ctx || EVP_DigestInit_ex2(local.ctx, kSha256, nullptr) != 1 ||
      EVP_DigestUpdate(local.ctx, data.data(), data.size()) != 1 || EVP_DigestFinal_ex(local.ctx, md.data(), &len) != 1 ||
      len != md.size()) {
    throw std::runtime_error("SHA-256 failed");  // only on OOM inside OpenSSL
  }
  return md;
}

std::string sha256_raw(std::string_view data) {
  const Sha256Digest md = sha256_digest(data);
  return std::string(reinterpret_cast<const char*>(md.data()), md.size());
}

std::string to_hex(std::string_view bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

std::string sha256_hex(std::string_view data) { return to_hex(sha256_raw(data)); }

Result<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return Error::invalid_argument("an odd number of hex digits");
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = hex_digit_value(hex[i]), lo = hex_digit_value(hex[i + 1]);
    if (hi < 0 || lo < 0) return Error::invalid_argument("not a hex digit");
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

}  // namespace webhookd
