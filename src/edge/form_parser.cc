// Form decoding in one pass per field; an empty body is an empty form.
#include "edge/form_parser.h"

#include "base/text.h"

namespace webhookd {
namespace {

bool decode_component(std::string_view in, std::string* out) {
  out->clear();
  out->reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      *out += ' ';
    } else if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = hex_digit_value(in[i + 1]), lo = hex_digit_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      *out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      *out += c;
    }
  }
  return true;
}

}  // namespace

Result<FormParams> parse_form(std::string_view body) {
  FormParams params;
  size_t pos = 0;
  while (pos <= body.size() && !body.empty()) {
    size_t amp = body.find('&', pos);
    std::string_view field = body.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
    if (!field.empty()) {  // "a=1&&b=2" and a trailing '&' are tolerated, as browsers do
      size_t eq = field.find('=');
      std::string key, value;
      if (!decode_component(field.substr(0, eq), &key) ||
          (eq != std::string_view::npos && !decode_component(field.substr(eq + 1), &value))) {
        return Error{ErrorKind::kMalformedBody, {"bad percent escape"}, {}};
      }
      if (!is_valid_utf8(key) || !is_valid_utf8(value)) {
        return Error{ErrorKind::kMalformedBody, {"not UTF-8"}, {}};
      }
      params.emplace_back(std::move(key), std::move(value));
    }
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
  return params;
}

bool is_form_content_type(std::string_view content_type) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.remove_suffix(1);
  while (!media.empty() && (media.front() == ' ' || media.front() == '\t')) media.remove_prefix(1);
  return iequals(media, "application/x-www-form-urlencoded");
}

}  // namespace webhookd
