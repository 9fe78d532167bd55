#define BOOST_TEST_DYN_LINK
#include "store/gitops.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <optional>
#include <thread>

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

std::map<std::string, ServiceState> source_of(FileSystem& fs, const std::string& src) {
  auto source = read_source_dir(fs, src);
  BOOST_TEST_REQUIRE(source.ok());
  BOOST_TEST_REQUIRE(source.value().problems.empty());
  return std::move(source.value().services);
}

// The plan for src against the store's directory, as webhookctl apply makes
// it: under the apply lock, held for as long as the plan lives (so a test
// lets one go before it plans again).
LockedPlan plan_for(FileSystem& fs, StateStore& store, const std::string& src, bool prune) {
  auto locked = plan_under_apply_lock(store, fs, source_of(fs, src), prune);
  BOOST_TEST_REQUIRE(locked.ok(), (locked.ok() ? "" : locked.error().message));
  return std::move(locked.value());
}

// As diff makes it: no lock.
Plan diff_plan(FileSystem& fs, StateStore& store, const std::string& src, bool prune) {
  auto plan = plan_live(store, fs, source_of(fs, src), prune);
  BOOST_TEST_REQUIRE(plan.ok(), (plan.ok() ? "" : plan.error().message));
  return std::move(plan.value());
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
             src.file("notes.txt") + ": not a state file: a state file is named IS<32 hex digits>.yaml (a service's) or "
                                     "AC<32 hex digits>.yaml (an account's global webhooks)");
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

