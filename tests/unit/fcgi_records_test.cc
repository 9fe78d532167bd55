#define BOOST_TEST_DYN_LINK
#include "edge/fcgi_records.h"

#include <boost/test/unit_test.hpp>

#include <optional>
#include <utility>
#include <vector>

#include "../fuzz/libfcgi_oracle.h"
#include "test_support.h"

using namespace webhookd;

namespace {

// One record of a request, as nginx writes it.
std::string rec(unsigned type, unsigned id, const std::string& content, unsigned padding = 0) {
  std::string out;
  out += static_cast<char>(1);
  out += static_cast<char>(type);
  out += static_cast<char>(id >> 8);
  out += static_cast<char>(id & 0xff);
  out += static_cast<char>(content.size() >> 8);
  out += static_cast<char>(content.size() & 0xff);
  out += static_cast<char>(padding);
  out += '\0';
  return out + content + std::string(padding, '\0');
}
std::string begin(unsigned id, bool keep) {
  return rec(1, id, std::string("\0\1", 2) + std::string(1, keep ? '\1' : '\0') + std::string(5, '\0'));
}

std::string pair(const std::string& name, const std::string& value) {
  return std::string(1, static_cast<char>(name.size())) + std::string(1, static_cast<char>(value.size())) + name + value;
}

// A record's header fields and content, for the checks.
struct Record {
  FcgiHeader header;
  std::string content;
};
Record parse(const std::string& bytes) {
  Record r;
  r.header = parse_fcgi_header(reinterpret_cast<const unsigned char*>(bytes.data()));
  r.content = bytes.substr(kFcgiHeaderLength, r.header.content_length);
  BOOST_TEST(bytes.size() == kFcgiHeaderLength + r.header.content_length + r.header.padding_length);
  BOOST_TEST(bytes.size() % 8 == 0u);
  return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(fcgi_records)

BOOST_AUTO_TEST_CASE(get_values_answers_what_it_knows) {
  struct Case {
    const char* name;
    std::string asked;
    std::string answered;
  } cases[] = {
      {"all three", pair("FCGI_MAX_CONNS", "") + pair("FCGI_MAX_REQS", "") + pair("FCGI_MPXS_CONNS", ""),
       pair("FCGI_MAX_CONNS", "512") + pair("FCGI_MAX_REQS", "512") + pair("FCGI_MPXS_CONNS", "0")},
      {"unknown names are ignored", pair("FCGI_FOO", "") + pair("FCGI_MPXS_CONNS", ""), pair("FCGI_MPXS_CONNS", "0")},
      {"nothing asked", "", ""},
      {"malformed: what was understood", pair("FCGI_MAX_CONNS", "") + "\x05", pair("FCGI_MAX_CONNS", "512")},
      {"each answered once, in the order first asked",
       pair("FCGI_MPXS_CONNS", "") + pair("FCGI_MAX_CONNS", "") + pair("FCGI_MPXS_CONNS", "") + pair("FCGI_MAX_CONNS", ""),
       pair("FCGI_MPXS_CONNS", "0") + pair("FCGI_MAX_CONNS", "512")},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      Record r = parse(management_reply(9, c.asked, 512));
      BOOST_TEST(r.header.version == 1u);
      BOOST_TEST(r.header.type == 10u);  // FCGI_GET_VALUES_RESULT
      BOOST_TEST(r.header.request_id == 0u);
      BOOST_TEST(r.content == c.answered);
    }
  }
}

// A record's content length is 16 bits: an answer that grew with the
// question (4,000 names asked, 20 bytes answered for each 16 asked) wrapped
// around and corrupted the stream.
BOOST_AUTO_TEST_CASE(get_values_answer_stays_one_small_record_however_much_is_asked) {
  for (const char* name : {"FCGI_MAX_CONNS", "FCGI_MAX_REQS", "FCGI_MPXS_CONNS"}) {
    BOOST_TEST_CONTEXT(name) {
      std::string asked;
      while (asked.size() + 18 <= 65535) asked += pair(name, "");
      const std::string reply = management_reply(9, asked, 1000000);
      Record r = parse(reply);
      BOOST_TEST(r.content == pair(name, std::string(name) == "FCGI_MPXS_CONNS" ? "0" : "1000000"));
    }
  }
}

BOOST_AUTO_TEST_CASE(four_byte_lengths) {
  // A name length written in the four-byte form (high bit set).
  std::string asked = std::string("\x80\x00\x00\x0e\x00", 5) + "FCGI_MAX_CONNS";
  Record r = parse(management_reply(9, asked, 7));
  BOOST_TEST(r.content == pair("FCGI_MAX_CONNS", "7"));
}

BOOST_AUTO_TEST_CASE(other_types_are_unknown) {
  Record r = parse(management_reply(42, "whatever", 7));
  BOOST_TEST(r.header.type == 11u);  // FCGI_UNKNOWN_TYPE
  BOOST_TEST_REQUIRE(r.content.size() == 8u);
  BOOST_TEST(static_cast<unsigned char>(r.content[0]) == 42u);
}

BOOST_AUTO_TEST_CASE(header_fields) {
  const unsigned char bytes[8] = {1, 5, 0x01, 0x02, 0x03, 0x04, 7, 0};
  FcgiHeader h = parse_fcgi_header(bytes);
  BOOST_TEST((h.version == 1u && h.type == 5u && h.request_id == 0x0102u && h.content_length == 0x0304u &&
              h.padding_length == 7u));
}

// Whether a whole request is there: what decides that a worker may decode
// it, never waiting on the connection.
BOOST_AUTO_TEST_CASE(scan_records_finds_whole_requests) {
  const std::string get = begin(1, true) + rec(4, 1, pair("REQUEST_METHOD", "GET"), 3) + rec(4, 1, "") + rec(5, 1, "");
  const std::string post = begin(7, false) + rec(4, 1 + 6, pair("CONTENT_LENGTH", "3")) + rec(4, 7, "") +
                           rec(5, 7, "a=b", 5) + rec(5, 7, "");
  const std::string mgmt = rec(9, 0, pair("FCGI_MAX_CONNS", ""));
  struct Case {
    const char* name;
    std::string bytes;
    Framing framing;
    size_t length;
    bool keep;
  } cases[] = {
      {"a whole GET", get, Framing::kRequest, get.size(), true},
      {"a whole POST, padded, keep-conn off", post, Framing::kRequest, post.size(), false},
      {"the next request's bytes are not counted", get + begin(2, true), Framing::kRequest, get.size(), true},
      {"stdin end missing", get.substr(0, get.size() - 8), Framing::kIncomplete, 0, true},
      {"half a header", get.substr(0, 5), Framing::kIncomplete, 0, false},
      {"a record cut", get.substr(0, 20), Framing::kIncomplete, 0, true},
      {"nothing", "", Framing::kIncomplete, 0, false},
      {"aborted after its params", begin(1, true) + rec(4, 1, "") + rec(2, 1, ""), Framing::kAborted,
       begin(1, true).size() + 16, true},
      {"a management record first", mgmt + get, Framing::kManagement, mgmt.size(), false},
      {"another id's records are skipped", begin(1, true) + rec(5, 9, "") + rec(4, 1, "") + rec(5, 1, ""),
       Framing::kRequest, begin(1, true).size() + 24, true},
      {"not version 1", std::string("\2\1\0\1\0\0\0\0", 8), Framing::kUnparsable, 0, false},
      {"params before begin", rec(4, 1, ""), Framing::kUnparsable, 0, false},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      Scan scan = scan_records(c.bytes);
      BOOST_TEST(static_cast<int>(scan.framing) == static_cast<int>(c.framing));
      BOOST_TEST(scan.length == c.length);
      if (c.framing == Framing::kRequest || c.framing == Framing::kAborted) BOOST_TEST(scan.keep_connection == c.keep);
    }
  }
}

