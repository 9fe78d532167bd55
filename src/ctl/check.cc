// webhookctl check: state files, directories of them and the config, judged
// exactly as webhookd loads them; for CI and a pre-commit hook.
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <optional>

#include "ctl/commands.h"
#include "ctl/options.h"
#include "ctl/owner.h"
#include "store/config_file.h"
#include "store/gitops.h"

namespace webhookd::ctl {
namespace {

// The directory that holds what path names: path itself when it is one
// (followed: root named it), else the directory its last name is in.
std::string directory_of(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return path;
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

int run(const Command& self, const Argv& argv) {
  int status = 0;
  auto parsed = parse_options(self, argv, {{"--config"}, {}, {}}, &status);
  if (!parsed) return status;
  const Args& args = *parsed;
  PosixFileSystem fs;
  std::vector<std::string> problems;
  std::vector<std::string> paths = args.positional;
  int files = 0;
  std::optional<Config> config;  // when given and valid: an account file must be of one of its accounts
  if (args.has("--config")) {
    ++files;
    auto loaded = load_config(fs, args.value("--config"));
    if (!loaded.ok()) {
      problems.push_back(loaded.error().message);
    } else {
      if (paths.empty()) paths.push_back(loaded.value().state_dir);
      config = std::move(loaded.value());
    }
  }
  const Config* known = config ? &*config : nullptr;
  if (paths.empty() && !args.has("--config")) return usage_error(self, "check what? name files, directories or --config");
  for (const std::string& path : paths) {
    // check stays whoever runs it: as root, in a directory someone else may
    // write (a state directory, a checkout), it follows no link (owner.h).
    PosixFileSystem path_fs;
    (void)refuse_links_others_planted(directory_of(path), path_fs);
    // A directory is what can be listed (read-only is fine: a CI checkout
    // may be); anything else is checked as one file.
    auto source = read_source_dir(path_fs, path, known);
    if (source.ok()) {
      files += static_cast<int>(source.value().services.size() + source.value().problems.size());
      problems.insert(problems.end(), source.value().problems.begin(), source.value().problems.end());
    } else if (source.error().os_errno != ENOTDIR) {
      problems.push_back(path + ": " + source.error().message);
    } else {
      ++files;
      std::vector<std::string> found = check_state_file(path_fs, path, /*check_name=*/true, known);
      problems.insert(problems.end(), found.begin(), found.end());
    }
  }
  for (const auto& p : problems) std::fprintf(stderr, "%s\n", p.c_str());
  if (!problems.empty()) {
    std::fprintf(stderr, "webhookctl check: %zu problem(s)\n", problems.size());
    return 1;
  }
  std::printf("webhookctl check: ok (%d file(s))\n", files);
  return 0;
}

}  // namespace

const Command kCheck = {
    "check",
    "check [--config FILE] [PATH...]",
    "Checks state files (services' IS....yaml, accounts' global AC....yaml, and\n"
    "directories of them) and the config exactly as webhookd loads them;\n"
    "every problem as file:line:column: message on stderr. With --config, an\n"
    "AC....yaml of an account the config does not list is a problem too; with\n"
    "--config and no PATH, the config's state_dir is checked.",
    run,
};

}  // namespace webhookd::ctl