// A unix socket named like a state file: open() fails (ENXIO) before fstat,
// and it is still named as what it is, one bad file, in a source and live.
BOOST_AUTO_TEST_CASE(a_socket_state_file_is_a_problem_named_as_a_socket) {
  TempDir src, live, dest;
  PosixFileSystem fs;
  write_file(src.file(kA + ".yaml"), file("GET"));
  BOOST_TEST_REQUIRE(webhookd_test::make_socket_file(src.file(kB + ".yaml")));
  write_file(live.file(kA + ".yaml"), file("GET"));
  BOOST_TEST_REQUIRE(webhookd_test::make_socket_file(live.file(kB + ".yaml")));
  StateStore store(fs, live.path());
  const std::string src_problem = src.file(kB + ".yaml") + ": not a regular file (a socket)";
  auto source = read_source_dir(fs, src.path());
  BOOST_TEST_REQUIRE(source.ok());
  BOOST_TEST((source.value().problems == std::vector<std::string>{src_problem}));
  BOOST_TEST((check_state_file(fs, src.file(kB + ".yaml"), /*check_name=*/true) ==
              std::vector<std::string>{src_problem}));
  auto live_services = read_live(store);
  BOOST_TEST_REQUIRE(live_services.ok(), (live_services.ok() ? "" : live_services.error().message));
  BOOST_TEST(live_services.value().at(kB).problem == live.file(kB + ".yaml") + ": not a regular file (a socket)");
  auto exported = export_live(store, fs, dest.path());
  BOOST_TEST_REQUIRE(!exported.ok());
  BOOST_TEST((exported.error().code == ErrorCode::kCorruption));
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
  BOOST_TEST((record.value().at(kA) == std::vector<std::string>{store.load(kA).value()->etag}));

  // Change A, add B: one update, one create.
  write_file(src.file(kA + ".yaml"), file("POST"));
  write_file(src.file(kB + ".yaml"), file("GET"));
  {
    LockedPlan locked = plan_for(fs, store, src.path(), true);
    const Plan& plan = locked.plan();
    BOOST_TEST((plan.updates == 1 && plan.creates == 1 && plan.drifted == 0));
    auto second = apply_plan(store, fs, locked, false, nullptr);
    BOOST_TEST_REQUIRE(second.ok());
    for (const auto& step : second.value()) BOOST_TEST(step.status.ok(), step.sid);
    BOOST_TEST(read_file(live.file(kA + ".yaml")) == file("POST"));
  }

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
  LockedPlan plan = plan_for(fs, store, src.path(), false);
  BOOST_TEST(plan.plan().drifted == 1);
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
  LockedPlan plan = plan_for(fs, store, src.path(), false);
  BOOST_TEST_REQUIRE(plan.plan().updates == 1);
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

// The disk fills up part way through an apply (issue 17, item 6): once a
// state file has been renamed into place, the record's writes fail (a short
// write, then ENOSPC), or every write does, as a crash would leave it. The
// fault-injecting file system of the unit tests, aimed at those writes.
class DiskFillsDuringApply : public webhookd_test::FaultyFileSystem {
 public:
  explicit DiskFillsDuringApply(bool everything) : everything_(everything) {}

  Result<int> create_temp(const std::string& prefix, std::string* path) override {
    auto fd = FaultyFileSystem::create_temp(prefix, path);
    if (fd.ok() && prefix.find("/.webhookd-applied") != std::string::npos) record_fds_.insert(fd.value());
    return fd;
  }
  Status write_all(int fd, const std::string& data) override {
    if (!full_ || !(everything_ || record_fds_.count(fd))) return FaultyFileSystem::write_all(fd, data);
    fail = webhookd_test::Op::kWrite;
    Status s = FaultyFileSystem::write_all(fd, data);
    fail = webhookd_test::Op::kNone;
    ++failed_writes;
    return s;
  }
  Status close(int fd) override {
    record_fds_.erase(fd);
    return FaultyFileSystem::close(fd);
  }
  Status rename(const std::string& from, const std::string& to) override {
    Status s = FaultyFileSystem::rename(from, to);
    if (s.ok() && to.size() > 5 && to.compare(to.size() - 5, 5, ".yaml") == 0) full_ = true;
    return s;
  }
  int failed_writes = 0;

 private:
  const bool everything_;
  bool full_ = false;
  std::set<int> record_fds_;
};

BOOST_AUTO_TEST_CASE(an_apply_that_failed_part_way_is_resumed_not_blamed) {
  struct Case {
    const char* name;
    bool everything;  // false: only the record's writes fail
  } cases[] = {
      {"the record's write fails once services changed", false},
      {"every write fails after the first service (a crash leaves the same)", true},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      TempDir src, live;
      PosixFileSystem fs;
      StateStore store(fs, live.path());
      write_file(src.file(kA + ".yaml"), file("GET"));
      write_file(src.file(kB + ".yaml"), file("GET"));
      BOOST_TEST_REQUIRE(apply_plan(store, fs, plan_for(fs, store, src.path(), false), false, nullptr).ok());

      // Revision 2, applied while the disk fills up.
      write_file(src.file(kA + ".yaml"), file("POST"));
      write_file(src.file(kB + ".yaml"), file("POST"));
      DiskFillsDuringApply full(c.everything);
      StateStore store_on_full(full, live.path());
      {
        LockedPlan plan = plan_for(full, store_on_full, src.path(), false);
        BOOST_TEST_REQUIRE(plan.plan().updates == 2);
        auto failed = apply_plan(store_on_full, full, plan, false, nullptr);
        BOOST_TEST(full.failed_writes > 0);  // the fault did happen
        BOOST_TEST(read_file(live.file(kA + ".yaml")) == file("POST"));  // and after a service changed
        if (failed.ok()) {
          for (const auto& step : failed.value()) BOOST_TEST_MESSAGE(step.sid << ": " << step.status.ok());
        }
      }
      for (const std::string& name : list_dir(live.path())) {
        BOOST_TEST(name.find(".tmp.") == std::string::npos, name);  // no temp file left
      }

      // Revision 3 on a healthy disk: nothing the failed apply did is drift,
      // and the next apply goes through without --force.
      write_file(src.file(kA + ".yaml"), file("GET"));
      write_file(src.file(kB + ".yaml"), file("GET"));
      {
        LockedPlan next = plan_for(fs, store, src.path(), false);
        BOOST_TEST(next.plan().drifted == 0);
        for (const ServicePlan& s : next.plan().services) BOOST_TEST(!s.drifted, s.sid << ": " << s.drift_reason);
        auto resumed = apply_plan(store, fs, next, false, nullptr);
        BOOST_TEST(resumed.ok(), (resumed.ok() ? "" : resumed.error().message));
      }
      BOOST_TEST(read_file(live.file(kA + ".yaml")) == file("GET"));
      BOOST_TEST(read_file(live.file(kB + ".yaml")) == file("GET"));
      // A real edit after it is still drift: the record did not grow lax.
      BOOST_TEST_REQUIRE(store.update(kB, [](const ServiceState& s) -> Result<WebhookConfig> {
        WebhookConfig config = s.config;
        config.pre_webhook_url = "https://api.example.com/pre";
        return config;
      }).ok());
      write_file(src.file(kB + ".yaml"), file("POST"));
      BOOST_TEST(diff_plan(fs, store, src.path(), false).drifted == 1);
    }
  }
}

