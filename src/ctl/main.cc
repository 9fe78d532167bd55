// webhookctl: webhookd's rules from the command line, on the same model and
// store (never a second parser or validator), and the API's own form rules
// and JSON where it must answer as the API would (set, show --json). Never
// the edge: no FastCGI. This file only dispatches (git.c's table of
// builtins); each command is a file of its own beside it.
#include <cstdio>
#include <string>

#include "base/version.h"
#include "ctl/commands.h"
#include "ctl/options.h"

namespace webhookd::ctl {
namespace {

// In the order `webhookctl --help` lists them.
const Command* const kCommands[] = {&kCheck, &kDiff, &kApply, &kExport, &kShow,
                                    &kSet,   &kCreateService, &kHashSecret, &kFire};

std::string usage() {
  std::string text =
      "usage: webhookctl COMMAND [OPTIONS]\n"
      "\n"
      "Where the state is: --state-dir DIR, or --config FILE (its state_dir). Run as\n"
      "root on a state directory another user owns, a command acts as that user\n"
      "(export, which writes nothing there, excepted); --verbose says who it acts as.\n"
      "\n";
  for (const Command* c : kCommands) text += command_summary(*c);
  text +=
      "  --version, --help, COMMAND --help\n"
      "\n"
      "Exit status: 0 success, 1 error, 2 bad usage;\n"
      "diff: 0 in sync, 1 error or bad usage, 2 the live state differs.\n";
  return text;
}

int usage_error(const std::string& why) {
  std::fprintf(stderr, "webhookctl: %s\n%s", why.c_str(), usage().c_str());
  return 2;
}

int run(int argc, char** argv) {
  if (argc < 2) return usage_error("no command");
  const std::string command = argv[1];
  if (command == "--version") {
    std::printf("webhookctl %s\n", kVersion);
    return 0;
  }
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(usage().c_str(), stdout);
    return 0;
  }
  for (const Command* c : kCommands) {
    if (command == c->name) return c->run(*c, Argv(argv + 2, argv + argc));
  }
  return usage_error("unknown command '" + command + "'");
}

}  // namespace
}  // namespace webhookd::ctl

int main(int argc, char** argv) { return webhookd::ctl::run(argc, argv); }
