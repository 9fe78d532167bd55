// Every webhookctl command, one file each (src/ctl/<name>.cc); main.cc lists
// them in the order `webhookctl --help` shows them.
#pragma once

#include "ctl/options.h"

namespace webhookd::ctl {

extern const Command kCheck;
extern const Command kDiff;
extern const Command kApply;
extern const Command kExport;
extern const Command kShow;
extern const Command kSet;
extern const Command kCreateService;
extern const Command kHashSecret;
extern const Command kFire;

}  // namespace webhookd::ctl
