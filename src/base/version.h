// The version webhookd and webhookctl print; bumped with each release.
#pragma once

namespace webhookd {
constexpr const char kVersion[] = "1.1.0";
}  // namespace webhookd
