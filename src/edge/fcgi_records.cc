// FastCGI 1.0 as nginx speaks it. Name-value pairs are encoded as in its
// section 3.4: each length in one byte, or in four with the high bit set.
#include "edge/fcgi_records.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

namespace webhookd {
namespace {

constexpr unsigned kBeginRequest = 1, kAbortRequest = 2, kEndRequest = 3, kParams = 4, kStdin = 5, kStdout = 6, kGetValues = 9,
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

// The next name-value pair of a params or FCGI_GET_VALUES stream, taken off
// its front; false when the stream ends inside one.
bool next_pair(std::string_view& in, std::string_view* name, std::string_view* value) {
  size_t name_len = 0, value_len = 0;
  if (!read_length(in, &name_len) || !read_length(in, &value_len) || in.size() < name_len ||
      in.size() - name_len < value_len) {
    return false;
  }
  *name = in.substr(0, name_len);
  *value = in.substr(name_len, value_len);
  in.remove_prefix(name_len + value_len);
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

namespace {

// Appends one name-value pair of the params stream as libfcgi's envp holds
// it (see DecodedRequest::params).
void add_param(std::string_view name, std::string_view value, DecodedRequest* out) {
  if (name.find('=') == std::string_view::npos && name.find('\0') == std::string_view::npos) {
    out->params.push_back({name, value.substr(0, value.find('\0'))});
    return;
  }
  std::string text(name);
  text.append(1, '=').append(value);
  text.resize(text.find('\0') == std::string::npos ? text.size() : text.find('\0'));
  const size_t eq = text.find('=');
  if (eq == std::string::npos) return;  // cut before its '=': libfcgi's FCGX_GetParam never finds it
  out->rebuilt.push_back(std::move(text));
  const std::string_view kept = out->rebuilt.back();
  out->params.push_back({kept.substr(0, eq), kept.substr(eq + 1)});
}

// A stream's content, a view into the request when it came in one record.
struct Stream {
  std::string_view first;
  std::string* copy = nullptr;
  bool copying = false;
  void add(std::string_view content) {
    if (content.empty()) return;
    if (first.empty() && !copying) {
      first = content;
      return;
    }
    if (!copying) {
      copy->assign(first);
      copying = true;
    }
    copy->append(content);
  }
  std::string_view bytes() const { return copying ? std::string_view(*copy) : first; }
};

}  // namespace

bool decode_request(std::string_view request, DecodedRequest* out) {
  out->params.clear();
  out->stdin_bytes = {};
  out->management.clear();
  out->refused.clear();
  out->rebuilt.clear();
  Stream params{{}, &out->params_copy}, in{{}, &out->stdin_copy};
  enum class Phase { kBegin, kParams, kStdin, kDone } phase = Phase::kBegin;
  unsigned own_id = 0;
  for (size_t pos = 0; request.size() - pos >= kFcgiHeaderLength;) {
    const FcgiHeader h = parse_fcgi_header(reinterpret_cast<const unsigned char*>(request.data() + pos));
    const size_t end = pos + kFcgiHeaderLength + h.content_length + h.padding_length;
    if (h.version != 1 || end > request.size()) return false;
    const std::string_view content = request.substr(pos + kFcgiHeaderLength, h.content_length);
    pos = end;
    if (phase == Phase::kBegin) {
      if (h.type != kBeginRequest || h.request_id == 0 || content.size() != 8) return false;
      own_id = h.request_id;
      phase = Phase::kParams;
    } else if (h.request_id == 0) {
      out->management.push_back({h.type, content});
    } else if (h.request_id != own_id) {
      // Another request begun inside this one is refused; the rest of it
      // goes with it.
      if (h.type == kBeginRequest) out->refused.push_back(h.request_id);
    } else if (h.type == kBeginRequest) {
      continue;  // its own id again: dropped
    } else if (phase == Phase::kParams && h.type == kParams) {
      if (content.empty()) phase = Phase::kStdin;
      params.add(content);
    } else if (phase == Phase::kStdin && h.type == kParams && content.empty()) {
      continue;  // nginx with no params at all writes two empty ones (libfcgi then failed stdin)
    } else if (phase == Phase::kStdin && h.type == kStdin) {
      if (content.empty()) phase = Phase::kDone;
      in.add(content);
    } else {
      return false;  // a record out of order, FCGI_DATA, or anything after the end of stdin
    }
  }
  if (phase != Phase::kDone) return false;
  std::string_view stream = params.bytes();
  while (!stream.empty()) {
    std::string_view name, value;
    if (!next_pair(stream, &name, &value)) return false;
    add_param(name, value, out);
  }
  out->stdin_bytes = in.bytes();
  return true;
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
    std::string_view name, asked;
    if (!next_pair(content, &name, &asked)) break;  // malformed: answer what was understood
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