// apply --force over an invalid live file (issue 17, item 7): one rename
// under the service's lock. Whatever step of the write fails, the broken
// file stays byte for byte (it is a person's edit, and the service must not
// vanish), no temp file is left, and the failure is that service's.
// The fault-injecting file system, failing its chosen step only while the
// service's new state file is written (from its temp file to the directory
// fsync): the apply's record is written as usual.
class FailsWritingTheService : public webhookd_test::FaultyFileSystem {
 public:
  FailsWritingTheService(const std::string& sid, webhookd_test::Op op) : temp_("/." + sid + ".tmp."), op_(op) {}

  Result<int> create_temp(const std::string& prefix, std::string* path) override {
    fail = prefix.find(temp_) != std::string::npos ? op_ : webhookd_test::Op::kNone;
    return FaultyFileSystem::create_temp(prefix, path);
  }
  Status sync_open_dir(int dir_fd, const std::string& dir) override {
    Status s = FaultyFileSystem::sync_open_dir(dir_fd, dir);
    fail = webhookd_test::Op::kNone;
    return s;
  }

 private:
  const std::string temp_;
  const webhookd_test::Op op_;
};

BOOST_AUTO_TEST_CASE(a_forced_apply_over_an_invalid_file_that_fails_keeps_it) {
  using webhookd_test::Op;
  struct Case {
    const char* name;
    Op fail;
  } cases[] = {
      {"mkstemp fails", Op::kCreateTemp}, {"write fails half way", Op::kWrite}, {"fsync fails", Op::kSync},
      {"close fails", Op::kClose},         {"rename fails", Op::kRename},       {"directory fsync fails", Op::kSyncDir},
  };
  const std::string broken = "account_sid: " + kAccount + "\nmethod: GET\nmethod: POST\n";  // a duplicate key
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      TempDir src, live;
      write_file(src.file(kA + ".yaml"), file("POST"));
      write_file(live.file(kA + ".yaml"), broken);
      FailsWritingTheService faulty(kA, c.fail);
      StateStore store(faulty, live.path());
      {
        LockedPlan plan = plan_for(faulty, store, src.path(), false);
        BOOST_TEST_REQUIRE(plan.plan().updates == 1);
        BOOST_TEST_REQUIRE(plan.plan().services[0].drifted);  // invalid: only with --force
        auto steps = apply_plan(store, faulty, plan, /*force=*/true, nullptr);
        BOOST_TEST_REQUIRE(steps.ok(), (steps.ok() ? "" : steps.error().message));
        BOOST_TEST_REQUIRE(steps.value().size() == 1u);
        BOOST_TEST(!steps.value()[0].status.ok());  // the service's failure, reported
      }
      BOOST_TEST(read_file(live.file(kA + ".yaml")) == broken);
      for (const std::string& name : list_dir(live.path())) {
        BOOST_TEST(name.find(".tmp.") == std::string::npos, name);
      }
      // The disk back: the same forced apply goes through.
      PosixFileSystem fs;
      StateStore healthy(fs, live.path());
      auto done = apply_plan(healthy, fs, plan_for(fs, healthy, src.path(), false), true, nullptr);
      BOOST_TEST_REQUIRE(done.ok());
      BOOST_TEST(done.value()[0].status.ok());
      BOOST_TEST(read_file(live.file(kA + ".yaml")) == file("POST"));
    }
  }
}

