// webhookctl fire: one signed test event to the webhook that would really
// get it, as Twilio would send it: the service's own, or its account's global
// one when the service sets no URL (the model's effective-hooks rule). The
// auth token is checked against the config's digest before anything is
// sent, so a typo fails here and not at the endpoint; the request itself
// goes out through webhook_sender (libcurl).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "base/random.h"
#include "base/sha256.h"
#include "base/text.h"
#include "ctl/commands.h"
#include "ctl/options.h"
#include "ctl/service_text.h"
#include "ctl/webhook_sender.h"
#include "model/effective_hooks.h"
#include "model/webhook_event.h"
#include "store/state_store.h"

namespace webhookd::ctl {
namespace {

int run(const Command& self, const Argv& argv) {
  int status = 0;
  auto parsed = parse_options(
      self, argv, with(kWhereOptions, {{"--event", "--timeout", "--token-file"}, {"--json", "--anyway"}, {"--param"}}),
      &status);
  if (!parsed) return status;
  const Args& args = *parsed;
  EventParams overrides;
  for (const std::string& kv : args.list("--param")) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) return usage_error(self, "--param needs Key=Value, not '" + kv + "'");
    overrides.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  if (args.positional.size() != 1) return usage_error(self, "fire takes one SID");
  if (!args.has("--event")) return usage_error(self, "fire needs --event NAME (one of the 20 filter names)");
  if (!args.has("--config")) {
    return usage_error(self, "fire needs --config: the auth token is checked against the account's digest there");
  }
  const std::string sid = args.positional[0];
  // An event happens in a service; an account's global webhooks fire for
  // its services that set no URL (fire IS… finds them).
  if (!is_service_sid(sid)) {
    return usage_error(self, "SID must be IS followed by 32 hex digits: events happen in a service (an account's "
                             "global webhooks fire for its services that set no URL of their own: fire IS...)");
  }
  const std::string event = args.value("--event");
  if (!is_filter_name(event)) return usage_error(self, "--event '" + event + "' is not one of the 20 event names");
  double timeout_s = 5.0;  // Twilio's own limit for Conversations webhooks
  if (args.has("--timeout")) {
    char* end = nullptr;
    timeout_s = std::strtod(args.value("--timeout").c_str(), &end);
    if (!end || *end || timeout_s <= 0 || timeout_s > 600) return usage_error(self, "--timeout takes seconds, up to 600");
  }
  PosixFileSystem fs;
  auto where = locate_state(args, fs);
  if (!where.ok()) return fail(where.error().message);
  // Read now, as the caller: it may be a file only root can read, and as
  // root this command then becomes the state directory's owner. A failure is
  // reported below, where the token is needed.
  std::optional<Result<std::string>> token_file;
  if (args.has("--token-file")) token_file = fs.read_file(args.value("--token-file"));
  Status entered = enter_state_dir(where.value(), fs, ActAs::kOwnerToRead, args);
  if (!entered.ok()) return fail(entered.error().message);
  const Config& config = *where.value().config;
  StateStore store(fs, where.value().state_dir);
  auto state = store.load(sid);
  if (!state.ok()) return fail_for(sid, state.error());
  const WebhookConfig& webhooks = state.value()->config;
  // Which hooks Twilio would use for this service: its own or its account's.
  auto account_state = store.load(webhooks.account_sid);
  if (!account_state.ok()) return fail(account_state.error().message);
  const EffectiveHooks hooks = effective_hooks(webhooks, account_state.value()->config);
  const std::string level = describe_source(sid, webhooks.account_sid, hooks);

  // What Twilio would do with this event for this service.
  const bool pre = is_pre_event(event);
  if (std::string why = why_not_sent(hooks, event, /*ignore_filters=*/true); !why.empty()) {
    return fail(sid + ": " + why + " (the webhooks in effect: " + level + ")");
  }
  const std::optional<std::string>& target = pre ? hooks.pre_webhook_url : hooks.post_webhook_url;
  const bool in_filters = why_not_sent(hooks, event).empty();
  if (!in_filters && !args.flag("--anyway")) {
    return fail(sid + ": " + why_not_sent(hooks, event) + " (--anyway sends it all the same)");
  }
  const std::string method = hooks.method;

  // The auth token: never on the command line, checked before anything is sent.
  std::string token;
  if (token_file) {
    const Result<std::string>& bytes = *token_file;
    if (!bytes.ok()) return fail("--token-file: " + bytes.error().message);
    token = bytes.value();
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  } else {
    auto read = read_secret_from_stdin();
    if (!read.ok()) return fail("the auth token of " + webhooks.account_sid + ": " + read.error().message);
    token = std::move(read.value());
  }
  auto digest = config.credentials.account_token_digest.find(webhooks.account_sid);
  if (digest == config.credentials.account_token_digest.end()) {
    return fail("account " + webhooks.account_sid + " of " + sid + " is not in " + config.source);
  }
  if (sha256_raw(token) != digest->second) {
    return fail("that auth token does not match account " + webhooks.account_sid + "'s digest in " + config.source +
                ": nothing was sent");
  }

