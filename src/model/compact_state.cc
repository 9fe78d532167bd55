// The proof is the emitter itself: of() keeps an entry only if writing its
// view gives back exactly the bytes it was made from, so same_bytes(b) means
// b is those bytes, whatever the entry holds. A hand-written file cannot be
// written again from its value (comments, quoting, order): its entry keeps
// 16 bytes of the file's SHA-256 instead, the proof an ETag already is.
// Filters are indexes into the fixed tables of names, method and target a
// number each, the account SID webhookd writes as 16 bytes. One allocation,
// about 100 bytes for a typical service.
#include "model/compact_state.h"

#include <cstring>

#include "base/text.h"
#include "model/state_file.h"

namespace webhookd {
namespace {

constexpr std::string_view kMethods[] = {"", "GET", "POST"};
constexpr std::string_view kTargets[] = {"", "webhook", "flex"};
constexpr uint16_t kNull = 0xFFFF;
constexpr uint8_t kNoFilters = 0xFF;
constexpr uint8_t kRawAccount = 0xFF;
constexpr char kHexDigits[] = "0123456789abcdef";

// A service's account_sid as webhookd writes it, "AC" + 32 lower-case hex
// digits: held as 16 bytes.
bool raw_account(std::string_view sid) {
  if (sid.size() != 34 || sid.substr(0, 2) != "AC") return false;
  for (char c : sid.substr(2)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// The header after the ETag's 16 bytes.
enum : size_t {
  kScope = 16,     // bit 0: 0 service, 1 account; bit 1 (kHandWritten): the file's digest follows the text
  kMethod,         // index into kMethods
  kTarget,         // index into kTargets
  kReads,          // reads counted since the last count_read that returned true
  kFilterCount,    // kNoFilters: null
  kAccountLen,     // account_sid's length; kRawAccount: 16 bytes, "AC" + their 32 lower-case hex digits
  kPreLen,         // two bytes, little-endian; kNull: null
  kPostLen = kPreLen + 2,
  kFilters = kPostLen + 2,
};

constexpr uint8_t kHandWritten = 2;
constexpr size_t kDigest = 16;

uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }
void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}

std::string_view filter_name(uint8_t index) {
  return index < kFilterNames.size() ? kFilterNames[index] : kAccountOnlyFilterNames[index - kFilterNames.size()];
}

std::optional<uint8_t> filter_index(std::string_view name) {
  for (size_t i = 0; i < kFilterNames.size(); ++i) {
    if (kFilterNames[i] == name) return static_cast<uint8_t>(i);
  }
  for (size_t i = 0; i < kAccountOnlyFilterNames.size(); ++i) {
    if (kAccountOnlyFilterNames[i] == name) return static_cast<uint8_t>(kFilterNames.size() + i);
  }
  return std::nullopt;
}

template <size_t N>
uint8_t index_of(const std::string_view (&table)[N], std::string_view v) {
  for (size_t i = 1; i < N; ++i) {
    if (table[i] == v) return static_cast<uint8_t>(i);
  }
  return 0;
}

}  // namespace

std::optional<CompactState> CompactState::of(const WebhookConfigView& v, std::string_view etag,
                                             std::string_view canonical_bytes) {
  return make(v, etag, canonical_bytes, nullptr);
}

std::optional<CompactState> CompactState::of_hand_written(const ServiceState& state, const Sha256Digest& file_digest) {
  const std::string canonical = emit_state_file(state.config);
  std::optional<WebhookConfigView> v = read_canonical_view(canonical, state.config.scope);
  if (!v) return std::nullopt;  // a value the emitter quotes: left to the parse cache
  return make(*v, state.etag, canonical, file_digest.data());
}

std::optional<CompactState> CompactState::make(const WebhookConfigView& v, std::string_view etag,
                                               std::string_view canonical_bytes, const uint8_t* digest) {
  if (etag.size() != 34 || v.account_sid.size() >= kRawAccount) return std::nullopt;
  const bool raw = raw_account(v.account_sid);
  const size_t pre = v.pre_webhook_url ? v.pre_webhook_url->size() : 0;
  const size_t post = v.post_webhook_url ? v.post_webhook_url->size() : 0;
  if (pre >= kNull || post >= kNull) return std::nullopt;
  uint8_t filters[64];
  size_t count = 0;
  bool fits = true;
  if (v.filters) {
    v.filters->each([&](std::string_view name) {
      std::optional<uint8_t> index = filter_index(name);
      if (!index || count == 32) {
        fits = false;
        return;
      }
      filters[count++] = *index;
    });
  }
  const uint8_t method = v.method ? index_of(kMethods, *v.method) : 0;
  const uint8_t target = v.target ? index_of(kTargets, *v.target) : 0;
  if (!fits || (v.method && !method) || (v.target && !target)) return std::nullopt;

  CompactState c;
  c.data_.reset(new uint8_t[kFilters + count + (raw ? 16 : v.account_sid.size()) + pre + post + (digest ? kDigest : 0)]);
  uint8_t* d = c.data_.get();
  for (size_t i = 0; i < 16; ++i) {
    const int hi = hex_digit_value(etag[1 + 2 * i]), lo = hex_digit_value(etag[2 + 2 * i]);
    if (hi < 0 || lo < 0) return std::nullopt;
    d[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  d[kScope] = static_cast<uint8_t>((v.scope == Scope::kAccount ? 1 : 0) | (digest ? kHandWritten : 0));
  d[kMethod] = method;
  d[kTarget] = target;
  d[kReads] = 0;
  d[kFilterCount] = v.filters ? static_cast<uint8_t>(count) : kNoFilters;
  d[kAccountLen] = raw ? kRawAccount : static_cast<uint8_t>(v.account_sid.size());
  put16(d + kPreLen, v.pre_webhook_url ? static_cast<uint16_t>(pre) : kNull);
  put16(d + kPostLen, v.post_webhook_url ? static_cast<uint16_t>(post) : kNull);
  uint8_t* at = d + kFilters;
  if (count) std::memcpy(at, filters, count);
  at += count;
  if (raw) {
    for (size_t i = 0; i < 16; ++i) *at++ = static_cast<uint8_t>(hex_digit_value(v.account_sid[2 + 2 * i]) << 4 |
                                                                  hex_digit_value(v.account_sid[3 + 2 * i]));
  }
  for (std::string_view s : {raw ? std::string_view() : v.account_sid, v.pre_webhook_url.value_or(""),
                             v.post_webhook_url.value_or("")}) {
    if (!s.empty()) std::memcpy(at, s.data(), s.size());
    at += s.size();
  }
  if (digest) std::memcpy(at, digest, kDigest);
  // Kept only if it writes these very bytes again, and gives back this very
  // ETag (its hex digits in canonical_etag's lower case).
  WebhookConfigView again;
  if (!c.same_bytes(canonical_bytes, &again) || c.etag() != etag) return std::nullopt;
  return c;
}

const uint8_t* CompactState::view(WebhookConfigView* out, char (&account)[34], std::string_view (&names)[32]) const {
  const uint8_t* d = data_.get();
  WebhookConfigView& v = *out;
  v.scope = d[kScope] & 1 ? Scope::kAccount : Scope::kService;
  const size_t count = d[kFilterCount] == kNoFilters ? 0 : d[kFilterCount];
  const char* text = reinterpret_cast<const char*>(d + kFilters + count);
  if (d[kAccountLen] == kRawAccount) {
    account[0] = 'A';
    account[1] = 'C';
    for (size_t i = 0; i < 16; ++i) {
      const uint8_t b = static_cast<uint8_t>(text[i]);
      account[2 + 2 * i] = kHexDigits[b >> 4];
      account[3 + 2 * i] = kHexDigits[b & 15];
    }
    v.account_sid = std::string_view(account, sizeof account);
    text += 16;
  } else {
    v.account_sid = std::string_view(text, d[kAccountLen]);
    text += d[kAccountLen];
  }
  if (const uint16_t pre = get16(d + kPreLen); pre != kNull) {
    v.pre_webhook_url = std::string_view(text, pre);
    text += pre;
  }
  if (const uint16_t post = get16(d + kPostLen); post != kNull) {
    v.post_webhook_url = std::string_view(text, post);
    text += post;
  }
  if (d[kFilterCount] != kNoFilters) {
    for (size_t i = 0; i < count; ++i) names[i] = filter_name(d[kFilters + i]);
    v.filters = FilterNamesView(names, count);
  }
  if (d[kMethod]) v.method = kMethods[d[kMethod]];
  if (d[kTarget]) v.target = kTargets[d[kTarget]];
  return reinterpret_cast<const uint8_t*>(text);
}

bool CompactState::same_bytes(std::string_view bytes, WebhookConfigView* in_bytes) const {
  WebhookConfigView v;
  char account[34];
  std::string_view names[32];
  view(&v, account, names);
  return match_canonical(v, bytes, in_bytes);
}

bool CompactState::same_digest(const Sha256Digest& file_digest, ServiceState* state) const {
  if (!(data_[kScope] & kHandWritten)) return false;
  WebhookConfigView v;
  char account[34];
  std::string_view names[32];
  const uint8_t* digest = view(&v, account, names);
  if (std::memcmp(file_digest.data(), digest, kDigest) != 0) return false;
  state->config = config_of(v);
  state->etag = etag();
  return true;
}

std::string CompactState::etag() const {
  std::string out(34, '"');
  for (size_t i = 0; i < 16; ++i) {
    out[1 + 2 * i] = kHexDigits[data_[i] >> 4];
    out[2 + 2 * i] = kHexDigits[data_[i] & 15];
  }
  return out;
}

Scope CompactState::scope() const { return data_[kScope] & 1 ? Scope::kAccount : Scope::kService; }

bool CompactState::count_read(unsigned every) {
  if (++data_[kReads] < every) return false;
  data_[kReads] = 0;
  return true;
}

size_t CompactState::size() const {
  const uint8_t* d = data_.get();
  const uint16_t pre = get16(d + kPreLen), post = get16(d + kPostLen);
  return kFilters + (d[kFilterCount] == kNoFilters ? 0 : d[kFilterCount]) +
         (d[kAccountLen] == kRawAccount ? 16 : d[kAccountLen]) + (pre == kNull ? 0 : pre) +
         (post == kNull ? 0 : post) + (d[kScope] & kHandWritten ? kDigest : 0);
}

}  // namespace webhookd
