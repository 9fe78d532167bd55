// What diff and apply share: the plan for a source directory against the
// live state, and the plan as a person (print_plan) or a script (plan_json)
// reads it.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "ctl/options.h"
#include "model/service_plan.h"
#include "store/file_system.h"
#include "store/state_store.h"

namespace webhookd::ctl {

struct Planned {
  Plan plan;
  std::unique_ptr<StateStore> store;  // the live state's, to carry the plan out on
};

// SRC's state files (services' and accounts' global webhooks), read whole
// and checked; with the config (where.config), an account file of an account
// it does not list is a problem too. A problem of SRC is printed (one line
// each, on stderr) and fails it: nothing is planned from a broken source. Read before the command enters the state directory (as root, it
// then acts as the directory's owner, who may not be able to read a checkout
// of root's).
Result<std::map<std::string, ServiceState>> read_source(const std::string& src, FileSystem& fs,
                                                        const Config* config);

// The plan for those services against the live state.
Result<Planned> plan_for(const std::map<std::string, ServiceState>& source, const Where& where, bool prune,
                         FileSystem& fs);

// `+ IS…  create`, `~ IS…  update  (DRIFTED)`, each field, then the totals.
void print_plan(const Plan& plan);
// {"services":[{"sid","action","drifted","drift_reason"?,"changes":[...]}],"create":N,...}
std::string plan_json(const Plan& plan);

}  // namespace webhookd::ctl
