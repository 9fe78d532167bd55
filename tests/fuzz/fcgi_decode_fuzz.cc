// libFuzzer target: FastCGI requests decoded by webhookd (decode_request)
// against libfcgi's own reading of the same bytes (libfcgi_oracle.h). Every
// request webhookd accepts, libfcgi must accept too, with the same params in
// the same order and the same stdin; and no bytes may make the decoder read
// out of bounds (ASan). Two differences are libfcgi's, and such requests
// are not compared (libfcgi_reads_differently): it reads the padding of
// BEGIN_REQUEST and of the params' empty end record as the next record's
// header (no web server pads those; webhookd skips padding wherever FastCGI
// 1.0 allows it), and it fails the stdin after a second empty params record
// (nginx's request with no params; webhookd reads no params).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "edge/fcgi_records.h"
#include "libfcgi_oracle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const webhookd::Scan scan = webhookd::scan_records(bytes);
  // What the edge hands on: a whole request, of the responder's role.
  if (scan.framing != webhookd::Framing::kRequest || scan.role != webhookd::kFcgiResponder) return 0;
  const std::string_view request = bytes.substr(0, scan.length);
  if (webhookd_test::libfcgi_reads_differently(request)) return 0;
  webhookd::DecodedRequest decoded;
  if (!webhookd::decode_request(request, &decoded)) return 0;
  const webhookd_test::LibfcgiReading libfcgi = webhookd_test::libfcgi_reads(request);
  if (!libfcgi.accepted || !libfcgi.stdin_read_to_end) std::abort();
  if (libfcgi.params.size() != decoded.params.size()) std::abort();
  for (size_t i = 0; i < decoded.params.size(); ++i) {
    if (libfcgi.params[i].first != decoded.params[i].name || libfcgi.params[i].second != decoded.params[i].value) {
      std::abort();
    }
  }
  if (libfcgi.stdin_bytes != decoded.stdin_bytes) std::abort();
  return 0;
}
