// webhookctl show: a service's state file, or with --json exactly what the
// API answers for it (the API's own renderer).
#include <cstdio>

#include "api/json_render.h"
#include "ctl/commands.h"
#include "ctl/options.h"
#include "ctl/service_text.h"
#include "store/state_store.h"

namespace webhookd::ctl {
namespace {

// The resource's url as webhookd builds it; with no public_base_url in the
// config there is no request to take a host from, so it is a path.
std::string resource_url(const Where& where, const std::string& sid) {
  std::string base = where.config ? where.config->public_base_url : "";
  return base + "/v1/Services/" + sid + "/Configuration/Webhooks";
}

int run(const Command& self, const Argv& argv) {
  int status = 0;
  auto parsed = parse_options(self, argv, with(kWhereOptions, {{}, {"--json"}, {}}), &status);
  if (!parsed) return status;
  const Args& args = *parsed;
  if (args.positional.size() != 1) return usage_error(self, "show takes one SID");
  PosixFileSystem fs;
  auto where = where_from(args, fs, ActAs::kOwnerToRead);
  if (!where.ok()) return fail(where.error().message);
  StateStore store(fs, where.value().state_dir);
  const std::string& sid = args.positional[0];
  auto state = store.load(sid);
  if (!state.ok()) return fail_for(sid, state.error());
  if (args.flag("--json")) {
    auto body = render_config(state.value()->config, sid, resource_url(where.value(), sid));
    if (!body.ok()) return fail(body.error().detail);
    std::printf("%s\n", body.value().c_str());
  } else {
    print_state(sid, *state.value());
  }
  return 0;
}

}  // namespace

const Command kShow = {
    "show",
    "show SID (--state-dir DIR | --config FILE) [--json] [--verbose]",
    "The service's state file, or with --json the API's answer.",
    run,
};

}  // namespace webhookd::ctl
