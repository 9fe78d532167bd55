// Helpers shared by the unit tests: a temp directory that cleans itself up,
// and whole-file read/write.
#pragma once

#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <ostream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>

#include "base/errors.h"

namespace webhookd {
// So that BOOST_TEST can print an ErrorKind when a comparison fails.
inline std::ostream& operator<<(std::ostream& out, ErrorKind kind) {
  return out << "ErrorKind(" << static_cast<int>(kind) << ")";
}
}  // namespace webhookd

namespace webhookd_test {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/webhookd-unit-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp");
    path_ = tmpl;
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline void write_file(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::set<std::string> list_dir(const std::string& dir) {
  std::set<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.insert(n);
    }
    closedir(d);
  }
  return names;
}

}  // namespace webhookd_test
