// Links the store with model and base only (no api, no edge, no libfcgi):
// a second program (webhookctl) can stand on it. Run by make test: it reads
// one service through a StateStore and prints its ETag.
#include <cstdio>

#include "store/file_system.h"
#include "store/state_store.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: store_link_check STATE_DIR SID\n");
    return 2;
  }
  webhookd::PosixFileSystem fs;
  webhookd::StateStore store(fs, argv[1]);
  auto state = store.load(argv[2]);
  if (!state.ok()) {
    std::fprintf(stderr, "%s\n", state.error().message.c_str());
    return 1;
  }
  std::printf("%s\n", state.value()->etag.c_str());
  return 0;
}
