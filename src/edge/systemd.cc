// sd_notify without linking libsystemd: the protocol is one datagram to a
// unix socket (an abstract one when the path starts with '@'), and it is all
// webhookd needs of libsystemd.
#include "edge/systemd.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace webhookd {

int inherited_listener() {
  const char* pid = std::getenv("LISTEN_PID");
  const char* fds = std::getenv("LISTEN_FDS");
  if (pid && fds && std::atol(pid) == static_cast<long>(::getpid()) && std::atoi(fds) >= 1) {
    ::unsetenv("LISTEN_PID");
    ::unsetenv("LISTEN_FDS");
    ::unsetenv("LISTEN_FDNAMES");
    return 3;  // SD_LISTEN_FDS_START
  }
  return 0;
}

void notify_systemd(const char* state) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (!path || (path[0] != '/' && path[0] != '@')) return;
  std::string message = state;
  // With Type=notify-reload (systemd 253+) and for clarity in the journal,
  // RELOADING=1 carries the monotonic time systemd asks for.
  if (message == "RELOADING=1") {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    message += "\nMONOTONIC_USEC=" + std::to_string(static_cast<long long>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000);
  }
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  struct sockaddr_un addr;
  std::memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  size_t len = std::strlen(path);
  if (len < sizeof addr.sun_path) {
    std::memcpy(addr.sun_path, path, len);
    if (path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
    (void)::sendto(fd, message.data(), message.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr),
                   static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + len));
  }
  ::close(fd);
}

}  // namespace webhookd
