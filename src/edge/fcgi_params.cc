// One pass over the params: the ones webhookd reads are looked up in a small
// table (instead of one FCGX_GetParam scan each), then the request is built
// from them: routing path, scheme, Host with nginx's port, body length.
#include "edge/fcgi_params.h"

#include <charconv>
#include <string_view>

namespace webhookd {
namespace {

struct Params {
  std::string_view method, document_uri, request_uri, scheme, https, host, server_name, server_port,
      authorization, content_type, content_length, if_match, if_none_match;
};

Params read_params(const std::vector<FcgiParam>& params) {
  Params p;
  struct Name {
    std::string_view name;
    std::string_view Params::*field;
  };
  static constexpr Name kNames[] = {
      {"REQUEST_METHOD", &Params::method},        {"DOCUMENT_URI", &Params::document_uri},
      {"REQUEST_URI", &Params::request_uri},      {"REQUEST_SCHEME", &Params::scheme},
      {"HTTPS", &Params::https},                  {"HTTP_HOST", &Params::host},
      {"SERVER_NAME", &Params::server_name},      {"SERVER_PORT", &Params::server_port},
      {"HTTP_AUTHORIZATION", &Params::authorization}, {"CONTENT_TYPE", &Params::content_type},
      {"CONTENT_LENGTH", &Params::content_length}, {"HTTP_IF_MATCH", &Params::if_match},
      {"HTTP_IF_NONE_MATCH", &Params::if_none_match},
  };
  unsigned seen = 0;
  for (const FcgiParam& param : params) {
    for (unsigned i = 0; i < sizeof kNames / sizeof kNames[0]; ++i) {
      if (kNames[i].name == param.name && !(seen & (1u << i))) {
        seen |= 1u << i;
        p.*kNames[i].field = param.value;
        break;
      }
    }
  }
  return p;
}

}  // namespace

RequestHead request_from_params(const std::vector<FcgiParam>& params) {
  const Params p = read_params(params);
  RequestHead head;
  HttpRequest& r = head.request;
  r.method = std::string(p.method);
  // DOCUMENT_URI is nginx's decoded, normalized $uri: the string its location
  // matched. REQUEST_URI is raw (%49S..., /x/../v1/...) and would disagree.
  r.raw_path = std::string(p.request_uri.substr(0, p.request_uri.find('?')));
  r.path = !p.document_uri.empty() ? std::string(p.document_uri) : r.raw_path;
  r.scheme = !p.scheme.empty() ? std::string(p.scheme) : (p.https == "on" ? "https" : "http");
  // Debian's stock fastcgi_params sends HTTP_HOST as $host, which drops the
  // port: put back nginx's own port when it is not the scheme's default.
  r.host = std::string(!p.host.empty() ? p.host : p.server_name);
  bool has_port = r.host.find(':') != std::string::npos && r.host.back() != ']';
  bool default_port = p.server_port.empty() || (r.scheme == "https" ? p.server_port == "443" : p.server_port == "80");
  if (!r.host.empty() && !has_port && !default_port) r.host += ":" + std::string(p.server_port);
  r.authorization = std::string(p.authorization);
  r.content_type = std::string(p.content_type);
  r.if_match = std::string(p.if_match);
  r.if_none_match = std::string(p.if_none_match);

  // Read the body only for a parsable CONTENT_LENGTH (nginx sends it empty on
  // GET, and not at all for python's bodiless POST) and only up to the limit.
  const std::string_view length = p.content_length;
  unsigned long long n = 0;
  auto [end, ec] = std::from_chars(length.data(), length.data() + length.size(), n);
  if (!length.empty() && end == length.data() + length.size()) {
    if (ec == std::errc::result_out_of_range || n > kMaxBodyBytes) {
      r.body_too_large = true;
    } else if (ec == std::errc()) {
      head.body_length = static_cast<size_t>(n);
    }
  }
  return head;
}

}  // namespace webhookd
