// FastCGI record framing, as far as the edge needs it before libfcgi parses a
// request: is a whole request (or a management record) there yet, and the
// records webhookd writes itself. Management records (request id 0) are
// answered here: libfcgi's own FCGI_GET_VALUES answer says FCGI_MAX_CONNS=1,
// which would tell a web server to open one connection at most, and it
// answers only while waiting for a request, tying up a worker. Pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace webhookd {

constexpr size_t kFcgiHeaderLength = 8;

struct FcgiHeader {
  unsigned version = 0, type = 0, request_id = 0, content_length = 0, padding_length = 0;
};
// The 8 bytes of a record header.
FcgiHeader parse_fcgi_header(const unsigned char* bytes);

// What the bytes at the start of a connection's input hold.
enum class Framing {
  kIncomplete,  // the first record or request is not all there yet
  kRequest,     // a whole request: BEGIN_REQUEST through its empty FCGI_STDIN record
  kAborted,     // a whole request that ends in FCGI_ABORT_REQUEST instead
  kManagement,  // a whole management record (request id 0) comes first
  kUnparsable,  // not FastCGI version 1: let libfcgi fail it
};
struct Scan {
  Framing framing = Framing::kIncomplete;
  size_t length = 0;           // bytes of the whole request or record
  unsigned request_id = 0;     // kRequest, kAborted
  bool keep_connection = false;  // the BEGIN_REQUEST's FCGI_KEEP_CONN flag
};
Scan scan_records(std::string_view bytes);

// FCGI_END_REQUEST for request_id (app status 0, FCGI_REQUEST_COMPLETE): the
// answer to an aborted request.
std::string end_request_record(unsigned request_id);

// The answer to one management record (type and content): for
// FCGI_GET_VALUES, an FCGI_GET_VALUES_RESULT with the variables asked for
// that webhookd knows (FCGI_MAX_CONNS and FCGI_MAX_REQS: max_connections;
// FCGI_MPXS_CONNS: 0); for any other type, FCGI_UNKNOWN_TYPE.
std::string management_reply(unsigned type, std::string_view content, int max_connections);

}  // namespace webhookd