// It replaces only what is still invalid: a file mended meanwhile is valid,
// and a valid file is replaced only against its ETag.
BOOST_AUTO_TEST_CASE(overwrite_invalid_refuses_a_valid_or_missing_file) {
  TempDir live;
  PosixFileSystem fs;
  StateStore store(fs, live.path());
  WebhookConfig config;
  config.account_sid = kAccount;
  config.method = "POST";
  write_file(live.file(kA + ".yaml"), file("GET"));
  auto valid = store.overwrite_invalid(kA, config);
  BOOST_TEST_REQUIRE(!valid.ok());
  BOOST_TEST((valid.error().code == ErrorCode::kConflict));
  BOOST_TEST(read_file(live.file(kA + ".yaml")) == file("GET"));
  auto missing = store.overwrite_invalid(kB, config);
  BOOST_TEST_REQUIRE(!missing.ok());
  BOOST_TEST(missing.error().is_not_found());
  BOOST_TEST(list_dir(live.path()).count(kB + ".yaml") == 0u);
  write_file(live.file(kA + ".yaml"), "account_sid: x\n");
  auto replaced = store.overwrite_invalid(kA, config);
  BOOST_TEST_REQUIRE(replaced.ok());
  BOOST_TEST(read_file(live.file(kA + ".yaml")) == file("POST"));
  BOOST_TEST(replaced.value()->etag == store.load(kA).value()->etag);
}

BOOST_AUTO_TEST_CASE(a_corrupt_record_is_an_error_not_an_empty_one) {
  TempDir live;
  PosixFileSystem fs;
  write_file(apply_record_path(live.path()), "# header\n" + kA + " not-an-etag\n");
  auto got = read_apply_record(fs, live.path());
  BOOST_TEST_REQUIRE(!got.ok());
  BOOST_TEST(got.error().message.find(":2:1:") != std::string::npos, got.error().message);
}

BOOST_AUTO_TEST_CASE(the_record_holds_one_or_two_etags_a_service) {
  TempDir live;
  PosixFileSystem fs;
  const std::string e1 = "\"" + std::string(32, '1') + "\"", e2 = "\"" + std::string(32, '2') + "\"";
  write_file(apply_record_path(live.path()), "# header\n" + kA + " " + e1 + "\n" + kB + " " + e1 + " " + e2 + "\n");
  auto got = read_apply_record(fs, live.path());
  BOOST_TEST_REQUIRE(got.ok(), (got.ok() ? "" : got.error().message));
  BOOST_TEST((got.value().at(kA) == std::vector<std::string>{e1}));
  BOOST_TEST((got.value().at(kB) == std::vector<std::string>{e1, e2}));
  for (const std::string& bad : {kA + " " + e1 + " " + e2 + " " + e1, kA, kA + " " + e1 + " ", kA + "  " + e1}) {
    BOOST_TEST_CONTEXT(bad) {
      write_file(apply_record_path(live.path()), bad + "\n");
      BOOST_TEST(!read_apply_record(fs, live.path()).ok());
    }
  }
}

