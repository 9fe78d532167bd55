/* The ceiling of durable writes for `make bench`: what webhookd's store does
 * for one update, and nothing else, in a loop on the same disk: write a temp
 * file, fsync it, rename it over the target, fsync the directory.
 * usage: durable_write DIR SECONDS  ->  "ops=N seconds=S p50_us=A p99_us=B" */
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

static int cmp(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  char temp[4096], target[4096], data[256];
  snprintf(temp, sizeof temp, "%s/.ISbench.tmp", argv[1]);
  snprintf(target, sizeof target, "%s/ISbench.yaml", argv[1]);
  double seconds = atof(argv[2]), start = now();
  size_t cap = 1 << 20, n = 0;
  double* lat = malloc(cap * sizeof *lat);
  int dir = open(argv[1], O_RDONLY | O_DIRECTORY);
  if (dir < 0 || !lat) return 1;
  while (now() - start < seconds && n < cap) {
    double t0 = now();
    int len = snprintf(data, sizeof data,
                       "account_sid: ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\npre_webhook_url: https://x/%zu\n"
                       "post_webhook_url: null\nfilters: null\nmethod: POST\n", n);
    int fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, data, len) != len || fsync(fd) != 0 || close(fd) != 0) return 1;
    if (rename(temp, target) != 0 || fsync(dir) != 0) return 1;
    lat[n++] = (now() - t0) * 1e6;
  }
  double elapsed = now() - start;
  qsort(lat, n, sizeof *lat, cmp);
  printf("ops=%zu seconds=%.3f p50_us=%.0f p99_us=%.0f\n", n, elapsed, lat[n / 2], lat[n * 99 / 100]);
  return 0;
}
