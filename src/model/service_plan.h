// What `webhookctl apply` would do to make the live services match a desired
// set (a GitOps checkout): service by service and field by field, and which
// of them changed on the live side since the last apply (drift). An
// account's global webhooks (AC….yaml) are planned exactly as a service
// (IS….yaml) is, by their SID. Pure: the store reads both sides, and carries
// the plan out.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "model/state_file.h"

namespace webhookd {

struct FieldChange {
  std::string field;          // the state file's key: account_sid, pre_webhook_url, ..., target
  std::string before, after;  // values as YAML flow text: null, https://x, [onMessageAdd, ...]
};

enum class PlanAction { kUnchanged, kCreate, kUpdate, kRemove };
const char* plan_action_name(PlanAction action);  // "unchanged", "create", "update", "remove"

struct ServicePlan {
  std::string sid;
  PlanAction action = PlanAction::kUnchanged;
  std::vector<FieldChange> changes;  // create: every field from null; remove: every field to null
  std::string live_etag;             // "" when not live, or live but unreadable
  std::optional<WebhookConfig> desired;
  // The live file changed since the last apply (an API write, a hand edit),
  // was never applied, or is unreadable: overwriting or removing it could
  // lose an edit. Only update and remove can drift.
  bool drifted = false;
  std::string drift_reason;
};

// A live service as read: its state, or the problem reading it.
struct LiveService {
  std::optional<ServiceState> state;
  std::string problem;  // "file:line:column: ..." when state is empty
};

struct Plan {
  std::vector<ServicePlan> services;  // by SID
  int creates = 0, updates = 0, removes = 0, unchanged = 0, drifted = 0;
  bool changes_anything() const { return creates + updates + removes > 0; }
};

// What the last apply left live: SID -> the ETags that count as applied.
// One, once an apply finished; two (the one before it and the one it was
// writing) for a service an apply set out to change and may or may not have
// changed, when that apply failed or died part way. Both are safe to accept:
// an ETag is a function of the configuration alone, and the second is that
// of the configuration git asked for, so a live file that has it holds no
// edit git does not have.
using ApplyRecord = std::map<std::string, std::vector<std::string>>;

// prune: services live but not desired are removed (otherwise left alone
// and not listed).
Plan make_plan(const std::map<std::string, ServiceState>& desired, const std::map<std::string, LiveService>& live,
               const ApplyRecord& applied, bool prune);

// The field-by-field differences between two configurations (either may be
// absent: a service created or removed).
std::vector<FieldChange> diff_configs(const std::optional<WebhookConfig>& before,
                                      const std::optional<WebhookConfig>& after);

}  // namespace webhookd
