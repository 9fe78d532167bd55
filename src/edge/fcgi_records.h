// FastCGI records, as far as webhookd speaks them: is a whole request (or a
// management record) there yet, the request's params and stdin, and every
// record webhookd writes (an answer is one write of records framed here,
// straight to the connection). Written by hand rather than through libfcgi,
// which now only opens the listening socket: libfcgi reads a request only
// from a descriptor, so each request went through a socket pair (two system
// calls) and libfcgi's parse: 6,200 of a GET's 32,495 instructions in
// webhookd (tests/bench/README.md, 2026-12-02). Every request decoded here is checked against
// libfcgi's own reading of it, record splits, long lengths and odd bytes
// included (fcgi_records_test.cc, fcgi_decode_fuzz.cc). Management records
// (request id 0) are answered here, wherever they come: libfcgi's own
// FCGI_GET_VALUES answer says FCGI_MAX_CONNS=1, which would tell a web
// server to open one connection at most, and libfcgi 2.4.2 writes that
// answer with sprintf into a 64-byte buffer: four known names in one record
// overflow it (seen: "stack smashing detected", the process aborted, from
// one record sent inside a request). Pure functions.
#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

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
  kUnparsable,  // not FastCGI version 1, or not begun by BEGIN_REQUEST
};
struct Scan {
  Framing framing = Framing::kIncomplete;
  size_t length = 0;           // bytes of the whole request or record
  unsigned request_id = 0;     // kRequest, kAborted
  bool keep_connection = false;  // the BEGIN_REQUEST's FCGI_KEEP_CONN flag
  unsigned role = 0;           // the BEGIN_REQUEST's role (1: FCGI_RESPONDER)
};
Scan scan_records(std::string_view bytes);

constexpr unsigned kFcgiResponder = 1;
// FCGI_END_REQUEST protocol status
constexpr unsigned kFcgiRequestComplete = 0, kFcgiCantMpxConn = 1, kFcgiUnknownRole = 3;

// FCGI_END_REQUEST for request_id (app status 0): FCGI_REQUEST_COMPLETE ends
// an answer and answers an aborted request, FCGI_CANT_MPX_CONN a second
// request begun on a connection inside the first, FCGI_UNKNOWN_ROLE a role
// other than the responder.
std::string end_request_record(unsigned request_id, unsigned protocol_status = kFcgiRequestComplete);

// Appends content to *out as FCGI_STDOUT records of request_id (as many as
// its length needs, each padded to 8 bytes); empty content appends the empty
// record that ends the stream.
void append_stdout(std::string* out, unsigned request_id, std::string_view content);

// A whole request (bytes as long as scan_records measured it: BEGIN_REQUEST
// first, an empty FCGI_STDIN record last), decoded: its params and its
// stdin, and what the edge answers itself, the management records found
// among its records (see the top of this file) and BEGIN_REQUESTs of other
// request ids (answered FCGI_CANT_MPX_CONN; their other records are dropped
// with them; a second one of its own id is dropped).
struct ManagementRecord {
  unsigned type = 0;
  std::string_view content;
};
struct FcgiParam {
  std::string_view name, value;
};
struct DecodedRequest {
  // In the order sent, as libfcgi's envp has them: a name=value C string,
  // cut at its first NUL and split at its first '=' (so a name holding '='
  // or NUL reads as libfcgi reads it).
  std::vector<FcgiParam> params;
  std::string_view stdin_bytes;
  std::vector<ManagementRecord> management;
  std::vector<unsigned> refused;  // request ids begun inside this request
  // Storage the views may point into: a stream in more than one record,
  // and the rare param that only reads as libfcgi reads it once rebuilt.
  std::string params_copy, stdin_copy;
  std::deque<std::string> rebuilt;
};
// False for a request whose records are not BEGIN_REQUEST (an 8-byte body),
// FCGI_PARAMS up to an empty one, then FCGI_STDIN (records of other ids,
// management records and more empty FCGI_PARAMS aside), or whose params
// stream ends inside a name or value. No web server sends one; webhookd closes its connection (libfcgi
// failed most of them, and read the rest in ways no sender meant). The
// result points into `request` and into itself: do not copy it.
[[nodiscard]] bool decode_request(std::string_view request, DecodedRequest* out);

// The answer to one management record (type and content): for
// FCGI_GET_VALUES, an FCGI_GET_VALUES_RESULT with the variables asked for
// that webhookd knows (FCGI_MAX_CONNS and FCGI_MAX_REQS: max_connections;
// FCGI_MPXS_CONNS: 0), each once however often it is asked, so the answer
// stays far below a record's 65,535 bytes; for any other type,
// FCGI_UNKNOWN_TYPE.
std::string management_reply(unsigned type, std::string_view content, int max_connections);

}  // namespace webhookd
