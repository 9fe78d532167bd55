// webhookctl apply: makes the live state match a checkout of the GitOps
// repository, through the store (store/gitops.h: apply_plan), never by
// copying files: readers see the old file or the new one.
#include <cstdio>

#include "ctl/commands.h"
#include "ctl/options.h"
#include "ctl/plan.h"
#include "store/gitops.h"
#include "store/state_store.h"

namespace webhookd::ctl {
namespace {

int run(const Command& self, const Argv& argv) {
  int status = 0;
  auto parsed =
      parse_options(self, argv, with(kWhereOptions, {{}, {"--prune", "--dry-run", "--force", "--json"}, {}}), &status);
  if (!parsed) return status;
  const Args& args = *parsed;
  if (args.positional.size() != 1) return usage_error(self, "apply takes one SRC directory");
  PosixFileSystem fs;
  auto where = locate_state(args, fs);
  if (!where.ok()) return fail(where.error().message);
  const Config* config = where.value().config ? &*where.value().config : nullptr;
  auto source = read_source(args.positional[0], config);
  if (!source.ok()) return fail(source.error().message);
  Status entered = enter_state_dir(where.value(), fs, ActAs::kOwnerToWrite, args);
  if (!entered.ok()) return fail(entered.error().message);
  StateStore store(fs, where.value().state_dir);
  const bool json = args.flag("--json");
  if (args.flag("--dry-run")) {  // as diff: no lock, nothing written
    auto planned = plan_live(store, fs, source.value(), args.flag("--prune"));
    if (!planned.ok()) return fail(planned.error().message);
    print_plan(planned.value(), json);
    return 0;
  }
  // Planned under the apply lock, held until the record is written: a plan
  // made before it could be stale by then (store/gitops.h, LockedPlan).
  auto locked = plan_under_apply_lock(store, fs, source.value(), args.flag("--prune"));
  if (!locked.ok()) return fail(locked.error().message);
  print_plan(locked.value().plan(), json);
  int failed = 0;
  auto steps = apply_plan(store, fs, locked.value(), args.flag("--force"), [&](const ApplyStep& step) {
    if (!step.status.ok()) {
      ++failed;
      std::fprintf(stderr, "webhookctl: %s not %sd: %s\n", step.sid.c_str(), plan_action_name(step.action),
                   step.status.error().message.c_str());
    } else if (!json) {
      std::printf("%sd %s\n", plan_action_name(step.action), step.sid.c_str());
    }
  });
  if (!steps.ok()) return fail(steps.error().message);
  if (!json) std::printf("Applied: %zu service(s) changed, %d failed.\n", steps.value().size() - failed, failed);
  return failed ? 1 : 0;
}

}  // namespace

const Command kApply = {
    "apply",
    "apply SRC (--state-dir DIR | --config FILE) [--prune] [--dry-run] [--force] [--json]\n"
    "[--verbose]",
    "Makes the live state match SRC (a checkout of the GitOps repository):\n"
    "all of SRC is checked first (one invalid file, an AC....yaml without\n"
    "--config, or one of an account --config does not list, and nothing is\n"
    "touched), then each service (IS....yaml) and each account's global\n"
    "webhooks (AC....yaml) is created, replaced or (--prune) removed through\n"
    "webhookd's own lock + temp + fsync + rename. Refuses, naming them, files\n"
    "changed since the last apply (an API write, a hand edit) unless --force.\n"
    "--dry-run prints the plan only.",
    run,
};

}  // namespace webhookd::ctl
