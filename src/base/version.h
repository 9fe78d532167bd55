// The version webhookd and webhookctl print. Its one source is the top entry
// of conf/debian/changelog (a release is its changelog entry, which is also
// the package's version): the Makefile writes the number, without the Debian
// revision, into $(BUILD)/gen/base/version_number.h.
#pragma once

#include "base/version_number.h"

namespace webhookd {
constexpr const char kVersion[] = WEBHOOKD_VERSION;
}  // namespace webhookd
