// webhookctl: webhookd's rules from the command line, on the same model and
// store (never a second parser or validator). Links store, model and base
// only: no FastCGI, no HTTP. Exit 0 on success, 1 on error, 2 on bad usage.
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <iostream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "base/random.h"
#include "base/sha256.h"
#include "base/text.h"
#include "base/version.h"

namespace webhookd {
namespace {

const char kUsage[] =
    "usage: webhookctl COMMAND [OPTIONS]\n"
    "\n"
    "  hash-secret [--account AC... | --api-key SK... --account AC...] [--generate]\n"
    "      Reads an auth token or API key secret from stdin (never from the command\n"
    "      line) and prints its webhookd.yaml entry with the SHA-256 digest; with no\n"
    "      --account, the digest alone. --generate makes a strong random secret\n"
    "      instead, prints it once on stderr, and the entry on stdout, so that\n"
    "      `>> webhookd.yaml` never stores the secret.\n"
    "  --version, --help\n"
    "\n"
    "Exit status: 0 success, 1 error, 2 bad usage.\n";

int usage_error(const std::string& why) {
  std::fprintf(stderr, "webhookctl: %s\n%s", why.c_str(), kUsage);
  return 2;
}

int fail(const std::string& why) {
  std::fprintf(stderr, "webhookctl: %s\n", why.c_str());
  return 1;
}

// "--name value" pairs and bare flags; anything else is a usage error.
struct Args {
  std::map<std::string, std::string> values;
  std::map<std::string, bool> flags;
  std::vector<std::string> positional;
};

bool parse_options(const std::vector<std::string>& argv, const std::vector<std::string>& with_value,
                   const std::vector<std::string>& bare, Args* out, std::string* why) {
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    auto is = [&](const std::vector<std::string>& names) {
      for (const auto& n : names) {
        if (n == a) return true;
      }
      return false;
    };
    if (is(with_value)) {
      if (i + 1 >= argv.size()) {
        *why = a + " needs a value";
        return false;
      }
      out->values[a] = argv[++i];
    } else if (is(bare)) {
      out->flags[a] = true;
    } else if (a.rfind("--", 0) == 0) {
      *why = "unknown option " + a;
      return false;
    } else {
      out->positional.push_back(a);
    }
  }
  return true;
}

// The secret as a person pipes it in: one line, its line end dropped.
Result<std::string> read_secret_from_stdin() {
  std::string secret((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  if (!secret.empty() && secret.back() == '\n') secret.pop_back();
  if (!secret.empty() && secret.back() == '\r') secret.pop_back();
  if (secret.empty()) return Error::invalid_argument("no secret on stdin (pipe it in: webhookctl hash-secret < file)");
  if (secret.find('\n') != std::string::npos) return Error::invalid_argument("the secret on stdin spans several lines");
  return secret;
}

int hash_secret(const std::vector<std::string>& argv) {
  Args args;
  std::string why;
  if (!parse_options(argv, {"--account", "--api-key"}, {"--generate"}, &args, &why)) return usage_error(why);
  if (!args.positional.empty()) return usage_error("hash-secret takes no secret on the command line; pipe it to stdin");
  const std::string account = args.values.count("--account") ? args.values["--account"] : "";
  const std::string key = args.values.count("--api-key") ? args.values["--api-key"] : "";
  if (!account.empty() && !is_account_sid(account)) return usage_error("--account must be AC followed by 32 hex digits");
  if (!key.empty() && !is_api_key_sid(key)) return usage_error("--api-key must be SK followed by 32 hex digits");
  if (!key.empty() && account.empty()) return usage_error("--api-key needs --account, the account the key acts for");

  std::string secret;
  if (args.flags["--generate"]) {
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

int run(int argc, char** argv) {
  if (argc < 2) return usage_error("no command");
  const std::string command = argv[1];
  const std::vector<std::string> rest(argv + 2, argv + argc);
  if (command == "--version") {
    std::printf("webhookctl %s\n", kVersion);
    return 0;
  }
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  const std::map<std::string, std::function<int(const std::vector<std::string>&)>> commands = {
      {"hash-secret", hash_secret},
  };
  auto it = commands.find(command);
  if (it == commands.end()) return usage_error("unknown command '" + command + "'");
  return it->second(rest);
}

}  // namespace
}  // namespace webhookd

int main(int argc, char** argv) { return webhookd::run(argc, argv); }