// Written ahead: while services change, the record already accepts both
// ETags of each; and an apply that changes nothing rewrites nothing.
BOOST_AUTO_TEST_CASE(the_record_is_written_ahead_and_not_rewritten_for_nothing) {
  TempDir src, live;
  PosixFileSystem fs;
  StateStore store(fs, live.path());
  write_file(src.file(kA + ".yaml"), file("GET"));
  BOOST_TEST_REQUIRE(apply_plan(store, fs, plan_for(fs, store, src.path(), false), false, nullptr).ok());
  const std::string get_etag = store.load(kA).value()->etag;
  write_file(src.file(kA + ".yaml"), file("POST"));
  write_file(src.file(kB + ".yaml"), file("GET"));
  std::vector<ApplyRecord> seen;  // the record on disk as each service is done
  BOOST_TEST_REQUIRE(apply_plan(store, fs, plan_for(fs, store, src.path(), false), false, [&](const ApplyStep&) {
    seen.push_back(read_apply_record(fs, live.path()).value());
  }).ok());
  BOOST_TEST_REQUIRE(seen.size() == 2u);
  const std::string post_etag = config_etag(read_state_file(file("POST"), "x").value().config);
  const std::string b_etag = config_etag(read_state_file(file("GET"), "x").value().config);
  BOOST_TEST((seen[0].at(kA) == std::vector<std::string>{get_etag, post_etag}));
  BOOST_TEST((seen[0].at(kB) == std::vector<std::string>{b_etag}));
  auto final_record = read_apply_record(fs, live.path());
  BOOST_TEST((final_record.value().at(kA) == std::vector<std::string>{post_etag}));

  struct stat before, after;
  BOOST_TEST_REQUIRE(::stat(apply_record_path(live.path()).c_str(), &before) == 0);
  LockedPlan nothing = plan_for(fs, store, src.path(), false);
  BOOST_TEST(!nothing.plan().changes_anything());
  BOOST_TEST_REQUIRE(apply_plan(store, fs, nothing, false, nullptr).ok());
  BOOST_TEST_REQUIRE(::stat(apply_record_path(live.path()).c_str(), &after) == 0);
  BOOST_TEST(before.st_ino == after.st_ino);  // a rename would have given a new inode
}

// The apply lock, gated: the first apply to ask for it waits at the gate
// (as it would behind another apply) until the test opens it; the others go
// straight through.
class GatedApplyLock : public PosixFileSystem {
 public:
  Result<std::unique_ptr<FileLock>> lock(const std::string& path, LockFile make) override {
    if (path == apply_lock_path_ && !gated_.exchange(true)) {
      at_gate = true;
      if (!webhookd_test::wait_until([&] { return open.load(); })) return Error::internal("the gate never opened");
    }
    return PosixFileSystem::lock(path, make);
  }
  explicit GatedApplyLock(const std::string& dir) : apply_lock_path_(apply_lock_path(dir)) {}
  std::atomic<bool> at_gate{false}, open{false};

 private:
  const std::string apply_lock_path_;
  std::atomic<bool> gated_{false};
};

// Two applies at once (review 17, finding 9): the sync timer's from revision
// 1 asks for the apply lock while an admin's from revision 2 runs. Planned
// before the lock, the sync apply saw A unchanged at revision 1's ETag and
// recorded that, over the admin's revision 2 now live: the next apply took A
// for drift and refused everything. Planned under the lock, it plans against
// what the admin's apply left, and the record matches the live state.
BOOST_AUTO_TEST_CASE(two_applies_at_once_never_leave_a_stale_record) {
  TempDir rev1, rev2, live;
  PosixFileSystem fs;
  StateStore store(fs, live.path());
  write_file(rev1.file(kA + ".yaml"), file("GET"));
  write_file(rev1.file(kB + ".yaml"), file("GET"));
  write_file(rev2.file(kA + ".yaml"), file("POST"));
  write_file(rev2.file(kB + ".yaml"), file("GET"));
  BOOST_TEST_REQUIRE(apply_plan(store, fs, plan_for(fs, store, rev1.path(), false), false, nullptr).ok());

  GatedApplyLock gated(live.path());
  StateStore sync_store(gated, live.path());
  const auto sync_source = source_of(fs, rev1.path());
  std::optional<Result<std::vector<ApplyStep>>> sync;  // the sync apply, as webhookctl apply runs it
  std::thread sync_apply([&] {  // no BOOST_TEST here: Boost.Test is not thread-safe
    auto locked = plan_under_apply_lock(sync_store, gated, sync_source, false);
    if (!locked.ok()) {
      sync.emplace(locked.error());
      return;
    }
    sync.emplace(apply_plan(sync_store, gated, locked.value(), false, nullptr));
  });
  const bool waited = webhookd_test::wait_until([&] { return gated.at_gate.load(); });
  if (waited) {  // the admin's apply, while the sync apply waits for the lock
    auto admin = apply_plan(store, fs, plan_for(fs, store, rev2.path(), false), false, nullptr);
    BOOST_TEST(admin.ok());
  }
  gated.open = true;
  sync_apply.join();
  BOOST_TEST_REQUIRE(waited);
  BOOST_TEST_REQUIRE(sync->ok(), (sync->ok() ? "" : sync->error().message));
  for (const auto& step : sync->value()) BOOST_TEST(step.status.ok(), step.sid);

  // Every live ETag is one the record accepts: the next apply, of either
  // revision, finds no drift.
  auto record = read_apply_record(fs, live.path());
  BOOST_TEST_REQUIRE(record.ok());
  for (const std::string& sid : {kA, kB}) {
    const std::string etag = store.load(sid).value()->etag;
    const std::vector<std::string>& accepted = record.value()[sid];
    BOOST_TEST((std::find(accepted.begin(), accepted.end(), etag) != accepted.end()), sid << " is live at " << etag);
  }
  for (const TempDir* rev : {&rev1, &rev2}) {
    Plan next = diff_plan(fs, store, rev->path(), false);
    BOOST_TEST(next.drifted == 0);
    for (const ServicePlan& s : next.services) BOOST_TEST(!s.drifted, s.sid << ": " << s.drift_reason);
  }
}

