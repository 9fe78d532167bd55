// Secrets and SIDs from the kernel's CSPRNG (getrandom(2)): for generated
// auth tokens and new service SIDs. Never std::random_device or mt19937.
#pragma once

#include <cstddef>
#include <string>

#include "base/result.h"

namespace webhookd {

// n random bytes; kIOError only if the kernel refuses.
Result<std::string> random_bytes(size_t n);

}  // namespace webhookd
