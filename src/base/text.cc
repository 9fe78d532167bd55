// Text rules: UTF-8 (RFC 3629: no overlongs, no surrogates, max U+10FFFF),
// SIDs, and the webhook URL rule.
#include "base/text.h"

#include <cctype>
#include <cstdint>
#include <cstring>

namespace webhookd {
namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 if it is invalid.
size_t utf8_sequence_length(std::string_view s, size_t i) {
  auto at = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = at(i);
  if (c < 0x80) return 1;
  size_t n;
  unsigned lo = 0x80, hi = 0xBF;  // bounds for the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;       // overlong
    if (c == 0xED) hi = 0x9F;       // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;       // overlong
    if (c == 0xF4) hi = 0x8F;       // above U+10FFFF
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (at(i + 1) < lo || at(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (at(i + k) < 0x80 || at(i + k) > 0xBF) return 0;
  }
  return n;
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    // ASCII runs, the common case, eight bytes at a time.
    if (i + 8 <= s.size()) {
      uint64_t chunk;
      std::memcpy(&chunk, s.data() + i, 8);
      if ((chunk & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    size_t n = utf8_sequence_length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string sanitize_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t n = utf8_sequence_length(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

namespace {
// Value of each byte as a hex digit, -1 if none. A table: SIDs are checked
// several times on every request, 32 digits each.
struct HexTable {
  signed char value[256];
  constexpr HexTable() : value() {
    for (int c = 0; c < 256; ++c) {
      value[c] = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    }
  }
};
constexpr HexTable kHex;
}  // namespace

bool is_sid(std::string_view s, std::string_view prefix) {
  if (s.size() != prefix.size() + 32 || s.substr(0, prefix.size()) != prefix) return false;
  for (size_t i = prefix.size(); i < s.size(); ++i) {
    if (kHex.value[static_cast<unsigned char>(s[i])] < 0) return false;
  }
  return true;
}

bool is_service_sid(std::string_view s) { return is_sid(s, "IS"); }
bool is_account_sid(std::string_view s) { return is_sid(s, "AC"); }
bool is_api_key_sid(std::string_view s) { return is_sid(s, "SK"); }

int hex_digit_value(char c) {
  return kHex.value[static_cast<unsigned char>(c)];
}

bool iequals(std::string_view a, std::string_view b) {
  // ASCII only, as HTTP's case-insensitive tokens are; std::tolower would
  // consult the locale for every byte.
  auto lower = [](unsigned char c) { return c >= 'A' && c <= 'Z' ? c | 0x20 : c; };
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(static_cast<unsigned char>(a[i])) != lower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

namespace {
// 1 to 65535 in decimal, at most five digits.
bool is_tcp_port(std::string_view s) {
  if (s.empty() || s.size() > 5) return false;
  unsigned value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  // Port 0 means "any port" to the sockets API: nothing can be sent to it.
  return value >= 1 && value <= 65535;
}
}  // namespace

bool is_webhook_url(std::string_view s) {
  if (s.empty() || s.size() > 2048) return false;
  for (unsigned char c : s) {
    if (c <= 0x20 || c == 0x7F) return false;
  }
  size_t rest;
  if (s.size() >= 7 && iequals(s.substr(0, 7), "http://")) {
    rest = 7;
  } else if (s.size() >= 8 && iequals(s.substr(0, 8), "https://")) {
    rest = 8;
  } else {
    return false;
  }
  std::string_view authority = s.substr(rest);
  size_t end = authority.find_first_of("/?#");
  if (end != std::string_view::npos) authority = authority.substr(0, end);
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) authority = authority.substr(at + 1);
  std::string_view host = authority, port;
  if (!authority.empty() && authority[0] == '[') {  // IPv6 literal
    size_t close = authority.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    host = authority.substr(0, close + 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return false;
      port = after.substr(1);
      if (port.empty()) return false;
    }
  } else {
    size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
      if (port.empty()) return false;
    }
  }
  // A name or IPv4 host has no ':' ("example.com:80:80" is not a port 80).
  if (host.empty() || (host[0] != '[' && host.find(':') != std::string_view::npos)) return false;
  return port.empty() || is_tcp_port(port);
}


}  // namespace webhookd
