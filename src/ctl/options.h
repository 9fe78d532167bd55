// webhookctl's one option parser, shared by every command (as git's
// parse-options is by its builtins): "--name value" pairs, repeated options
// and bare flags, --help with the command's own usage, usage errors (exit 2,
// or 1 for a command whose 2 means something else), failures (exit 1), and a
// secret read from stdin. A command says what it
// takes; nothing here knows one command from another.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/result.h"
#include "model/config.h"
#include "store/file_system.h"

namespace webhookd::ctl {

struct Command;
using Argv = std::vector<std::string>;

// One webhookctl command, in its own file: its usage text and its code.
struct Command {
  const char* name;         // "check"
  const char* synopsis;     // what follows "webhookctl ": "check [--config FILE] [PATH...]"; lines after
                            // the first are continuations
  const char* description;  // what it does, one or more lines, not indented
  int (*run)(const Command& self, const Argv& argv);
  // What its exit statuses mean, when not the usual "0 success, 1 error, 2
  // bad usage". A command that says its own (diff: 2 is drift) reports bad
  // usage as 1, so that a script's typo is never read as that 2.
  const char* exit_status = nullptr;
};

// The options a command takes, by name.
struct OptionSpec {
  std::vector<std::string> with_value;  // --name VALUE, the last one wins
  std::vector<std::string> bare;        // --flag
  std::vector<std::string> repeated;    // --name VALUE, any number of times, kept in order
};

struct Args {
  std::map<std::string, std::string> values;
  std::map<std::string, std::vector<std::string>> lists;  // the repeated options
  std::set<std::string> flags;
  std::vector<std::string> positional;

  bool has(const std::string& name) const { return values.count(name) > 0; }
  // The option's value, "" when it was not given.
  const std::string& value(const std::string& name) const;
  bool flag(const std::string& name) const { return flags.count(name) > 0; }
  const std::vector<std::string>& list(const std::string& name) const;
};

// Parses a command's argv. Returns the Args to run with, or nothing when the
// command is done already: --help (or -h) anywhere printed its usage on
// stdout (*exit_status 0), or a usage error was printed with its usage on
// stderr (*exit_status as usage_error's).
std::optional<Args> parse_options(const Command& command, const Argv& argv, const OptionSpec& spec,
                                  int* exit_status);

// Appends b's option names to a's.
OptionSpec with(OptionSpec a, const OptionSpec& b);

// "webhookctl: <why>" and the command's usage on stderr; exit status 2, or 1
// for a command that says its own exit statuses (Command::exit_status).
int usage_error(const Command& command, const std::string& why);
// "webhookctl: <why>" on stderr; exit status 1.
int fail(const std::string& why);

// "usage: webhookctl <synopsis>" and the description: what COMMAND --help prints.
std::string command_usage(const Command& command);
// The command as `webhookctl --help` lists it: synopsis, then the description indented.
std::string command_summary(const Command& command);

// Where the state is: --state-dir DIR, or the state_dir of --config FILE
// (loaded exactly as webhookd loads it); --state-dir wins when both are
// given. --verbose says who the command acts as in it.
extern const OptionSpec kWhereOptions;
struct Where {
  std::string state_dir;
  std::optional<Config> config;
};

// Loads the config (as the caller: /etc/webhookd/webhookd.yaml is root's and
// webhookd's group's, not the state directory owner's) and names the state
// directory; touches nothing in it.
Result<Where> locate_state(const Args& args, FileSystem& fs);

// Who a command is in the state directory. As root on a directory another
// user owns, every command that reads or writes it acts as that user
// (owner.h): kOwnerToWrite for set, create-service and apply, kOwnerToRead
// for show, diff and fire (they create nothing there, but reading as the
// owner means root never follows a link the owner planted). Whatever else a
// command needs (the config, a source checkout, a token file) is read
// before. kCaller: whoever runs it, for export, which only reads the state
// directory (no lock, no record) and writes into a checkout that may be
// root's.
enum class ActAs { kOwnerToWrite, kOwnerToRead, kCaller };

// Becomes who `act_as` says; if that is still root in a directory someone
// else may write (export; show, diff and fire in root's own directory that a
// group may write), fs follows no link from now on (owner.h). --verbose
// prints both on stderr. Then checks the directory is one this process may
// read, write and search.
Status enter_state_dir(const Where& where, PosixFileSystem& fs, ActAs act_as, const Args& args);

// locate_state, then enter_state_dir: for the commands that read nothing
// outside the state directory but the config.
Result<Where> where_from(const Args& args, PosixFileSystem& fs, ActAs act_as);

// The secret as a person pipes it in: one line, its line end dropped.
Result<std::string> read_secret_from_stdin();

}  // namespace webhookd::ctl
