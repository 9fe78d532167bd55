// Form decoding in one pass per field; an empty body is an empty form.
#include "api/form_parser.h"

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

// Last value of a scalar parameter, if sent.
const std::string* last_value(const FormParams& params, std::string_view key) {
  const std::string* found = nullptr;
  for (const auto& p : params) {
    if (p.first == key) found = &p.second;
  }
  return found;
}

ApiResult<std::optional<std::optional<std::string>>> parse_url(const FormParams& params, std::string_view key,
                                                              ApiErrorKind invalid) {
  const std::string* v = last_value(params, key);
  if (!v) return std::optional<std::optional<std::string>>{};
  if (v->empty()) return std::optional<std::optional<std::string>>{std::optional<std::string>{}};
  if (!is_webhook_url(*v)) return ApiError{invalid, {}, {}};
  return std::optional<std::optional<std::string>>{std::optional<std::string>{*v}};
}

}  // namespace

ApiResult<FormParams> parse_form(std::string_view body) {
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
        return ApiError{ApiErrorKind::kMalformedBody, {"bad percent escape"}, {}};
      }
      if (!is_valid_utf8(key) || !is_valid_utf8(value)) {
        return ApiError{ApiErrorKind::kMalformedBody, {"not UTF-8"}, {}};
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

ApiResult<WebhookUpdate> parse_update(const FormParams& params, Scope scope) {
  WebhookUpdate update;
  auto pre = parse_url(params, "PreWebhookUrl", ApiErrorKind::kInvalidPreWebhookUrl);
  if (!pre.ok()) return pre.error();
  update.pre_webhook_url = pre.value();
  auto post = parse_url(params, "PostWebhookUrl", ApiErrorKind::kInvalidPostWebhookUrl);
  if (!post.ok()) return post.error();
  update.post_webhook_url = post.value();

  if (const std::string* m = last_value(params, "Method")) {
    update.method = normalize_method(*m);
    if (!update.method) return ApiError{ApiErrorKind::kInvalidMethod, {}, {}};
  }

  std::vector<std::string> filters;
  for (const auto& p : params) {
    if (p.first == "Filters") filters.push_back(p.second);
  }
  if (filters.size() == 1 && filters[0].empty()) {
    update.filters = std::vector<std::string>{};  // a single empty Filters= sets []
  } else if (!filters.empty()) {
    for (const auto& f : filters) {
      if (!is_filter_name(f, scope)) return ApiError{ApiErrorKind::kInvalidFilter, {f}, {}};
    }
    update.filters = dedupe_filters(filters);
  }

  if (scope == Scope::kAccount) {
    if (const std::string* t = last_value(params, "Target")) {
      if (!is_target(*t)) return ApiError{ApiErrorKind::kInvalidTarget, {*t}, {}};
      update.target = *t;
    }
  }
  return update;
}

}  // namespace webhookd