// An account's global webhooks live in git beside its services: AC….yaml in
// the source is checked as webhookd reads it, planned field by field,
// created, updated and removed through the store, and exported.
BOOST_AUTO_TEST_CASE(account_files_are_checked_planned_applied_and_exported) {
  TempDir src, live, dest;
  PosixFileSystem fs;
  StateStore store(fs, live.path());
  const std::string account_file = "pre_webhook_url: null\npost_webhook_url: https://hooks.example.com/global\n"
                                   "filters:\n  - onUserAdded\nmethod: POST\ntarget: webhook\n";
  write_file(src.file(kA + ".yaml"), file("GET"));
  write_file(src.file(kAccount + ".yaml"), account_file);

  // check: valid with the config that lists the account; named without it.
  Config config;
  config.source = "webhookd.yaml";
  config.credentials.account_token_digest["ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"] = std::string(32, 'x');
  auto unknown = read_source_dir(fs, src.path(), &config);
  BOOST_TEST_REQUIRE(unknown.ok());
  BOOST_TEST((unknown.value().problems ==
              std::vector<std::string>{src.file(kAccount + ".yaml") + ": account " + kAccount +
                                       " is not in webhookd.yaml: webhookd serves only the accounts of its config, "
                                       "so it would never read this file"}));
  BOOST_TEST((check_state_file(fs, src.file(kAccount + ".yaml"), true, &config) == unknown.value().problems));
  config.credentials.account_token_digest[kAccount] = std::string(32, 'x');
  auto known = read_source_dir(fs, src.path(), &config);
  BOOST_TEST_REQUIRE(known.ok());
  BOOST_TEST(known.value().problems.empty());
  BOOST_TEST(known.value().services.at(kAccount).config.target.value() == "webhook");
  // An account file is read as one: a service's key in it is a problem.
  write_file(src.file("ACcccccccccccccccccccccccccccccccc.yaml"), "account_sid: " + kAccount + "\n");
  auto wrong_kind = read_source_dir(fs, src.path());
  BOOST_TEST_REQUIRE(wrong_kind.ok());
  BOOST_TEST((wrong_kind.value().problems ==
              std::vector<std::string>{src.file("ACcccccccccccccccccccccccccccccccc.yaml") +
                                       ":1:1: account_sid is not a key of an account's file: its name (AC….yaml) is "
                                       "the account"}));
  std::remove(src.file("ACcccccccccccccccccccccccccccccccc.yaml").c_str());

  // plan and apply: created as a file of its own kind.
  std::optional<LockedPlan> locked;  // one at a time: each holds the apply lock
  auto plan_again = [&]() -> const Plan* {
    locked.reset();
    locked.emplace(plan_for(fs, store, src.path(), true));
    return &locked->plan();
  };
  const Plan* plan = plan_again();
  BOOST_TEST(plan->creates == 2);
  const ServicePlan& created = plan->services.front();  // AC… sorts before IS…
  BOOST_TEST(created.sid == kAccount);
  std::vector<std::string> fields;
  for (const FieldChange& c : created.changes) fields.push_back(c.field + ": " + c.before + " -> " + c.after);
  BOOST_TEST((fields == std::vector<std::string>{"post_webhook_url: null -> https://hooks.example.com/global",
                                                 "filters: null -> [onUserAdded]", "method: null -> POST",
                                                 "target: null -> webhook"}));
  auto applied = apply_plan(store, fs, *locked, false, nullptr);
  BOOST_TEST_REQUIRE(applied.ok());
  for (const auto& step : applied.value()) BOOST_TEST(step.status.ok(), step.sid);
  BOOST_TEST(read_file(live.file(kAccount + ".yaml")) == account_file);
  BOOST_TEST(read_apply_record(fs, live.path()).value().count(kAccount) == 1u);

  // An update, and drift after an API write, as for a service.
  write_file(src.file(kAccount + ".yaml"), "target: flex\n");  // a hand-written source file
  plan = plan_again();
  BOOST_TEST((plan->updates == 1 && plan->drifted == 0));
  BOOST_TEST_REQUIRE(apply_plan(store, fs, *locked, false, nullptr).ok());
  BOOST_TEST(store.load(kAccount).value()->config.target.value() == "flex");
  BOOST_TEST(read_file(live.file(kAccount + ".yaml")) ==
             "pre_webhook_url: null\npost_webhook_url: null\nfilters: []\nmethod: POST\ntarget: flex\n");
  BOOST_TEST_REQUIRE(store.update(kAccount, [](const ServiceState& st) -> Result<WebhookConfig> {
    WebhookConfig c = st.config;
    c.method = "GET";
    return c;
  }).ok());
  write_file(src.file(kAccount + ".yaml"), "target: webhook\n");
  plan = plan_again();
  BOOST_TEST(plan->drifted == 1);
  BOOST_TEST(!apply_plan(store, fs, *locked, false, nullptr).ok());

  // export: the live account file, canonical, beside the services'.
  auto exported = export_live(store, fs, dest.path(), &config);
  BOOST_TEST_REQUIRE(exported.ok());
  BOOST_TEST((exported.value().written == std::vector<std::string>{kAccount, kA}));
  BOOST_TEST(read_file(dest.file(kAccount + ".yaml")) == read_file(live.file(kAccount + ".yaml")));

  // prune: gone from git, the account file goes, and the account reads its defaults.
  std::remove(src.file(kAccount + ".yaml").c_str());
  plan = plan_again();
  BOOST_TEST(plan->removes == 1);
  BOOST_TEST_REQUIRE(apply_plan(store, fs, *locked, true, nullptr).ok());
  BOOST_TEST(list_dir(live.path()).count(kAccount + ".yaml") == 0u);
  BOOST_TEST((store.load(kAccount).value()->config == account_defaults()));
  auto again = export_live(store, fs, dest.path(), &config);
  BOOST_TEST_REQUIRE(again.ok());
  BOOST_TEST((again.value().removed == std::vector<std::string>{kAccount}));
}

