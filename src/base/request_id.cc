// One generator per thread, seeded from the kernel: no lock on the hot path,
// and worker threads never share generator state.
#include "base/request_id.h"

#include <cstdint>
#include <random>

namespace webhookd {

std::string new_request_id() {
  thread_local std::mt19937_64 gen{(static_cast<uint64_t>(std::random_device{}()) << 32) ^
                                   std::random_device{}()};
  static const char kDigits[] = "0123456789abcdef";
  std::string id = "RQ";
  id.reserve(34);
  for (int half = 0; half < 2; ++half) {
    uint64_t v = gen();
    for (int i = 0; i < 16; ++i) {
      id += kDigits[v & 15];
      v >>= 4;
    }
  }
  return id;
}

}  // namespace webhookd
