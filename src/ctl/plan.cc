// Only changed services are listed, in either form: a plan over 1,000
// services that changes one is one entry.
#include "ctl/plan.h"

#include <cstdio>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "ctl/owner.h"
#include "store/filename.h"
#include "store/gitops.h"

namespace webhookd::ctl {

Result<std::map<std::string, ServiceState>> read_source(const std::string& src, const Config* config) {
  PosixFileSystem fs;
  (void)refuse_links_others_planted(src, fs);
  auto source = read_source_dir(fs, src, config);
  if (!source.ok()) return Error::invalid_argument(src + ": " + source.error().message);
  if (!config) {
    // Only the config says which accounts webhookd serves: without it an
    // AC….yaml could be one it never reads (check alone, which writes
    // nothing, lets it pass).
    for (const auto& [sid, state] : source.value().services) {
      if (scope_of_sid(sid) != Scope::kAccount) continue;
      source.value().problems.push_back(state_file_path(src, sid) +
                                        ": an account's global webhooks are applied only with --config, "
                                        "which lists the accounts webhookd serves");
    }
  }
  if (!source.value().problems.empty()) {
    for (const auto& p : source.value().problems) std::fprintf(stderr, "%s\n", p.c_str());
    return Error::invalid_argument(src + " has " + std::to_string(source.value().problems.size()) +
                                   " problem(s): nothing was changed");
  }
  return std::move(source.value().services);
}

namespace {

std::string plan_json(const Plan& plan) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("services");
  w.StartArray();
  for (const ServicePlan& s : plan.services) {
    if (s.action == PlanAction::kUnchanged) continue;
    w.StartObject();
    w.Key("sid");
    w.String(s.sid.c_str());
    w.Key("action");
    w.String(plan_action_name(s.action));
    w.Key("drifted");
    w.Bool(s.drifted);
    if (s.drifted) {
      w.Key("drift_reason");
      w.String(s.drift_reason.c_str());
    }
    w.Key("changes");
    w.StartArray();
    for (const FieldChange& c : s.changes) {
      w.StartObject();
      w.Key("field");
      w.String(c.field.c_str());
      w.Key("before");
      w.String(c.before.c_str());
      w.Key("after");
      w.String(c.after.c_str());
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  for (auto [key, n] : {std::pair<const char*, int>{"create", plan.creates}, {"update", plan.updates},
                        {"remove", plan.removes}, {"unchanged", plan.unchanged}, {"drifted", plan.drifted}}) {
    w.Key(key);
    w.Int(n);
  }
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

void print_plan_text(const Plan& plan) {
  for (const ServicePlan& s : plan.services) {
    if (s.action == PlanAction::kUnchanged) continue;
    const char mark = s.action == PlanAction::kCreate ? '+' : s.action == PlanAction::kRemove ? '-' : '~';
    std::printf("%c %s  %s%s\n", mark, s.sid.c_str(), plan_action_name(s.action), s.drifted ? "  (DRIFTED)" : "");
    if (s.drifted) std::printf("    ! %s\n", s.drift_reason.c_str());
    for (const FieldChange& c : s.changes) {
      if (s.action == PlanAction::kCreate) {
        std::printf("    %s: %s\n", c.field.c_str(), c.after.c_str());
      } else if (s.action == PlanAction::kRemove) {
        std::printf("    %s: %s\n", c.field.c_str(), c.before.c_str());
      } else {
        std::printf("    %s: %s -> %s\n", c.field.c_str(), c.before.c_str(), c.after.c_str());
      }
    }
  }
  std::printf("Plan: %d to create, %d to update, %d to remove, %d unchanged", plan.creates, plan.updates, plan.removes,
              plan.unchanged);
  if (plan.drifted) std::printf("; %d changed since the last apply", plan.drifted);
  std::printf(".\n");
}

}  // namespace

void print_plan(const Plan& plan, bool json) {
  if (json) {
    std::printf("%s\n", plan_json(plan).c_str());
  } else {
    print_plan_text(plan);
  }
}

}  // namespace webhookd::ctl
