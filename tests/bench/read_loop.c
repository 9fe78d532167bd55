/* What the kernel alone costs to read state spread over many files, for
 * `make bench`: open + read + close of each file named in a list, round and
 * round, single-threaded. Run over 1, 10,000 and 100,000 files it shows how
 * much of webhookd's slowdown with many services is the file system's (dentry,
 * inode and page-cache working set), which no cache in webhookd can remove
 * without missing hand edits.
 * usage: read_loop DIR SIDS_FILE SECONDS  ->  "reads=N seconds=S" */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  FILE* list = fopen(argv[2], "r");
  if (!list) return 1;
  size_t n = 0, cap = 1024;
  char** paths = malloc(cap * sizeof *paths);
  char line[256];
  while (fgets(line, sizeof line, list)) {
    line[strcspn(line, "\n")] = 0;
    if (n == cap) paths = realloc(paths, (cap *= 2) * sizeof *paths);
    paths[n] = malloc(strlen(argv[1]) + strlen(line) + 8);
    sprintf(paths[n++], "%s/%s.yaml", argv[1], line);
  }
  double seconds = atof(argv[3]), start = now();
  size_t reads = 0;
  char buf[8192];
  while (now() - start < seconds) {
    for (int k = 0; k < 1000; ++k, ++reads) {
      int fd = open(paths[reads % n], O_RDONLY | O_CLOEXEC);
      if (fd < 0 || read(fd, buf, sizeof buf) <= 0) return 1;
      close(fd);
    }
  }
  printf("reads=%zu seconds=%.3f\n", reads, now() - start);
  return 0;
}
