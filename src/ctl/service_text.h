// One service as show, set and fire speak of it: its state printed, and a
// store failure in the words a person expects.
#pragma once

#include <string>

#include "base/result.h"
#include "model/state_file.h"

namespace webhookd::ctl {

// "# IS…  ETag "…"" and then the canonical state file, on stdout.
void print_state(const std::string& sid, const ServiceState& state);

// "no service IS…" for kNotFound, the store's own message otherwise; exit status 1.
int fail_for(const std::string& sid, const Error& error);

}  // namespace webhookd::ctl
