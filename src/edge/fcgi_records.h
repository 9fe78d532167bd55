// FastCGI record framing, as far as the edge needs it around libfcgi, which
// parses each request: is a whole request (or a management record) there
// yet, which of its records libfcgi may see, and every record webhookd
// writes (libfcgi writes none: an answer is one write of records framed
// here, straight to the connection). Management records (request id 0) are
// answered here, wherever they come, and never reach libfcgi: its own
// FCGI_GET_VALUES answer says FCGI_MAX_CONNS=1, which would tell a web
// server to open one connection at most, and libfcgi 2.4.2 writes that
// answer with sprintf into a 64-byte buffer: four known names in one record
// overflow it (seen: "stack smashing detected", the process aborted, from
// one record sent inside a request). Pure functions.
#pragma once

#include <cstddef>
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
  kUnparsable,  // not FastCGI version 1: let libfcgi fail it
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

// A whole request (bytes as long as scan_records measured it), split into
// what libfcgi may read, its own records, and what the edge answers itself:
// the management records found among them (see the top of this file) and
// BEGIN_REQUESTs of other request ids (answered FCGI_CANT_MPX_CONN; their
// other records are dropped with them; a second one of its own id is
// dropped). libfcgi would write its own answer to those, and must write
// nothing.
struct ManagementRecord {
  unsigned type = 0;
  std::string_view content;
};
struct RequestRecords {
  std::string_view records;  // == the request when it holds nothing else
  std::string copy;          // the storage `records` points into otherwise
  std::vector<ManagementRecord> management;
  std::vector<unsigned> refused;  // request ids begun inside this request
};
// The result points into `request`, and into itself: do not copy it.
void split_request(std::string_view request, RequestRecords* out);

// The answer to one management record (type and content): for
// FCGI_GET_VALUES, an FCGI_GET_VALUES_RESULT with the variables asked for
// that webhookd knows (FCGI_MAX_CONNS and FCGI_MAX_REQS: max_connections;
// FCGI_MPXS_CONNS: 0), each once however often it is asked, so the answer
// stays far below a record's 65,535 bytes; for any other type,
// FCGI_UNKNOWN_TYPE.
std::string management_reply(unsigned type, std::string_view content, int max_connections);

}  // namespace webhookd
