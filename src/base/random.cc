// getrandom(2) blocks only until the pool is first initialised at boot, and
// may return less than asked for large requests or on a signal: loop.
#include "base/random.h"

#include <sys/random.h>

#include <cerrno>
#include <cstring>

namespace webhookd {

Result<std::string> random_bytes(size_t n) {
  std::string out(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t k = ::getrandom(&out[got], n - got, 0);
    if (k < 0) {
      if (errno == EINTR) continue;
      return Error::io(std::string("getrandom: ") + std::strerror(errno), errno);
    }
    got += static_cast<size_t>(k);
  }
  return out;
}

}  // namespace webhookd
