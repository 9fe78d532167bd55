// Reads webhookd.yaml through the FileSystem and checks it as the model
// says; shared by webhookd (start-up, SIGHUP) and webhookctl.
#pragma once

#include <string>

#include "base/result.h"
#include "model/config.h"
#include "store/file_system.h"

namespace webhookd {

// kNotFound, kIOError, or parse_config's kCorruption with file:line:column.
Result<Config> load_config(FileSystem& fs, const std::string& path);

// A state_dir that is missing or not a readable and writable directory is
// kInvalidArgument naming the config file: a config that would make every
// service answer 404 is refused, at start-up and on reload alike.
Status check_state_dir(FileSystem& fs, const Config& config);

}  // namespace webhookd
