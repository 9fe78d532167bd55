// The config file from disk, and the one check the model cannot make: that
// its state_dir is there to serve from.
#include "store/config_file.h"

namespace webhookd {

Result<Config> load_config(FileSystem& fs, const std::string& path) {
  auto bytes = fs.read_file(path);
  if (!bytes.ok()) return bytes.error();
  return parse_config(bytes.value(), path);
}

Status check_state_dir(FileSystem& fs, const Config& config) {
  Status usable = fs.check_writable_dir(config.state_dir);
  if (!usable.ok()) return Error::invalid_argument(config.source + ": state_dir: " + usable.error().message);
  return ok_status();
}

}  // namespace webhookd
