// What diff and apply share: a source directory read for a plan (the plan
// itself is the store's: store/gitops.h), and the plan as a person
// or a script reads it (print_plan).
#pragma once

#include <map>
#include <string>

#include "model/config.h"
#include "model/service_plan.h"
#include "store/file_system.h"

namespace webhookd::ctl {

// SRC's state files (services' and accounts' global webhooks), read whole
// and checked; with the config (where.config), an account file of an account
// it does not list is a problem too, and without it any account file is
// (nothing says which accounts webhookd serves). A problem of SRC is printed (one line
// each, on stderr) and fails it: nothing is planned from a broken source.
// Read before the command enters the state directory (as root, it then acts
// as the directory's owner, who may not be able to read a checkout of
// root's); so, as root in a checkout someone else may write, following no
// link (owner.h).
Result<std::map<std::string, ServiceState>> read_source(const std::string& src, const Config* config);

// On stdout, for a person: `+ IS…  create`, `~ IS…  update  (DRIFTED)`,
// each field, then the totals; or with json, for a script, one line:
// {"services":[{"sid","action","drifted","drift_reason"?,"changes":[...]}],"create":N,...}
void print_plan(const Plan& plan, bool json);

}  // namespace webhookd::ctl
