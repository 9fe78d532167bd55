// webhookctl create-service: a new, empty service (only its account), never
// over one that exists.
#include <cstdio>

#include "base/random.h"
#include "base/sha256.h"
#include "base/text.h"
#include "ctl/commands.h"
#include "ctl/options.h"
#include "store/state_store.h"

namespace webhookd::ctl {
namespace {

int run(const Command& self, const Argv& argv) {
  int status = 0;
  auto parsed = parse_options(self, argv, with(kWhereOptions, {{"--account", "--sid"}, {}, {}}), &status);
  if (!parsed) return status;
  const Args& args = *parsed;
  if (!args.positional.empty()) return usage_error(self, "create-service takes options only");
  const std::string& account = args.value("--account");
  if (!is_account_sid(account)) return usage_error(self, "--account must be AC followed by 32 hex digits");
  std::string sid = args.value("--sid");
  if (!args.has("--sid")) {
    auto bytes = random_bytes(16);
    if (!bytes.ok()) return fail(bytes.error().message);
    sid = "IS" + to_hex(bytes.value());
  } else if (!is_service_sid(sid)) {
    return usage_error(self, "--sid must be IS followed by 32 hex digits");
  }
  PosixFileSystem fs;
  auto where = where_from(args, fs, ActAs::kOwnerToWrite);
  if (!where.ok()) return fail(where.error().message);
  // A service of an account webhookd does not know could never be read.
  if (where.value().config && !where.value().config->credentials.account_token_digest.count(account)) {
    return fail("account " + account + " is not in " + where.value().config->source +
                ": webhookd would answer 404 to everyone for this service");
  }
  StateStore store(fs, where.value().state_dir);
  WebhookConfig config;
  config.account_sid = account;
  auto created = store.create(sid, config);
  if (!created.ok()) {
    return fail(created.error().code == ErrorCode::kConflict ? sid + " exists already; nothing was changed"
                                                             : created.error().message);
  }
  std::printf("%s\n", sid.c_str());
  return 0;
}

}  // namespace

const Command kCreateService = {
    "create-service",
    "create-service --account AC... [--sid IS...] (--state-dir DIR | --config FILE)\n"
    "[--verbose]",
    "A new service (a random SID from the kernel's CSPRNG when none is\n"
    "given); refuses to overwrite one that exists.",
    run,
};

}  // namespace webhookd::ctl