BOOST_AUTO_TEST_CASE(end_request_for_an_aborted_request) {
  Record r = parse(end_request_record(0x0102));
  BOOST_TEST(r.header.type == 3u);  // FCGI_END_REQUEST
  BOOST_TEST(r.header.request_id == 0x0102u);
  BOOST_TEST(r.content == std::string(8, '\0'));  // app status 0, FCGI_REQUEST_COMPLETE
  Record role = parse(end_request_record(7, kFcgiUnknownRole));
  BOOST_TEST(static_cast<unsigned char>(role.content[4]) == 3u);  // FCGI_UNKNOWN_ROLE
}

// The answer's records: STDOUT in pieces a record can hold, padded to 8,
// the empty one that ends the stream.
BOOST_AUTO_TEST_CASE(stdout_records) {
  struct Case {
    const char* name;
    size_t length;
    std::vector<size_t> records;  // content length of each
  } cases[] = {
      {"empty: the end of the stream", 0, {0}},
      {"short", 13, {13}},
      {"exactly one piece", 32768, {32768}},
      {"over a record's 65,535 bytes", 70000, {32768, 32768, 4464}},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      std::string content(c.length, 'x');
      for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>('a' + i % 26);
      std::string out;
      append_stdout(&out, 0x0203, content);
      std::string joined;
      std::vector<size_t> lengths;
      for (size_t pos = 0; pos < out.size();) {
        const FcgiHeader h = parse_fcgi_header(reinterpret_cast<const unsigned char*>(out.data() + pos));
        BOOST_TEST((h.version == 1u && h.type == 6u && h.request_id == 0x0203u));
        BOOST_TEST((kFcgiHeaderLength + h.content_length + h.padding_length) % 8 == 0u);
        lengths.push_back(h.content_length);
        joined += out.substr(pos + kFcgiHeaderLength, h.content_length);
        pos += kFcgiHeaderLength + h.content_length + h.padding_length;
      }
      BOOST_TEST(lengths == c.records, boost::test_tools::per_element());
      BOOST_TEST(joined == content);
    }
  }
}

