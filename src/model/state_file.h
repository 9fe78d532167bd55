// The state file of one service (IS….yaml) or of one account's global
// webhooks (AC….yaml), in one place: the reader (a fast path for the
// canonical bytes webhookd writes, yaml-cpp for hand edits), the canonical
// emitter, and the ETag, which comes with every value read or encoded. The
// same configuration always gives the same bytes and ETag.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "model/webhook_config.h"

namespace webhookd {

// A configuration as stored (a service's or an account's: config.scope), with
// its strong validator: "\"" + 32 hex digits of SHA-256(canonical bytes) + "\"".
struct ServiceState {
  WebhookConfig config;
  std::string etag;
};

// kCorruption "<source>:<line>:<column>: <problem>" for anything the rules
// refuse: YAML syntax, unknown or duplicate keys, aliases, wrong types, bad
// values, text that is not UTF-8. `scope` is the kind of file (its name says:
// scope_of_sid); an account's absent or null method, filters and target read
// as their defaults (account_defaults).
Result<ServiceState> read_state_file(std::string_view bytes, const std::string& source,
                                     Scope scope = Scope::kService);

// The fast path of read_state_file, for the files webhookd writes itself:
// when `bytes` are exactly the canonical form of a valid configuration of
// this scope, that configuration as views into `bytes` (valid as long as
// they are), with no value built; nullopt for anything else (read_state_file
// then reads it with yaml-cpp). Its ETag is canonical_etag(bytes). What it
// accepts, read_state_file reads as the same configuration.
std::optional<WebhookConfigView> read_canonical_view(std::string_view bytes, Scope scope);
// Whether `bytes` are exactly what emit_state_file writes for `config`,
// compared without a copy; if so, *in_bytes is the same configuration as
// views into `bytes`. A value emit_state_file would quote never matches.
bool match_canonical(const WebhookConfigView& config, std::string_view bytes, WebhookConfigView* in_bytes);
// The ETag of canonical bytes: "\"" + 32 hex digits of their SHA-256 + "\"".
std::string canonical_etag(std::string_view canonical_bytes);

// Every problem of a state file, each as "<source>:<line>:<column>: <problem>"
// (one for a file that is not YAML at all); empty when read_state_file
// would accept it. For webhookctl check: the same reader, collecting.
std::vector<std::string> state_file_problems(std::string_view bytes, const std::string& source,
                                             Scope scope = Scope::kService);

// What a write puts on disk: the canonical bytes and the state they hold.
// kInvalidArgument when the configuration breaks a rule: the store never
// writes what read_state_file would refuse.
struct EncodedState {
  std::string bytes;
  ServiceState state;
};
Result<EncodedState> encode_state(WebhookConfig config);

// The canonical form of a configuration that passed validate_config: a
// service's five keys in the contract's order (account_sid, pre_webhook_url,
// post_webhook_url, filters, method), an account's the same without
// account_sid and with target appended; nulls written out.
std::string emit_state_file(const WebhookConfig& config);
std::string config_etag(const WebhookConfig& config);

// What the caches count for holding a string, or a state made with
// make_shared: each heap allocation's bytes as glibc hands them out (its
// capacity, the terminating zero, 8 bytes of header, in steps of 16), a
// short string's none (it lives in its object).
size_t heap_bytes(const std::string& s);
size_t heap_bytes(const ServiceState& state);

// The ETag a client is given for sid's resource. A service's is its file's
// (state.etag): its URL names it, and its file names its account. An
// account's folds in the account SID: every account answers at the one URL
// /v1/Configuration/Webhooks, and the same file content (every never-set
// account's defaults) must not give different bodies one validator (a
// shared cache or a client that switches credentials would take a 304 for
// another account's body). state.etag stays the file's, as GitOps records
// it.
std::string resource_etag(const std::string& sid, const ServiceState& state);
// The same from the file's ETag alone (a GET answered from a view).
std::string resource_etag(const std::string& sid, std::string file_etag);

// Each key of the configuration's file, in canonical order, with its value
// as YAML flow text (null, https://x, POST, [onMessageAdd, onMessageAdded]):
// what a plan shows field by field.
std::vector<std::pair<std::string, std::string>> state_fields(const WebhookConfig& config);

}  // namespace webhookd
