#define BOOST_TEST_DYN_LINK
#include "store/gitops.h"

#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <optional>

#include "store/filename.h"
#include "test_support.h"

using namespace webhookd;
using webhookd_test::list_dir;
using webhookd_test::read_file;
using webhookd_test::TempDir;
using webhookd_test::write_file;

namespace {

const std::string kA = "ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", kB = "ISbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const std::string kAccount = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

std::string file(const std::string& method) {
  WebhookConfig c;
  c.account_sid = kAccount;
  c.method = method;
  return emit_state_file(c);
}

// The plan for src against the store's directory, as webhookctl makes it.
Plan plan_for(FileSystem& fs, StateStore& store, const std::string& src, bool prune) {
  auto source = read_source_dir(fs, src);
  BOOST_TEST_REQUIRE(source.ok());
  BOOST_TEST_REQUIRE(source.value().problems.empty());
  auto live = read_live(store);
  BOOST_TEST_REQUIRE(live.ok());
  auto applied = read_apply_record(fs, store.dir());
  BOOST_TEST_REQUIRE(applied.ok());
  return make_plan(source.value().services, live.value(), applied.value(), prune);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(gitops)

BOOST_AUTO_TEST_CASE(source_dir_problems_skip_dotfiles_and_name_the_rest) {
  TempDir src;
  PosixFileSystem fs;
  write_file(src.file(kA + ".yaml"), file("GET"));
  write_file(src.file(kB + ".yaml"), "account_sid: " + kAccount + "\nmethod: PUT\n");
  write_file(src.file(".gitignore"), ".IS*.lock\n");
  write_file(src.file("notes.txt"), "x");
  auto got = read_source_dir(fs, src.path());
  BOOST_TEST_REQUIRE(got.ok());
  BOOST_TEST_REQUIRE(got.value().problems.size() == 2u);
  BOOST_TEST(got.value().problems[0] == src.file(kB + ".yaml") + ":2:9: method must be GET or POST");
  BOOST_TEST(got.value().problems[1] ==
             src.file("notes.txt") + ": not a service file: a state file is named IS<32 hex digits>.yaml");
  BOOST_TEST(got.value().services.empty());  // all or nothing
}

// webhookctl check, apply and export read through the same file system as
// webhookd: a FIFO named like a state file, in a source or in the live
// directory, is named as not a regular file at once, never waited on.
BOOST_AUTO_TEST_CASE(a_fifo_state_file_is_a_problem_named_at_once) {
  TempDir src, live, dest;
  PosixFileSystem fs;
  write_file(src.file(kA + ".yaml"), file("GET"));
  BOOST_TEST_REQUIRE(::mkfifo(src.file(kB + ".yaml").c_str(), 0644) == 0);
  write_file(live.file(kA + ".yaml"), file("GET"));
  BOOST_TEST_REQUIRE(::mkfifo(live.file(kB + ".yaml").c_str(), 0644) == 0);
  StateStore store(fs, live.path());
  std::optional<Result<SourceDir>> source;
  std::vector<std::string> checked;
  std::optional<Result<std::map<std::string, LiveService>>> live_services;
  std::optional<Result<ExportResult>> exported;
  BOOST_TEST_REQUIRE(webhookd_test::returns_without_blocking(
      [&] {
        source.emplace(read_source_dir(fs, src.path()));
        checked = check_state_file(fs, src.file(kB + ".yaml"), /*check_name=*/true);
        live_services.emplace(read_live(store));
        exported.emplace(export_live(store, fs, dest.path()));
      },
      {src.file(kB + ".yaml"), live.file(kB + ".yaml")}));
  const std::string src_problem = src.file(kB + ".yaml") + ": not a regular file (a FIFO)";
  BOOST_TEST_REQUIRE(source->ok());
  BOOST_TEST((source->value().problems == std::vector<std::string>{src_problem}));  // check and apply refuse SRC
  BOOST_TEST((checked == std::vector<std::string>{src_problem}));
  BOOST_TEST_REQUIRE(live_services->ok());
  BOOST_TEST(live_services->value().at(kB).problem == live.file(kB + ".yaml") + ": not a regular file (a FIFO)");
  BOOST_TEST_REQUIRE(!exported->ok());  // export refuses, writing nothing
  BOOST_TEST(exported->error().message.find(live.file(kB + ".yaml") + ": not a regular file (a FIFO)") !=
             std::string::npos, exported->error().message);
  BOOST_TEST(list_dir(dest.path()).empty());
}

BOOST_AUTO_TEST_CASE(apply_creates_updates_removes_and_records) {
  TempDir src, live;
  PosixFileSystem fs;
  StateStore store(fs, live.path());
  write_file(src.file(kA + ".yaml"), file("GET"));
  auto first = apply_plan(store, fs, plan_for(fs, store, src.path(), true), false, nullptr);
  BOOST_TEST_REQUIRE(first.ok());
  BOOST_TEST(read_file(live.file(kA + ".yaml")) == file("GET"));
  auto record = read_apply_record(fs, live.path());
  BOOST_TEST_REQUIRE(record.ok());
  BOOST_TEST(record.value().at(kA) == store.load(kA).value()->etag);

  // Change A, add B: one update, one create.
  write_file(src.file(kA + ".yaml"), file("POST"));
  write_file(src.file(kB + ".yaml"), file("GET"));
  Plan plan = plan_for(fs, store, src.path(), true);
  BOOST_TEST((plan.updates == 1 && plan.creates == 1 && plan.drifted == 0));
  auto second = apply_plan(store, fs, plan, false, nullptr);
  BOOST_TEST_REQUIRE(second.ok());
  for (const auto& step : second.value()) BOOST_TEST(step.status.ok(), step.sid);
  BOOST_TEST(read_file(live.file(kA + ".yaml")) == file("POST"));

  // B gone from git, with prune: removed, its lock file too, and from the record.
  std::remove(src.file(kB + ".yaml").c_str());
  auto third = apply_plan(store, fs, plan_for(fs, store, src.path(), true), false, nullptr);
  BOOST_TEST_REQUIRE(third.ok());
  BOOST_TEST((list_dir(live.path()) ==
              std::set<std::string>{kA + ".yaml", "." + kA + ".lock", ".webhookd-applied", ".webhookd-apply.lock"}));
  BOOST_TEST(read_apply_record(fs, live.path()).value().count(kB) == 0u);
}

BOOST_AUTO_TEST_CASE(drift_refuses_everything_unless_forced) {
  TempDir src, live;
  PosixFileSystem fs;
  StateStore store(fs, live.path());
  write_file(src.file(kA + ".yaml"), file("GET"));
  write_file(src.file(kB + ".yaml"), file("GET"));
  BOOST_TEST_REQUIRE(apply_plan(store, fs, plan_for(fs, store, src.path(), false), false, nullptr).ok());
  // An API write to A; git changes both.
  BOOST_TEST_REQUIRE(store.update(kA, [](const ServiceState& s) -> Result<WebhookConfig> {
    WebhookConfig c = s.config;
    c.pre_webhook_url = "https://api.example.com/pre";
    return c;
  }).ok());
  const std::string api_write = read_file(live.file(kA + ".yaml"));
  write_file(src.file(kA + ".yaml"), file("POST"));
  write_file(src.file(kB + ".yaml"), file("POST"));
  Plan plan = plan_for(fs, store, src.path(), false);
  BOOST_TEST(plan.drifted == 1);
  auto refused = apply_plan(store, fs, plan, false, nullptr);
  BOOST_TEST_REQUIRE(!refused.ok());
  BOOST_TEST((refused.error().code == ErrorCode::kConflict));
  BOOST_TEST(refused.error().message.find(kA) != std::string::npos, refused.error().message);
  BOOST_TEST(read_file(live.file(kA + ".yaml")) == api_write);
  BOOST_TEST(read_file(live.file(kB + ".yaml")) == file("GET"));  // nothing at all was touched
  auto forced = apply_plan(store, fs, plan, true, nullptr);
  BOOST_TEST_REQUIRE(forced.ok());
  BOOST_TEST(read_file(live.file(kA + ".yaml")) == file("POST"));
}

// A write that lands between the plan and the apply is never overwritten.
BOOST_AUTO_TEST_CASE(a_write_during_the_apply_is_kept) {
  TempDir src, live;
  PosixFileSystem fs;
  StateStore store(fs, live.path());
  write_file(src.file(kA + ".yaml"), file("GET"));
  BOOST_TEST_REQUIRE(apply_plan(store, fs, plan_for(fs, store, src.path(), false), false, nullptr).ok());
  write_file(src.file(kA + ".yaml"), file("POST"));
  Plan plan = plan_for(fs, store, src.path(), false);
  BOOST_TEST_REQUIRE(plan.updates == 1);
  write_file(live.file(kA + ".yaml"), file("GET") + "# a hand edit, then a real change\n");
  BOOST_TEST_REQUIRE(store.update(kA, [](const ServiceState& s) -> Result<WebhookConfig> {
    WebhookConfig c = s.config;
    c.filters = std::vector<std::string>{"onMessageAdd"};
    return c;
  }).ok());
  const std::string concurrent = read_file(live.file(kA + ".yaml"));
  auto steps = apply_plan(store, fs, plan, /*force=*/true, nullptr);  // even forced: the plan saw another ETag
  BOOST_TEST_REQUIRE(steps.ok());
  BOOST_TEST_REQUIRE(steps.value().size() == 1u);
  BOOST_TEST(!steps.value()[0].status.ok());
  BOOST_TEST((steps.value()[0].status.error().code == ErrorCode::kConflict));
  BOOST_TEST(read_file(live.file(kA + ".yaml")) == concurrent);
}

BOOST_AUTO_TEST_CASE(export_writes_canonical_files_and_removes_gone_services) {
  TempDir live, dest;
  PosixFileSystem fs;
  StateStore store(fs, live.path());
  write_file(live.file(kA + ".yaml"), "# hand edited\naccount_sid: " + kAccount + "\nmethod: get\n");
  write_file(dest.file(kB + ".yaml"), file("GET"));
  write_file(dest.file("README.md"), "kept");
  auto got = export_live(store, fs, dest.path());
  BOOST_TEST_REQUIRE(got.ok());
  BOOST_TEST((got.value().written == std::vector<std::string>{kA}));
  BOOST_TEST((got.value().removed == std::vector<std::string>{kB}));
  BOOST_TEST(read_file(dest.file(kA + ".yaml")) == file("GET"));  // canonical
  BOOST_TEST((list_dir(dest.path()) == std::set<std::string>{kA + ".yaml", "README.md"}));
  auto again = export_live(store, fs, dest.path());
  BOOST_TEST_REQUIRE(again.ok());
  BOOST_TEST(again.value().written.empty());
  BOOST_TEST(again.value().unchanged == 1);
  // An invalid live file: nothing is exported.
  write_file(live.file(kB + ".yaml"), "account_sid: x\n");
  auto refused = export_live(store, fs, dest.path());
  BOOST_TEST_REQUIRE(!refused.ok());
  BOOST_TEST((refused.error().code == ErrorCode::kCorruption));
}

BOOST_AUTO_TEST_CASE(a_corrupt_record_is_an_error_not_an_empty_one) {
  TempDir live;
  PosixFileSystem fs;
  write_file(apply_record_path(live.path()), "# header\n" + kA + " not-an-etag\n");
  auto got = read_apply_record(fs, live.path());
  BOOST_TEST_REQUIRE(!got.ok());
  BOOST_TEST(got.error().message.find(":2:1:") != std::string::npos, got.error().message);
}

BOOST_AUTO_TEST_SUITE_END()
