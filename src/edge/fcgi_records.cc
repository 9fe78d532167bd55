// Name-value pairs are encoded as in FastCGI 1.0 section 3.4: each length in
// one byte, or in four with the high bit set.
#include "edge/fcgi_records.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

namespace webhookd {
namespace {

constexpr unsigned kBeginRequest = 1, kAbortRequest = 2, kEndRequest = 3, kStdin = 5, kStdout = 6, kGetValues = 9,
                   kGetValuesResult = 10, kUnknownType = 11;

bool read_length(std::string_view& in, size_t* n) {
  if (in.empty()) return false;
  const unsigned char b0 = static_cast<unsigned char>(in[0]);
  if (b0 < 0x80) {
    *n = b0;
    in.remove_prefix(1);
    return true;
  }
  if (in.size() < 4) return false;
  *n = (static_cast<size_t>(b0 & 0x7f) << 24) | (static_cast<size_t>(static_cast<unsigned char>(in[1])) << 16) |
       (static_cast<size_t>(static_cast<unsigned char>(in[2])) << 8) | static_cast<unsigned char>(in[3]);
  in.remove_prefix(4);
  return true;
}

void put_length(std::string& out, size_t n) {
  if (n < 0x80) {
    out += static_cast<char>(n);
  } else {
    out += static_cast<char>(0x80 | ((n >> 24) & 0x7f));
    out += static_cast<char>((n >> 16) & 0xff);
    out += static_cast<char>((n >> 8) & 0xff);
    out += static_cast<char>(n & 0xff);
  }
}

void append_record(std::string* out, unsigned type, std::string_view content, unsigned request_id) {
  // A record's content length is 16 bits: every caller builds less.
  if (content.size() > 0xffff) std::abort();
  const size_t padding = (8 - content.size() % 8) % 8;
  *out += static_cast<char>(1);  // FCGI_VERSION_1
  *out += static_cast<char>(type);
  *out += static_cast<char>((request_id >> 8) & 0xff);
  *out += static_cast<char>(request_id & 0xff);
  *out += static_cast<char>((content.size() >> 8) & 0xff);
  *out += static_cast<char>(content.size() & 0xff);
  *out += static_cast<char>(padding);
  *out += '\0';
  out->append(content);
  out->append(padding, '\0');
}

std::string record(unsigned type, const std::string& content, unsigned request_id = 0) {
  std::string out;
  append_record(&out, type, content, request_id);
  return out;
}

}  // namespace

FcgiHeader parse_fcgi_header(const unsigned char* b) {
  FcgiHeader h;
  h.version = b[0];
  h.type = b[1];
  h.request_id = (static_cast<unsigned>(b[2]) << 8) | b[3];
  h.content_length = (static_cast<unsigned>(b[4]) << 8) | b[5];
  h.padding_length = b[6];
  return h;
}

Scan scan_records(std::string_view bytes) {
  Scan scan;
  size_t pos = 0;
  bool begun = false;
  while (bytes.size() - pos >= kFcgiHeaderLength) {
    const FcgiHeader h = parse_fcgi_header(reinterpret_cast<const unsigned char*>(bytes.data() + pos));
    if (h.version != 1) {
      scan.framing = Framing::kUnparsable;
      return scan;
    }
    const size_t end = pos + kFcgiHeaderLength + h.content_length + h.padding_length;
    if (end > bytes.size()) return scan;  // this record is not all there
    const std::string_view content = bytes.substr(pos + kFcgiHeaderLength, h.content_length);
    if (!begun && h.request_id == 0) {
      scan.framing = Framing::kManagement;
      scan.length = end;
      return scan;
    }
    if (!begun) {
      if (h.type != kBeginRequest || content.size() < 3) {
        scan.framing = Framing::kUnparsable;
        return scan;
      }
      begun = true;
      scan.request_id = h.request_id;
      scan.role = (static_cast<unsigned>(static_cast<unsigned char>(content[0])) << 8) |
                  static_cast<unsigned char>(content[1]);
      scan.keep_connection = (static_cast<unsigned char>(content[2]) & 1) != 0;  // FCGI_KEEP_CONN
    } else if (h.request_id == scan.request_id) {
      if (h.type == kAbortRequest) {
        scan.framing = Framing::kAborted;
        scan.length = end;
        return scan;
      }
      if (h.type == kStdin && h.content_length == 0) {
        scan.framing = Framing::kRequest;
        scan.length = end;
        return scan;
      }
    }
    pos = end;
  }
  return scan;
}

std::string end_request_record(unsigned request_id, unsigned protocol_status) {
  std::string body(8, '\0');  // app status 0 (4 bytes), the protocol status, 3 reserved bytes
  body[4] = static_cast<char>(protocol_status);
  return record(kEndRequest, body, request_id);
}

void append_stdout(std::string* out, unsigned request_id, std::string_view content) {
  if (content.empty()) return append_record(out, kStdout, content, request_id);
  constexpr size_t kChunk = 32768;
  for (size_t pos = 0; pos < content.size(); pos += kChunk) append_record(out, kStdout, content.substr(pos, kChunk), request_id);
}

void split_request(std::string_view request, RequestRecords* out) {
  out->records = request;
  out->copy.clear();
  out->management.clear();
  out->refused.clear();
  unsigned own_id = 0;  // the first record is the request's BEGIN_REQUEST (scan_records saw to it)
  bool copying = false;
  for (size_t pos = 0; request.size() - pos >= kFcgiHeaderLength;) {
    const FcgiHeader h = parse_fcgi_header(reinterpret_cast<const unsigned char*>(request.data() + pos));
    const size_t end = std::min(request.size(), pos + kFcgiHeaderLength + h.content_length + h.padding_length);
    if (pos == 0) own_id = h.request_id;
    // A second BEGIN_REQUEST of the request's own id would be answered by
    // libfcgi itself: dropped here.
    const bool own = h.request_id == own_id && (pos == 0 || h.type != kBeginRequest);
    if (!own) {
      if (!copying) {
        out->copy.assign(request.substr(0, pos));
        copying = true;
      }
      if (h.request_id == 0) {
        out->management.push_back({h.type, request.substr(pos + kFcgiHeaderLength,
                                                          std::min<size_t>(h.content_length, end - pos - kFcgiHeaderLength))});
      } else if (h.type == kBeginRequest && h.request_id != own_id) {
        out->refused.push_back(h.request_id);
      }
    } else if (copying) {
      out->copy.append(request.substr(pos, end - pos));
    }
    pos = end;
  }
  if (copying) out->records = out->copy;
}

std::string management_reply(unsigned type, std::string_view content, int max_connections) {
  if (type != kGetValues) {
    std::string body(8, '\0');  // FCGI_UnknownTypeBody: the type, then 7 reserved bytes
    body[0] = static_cast<char>(type);
    return record(kUnknownType, body);
  }
  std::string body;
  bool answered[3] = {false, false, false};  // FCGI_MAX_CONNS, FCGI_MAX_REQS, FCGI_MPXS_CONNS
  while (!content.empty()) {
    size_t name_len = 0, value_len = 0;
    if (!read_length(content, &name_len) || !read_length(content, &value_len) ||
        content.size() < name_len + value_len) {
      break;  // malformed: answer what was understood
    }
    const std::string_view name = content.substr(0, name_len);
    content.remove_prefix(name_len + value_len);
    std::string value;
    const int known = name == "FCGI_MAX_CONNS" ? 0 : name == "FCGI_MAX_REQS" ? 1 : name == "FCGI_MPXS_CONNS" ? 2 : -1;
    if (known < 0 || answered[known]) continue;  // the spec: ignore variables we do not know
    answered[known] = true;
    value = known == 2 ? "0" : std::to_string(max_connections);  // MPXS 0: one request at a time on a connection
    put_length(body, name.size());
    put_length(body, value.size());
    body.append(name).append(value);
  }
  return record(kGetValuesResult, body);
}

}  // namespace webhookd
