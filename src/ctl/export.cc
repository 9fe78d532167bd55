// webhookctl export: the live state as canonical files in a checkout, so
// that API writes can be committed to git (and the next apply finds nothing
// to do). Only what apply with the same options would take: an account
// file of an account --config does not list, or every account file without
// --config, is left out, and said so.
#include <cstdio>

#include "ctl/commands.h"
#include "ctl/options.h"
#include "store/gitops.h"
#include "store/state_store.h"

namespace webhookd::ctl {
namespace {

int run(const Command& self, const Argv& argv) {
  int status = 0;
  auto parsed = parse_options(self, argv, kWhereOptions, &status);
  if (!parsed) return status;
  const Args& args = *parsed;
  if (args.positional.size() != 1) return usage_error(self, "export takes one DEST directory");
  PosixFileSystem fs;  // the state directory's: as root in another user's, it follows no link
  auto where = where_from(args, fs, ActAs::kCaller);
  if (!where.ok()) return fail(where.error().message);
  StateStore store(fs, where.value().state_dir);
  PosixFileSystem dest_fs;  // DEST is the caller's checkout, as it always was
  const Config* config = where.value().config ? &*where.value().config : nullptr;
  auto exported = export_live(store, dest_fs, args.positional[0], config);
  if (!exported.ok()) return fail(exported.error().message);
  for (const auto& sid : exported.value().left_out) {
    if (!config) {
      std::fprintf(stderr,
                   "webhookctl: left out %s.yaml: an account's global webhooks are exported only with --config, "
                   "which lists the accounts webhookd serves (apply without it would refuse the file)\n",
                   sid.c_str());
      continue;
    }
    std::fprintf(stderr,
                 "webhookctl: left out %s.yaml: account %s is not in %s: webhookd never reads its file, and apply "
                 "would refuse it (remove it from %s, or add the account)\n",
                 sid.c_str(), sid.c_str(), config->source.c_str(), where.value().state_dir.c_str());
  }
  for (const auto& sid : exported.value().written) std::printf("wrote %s.yaml\n", sid.c_str());
  for (const auto& sid : exported.value().removed) std::printf("removed %s.yaml\n", sid.c_str());
  const size_t left_out = exported.value().left_out.size();
  const std::string left = left_out ? ", " + std::to_string(left_out) + " left out" : "";
  std::printf("Exported: %zu written, %zu removed, %d unchanged%s.\n", exported.value().written.size(),
              exported.value().removed.size(), exported.value().unchanged, left.c_str());
  return 0;
}

}  // namespace

const Command kExport = {
    "export",
    "export (--state-dir DIR | --config FILE) DEST [--verbose]",
    "Writes the live state as canonical files into DEST (a git checkout):\n"
    "services' IS....yaml and accounts' global AC....yaml (an account that never\n"
    "set them has none); removes DEST's state files that are no longer live.\n"
    "With --config, the file of an account it does not list is left out (named\n"
    "on stderr; a copy in DEST is removed): apply --config would refuse it.\n"
    "Without --config, every account file is left out so: apply without it\n"
    "refuses them all.",
    run,
};

}  // namespace webhookd::ctl
