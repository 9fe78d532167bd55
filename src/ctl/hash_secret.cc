// webhookctl hash-secret: the config entry for an auth token or API key
// secret. The secret comes from stdin or is generated, never from argv (where
// ps and shell history would keep it); the entry on stdout carries only its
// digest, so `>> webhookd.yaml` never stores a secret.
#include <cstdio>

#include "base/random.h"
#include "base/sha256.h"
#include "base/text.h"
#include "ctl/commands.h"
#include "ctl/options.h"

namespace webhookd::ctl {
namespace {

int run(const Command& self, const Argv& argv) {
  int status = 0;
  auto parsed = parse_options(self, argv, {{"--account", "--api-key"}, {"--generate"}, {}}, &status);
  if (!parsed) return status;
  const Args& args = *parsed;
  if (!args.positional.empty()) return usage_error(self, "hash-secret takes no secret on the command line; pipe it to stdin");
  const std::string& account = args.value("--account");
  const std::string& key = args.value("--api-key");
  if (!account.empty() && !is_account_sid(account)) return usage_error(self, "--account must be AC followed by 32 hex digits");
  if (!key.empty() && !is_api_key_sid(key)) return usage_error(self, "--api-key must be SK followed by 32 hex digits");
  if (!key.empty() && account.empty()) return usage_error(self, "--api-key needs --account, the account the key acts for");

  std::string secret;
  if (args.flag("--generate")) {
    auto bytes = random_bytes(16);  // 32 hex digits, the shape of a Twilio auth token
    if (!bytes.ok()) return fail(bytes.error().message);
    secret = to_hex(bytes.value());
    std::fprintf(stderr, "secret (shown once, store it now): %s\n", secret.c_str());
  } else {
    auto read = read_secret_from_stdin();
    if (!read.ok()) return fail(read.error().message);
    secret = std::move(read.value());
  }
  const std::string digest = sha256_hex(secret);
  if (!key.empty()) {
    std::printf("  # under api_keys:\n  - sid: %s\n    account_sid: %s\n    secret_sha256: %s\n", key.c_str(),
                account.c_str(), digest.c_str());
  } else if (!account.empty()) {
    std::printf("  - sid: %s\n    auth_token_sha256: %s\n", account.c_str(), digest.c_str());
  } else {
    std::printf("%s\n", digest.c_str());
  }
  return 0;
}

}  // namespace

const Command kHashSecret = {
    "hash-secret",
    "hash-secret [--account AC... | --api-key SK... --account AC...] [--generate]",
    "Reads an auth token or API key secret from stdin (never from the command\n"
    "line) and prints its webhookd.yaml entry with the SHA-256 digest; with no\n"
    "--account, the digest alone. --generate makes a strong random secret\n"
    "instead, prints it once on stderr, and the entry on stdout, so that\n"
    "`>> webhookd.yaml` never stores the secret.",
    run,
};

}  // namespace webhookd::ctl
