// Request flow: authenticate -> route (a service's webhooks by the SID in the
// path, or the account's global webhooks by the credentials) -> method ->
// load or validate-and-update -> render. Both resources take the same code,
// told apart by their scope. Every exit goes through handle(), which puts
// the headers every answer carries.
#include "api/handler.h"

#include "api/auth.h"
#include "api/form_parser.h"
#include "api/json_render.h"
#include "api/rendered_json_cache.h"
#include "base/request_id.h"
#include "base/text.h"

namespace webhookd {
namespace {

constexpr std::string_view kPrefix = "/v1/Services/";
constexpr std::string_view kSuffix = "/Configuration/Webhooks";
constexpr std::string_view kAccountPath = "/v1/Configuration/Webhooks";

// The resource a request names: a service's webhooks, or the global
// webhooks of the account the credentials act for. `key` is its state
// file's SID either way (IS… or AC…).
struct Resource {
  Scope scope = Scope::kService;
  std::string key;
};

// Why an update's precondition failed (kConflict from the mutation).
constexpr std::string_view kIfMatchFailed = "If-Match does not match the current ETag";
constexpr std::string_view kIfNoneMatchMatched = "If-None-Match matches the current ETag";

HttpResponse error_response(const ApiError& error) {
  HttpResponse r;
  r.status = api_error_spec(error.kind).http_status;
  r.body = render_error(error);
  r.log_detail = error.detail;
  if (error.kind == ApiErrorKind::kUnauthenticated) r.set_header("WWW-Authenticate", "Basic realm=\"Twilio API\"");
  // As nginx's own 503 when webhookd is down: a client or a fleet's front tries again (elsewhere).
  if (error.kind == ApiErrorKind::kUnavailable) r.set_header("Retry-After", "1");
  return r;
}

// "/Services/{sid}/Configuration/Webhooks" as Twilio names it in messages.
std::string resource_name(std::string_view path) {
  if (path.substr(0, 3) == "/v1") path.remove_prefix(3);
  return std::string(path);
}

// The SID segment of a well-formed path, or "" (never a SID).
std::string_view service_segment(std::string_view path) {
  if (path.size() <= kPrefix.size() + kSuffix.size() || path.substr(0, kPrefix.size()) != kPrefix ||
      path.substr(path.size() - kSuffix.size()) != kSuffix) {
    return {};
  }
  return path.substr(kPrefix.size(), path.size() - kPrefix.size() - kSuffix.size());
}

std::string resource_url(const HttpRequest& req, const Config& config, const Resource& resource) {
  std::string url;
  url.reserve(config.public_base_url.size() + req.host.size() + 8 + kPrefix.size() + resource.key.size() +
              kSuffix.size());
  if (!config.public_base_url.empty()) {
    url.append(config.public_base_url);
  } else {
    url.append(req.scheme == "https" ? "https://" : "http://").append(req.host);
  }
  if (resource.scope == Scope::kService) {
    url.append(kPrefix).append(resource.key).append(kSuffix);
  } else {
    url.append(kAccountPath);
  }
  return url;
}

// One for the process: an entry is only ever used for the very ServiceState
// it was rendered from, so stores and reloads cannot mix.
RenderedJsonCache& rendered_json() {
  static RenderedJsonCache cache;
  return cache;
}

// The stored part of the JSON was rendered once per parsed state; only the
// URL depends on the request. etag: resource_etag's of state, taken once by
// the caller (an account's is a SHA-256).
HttpResponse resource_response(const ServiceStatePtr& state, const HttpRequest& req, const Config& config,
                               const Resource& resource, std::string etag) {
  auto head = rendered_json().head(resource.key, state);
  if (!head.ok()) return error_response(head.error());
  const std::string url = resource_url(req, config, resource);
  HttpResponse r;
  r.body.reserve(head.value()->size() + url.size() + 3);
  r.body.append(*head.value());
  append_config_url(&r.body, url);
  r.set_header("ETag", std::move(etag));
  return r;
}

ApiError not_found(const HttpRequest& req) { return ApiError{ApiErrorKind::kNotFound, {resource_name(req.path)}, {}}; }

// Only a service belongs to an account by its file; an account's global
// webhooks are the credentials' own by construction.
bool foreign(const Resource& resource, std::string_view owner, const std::string& account) {
  return resource.scope == Scope::kService && owner != account;
}

HttpResponse not_modified(std::string etag) {
  HttpResponse r;
  r.status = 304;
  r.set_header("ETag", std::move(etag));
  return r;
}

HttpResponse fetch(const HttpRequest& req, const Config& config, StateStore& store, const Resource& resource,
                   const std::string& account) {
  // The file's bytes, in this worker's buffer: a GET of a file in canonical
  // form is answered from views into them.
  thread_local std::string bytes;
  // An account that never set its global webhooks reads as its defaults.
  auto loaded = store.snapshot(resource.key, &bytes);
  if (!loaded.ok()) return error_response(from_error(loaded.error(), resource_name(req.path)));
  StateStore::Snapshot& snapshot = loaded.value();
  // A foreign service answers exactly like a missing one: no existence leak.
  const std::string_view owner = snapshot.view ? snapshot.view->account_sid : snapshot.state->config.account_sid;
  if (foreign(resource, owner, account)) return error_response(not_found(req));
  std::string etag = snapshot.view ? resource_etag(resource.key, std::move(snapshot.etag))
                                   : resource_etag(resource.key, *snapshot.state);
  if (!req.if_none_match.empty() && etag_list_matches(req.if_none_match, etag, EtagComparison::kWeak)) {
    return not_modified(std::move(etag));
  }
  // Only the head differs: rendered once per parsed state, or written
  // straight from the view into the bytes.
  if (!snapshot.view) return resource_response(snapshot.state, req, config, resource, std::move(etag));
  const WebhookConfigView& view = *snapshot.view;
  const std::string url = resource_url(req, config, resource);
  HttpResponse r;
  r.body.reserve(bytes.size() + 2 * url.size() + 64);
  append_config_head(&r.body, view, resource.key, JsonText::kPlain);
  append_config_url(&r.body, url);
  r.set_header("ETag", std::move(etag));
  return r;
}

HttpResponse update(const HttpRequest& req, const Config& config, StateStore& store, const Resource& resource,
                    const std::string& account) {
  if (!config.api_writes) return error_response(ApiError{ApiErrorKind::kForbiddenManagedInGit, {}, {}});
  if (req.body_too_large || req.body.size() > kMaxBodyBytes) {
    return error_response(ApiError{ApiErrorKind::kBodyTooLarge, {}, {}});
  }
  // An empty body is an empty update whatever its type (python's client
  // sends a bodiless POST for an empty filter list).
  if (!req.body.empty() && !is_form_content_type(req.content_type)) {
    return error_response(ApiError{ApiErrorKind::kUnsupportedMediaType, {}, {}});
  }
  auto form = parse_form(req.body);
  if (!form.ok()) return error_response(form.error());
  auto changes = parse_update(form.value(), resource.scope);
  if (!changes.ok()) return error_response(changes.error());

  // Pure, as the store requires: it may run more than once, and a write
  // happens only after it ran under the service's lock on the very state the
  // write replaces, so both preconditions hold for what is overwritten.
  // RFC 9110 13.2.2 order: If-Match, then If-None-Match (weakly, as for GET).
  // An account with no file has a current representation (its defaults,
  // with their ETag), so `If-Match: *` matches it and `If-None-Match: *`
  // fails; the first update that changes it creates its file.
  auto result = store.update(resource.key, [&](const ServiceState& current) -> Result<WebhookConfig> {
    if (foreign(resource, current.config.account_sid, account)) return Error::not_found("another account's service");
    const std::string etag = resource_etag(resource.key, current);
    if (!req.if_match.empty() && !etag_list_matches(req.if_match, etag, EtagComparison::kStrong)) {
      return Error::conflict(std::string(kIfMatchFailed));
    }
    if (!req.if_none_match.empty() && etag_list_matches(req.if_none_match, etag, EtagComparison::kWeak)) {
      return Error::conflict(std::string(kIfNoneMatchMatched));
    }
    return apply(current.config, changes.value());
  });
  if (!result.ok()) {
    // Both preconditions fail as kConflict; the message says which, for its row of the table.
    if (result.error().code == ErrorCode::kConflict && result.error().message == kIfNoneMatchMatched) {
      return error_response(ApiError{ApiErrorKind::kPreconditionFailedNoneMatch, {}, {}});
    }
    return error_response(from_error(result.error(), resource_name(req.path)));
  }
  return resource_response(result.value(), req, config, resource, resource_etag(resource.key, *result.value()));
}

HttpResponse route(const HttpRequest& req, const Config& config, StateStore& store, std::string* account_out) {
  auto account = authenticate(req.authorization, config.credentials);
  if (!account.ok()) return error_response(account.error());
  *account_out = account.value();

  // Any other path (/v1/Configuration/Other, a malformed SID) is Twilio's
  // 404 naming it; nginx routes only the two resources' paths here.
  Resource resource;
  if (req.path == kAccountPath) {
    resource = Resource{Scope::kAccount, account.value()};
  } else {
    const std::string_view segment = service_segment(req.path);
    if (!is_service_sid(segment)) return error_response(not_found(req));
    resource = Resource{Scope::kService, std::string(segment)};
  }
  // Routing is on nginx's normalized path, the string its location matched;
  // a request that names the resource only after normalization (%49S…,
  // /x/../v1/…, //v1/…) is not a name of it, and is refused.
  if (!req.raw_path.empty() && req.raw_path != req.path) return error_response(not_found(req));

  if (req.method == "GET" || req.method == "HEAD") return fetch(req, config, store, resource, account.value());
  if (req.method == "POST") return update(req, config, store, resource, account.value());
  HttpResponse r = error_response(ApiError{ApiErrorKind::kMethodNotAllowed, {resource_name(req.path), req.method}, {}});
  r.set_header("Allow", "GET, POST");
  return r;
}

}  // namespace

bool etag_list_matches(std::string_view list, const std::string& etag, EtagComparison comparison) {
  size_t pos = 0;
  while (pos < list.size()) {
    size_t comma = list.find(',', pos);
    std::string_view item = list.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item == "*") return true;
    // Our own ETags are always strong; a weak tag matches only weakly.
    if (item.substr(0, 2) == "W/") {
      if (comparison == EtagComparison::kWeak && item.substr(2) == etag) return true;
    } else if (item == etag) {
      return true;
    }
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return false;
}

HttpResponse handle(const HttpRequest& req, const Config& config, StateStore& store) {
  std::string account;
  HttpResponse r;
  try {
    r = route(req, config, store, &account);
  } catch (const std::exception& e) {
    r = error_response(ApiError::internal(std::string("unexpected exception: ") + e.what()));
  } catch (...) {
    r = error_response(ApiError::internal("unexpected exception"));
  }
  r.account_sid = account;
  r.headers.reserve(r.headers.size() + 3);
  r.set_header("Twilio-Request-Id", new_request_id());
  r.set_header("Content-Type", "application/json; charset=utf-8");
  // A 304 has no body and, by RFC 9110 15.4.5, no Content-Length but the 200's:
  // none is sent at all.
  if (r.status != 304) r.set_header("Content-Length", std::to_string(r.body.size()));
  if (req.method == "HEAD") r.body.clear();  // same headers as GET, Content-Length included
  return r;
}

}  // namespace webhookd