BOOST_AUTO_TEST_CASE(scan_records_reads_the_role) {
  const std::string authorizer = rec(1, 1, std::string("\0\2\1", 3) + std::string(5, '\0')) + rec(4, 1, "") + rec(5, 1, "");
  BOOST_TEST(scan_records(authorizer).role == 2u);
  BOOST_TEST(scan_records(begin(1, true) + rec(4, 1, "") + rec(5, 1, "")).role == kFcgiResponder);
}

// Management records and other requests' records are the edge's to answer,
// wherever they come inside a request; the request's own records are
// decoded around them.
BOOST_AUTO_TEST_CASE(decode_request_sets_management_records_and_other_ids_aside) {
  const std::string head = begin(1, true);
  const std::string params = rec(4, 1, pair("REQUEST_METHOD", "GET"), 3) + rec(4, 1, "");
  const std::string body = rec(5, 1, "");
  const std::string mgmt = rec(9, 0, pair("FCGI_MAX_CONNS", "") + pair("FCGI_MAX_CONNS", ""));
  const std::string unknown = rec(42, 0, "x", 7);
  struct Case {
    const char* name;
    std::string request;
    std::vector<unsigned> management_types;
    std::vector<unsigned> refused;
  } cases[] = {
      {"none: the request itself", head + params + body, {}, {}},
      {"one among the params", head + mgmt + params + body, {9}, {}},
      {"two, one padded", head + params + unknown + mgmt + body, {42, 9}, {}},
      {"another request begun inside: refused, its records dropped",
       head + begin(2, true) + rec(4, 2, "") + params + rec(5, 2, "") + body, {}, {2}},
      {"its own id begun again: dropped", head + params + begin(1, true) + body, {}, {}},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      BOOST_TEST_REQUIRE(static_cast<int>(scan_records(c.request).framing) == static_cast<int>(Framing::kRequest));
      DecodedRequest decoded;
      BOOST_TEST_REQUIRE(decode_request(c.request, &decoded));
      BOOST_TEST_REQUIRE(decoded.params.size() == 1u);
      BOOST_TEST(std::string(decoded.params[0].name) == "REQUEST_METHOD");
      BOOST_TEST(std::string(decoded.params[0].value) == "GET");
      BOOST_TEST(decoded.stdin_bytes.empty());
      BOOST_TEST_REQUIRE(decoded.management.size() == c.management_types.size());
      for (size_t i = 0; i < decoded.management.size(); ++i) BOOST_TEST(decoded.management[i].type == c.management_types[i]);
      BOOST_TEST(decoded.refused == c.refused, boost::test_tools::per_element());
    }
  }
  const std::string request = head + mgmt + params + body;  // the result points into it
  DecodedRequest decoded;
  BOOST_TEST_REQUIRE(decode_request(request, &decoded));
  BOOST_TEST(std::string(decoded.management[0].content) == pair("FCGI_MAX_CONNS", "") + pair("FCGI_MAX_CONNS", ""));
}

namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

// A name or value length as FastCGI writes it: one byte below 128, four
// with the high bit set otherwise (or always, when `four` says so).
std::string length_bytes(size_t n, bool four = false) {
  if (n < 128 && !four) return std::string(1, static_cast<char>(n));
  return {static_cast<char>(0x80 | (n >> 24)), static_cast<char>((n >> 16) & 0xff), static_cast<char>((n >> 8) & 0xff),
          static_cast<char>(n & 0xff)};
}
std::string encode(const Params& params) {
  std::string out;
  for (const auto& p : params) out += length_bytes(p.first.size()) + length_bytes(p.second.size()) + p.first + p.second;
  return out;
}
// A stream cut into records of `size` bytes each (the last shorter), then its empty end record.
std::string records(unsigned type, const std::string& stream, size_t size) {
  std::string out;
  for (size_t pos = 0; pos < stream.size(); pos += size) out += rec(type, 1, stream.substr(pos, size), pos % 3);
  return out + rec(type, 1, "");
}
Params decoded_params(const DecodedRequest& d) {
  Params out;
  for (const FcgiParam& p : d.params) out.emplace_back(p.name, p.value);
  return out;
}

}  // namespace

// What decode_request reads is what libfcgi read (webhookd's parser until
// issue 21): the same params in the same order, the same stdin, however the
// streams are cut into records.
BOOST_AUTO_TEST_CASE(decode_request_reads_what_libfcgi_reads) {
  const Params nginx = {{"QUERY_STRING", ""}, {"REQUEST_METHOD", "POST"}, {"CONTENT_TYPE", "application/x-www-form-urlencoded"},
                        {"CONTENT_LENGTH", "34"}, {"DOCUMENT_URI", "/v1/Services/IS00000000000000000000000000000001/Configuration/Webhooks"},
                        {"HTTP_AUTHORIZATION", "Basic QUMxMjM6dG9rZW4="}, {"HTTP_HOST", "127.0.0.1:8080"}, {"CONTENT_LENGTH", "9"}};
  struct Case {
    const char* name;
    Params params;
    std::string body;
    size_t params_record, stdin_record;  // bytes of each record the streams are cut into
    std::optional<Params> expected;      // none: the params as sent
  } cases[] = {
      {"as nginx sends it: one record each", nginx, "Method=POST&Url=https%3A%2F%2Fexample.com", 65535, 32768, {}},
      {"every record one byte: names, lengths and values cut", nginx, "Method=POST", 1, 1, {}},
      {"records of 5 and 3 bytes", nginx, std::string(1000, 'b'), 5, 3, {}},
      {"no params, no body", {}, "", 100, 100, {}},
      {"empty names and values", {{"", ""}, {"A", ""}, {"", "v"}}, "", 100, 100, {}},
      {"long lengths: a 200-byte name, a 70,000-byte value",
       {{std::string(200, 'N'), std::string(70000, 'v')}, {"HTTP_HOST", "h"}}, "", 65535, 100, {}},
      {"a body of 100,000 bytes in records of 32 KiB", nginx, std::string(100000, 'x'), 65535, 32768, {}},
      // envp holds C strings "name=value": a NUL ends one, its first '=' splits it.
      {"a NUL in a value cuts it", {{"HTTP_HOST", std::string("a\0b", 3)}}, "", 100, 100, Params{{"HTTP_HOST", "a"}}},
      {"a NUL in a name: all before it, no '=', never found", {{std::string("X\0Y", 3), "v"}}, "", 100, 100, Params{}},
      {"a NUL in a name after an '='", {{std::string("A=B\0C", 5), "v"}}, "", 100, 100, Params{{"A", "B"}}},
      {"an '=' in a name splits there", {{"HTTP_HOST=evil", "x"}, {"B", "c=d"}}, "", 100, 100,
       Params{{"HTTP_HOST", "evil=x"}, {"B", "c=d"}}},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      const std::string request = begin(1, true) + records(4, encode(c.params), c.params_record) + records(5, c.body, c.stdin_record);
      BOOST_TEST_REQUIRE(static_cast<int>(scan_records(request).framing) == static_cast<int>(Framing::kRequest));
      DecodedRequest decoded;
      BOOST_TEST_REQUIRE(decode_request(request, &decoded));
      const webhookd_test::LibfcgiReading libfcgi = webhookd_test::libfcgi_reads(request);
      BOOST_TEST_REQUIRE(libfcgi.accepted);
      BOOST_TEST(libfcgi.stdin_read_to_end);
      const Params mine = decoded_params(decoded);
      BOOST_TEST((mine == libfcgi.params));
      BOOST_TEST((mine == c.expected.value_or(c.params)));
      BOOST_TEST(std::string(decoded.stdin_bytes) == c.body);
      BOOST_TEST(libfcgi.stdin_bytes == c.body);
    }
  }
}