  auto params = sample_event(event, webhooks.account_sid, sid, overrides);
  if (!params.ok()) return fail(params.error().message);
  OutgoingRequest request;
  request.method = method;
  SignedEvent signed_event = sign_event(method, *target, token, params.value());
  const std::string signature = signed_event.signature;
  request.url = std::move(signed_event.url);
  request.body = std::move(signed_event.body);
  if (method != "GET") request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  auto idempotency = random_bytes(16);
  request.headers.emplace_back("X-Twilio-Signature", signature);
  if (idempotency.ok()) request.headers.emplace_back("I-Twilio-Idempotency-Token", to_hex(idempotency.value()));

  auto reply = send_request(request, std::chrono::milliseconds(static_cast<long long>(timeout_s * 1000)));
  const bool ok = reply.ok() && reply.value().status >= 200 && reply.value().status < 300;
  std::string verdict;
  if (pre) {
    verdict = ok ? "Twilio would let the action go ahead (a JSON body in the answer may modify it)"
                 : "Twilio would reject the action";
  } else {
    verdict = ok ? "Twilio would count the event delivered" : "Twilio would count the event failed";
  }
  if (args.flag("--json")) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("event");
    w.String(event.c_str());
    w.Key("source");
    w.String(hook_source_name(hooks.source));
    w.Key("method");
    w.String(method.c_str());
    w.Key("url");
    w.String(request.url.c_str());
    w.Key("signature");
    w.String(signature.c_str());
    w.Key("params");
    w.StartObject();
    for (const auto& [k, v] : params.value()) {
      w.Key(k.c_str());
      w.String(v.c_str());
    }
    w.EndObject();
    if (reply.ok()) {
      w.Key("status");
      w.Int64(reply.value().status);
      w.Key("seconds");
      w.Double(reply.value().seconds);
      w.Key("body");
      w.String(sanitize_utf8(reply.value().body).c_str());
    } else {
      w.Key("error");
      w.String(reply.error().message.c_str());
    }
    w.Key("ok");
    w.Bool(ok);
    w.Key("verdict");
    w.String(verdict.c_str());
    w.EndObject();
    std::printf("%s\n", buf.GetString());
    return ok ? 0 : 1;
  }
  std::printf("# from %s\n", level.c_str());
  std::printf("%s %s  (%s, a %s-event%s)\n", method.c_str(), request.url.c_str(), event.c_str(), pre ? "pre" : "post",
              in_filters ? "" : ", not in the filters: --anyway");
  std::printf("X-Twilio-Signature: %s\n", signature.c_str());
  for (const auto& [k, v] : params.value()) std::printf("  %s=%s\n", k.c_str(), v.c_str());
  if (!reply.ok()) {
    std::fprintf(stderr, "webhookctl: no answer from %s: %s\n", target->c_str(), reply.error().message.c_str());
    std::printf("-> %s\n", verdict.c_str());
    return 1;
  }
  std::string head = sanitize_utf8(reply.value().body.substr(0, 500));
  std::printf("<- %ld in %.0f ms%s%s\n", reply.value().status, reply.value().seconds * 1000, head.empty() ? "" : ": ",
              head.c_str());
  std::printf("-> %s\n", verdict.c_str());
  return ok ? 0 : 1;
}

}  // namespace

const Command kFire = {
    "fire",
    "fire SID --event NAME --config FILE [--param Key=Value]... [--timeout S]\n"
    "[--token-file F] [--anyway] [--json] [--verbose]",
    "Sends the webhook in effect for the service a signed test event as\n"
    "Twilio would: the service's own, or its account's global webhook when the\n"
    "service sets no URL (show SID --effective; the output says which). A\n"
    "pre-event (onMessageAdd, ...) to pre_webhook_url, a post-event\n"
    "(onMessageAdded, ...) to post_webhook_url, with the method in effect and\n"
    "the event's documented parameters (each overridable), signed with\n"
    "X-Twilio-Signature. The account's auth token comes from stdin or\n"
    "--token-file and must match its digest in the config. Refuses, saying\n"
    "why: an account whose target is flex (Twilio routes to Flex), an event\n"
    "not in the filters in effect (unless --anyway), an unset URL. Exit 0\n"
    "when the endpoint answers 2xx, 1 otherwise.",
    run,
};

}  // namespace webhookd::ctl
