// webhookctl diff: what apply would do, and nothing else. Exit 2 on drift
// so that a CI job or a timer can tell "in sync" from "differs" from "broken";
// so bad usage is 1 here, never 2 (contract §7 keeps 2 for drift).
#include "ctl/commands.h"
#include "ctl/options.h"
#include "ctl/plan.h"
#include "store/gitops.h"
#include "store/state_store.h"

namespace webhookd::ctl {
namespace {

int run(const Command& self, const Argv& argv) {
  int status = 0;
  auto parsed = parse_options(self, argv, with(kWhereOptions, {{}, {"--prune", "--json"}, {}}), &status);
  if (!parsed) return status;
  const Args& args = *parsed;
  if (args.positional.size() != 1) return usage_error(self, "diff takes one SRC directory");
  PosixFileSystem fs;
  auto where = locate_state(args, fs);
  if (!where.ok()) return fail(where.error().message);
  const Config* config = where.value().config ? &*where.value().config : nullptr;
  auto source = read_source(args.positional[0], config);
  if (!source.ok()) return fail(source.error().message);
  Status entered = enter_state_dir(where.value(), fs, ActAs::kOwnerToRead, args);
  if (!entered.ok()) return fail(entered.error().message);
  // No apply lock: diff writes nothing (a stale plan is only shown, never
  // recorded), never waits behind an apply, and works for a user who may
  // only read the state directory.
  StateStore store(fs, where.value().state_dir);
  auto planned = plan_live(store, fs, source.value(), args.flag("--prune"));
  if (!planned.ok()) return fail(planned.error().message);
  const Plan& plan = planned.value();
  print_plan(plan, args.flag("--json"));
  return plan.changes_anything() ? 2 : 0;
}

}  // namespace

const Command kDiff = {
    "diff",
    "diff SRC (--state-dir DIR | --config FILE) [--prune] [--json] [--verbose]",
    "What apply would do, state file by state file (services' IS....yaml and\n"
    "accounts' global AC....yaml) and field by field; SRC is checked as apply\n"
    "checks it. Bad usage exits 1, not 2: a typo in a script is never read as\n"
    "drift.",
    run,
    "0 the live state equals SRC, 1 error or bad usage, 2 it differs",
};

}  // namespace webhookd::ctl
