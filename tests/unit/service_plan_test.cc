#define BOOST_TEST_DYN_LINK
#include "model/service_plan.h"

#include <boost/test/unit_test.hpp>

#include "test_support.h"

using namespace webhookd;

namespace {

const std::string kA = "ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", kB = "ISbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const std::string kAccount = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

ServiceState state(const std::string& method) {
  WebhookConfig c;
  c.account_sid = kAccount;
  c.method = method;
  return ServiceState{c, config_etag(c)};
}

LiveService live(const std::string& method) { return LiveService{state(method), ""}; }

}  // namespace

BOOST_AUTO_TEST_SUITE(service_plan)

// Each row: one service's desired and live sides and the record, and what
// the plan says of it.
BOOST_AUTO_TEST_CASE(actions_and_drift) {
  struct Case {
    const char* name;
    std::optional<std::string> desired, live;  // a method, or absent
    bool live_invalid;
    std::optional<std::string> applied;  // the method whose ETag the record holds, "" for no entry
    bool prune;
    PlanAction action;
    bool drifted;
    const char* reason;
  } cases[] = {
      {"new service", "GET", std::nullopt, false, std::nullopt, false, PlanAction::kCreate, false, ""},
      {"same as live", "GET", "GET", false, std::string("GET"), false, PlanAction::kUnchanged, false, ""},
      {"same as live, never applied", "GET", "GET", false, std::nullopt, false, PlanAction::kUnchanged, false, ""},
      {"changed in git, live as applied", "GET", "POST", false, std::string("POST"), false, PlanAction::kUpdate, false, ""},
      {"changed in git and live", "GET", "POST", false, std::string("GET"), false, PlanAction::kUpdate, true,
       "changed since the last apply"},
      {"changed in git, never applied", "GET", "POST", false, std::nullopt, false, PlanAction::kUpdate, true,
       "never applied"},
      {"live invalid", "GET", "POST", true, std::string("POST"), false, PlanAction::kUpdate, true, "invalid"},
      {"gone from git, no prune", std::nullopt, "POST", false, std::string("POST"), false, PlanAction::kUnchanged,
       false, ""},
      {"gone from git, prune", std::nullopt, "POST", false, std::string("POST"), true, PlanAction::kRemove, false, ""},
      {"gone from git, prune, live changed", std::nullopt, "GET", false, std::string("POST"), true,
       PlanAction::kRemove, true, "changed since the last apply"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      std::map<std::string, ServiceState> desired;
      std::map<std::string, LiveService> live_side;
      ApplyRecord applied;
      if (c.desired) desired[kA] = state(*c.desired);
      if (c.live) live_side[kA] = c.live_invalid ? LiveService{std::nullopt, "x.yaml:1:1: bad"} : live(*c.live);
      if (c.applied) applied[kA] = {state(*c.applied).etag};
      Plan plan = make_plan(desired, live_side, applied, c.prune);
      const bool listed = c.desired || (c.prune && c.live);
      BOOST_TEST_REQUIRE(plan.services.size() == (listed ? 1u : 0u));
      if (!listed) continue;
      const ServicePlan& s = plan.services[0];
      BOOST_TEST(plan_action_name(s.action) == plan_action_name(c.action));
      BOOST_TEST(s.drifted == c.drifted);
      BOOST_TEST(s.drift_reason.find(c.reason) != std::string::npos, s.drift_reason);
      BOOST_TEST(plan.drifted == (c.drifted ? 1 : 0));
      BOOST_TEST(plan.changes_anything() == (c.action != PlanAction::kUnchanged));
    }
  }
}

// An apply that failed part way records two ETags for a service it set out
// to change: the one before and the one it was writing. Either live is no
// drift; anything else still is.
BOOST_AUTO_TEST_CASE(a_service_an_unfinished_apply_was_changing) {
  const ApplyRecord applied = {{kA, {state("GET").etag, state("POST").etag}}};
  std::map<std::string, ServiceState> desired = {{kA, state("POST")}};
  struct Case {
    const char* live;
    PlanAction action;
    bool drifted;
  } cases[] = {
      {"GET", PlanAction::kUpdate, false},     // the write never happened
      {"POST", PlanAction::kUnchanged, false},  // it did
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.live) {
      Plan plan = make_plan(desired, {{kA, live(c.live)}}, applied, false);
      BOOST_TEST_REQUIRE(plan.services.size() == 1u);
      BOOST_TEST(plan_action_name(plan.services[0].action) == plan_action_name(c.action));
      BOOST_TEST(plan.services[0].drifted == c.drifted);
    }
  }
  // A third configuration (an API write since) is drift, for an update and a remove.
  WebhookConfig other = state("GET").config;
  other.pre_webhook_url = "https://api.example.com/pre";
  LiveService edited;
  edited.state = read_state_file(emit_state_file(other), "x.yaml").value();
  BOOST_TEST(make_plan(desired, {{kA, edited}}, applied, false).drifted == 1);
  BOOST_TEST(make_plan({}, {{kA, edited}}, applied, true).drifted == 1);
}

BOOST_AUTO_TEST_CASE(changes_field_by_field) {
  WebhookConfig before = state("POST").config;
  before.filters = std::vector<std::string>{"onMessageAdd"};
  WebhookConfig after = before;
  after.method = "GET";
  after.pre_webhook_url = "https://x/pre";
  after.filters = std::vector<std::string>{"onMessageAdd", "onMessageAdded"};
  auto changes = diff_configs(before, after);
  BOOST_TEST_REQUIRE(changes.size() == 3u);
  BOOST_TEST(changes[0].field == "pre_webhook_url");
  BOOST_TEST(changes[0].before == "null");
  BOOST_TEST(changes[0].after == "https://x/pre");
  BOOST_TEST(changes[1].field == "filters");
  BOOST_TEST(changes[1].before == "[onMessageAdd]");
  BOOST_TEST(changes[1].after == "[onMessageAdd, onMessageAdded]");
  BOOST_TEST(changes[2].field == "method");
  BOOST_TEST(changes[2].before == "POST");
  BOOST_TEST(changes[2].after == "GET");
  // A created service lists each field from null; a removed one each to null.
  auto created = diff_configs(std::nullopt, after);
  BOOST_TEST(created.size() == 4u);  // account, pre, filters, method (post stays null)
  BOOST_TEST(created[0].field == "account_sid");
  BOOST_TEST(created[0].before == "null");
  BOOST_TEST(diff_configs(after, std::nullopt).size() == 4u);
  BOOST_TEST(diff_configs(after, after).empty());
}

BOOST_AUTO_TEST_CASE(counts_and_order) {
  std::map<std::string, ServiceState> desired = {{kB, state("GET")}, {kA, state("GET")}};
  std::map<std::string, LiveService> live_side = {{kA, live("POST")}};
  ApplyRecord applied = {{kA, {state("POST").etag}}};
  Plan plan = make_plan(desired, live_side, applied, false);
  BOOST_TEST_REQUIRE(plan.services.size() == 2u);
  BOOST_TEST(plan.services[0].sid == kA);  // by SID
  BOOST_TEST((plan.creates == 1 && plan.updates == 1 && plan.removes == 0 && plan.unchanged == 0));
}

BOOST_AUTO_TEST_SUITE_END()