// Review 19, finding 2: an account file the config does not list (by hand,
// or its account dropped from the config) exported into git made every
// later apply with that config refuse the checkout. With the config, export
// leaves it out (valid or not: webhookd never reads it), removes an earlier
// export's copy, and what it writes is what apply with the config takes.
BOOST_AUTO_TEST_CASE(export_with_a_config_leaves_out_unlisted_accounts_and_apply_takes_the_result) {
  TempDir live, dest;
  PosixFileSystem fs;
  StateStore store(fs, live.path());
  const std::string stranger = "ACcccccccccccccccccccccccccccccccc", gone = "ACdddddddddddddddddddddddddddddddd";
  write_file(live.file(kA + ".yaml"), file("GET"));
  write_file(live.file(kAccount + ".yaml"), "target: flex\n");
  write_file(live.file(stranger + ".yaml"), "target: flex\n");
  write_file(live.file(gone + ".yaml"), "target: nonsense\n");  // invalid too: still only left out
  write_file(dest.file(stranger + ".yaml"), "target: webhook\n");
  Config config;
  config.source = "webhookd.yaml";
  config.credentials.account_token_digest[kAccount] = std::string(32, 'x');

  auto exported = export_live(store, fs, dest.path(), &config);
  BOOST_TEST_REQUIRE(exported.ok(), (exported.ok() ? "" : exported.error().message));
  BOOST_TEST((exported.value().left_out == std::vector<std::string>{stranger, gone}));
  BOOST_TEST((exported.value().written == std::vector<std::string>{kAccount, kA}));
  BOOST_TEST((exported.value().removed == std::vector<std::string>{stranger}));
  BOOST_TEST((list_dir(dest.path()) == std::set<std::string>{kA + ".yaml", kAccount + ".yaml"}));
  BOOST_TEST(list_dir(live.path()).count(stranger + ".yaml") == 1u);  // the live directory is only read

  // The round trip: the exported checkout is valid with the config, and
  // apply with it has nothing to do but adopt what it finds.
  auto source = read_source_dir(fs, dest.path(), &config);
  BOOST_TEST_REQUIRE(source.ok());
  BOOST_TEST(source.value().problems.empty());
  auto locked = plan_under_apply_lock(store, fs, source.value().services, /*prune=*/false);
  BOOST_TEST_REQUIRE(locked.ok());
  BOOST_TEST((locked.value().plan().creates == 0 && locked.value().plan().updates == 0));
  BOOST_TEST(apply_plan(store, fs, locked.value(), false, nullptr).ok());

}

