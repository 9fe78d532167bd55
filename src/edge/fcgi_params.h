// FastCGI params (nginx's fastcgi_param list) -> HttpRequest: a pure
// function, so every rule of it is unit tested without a socket. The body is
// read by the server afterwards, only as far as body_length says.
#pragma once

#include <cstddef>

#include <vector>

#include "api/http.h"
#include "edge/fcgi_records.h"

namespace webhookd {

struct RequestHead {
  HttpRequest request;  // everything but the body
  size_t body_length = 0;  // bytes of stdin to read: 0 unless CONTENT_LENGTH is a number within the limit
};

// The params as decode_request gives them. The first of duplicate params
// wins, as with libfcgi's FCGX_GetParam.
RequestHead request_from_params(const std::vector<FcgiParam>& params);

}  // namespace webhookd
