// libfcgi's own reading of a FastCGI request, the oracle that decode_request
// (src/edge/fcgi_records.h) is checked against: the request goes through a
// socket pair into FCGX_Accept_r, as webhookd fed libfcgi every request
// before it decoded them itself. Management records and other request ids
// are taken out first (webhookd answers those itself; libfcgi 2.4.2 would
// overflow its stack on some of them). Shared by fcgi_records_test.cc and
// fcgi_decode_fuzz.cc.
#pragma once

#include <fcgiapp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace webhookd_test {

struct LibfcgiReading {
  bool accepted = false;  // FCGX_Accept_r took the request
  // envp without FCGI_ROLE, split at the first '=', as FCGX_GetParam finds
  // them (an entry with no '=', cut by a NUL in its name, it never finds).
  std::vector<std::pair<std::string, std::string>> params;
  bool stdin_read_to_end = false;  // FCGX_GetStr met the end of stdin without an error
  std::string stdin_bytes;
};

// The records libfcgi would see: the request's own, without management
// records, other ids, or a second BEGIN_REQUEST of its own id.
inline std::string own_records(std::string_view request) {
  std::string out;
  unsigned own_id = 0;
  for (size_t pos = 0; request.size() - pos >= 8;) {
    const auto* b = reinterpret_cast<const unsigned char*>(request.data() + pos);
    const unsigned id = (b[2] << 8) | b[3];
    const size_t end = std::min(request.size(), pos + 8 + ((b[4] << 8) | b[5]) + b[6]);
    if (pos == 0) own_id = id;
    if (id == own_id && id != 0 && (pos == 0 || b[1] != 1)) out.append(request.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

// Whether libfcgi 2.4.2 reads the request differently from FastCGI 1.0 (and
// webhookd). It does not skip the padding
// of a record after which it returns at once (BEGIN_REQUEST, and the empty
// FCGI_PARAMS record that ends the params), and reads that padding as the
// next record's header. No web server pads those (nginx pads no record
// whose length is a multiple of 8).
// And it fails the stdin of a request with an empty FCGI_PARAMS record after
// the params' end (nginx's request when it has no params), which the edge
// reads as no params: neither is compared.
inline bool libfcgi_reads_differently(std::string_view request) {
  const std::string records = own_records(request);
  bool params_ended = false;
  for (size_t pos = 0; records.size() - pos >= 8;) {
    const auto* b = reinterpret_cast<const unsigned char*>(records.data() + pos);
    const size_t length = (b[4] << 8) | b[5];
    const bool empty_params = b[1] == 4 && length == 0;
    if (b[6] != 0 && (pos == 0 || (empty_params && !params_ended))) return true;
    if (empty_params && params_ended) return true;
    if (empty_params) params_ended = true;
    pos += 8 + length + b[6];
  }
  return false;
}

inline LibfcgiReading libfcgi_reads(std::string_view request) {
  static const bool initialized = FCGX_Init() == 0;
  if (!initialized) std::abort();
  LibfcgiReading reading;
  const std::string records = own_records(request);
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) std::abort();
  const int buffer = static_cast<int>(2 * records.size() + 65536);
  (void)::setsockopt(pair[1], SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
  (void)::setsockopt(pair[0], SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  for (size_t sent = 0; sent < records.size();) {
    const ssize_t k = ::send(pair[1], records.data() + sent, records.size() - sent, MSG_NOSIGNAL);
    if (k <= 0) std::abort();
    sent += static_cast<size_t>(k);
  }
  ::shutdown(pair[1], SHUT_WR);  // what was not sent never comes: libfcgi reads the end, never waits
  FCGX_Request req;
  FCGX_InitRequest(&req, -1, 0);  // listen_sock -1: it never accepts by itself
  req.ipcFd = pair[0];
  req.keepConnection = 1;  // its opening FCGX_Finish_r does not close the pair
  (void)FCGX_Detach(&req);
  if (FCGX_Accept_r(&req) >= 0) {
    reading.accepted = true;
    for (char** e = req.envp; e && *e; ++e) {
      const std::string kv(*e);
      if (e == req.envp) continue;  // FCGI_ROLE=..., libfcgi's own
      const size_t eq = kv.find('=');
      if (eq != std::string::npos) reading.params.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    }
    char buf[4096];
    for (;;) {
      const int n = FCGX_GetStr(buf, sizeof buf, req.in);
      if (n > 0) reading.stdin_bytes.append(buf, static_cast<size_t>(n));
      if (n < static_cast<int>(sizeof buf)) break;
    }
    reading.stdin_read_to_end = FCGX_GetError(req.in) == 0;
    FCGX_Free(&req, 0);
    ::close(pair[0]);
  }
  // Refused, libfcgi closed its end itself.
  ::close(pair[1]);
  return reading;
}

}  // namespace webhookd_test
