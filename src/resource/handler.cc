// Request flow: authenticate -> route and check the SID -> method -> load or
// validate-and-update -> render. Every exit goes through finish(), which puts
// the headers every answer carries.
#include "resource/handler.h"

#include "base/request_id.h"
#include "base/text.h"
#include "edge/form_parser.h"
#include "resource/json_render.h"

namespace webhookd {
namespace {

constexpr std::string_view kPrefix = "/v1/Services/";
constexpr std::string_view kSuffix = "/Configuration/Webhooks";

HttpResponse error_response(const Error& error) {
  HttpResponse r;
  r.status = error_spec(error.kind).http_status;
  r.body = render_error(error);
  r.log_detail = error.detail;
  if (error.kind == ErrorKind::kUnauthenticated) r.set_header("WWW-Authenticate", "Basic realm=\"Twilio API\"");
  return r;
}

// "/Services/{sid}/Configuration/Webhooks" as Twilio names it in messages.
std::string resource_name(std::string_view path) {
  if (path.substr(0, 3) == "/v1") path.remove_prefix(3);
  return std::string(path);
}

// The SID segment of a well-formed path, or nullopt.
std::optional<std::string> service_segment(std::string_view path) {
  if (path.size() <= kPrefix.size() + kSuffix.size() || path.substr(0, kPrefix.size()) != kPrefix ||
      path.substr(path.size() - kSuffix.size()) != kSuffix) {
    return std::nullopt;
  }
  std::string_view sid = path.substr(kPrefix.size(), path.size() - kPrefix.size() - kSuffix.size());
  if (sid.find('/') != std::string_view::npos) return std::nullopt;
  return std::string(sid);
}

std::string resource_url(const HttpRequest& req, const Config& config, const std::string& sid) {
  std::string url;
  url.reserve(config.public_base_url.size() + req.host.size() + 8 + kPrefix.size() + sid.size() + kSuffix.size());
  if (!config.public_base_url.empty()) {
    url.append(config.public_base_url);
  } else {
    url.append(req.scheme == "https" ? "https://" : "http://").append(req.host);
  }
  url.append(kPrefix).append(sid).append(kSuffix);
  return url;
}

// If-Match / If-None-Match lists: "*" or comma-separated entity tags.
bool etag_list_matches(std::string_view list, const std::string& etag) {
  size_t pos = 0;
  while (pos < list.size()) {
    size_t comma = list.find(',', pos);
    std::string_view item = list.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item == "*" || item == etag) return true;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return false;
}

// The stored part of the JSON was rendered once, when the file was parsed;
// only the URL depends on the request.
HttpResponse resource_response(const ServiceState& state, const std::string& url) {
  HttpResponse r;
  r.body.reserve(state.json_head.size() + url.size() + 3);
  r.body.append(state.json_head);
  append_config_tail(&r.body, url);
  r.set_header("ETag", state.etag);
  return r;
}

// Built only when it is the answer: it copies the path into its message.
Error not_found(const HttpRequest& req) { return Error{ErrorKind::kNotFound, {resource_name(req.path)}, {}}; }

HttpResponse fetch(const HttpRequest& req, const Config& config, StateStore& store, const std::string& sid,
                   const std::string& account) {
  auto loaded = store.load(sid);
  if (!loaded.ok()) return error_response(loaded.error());
  // A foreign service answers exactly like a missing one: no existence leak.
  if (!loaded.value() || loaded.value()->config.account_sid != account) return error_response(not_found(req));
  const ServiceState& current = *loaded.value();
  if (!req.if_none_match.empty() && etag_list_matches(req.if_none_match, current.etag)) {
    HttpResponse r;
    r.status = 304;
    r.set_header("ETag", current.etag);
    return r;
  }
  return resource_response(current, resource_url(req, config, sid));
}

HttpResponse update(const HttpRequest& req, const Config& config, StateStore& store, const std::string& sid,
                    const std::string& account) {
  if (req.body_too_large || req.body.size() > kMaxBodyBytes) return error_response(Error{ErrorKind::kBodyTooLarge, {}, {}});
  // An empty body is an empty update whatever its type (python's client
  // sends a bodiless POST for an empty filter list).
  if (!req.body.empty() && !is_form_content_type(req.content_type)) {
    return error_response(Error{ErrorKind::kUnsupportedMediaType, {}, {}});
  }
  auto form = parse_form(req.body);
  if (!form.ok()) return error_response(form.error());
  auto changes = parse_update(form.value());
  if (!changes.ok()) return error_response(changes.error());

  auto result = store.update(sid, [&](const ServiceState& current) -> Result<WebhookConfig> {
    if (current.config.account_sid != account) return not_found(req);
    if (!req.if_match.empty() && !etag_list_matches(req.if_match, current.etag)) {
      return Error{ErrorKind::kPreconditionFailed, {}, {}};
    }
    return apply(current.config, changes.value());
  });
  if (!result.ok()) return error_response(result.error());
  if (!result.value()) return error_response(not_found(req));
  return resource_response(*result.value(), resource_url(req, config, sid));
}

HttpResponse route(const HttpRequest& req, const Config& config, StateStore& store, std::string* account_out) {
  auto account = authenticate(req.authorization, config.credentials);
  if (!account.ok()) return error_response(account.error());
  *account_out = account.value();

  std::optional<std::string> sid = service_segment(req.path);
  if (!sid || !is_service_sid(*sid)) return error_response(not_found(req));
  // Routing is on nginx's normalized path, the string its location matched;
  // a request that names the resource only after normalization (%49S…,
  // /x/../v1/…, //v1/…) is not a name of it, and is refused.
  if (!req.raw_path.empty() && req.raw_path != req.path) return error_response(not_found(req));

  if (req.method == "GET" || req.method == "HEAD") return fetch(req, config, store, *sid, account.value());
  if (req.method == "POST") return update(req, config, store, *sid, account.value());
  HttpResponse r = error_response(Error{ErrorKind::kMethodNotAllowed, {resource_name(req.path), req.method}, {}});
  r.set_header("Allow", "GET, POST");
  return r;
}

}  // namespace

HttpResponse handle(const HttpRequest& req, const Config& config, StateStore& store) {
  std::string account;
  HttpResponse r;
  try {
    r = route(req, config, store, &account);
  } catch (const std::exception& e) {
    r = error_response(Error::internal(std::string("unexpected exception: ") + e.what()));
  }
  r.account_sid = account;
  r.headers.reserve(r.headers.size() + 3);
  r.set_header("Twilio-Request-Id", new_request_id());
  r.set_header("Content-Type", "application/json; charset=utf-8");
  r.set_header("Content-Length", std::to_string(r.body.size()));
  if (req.method == "HEAD") r.body.clear();  // same headers as GET, Content-Length included
  return r;
}

}  // namespace webhookd