// Records no web server sends: refused whole (the edge closes the
// connection), never read in part.
// nginx with no params at all (ngx_http_fastcgi_create_request) writes its
// params record empty, then the empty one that ends them: read as no params
// (libfcgi failed the stdin after it, and the edge before answered anyway).
BOOST_AUTO_TEST_CASE(decode_request_takes_two_empty_params_records) {
  const std::string request = begin(1, true) + rec(4, 1, "") + rec(4, 1, "") + rec(5, 1, "ab") + rec(5, 1, "");
  DecodedRequest decoded;
  BOOST_TEST_REQUIRE(decode_request(request, &decoded));
  BOOST_TEST(decoded.params.empty());
  BOOST_TEST(std::string(decoded.stdin_bytes) == "ab");
}

BOOST_AUTO_TEST_CASE(decode_request_refuses_what_is_not_a_request) {
  const std::string params = rec(4, 1, pair("REQUEST_METHOD", "GET")) + rec(4, 1, "");
  const std::string end = rec(5, 1, "");
  struct Case {
    const char* name;
    std::string request;
  } cases[] = {
      {"stdin before the params end", begin(1, true) + rec(4, 1, pair("A", "b")) + rec(5, 1, "x") + rec(4, 1, "") + end},
      {"no params stream at all", begin(1, true) + end},
      {"FCGI_DATA inside stdin", begin(1, true) + params + rec(5, 1, "x") + rec(8, 1, "d") + end},
      {"an unknown type of its own id", begin(1, true) + params + rec(42, 1, "") + end},
      {"params again after their end", begin(1, true) + params + rec(4, 1, pair("A", "b")) + end},
      {"params again after stdin began", begin(1, true) + params + rec(5, 1, "x") + rec(4, 1, pair("A", "b")) + end},
      {"a pair cut at the params' end", begin(1, true) + rec(4, 1, pair("REQUEST_METHOD", "GET").substr(0, 10)) + rec(4, 1, "") + end},
      {"a length cut", begin(1, true) + rec(4, 1, std::string("\x80\x00", 2)) + rec(4, 1, "") + end},
      {"a value longer than the stream", begin(1, true) + rec(4, 1, length_bytes(1) + length_bytes(1000, true) + "AB") + rec(4, 1, "") + end},
      {"a length of 2^31 - 1", begin(1, true) + rec(4, 1, length_bytes(0x7fffffff, true) + "\x01") + rec(4, 1, "") + end},
      {"a BEGIN_REQUEST body of 3 bytes", rec(1, 1, std::string("\0\1\1", 3)) + params + end},
      {"a record cut at the end", (begin(1, true) + params + end).substr(0, 50)},
      {"nothing after the params", begin(1, true) + params},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      DecodedRequest decoded;
      BOOST_TEST(!decode_request(c.request, &decoded));
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
