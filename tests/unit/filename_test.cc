#define BOOST_TEST_DYN_LINK
#include "store/filename.h"

#include <boost/test/unit_test.hpp>

#include "test_support.h"
#include <stdexcept>

using namespace webhookd;

BOOST_AUTO_TEST_SUITE(filename)

BOOST_AUTO_TEST_CASE(builds_names_from_valid_sids) {
  const std::string sid = "ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  struct Case {
    std::string dir, state, lock, temp;
  } cases[] = {
      {"/var/lib/webhookd", "/var/lib/webhookd/" + sid + ".yaml", "/var/lib/webhookd/." + sid + ".lock",
       "/var/lib/webhookd/." + sid + ".tmp."},
      {"state/", "state/" + sid + ".yaml", "state/." + sid + ".lock", "state/." + sid + ".tmp."},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.dir) {
      BOOST_TEST(state_file_path(c.dir, sid) == c.state);
      BOOST_TEST(lock_file_path(c.dir, sid) == c.lock);
      BOOST_TEST(temp_file_prefix(c.dir, sid) == c.temp);
    }
  }
}

BOOST_AUTO_TEST_CASE(lock_and_temp_never_look_like_state) {
  const std::string sid = "ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  auto base = [](const std::string& p) { return p.substr(p.rfind('/') + 1); };
  for (const std::string& name : {base(lock_file_path("/d", sid)), base(temp_file_prefix("/d", sid) + "XXXXXX")}) {
    BOOST_TEST(name.rfind("IS", 0) != 0, name);  // the glob IS*.yaml cannot match
    BOOST_TEST(name[0] == '.');
  }
}

BOOST_AUTO_TEST_CASE(refuses_unchecked_sids) {
  BOOST_TEST(state_file_path("/d", "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") == "/d/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.yaml");
  BOOST_TEST(lock_file_path("/d", "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") == "/d/.ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.lock");
  for (const char* bad : {"../etc/passwd", "ISaaaa", "", "ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/../x",
                          "SKaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/../x"}) {
    BOOST_TEST_CONTEXT(bad) {
      BOOST_CHECK_THROW(state_file_path("/d", bad), std::invalid_argument);
      BOOST_CHECK_THROW(lock_file_path("/d", bad), std::invalid_argument);
      BOOST_CHECK_THROW(temp_file_prefix("/d", bad), std::invalid_argument);
    }
  }
}

BOOST_AUTO_TEST_CASE(classifies_names_of_the_state_directory) {
  const std::string sid = "ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  struct Case {
    std::string name;
    StateFileKind kind;
  } cases[] = {
      {sid + ".yaml", StateFileKind::kState},
      {"." + sid + ".lock", StateFileKind::kLock},
      {"." + sid + ".tmp.Ab12Cd", StateFileKind::kTemp},
      {".gitignore", StateFileKind::kOther},
      {sid + ".yaml.orig", StateFileKind::kOther},
      {sid + ".yml", StateFileKind::kOther},
      {"README.md", StateFileKind::kOther},
      {"." + sid + ".tmp.", StateFileKind::kOther},
      {".ISzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz.lock", StateFileKind::kOther},
      {"ISaaaa.yaml", StateFileKind::kOther},
      {".webhookd-applied.tmp.Ab12Cd", StateFileKind::kApplyTemp},
      {".webhookd-applied", StateFileKind::kOther},
      {".webhookd-applied.tmp.", StateFileKind::kOther},
      {".webhookd-apply.lock", StateFileKind::kOther},
  };
  // An account's global webhooks: the same kinds of names.
  const std::string account = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  struct AccountCase {
    std::string name;
    StateFileKind kind;
  } account_cases[] = {
      {account + ".yaml", StateFileKind::kState},
      {"." + account + ".lock", StateFileKind::kLock},
      {"." + account + ".tmp.Ab12Cd", StateFileKind::kTemp},
      {"SKaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.yaml", StateFileKind::kOther},
      {"ACaaaa.yaml", StateFileKind::kOther},
  };
  for (const auto& c : account_cases) {
    BOOST_TEST_CONTEXT(c.name) {
      std::string got_sid;
      BOOST_TEST((classify_state_dir_name(c.name, &got_sid) == c.kind));
      BOOST_TEST(got_sid == (c.kind == StateFileKind::kOther ? "" : account));
    }
  }
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      std::string got_sid;
      BOOST_TEST((classify_state_dir_name(c.name, &got_sid) == c.kind));
      const bool has_sid = c.kind != StateFileKind::kOther && c.kind != StateFileKind::kApplyTemp;
      BOOST_TEST(got_sid == (has_sid ? sid : ""));
    }
  }
}

BOOST_AUTO_TEST_CASE(name_problems_for_check) {
  const std::string sid = "ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  struct Case {
    std::string name;
    const char* says;  // "" for a service file
  } cases[] = {
      {sid + ".yaml", ""},
      {"ISAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.yaml", ""},  // hex in either case is a SID
      {"is" + sid.substr(2) + ".yaml", "only in letter case"},
      {sid + ".YAML", "only in letter case"},
      {"." + sid + ".lock", "a lock file of webhookd's"},
      {"." + sid + ".tmp.Ab12Cd", "a temp file of webhookd's"},
      {".webhookd-applied.tmp.Ab12Cd", "a temp file of webhookctl apply's record"},
      {sid + ".yml", "a state file is named IS<32 hex digits>.yaml"},
      {"README.md", "a state file is named"},
      {"ISzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz.yaml", "a state file is named"},
      {"ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.yaml", ""},
      {"ac" + sid.substr(2) + ".yaml", "differs from AC<32 hex digits>.yaml only in letter case"},
      {"SKaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.yaml",
       "IS<32 hex digits>.yaml (a service's) or AC<32 hex digits>.yaml (an account's global webhooks)"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      const std::string got = state_dir_name_problem(c.name);
      if (*c.says) {
        BOOST_TEST(got.find(c.says) != std::string::npos, got);
      } else {
        BOOST_TEST(got.empty(), got);
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