// The fix19b review, finding 1: without a config, export wrote every account
// file, and apply without a config (which refuses any AC….yaml: nothing
// says which accounts are served) refused the checkout. Without a config no
// account is listed: every account file is left out (invalid or not), a
// copy in dest is removed, the services are exported as always.
BOOST_AUTO_TEST_CASE(export_without_a_config_leaves_out_every_account_file) {
  TempDir live, dest;
  PosixFileSystem fs;
  StateStore store(fs, live.path());
  const std::string invalid = "ACdddddddddddddddddddddddddddddddd";
  write_file(live.file(kA + ".yaml"), file("GET"));
  write_file(live.file(kAccount + ".yaml"), "target: flex\n");
  write_file(live.file(invalid + ".yaml"), "target: nonsense\n");
  write_file(dest.file(kAccount + ".yaml"), "target: webhook\n");  // an earlier export's copy

  auto exported = export_live(store, fs, dest.path());
  BOOST_TEST_REQUIRE(exported.ok(), (exported.ok() ? "" : exported.error().message));
  BOOST_TEST((exported.value().left_out == std::vector<std::string>{kAccount, invalid}));
  BOOST_TEST((exported.value().written == std::vector<std::string>{kA}));
  BOOST_TEST((exported.value().removed == std::vector<std::string>{kAccount}));
  BOOST_TEST((list_dir(dest.path()) == std::set<std::string>{kA + ".yaml"}));
  BOOST_TEST(list_dir(live.path()).count(kAccount + ".yaml") == 1u);  // the live directory is only read

  auto source = read_source_dir(fs, dest.path(), nullptr);
  BOOST_TEST_REQUIRE(source.ok());
  BOOST_TEST(source.value().problems.empty());
  auto locked = plan_under_apply_lock(store, fs, source.value().services, /*prune=*/false);
  BOOST_TEST_REQUIRE(locked.ok());
  BOOST_TEST((locked.value().plan().creates == 0 && locked.value().plan().updates == 0));
}

BOOST_AUTO_TEST_SUITE_END()
