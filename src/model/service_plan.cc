// Plans are computed from values alone; the drift rule is here in one place:
// a live service may be overwritten or removed only if it is exactly what the
// last apply left (an ETag its record accepts).
#include "model/service_plan.h"

#include <algorithm>
#include <set>

namespace webhookd {

const char* plan_action_name(PlanAction action) {
  switch (action) {
    case PlanAction::kUnchanged: return "unchanged";
    case PlanAction::kCreate: return "create";
    case PlanAction::kUpdate: return "update";
    case PlanAction::kRemove: return "remove";
  }
  return "?";
}

std::vector<FieldChange> diff_configs(const std::optional<WebhookConfig>& before,
                                      const std::optional<WebhookConfig>& after) {
  // The keys of the state file (state_file.h's one table), of whichever
  // side exists; a side that does not exist is null in every key.
  std::vector<FieldChange> out;
  if (!before && !after) return out;
  const auto a = before ? state_fields(*before) : std::vector<std::pair<std::string, std::string>>{};
  const auto b = after ? state_fields(*after) : std::vector<std::pair<std::string, std::string>>{};
  const auto& keys = before ? a : b;
  for (size_t i = 0; i < keys.size(); ++i) {
    const std::string x = before ? a[i].second : "null";
    const std::string y = after ? b[i].second : "null";
    if (x != y) out.push_back({keys[i].first, x, y});
  }
  return out;
}

Plan make_plan(const std::map<std::string, ServiceState>& desired, const std::map<std::string, LiveService>& live,
               const ApplyRecord& applied, bool prune) {
  std::set<std::string> sids;
  for (const auto& d : desired) sids.insert(d.first);
  if (prune) {
    for (const auto& l : live) sids.insert(l.first);
  }
  Plan plan;
  for (const std::string& sid : sids) {
    ServicePlan s;
    s.sid = sid;
    auto d = desired.find(sid);
    auto l = live.find(sid);
    const bool is_live = l != live.end();
    const bool readable = is_live && l->second.state.has_value();
    if (readable) s.live_etag = l->second.state->etag;
    if (d != desired.end()) s.desired = d->second.config;
    std::optional<WebhookConfig> live_config;
    if (readable) live_config = l->second.state->config;

    if (!is_live) {
      s.action = PlanAction::kCreate;
    } else if (d == desired.end()) {
      s.action = PlanAction::kRemove;
    } else if (!readable || d->second.etag != s.live_etag) {
      s.action = PlanAction::kUpdate;
    }
    if (s.action != PlanAction::kUnchanged) s.changes = diff_configs(live_config, s.desired);

    if (s.action == PlanAction::kUpdate || s.action == PlanAction::kRemove) {
      auto a = applied.find(sid);
      if (!readable) {
        s.drifted = true;
        s.drift_reason = "the live file is invalid: " + l->second.problem;
      } else if (a == applied.end()) {
        s.drifted = true;
        s.drift_reason = "never applied: nothing records that the live file came from git";
      } else if (std::find(a->second.begin(), a->second.end(), s.live_etag) == a->second.end()) {
        s.drifted = true;
        s.drift_reason = "changed since the last apply (an API write or a hand edit)";
      }
    }
    switch (s.action) {
      case PlanAction::kCreate: ++plan.creates; break;
      case PlanAction::kUpdate: ++plan.updates; break;
      case PlanAction::kRemove: ++plan.removes; break;
      case PlanAction::kUnchanged: ++plan.unchanged; break;
    }
    if (s.drifted) ++plan.drifted;
    plan.services.push_back(std::move(s));
  }
  return plan;
}

}  // namespace webhookd
