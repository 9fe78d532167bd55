#define BOOST_TEST_DYN_LINK
#include "store/state_store.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>

#include "model/state_file.h"
#include "test_support.h"

using namespace webhookd;
using webhookd_test::list_dir;
using webhookd_test::read_file;
using webhookd_test::TempDir;
using webhookd_test::write_file;
using webhookd_test::FaultyFileSystem;
using webhookd_test::Op;
using webhookd_test::wait_until;

namespace webhookd {
// The unit tests' one window into the store's private state: how many
// updates of a service wait in its write queue, the one writing included.
struct StateStoreTestPeer {
  static size_t queued_updates(StateStore& store, const std::string& sid) { return store.queued_updates(sid); }
};
}  // namespace webhookd

namespace {

const std::string kSid = "ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const std::string kAccount = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
// Hand-written, not canonical: a failed update must leave these exact bytes.
const std::string kHandEdited =
    "# owned by the messaging team\naccount_sid: ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nmethod: post   # why not\n";

StateStore::Mutation set_method(const std::string& method) {
  return [method](const ServiceState& s) -> Result<WebhookConfig> {
    const WebhookConfig& c = s.config;
    WebhookConfig next = c;
    next.method = method;
    return next;
  };
}

// The real file system, except that the first fsync of a temp file waits
// until the test opens the gate, and fsyncs from the n-th on fail: so a test
// can queue updates behind a write in progress, then see what the next write
// carries or what its failure does.
class GatedFileSystem : public PosixFileSystem {
 public:
  std::atomic<int> syncs{0}, renames{0};
  std::atomic<bool> at_gate{false}, open{false};
  int fail_from_sync = 0;  // 0: never

  Status sync(int fd) override {
    int n = ++syncs;
    if (n == 1) {
      at_gate = true;
      // Bounded: a test that never opens the gate fails instead of hanging.
      if (!wait_until([&] { return open.load(); })) return Error::io("gate never opened", ETIMEDOUT);
    }
    if (fail_from_sync && n >= fail_from_sync) return Error::io("injected: fsync EIO", EIO);
    return PosixFileSystem::sync(fd);
  }
  Status rename(const std::string& from, const std::string& to) override {
    ++renames;
    return PosixFileSystem::rename(from, to);
  }
};

StateStore::Mutation add_filter(const std::string& name, std::atomic<int>* calls = nullptr) {
  return [name, calls](const ServiceState& s) -> Result<WebhookConfig> {
    const WebhookConfig& c = s.config;
    if (calls) ++*calls;
    WebhookConfig next = c;
    std::vector<std::string> filters = c.filters.value_or(std::vector<std::string>{});
    filters.push_back(name);
    next.filters = filters;
    return next;
  };
}

// Starts a write that stops at the gate, then `names.size()` updates that
// queue behind it; once all of them are queued (and nothing renamed yet),
// opens the gate and joins them all. Their results: the first write's
// (method GET), then one per name (that filter added).
std::vector<Result<ServiceStatePtr>> commit_behind_a_write(StateStore& store, GatedFileSystem& fs,
                                                           const std::vector<std::string>& names) {
  std::vector<Result<ServiceStatePtr>> results(names.size() + 1, Result<ServiceStatePtr>(Error::internal("not run")));
  std::vector<std::thread> threads;
  threads.emplace_back([&store, &results] { results[0] = store.update(kSid, set_method("GET")); });
  BOOST_TEST_REQUIRE(wait_until([&] { return fs.at_gate.load(); }), "the first write never reached fsync");
  for (size_t i = 0; i < names.size(); ++i) {
    threads.emplace_back(
        [&store, &results, i, name = names[i]] { results[i + 1] = store.update(kSid, add_filter(name)); });
  }
  BOOST_TEST_REQUIRE(
      wait_until([&] { return StateStoreTestPeer::queued_updates(store, kSid) == names.size() + 1; }),
      "the updates never queued behind the write");
  BOOST_TEST(fs.renames == 0);  // the first write is still at the gate
  fs.open = true;
  for (auto& t : threads) t.join();
  return results;
}

ino_t inode(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

}  // namespace

// Every case has its own deadlines; the suite-wide timeout is the last
// resort against a hang nobody foresaw.
BOOST_AUTO_TEST_SUITE(state_store, *boost::unit_test::timeout(300))

BOOST_AUTO_TEST_CASE(every_edit_is_seen_even_same_size_and_same_second) {
  // The cache is keyed on the file's bytes, never on timestamps.
  TempDir dir;
  PosixFileSystem fs;
  StateStore store(fs, dir.path());
  const std::string a = "account_sid: " + kAccount + "\nmethod: POST\n";
  const std::string b = "account_sid: " + kAccount + "\nmethod: GET \n";  // same size
  for (int i = 0; i < 20; ++i) {
    write_file(dir.file(kSid + ".yaml"), i % 2 ? b : a);
    BOOST_TEST(store.load(kSid).value()->config.method.value() == (i % 2 ? "GET" : "POST"));
  }
}

BOOST_AUTO_TEST_CASE(unchanged_bytes_are_not_parsed_again) {
  TempDir dir;
  PosixFileSystem fs;
  StateStore store(fs, dir.path());
  write_file(dir.file(kSid + ".yaml"), kHandEdited);
  auto first = store.load(kSid).value();
  auto second = store.load(kSid).value();
  BOOST_TEST(first.get() == second.get());  // the very same parsed state
  BOOST_TEST(first->etag == config_etag(first->config));
  write_file(dir.file(kSid + ".yaml"), kHandEdited + "# a comment\n");
  auto third = store.load(kSid).value();
  BOOST_TEST(third.get() != first.get());  // new bytes, parsed again
  BOOST_TEST(third->etag == first->etag);  // same configuration, same ETag
  write_file(dir.file(kSid + ".yaml"), emit_state_file(first->config));  // canonical: the ETag comes from the bytes
  auto fourth = store.load(kSid).value();
  BOOST_TEST(fourth.get() != third.get());
  BOOST_TEST(fourth->etag == first->etag);
}

// A GET's read (snapshot): webhookd's own files answered from views into
// their bytes, proven the same byte for byte; any edit, even of the same
// size in the same second, seen by the very next read, whether the file was
// compact or hot.
BOOST_AUTO_TEST_CASE(a_snapshot_sees_every_edit_and_agrees_with_load) {
  TempDir dir;
  PosixFileSystem fs;
  StateStore store(fs, dir.path());
  auto canonical = [&](const std::string& method) {
    WebhookConfig c;
    c.account_sid = kAccount;
    c.pre_webhook_url = "https://x/pre";
    c.filters = std::vector<std::string>{"onMessageAdded"};
    c.method = method;
    return emit_state_file(c);
  };
  const std::string files[] = {canonical("POST"), canonical("GET"), kHandEdited};
  std::string bytes;
  for (int round = 0; round < 3 * static_cast<int>(StateStore::kHotAfterReads); ++round) {
    const std::string& text = files[round % 3];
    write_file(dir.file(kSid + ".yaml"), text);
    // Each file read several times in a row: compact, then hot.
    for (unsigned i = 0; i < StateStore::kHotAfterReads + 2; ++i) {
      BOOST_TEST_CONTEXT("round " << round << " read " << i) {
        auto snap = store.snapshot(kSid, &bytes);
        BOOST_TEST_REQUIRE(snap.ok());
        auto read = read_state_file(text, "x");
        BOOST_TEST_REQUIRE(read.ok());
        BOOST_TEST(bytes == text);
        if (snap.value().view) {
          BOOST_TEST((config_of(*snap.value().view) == read.value().config));
          BOOST_TEST(snap.value().etag == read.value().etag);
        } else {
          BOOST_TEST((snap.value().state->config == read.value().config));
          BOOST_TEST(snap.value().state->etag == read.value().etag);
        }
        // webhookd's own files take the view until they are hot (the first
        // read and kHotAfterReads - 1 more; then kept whole); a hand edit
        // never does.
        const bool hot = i >= StateStore::kHotAfterReads;
        BOOST_TEST(snap.value().view.has_value() == (text != kHandEdited && !hot));
      }
    }
  }
}

// A hot service the parse cache dropped (more hot services than it holds)
// is kept whole again after kHotAfterReads more reads, not never again; and
// not on every read, which would rebuild a state per GET.
BOOST_AUTO_TEST_CASE(a_hot_service_pushed_out_of_the_parse_cache_is_kept_whole_again) {
  TempDir dir;
  PosixFileSystem fs;
  StateStore store(fs, dir.path(), /*cache_capacity=*/1);  // one entry in each of the 8 shards
  std::vector<std::string> sids;
  for (int i = 0; i < 64; ++i) {
    sids.push_back(numbered_sid("IS", i));
    WebhookConfig c;
    c.account_sid = kAccount;
    c.pre_webhook_url = "https://x/" + std::to_string(i);
    write_file(dir.file(sids.back() + ".yaml"), emit_state_file(c));
  }
  std::string bytes;
  auto whole = [&](const std::string& sid) {
    auto snap = store.snapshot(sid, &bytes);
    BOOST_TEST_REQUIRE(snap.ok());
    return !snap.value().view.has_value();
  };
  for (unsigned i = 0; i < StateStore::kHotAfterReads; ++i) BOOST_TEST(!whole(sids[0]));
  BOOST_TEST(whole(sids[0]));  // hot: kept whole
  // 63 other services made hot push it out of its shard's one entry.
  for (size_t s = 1; s < sids.size(); ++s) {
    for (unsigned i = 0; i <= StateStore::kHotAfterReads; ++i) (void)whole(sids[s]);
  }
  int compact_reads = 0;
  while (!whole(sids[0]) && compact_reads < 100) ++compact_reads;
  BOOST_TEST(compact_reads == static_cast<int>(StateStore::kHotAfterReads) - 1);
}

// Hand-written files (not webhookd's own form) past what the parse cache
// holds: each parsed once, then known by its SHA-256 (the compact cache),
// and an edit of the same size is still seen by the very next read,
// through snapshot and load alike.
class LookupCounter : public StoreObserver {
 public:
  void parse_cache_lookup(bool hit) override { ++(hit ? hits : misses); }
  void state_error(StateError) override {}
  void group_commit(bool, size_t, std::chrono::nanoseconds) override {}
  std::atomic<int> hits{0}, misses{0};
};

// A store over a fresh directory whose parse cache holds 8, its lookups counted.
struct CountedStore {
  TempDir dir;
  PosixFileSystem fs;
  LookupCounter lookups;
  StateStore store{fs, dir.path(), /*cache_capacity=*/8, &lookups};
};

BOOST_AUTO_TEST_CASE(hand_written_files_past_the_parse_cache_are_parsed_once_and_every_edit_seen) {
  CountedStore counted;
  TempDir& dir = counted.dir;
  LookupCounter& lookups = counted.lookups;
  StateStore& store = counted.store;
  auto hand_written = [](int i, const char* method) {
    char text[200];
    std::snprintf(text, sizeof text,
                  "# service %d, by hand\naccount_sid: ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
                  "pre_webhook_url: 'https://x/%04d'\nmethod: %s\n",
                  i, i, method);
    return std::string(text);
  };
  std::vector<std::string> sids;
  for (int i = 0; i < 200; ++i) {
    sids.push_back(numbered_sid("IS", i));
    write_file(dir.file(sids.back() + ".yaml"), hand_written(i, "post"));
    BOOST_TEST_REQUIRE(!read_canonical_view(hand_written(i, "post"), Scope::kService).has_value());
  }
  std::string bytes;
  auto check = [&](int i, const char* method, bool use_load) {
    const std::string text = hand_written(i, method);
    auto want = read_state_file(text, "x");
    BOOST_TEST_REQUIRE(want.ok());
    ServiceStatePtr got;
    if (use_load) {
      got = store.load(sids[i]).value();
    } else {
      auto snap = store.snapshot(sids[i], &bytes);
      BOOST_TEST_REQUIRE(snap.ok());
      BOOST_TEST_REQUIRE(!snap.value().view.has_value());
      got = snap.value().state;
    }
    BOOST_TEST((got->config == want.value().config));
    BOOST_TEST(got->etag == want.value().etag);
  };
  for (int i = 0; i < 200; ++i) check(i, "post", false);
  BOOST_TEST(lookups.misses.load() == 200);
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 200; ++i) check(i, "post", round == 1);
  }
  BOOST_TEST(lookups.misses.load() == 200);  // not one parse more
  // The same size, the same second: seen at once.
  for (int i = 0; i < 200; i += 7) {
    write_file(dir.file(sids[i] + ".yaml"), hand_written(i, "GET "));
    check(i, "GET ", i % 2 == 0);
    check(i, "GET ", i % 2 == 1);
  }
}

// Accounts' hand-written files too: past the parse cache, known by their
// digest under the account's own key, each edit seen.
BOOST_AUTO_TEST_CASE(hand_written_account_files_past_the_parse_cache) {
  CountedStore counted;
  TempDir& dir = counted.dir;
  LookupCounter& lookups = counted.lookups;
  StateStore& store = counted.store;
  auto text = [](int i, const char* method) {
    char t[200];
    std::snprintf(t, sizeof t, "# account %d, by hand\nmethod: %s\ntarget: flex\npre_webhook_url: 'https://a/%04d'\n",
                  i, method, i);
    return std::string(t);
  };
  std::vector<std::string> sids;
  for (int i = 0; i < 60; ++i) {
    sids.push_back(numbered_sid("AC", i));
    write_file(dir.file(sids.back() + ".yaml"), text(i, "get"));
  }
  std::string bytes;
  auto check = [&](int i, const char* method) {
    auto want = read_state_file(text(i, method), "x", Scope::kAccount);
    BOOST_TEST_REQUIRE(want.ok());
    auto snap = store.snapshot(sids[i], &bytes);
    BOOST_TEST_REQUIRE(snap.ok());
    BOOST_TEST_REQUIRE(snap.value().state != nullptr);
    BOOST_TEST((snap.value().state->config == want.value().config));
    BOOST_TEST(snap.value().state->etag == want.value().etag);
    BOOST_TEST((store.load(sids[i]).value()->config == want.value().config));
  };
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 60; ++i) check(i, "get");
  }
  BOOST_TEST(lookups.misses.load() == 60);
  for (int i = 0; i < 60; i += 7) {
    write_file(dir.file(sids[i] + ".yaml"), text(i, "GET"));  // the same size
    check(i, "GET");
  }
}

BOOST_AUTO_TEST_CASE(a_snapshot_reports_as_load_does) {
  TempDir dir;
  PosixFileSystem fs;
  StateStore store(fs, dir.path());
  std::string bytes;
  BOOST_TEST(store.snapshot(kSid, &bytes).error().is_not_found());
  BOOST_TEST((store.snapshot("ISxyz", &bytes).error().code == ErrorCode::kInvalidArgument));
  write_file(dir.file(kSid + ".yaml"), "account_sid: [\n");
  BOOST_TEST((store.snapshot(kSid, &bytes).error().code == ErrorCode::kCorruption));
  auto defaults = store.snapshot(kAccount, &bytes);  // an account with no file: its defaults
  BOOST_TEST_REQUIRE(defaults.ok());
  BOOST_TEST(!defaults.value().view.has_value());
  BOOST_TEST(defaults.value().state.get() == store.load(kAccount).value().get());
}

BOOST_AUTO_TEST_CASE(load_missing_valid_and_invalid) {
  TempDir dir;
  PosixFileSystem fs;
  StateStore store(fs, dir.path());
  auto missing = store.load(kSid);
  BOOST_TEST_REQUIRE(!missing.ok());
  BOOST_TEST((missing.error().code == ErrorCode::kNotFound));
  auto not_a_sid = store.load("../etc/passwd");
  BOOST_TEST_REQUIRE(!not_a_sid.ok());
  BOOST_TEST((not_a_sid.error().code == ErrorCode::kInvalidArgument));

  write_file(dir.file(kSid + ".yaml"), kHandEdited);
  auto loaded = store.load(kSid);
  BOOST_TEST_REQUIRE(loaded.ok());
  BOOST_TEST(loaded.value()->config.method.value() == "POST");

  write_file(dir.file(kSid + ".yaml"), kHandEdited + "bogus: 1\n");
  auto invalid = store.load(kSid);
  BOOST_TEST_REQUIRE(!invalid.ok());
  BOOST_TEST((invalid.error().code == ErrorCode::kCorruption));
  BOOST_TEST(invalid.error().message.find(kSid + ".yaml:4:1: unknown key 'bogus'") != std::string::npos,
             invalid.error().message);
}

BOOST_AUTO_TEST_CASE(update_writes_canonical_bytes_atomically) {
  TempDir dir;
  PosixFileSystem fs;
  StateStore store(fs, dir.path());
  write_file(dir.file(kSid + ".yaml"), kHandEdited);
  auto result = store.update(kSid, set_method("GET"));
  BOOST_TEST_REQUIRE(result.ok());
  BOOST_TEST(result.value()->config.method.value() == "GET");
  WebhookConfig want;
  want.account_sid = kAccount;
  want.method = "GET";
  BOOST_TEST(read_file(dir.file(kSid + ".yaml")) == emit_state_file(want));
  BOOST_TEST((list_dir(dir.path()) == std::set<std::string>{kSid + ".yaml", "." + kSid + ".lock"}));
}

BOOST_AUTO_TEST_CASE(update_of_missing_service_creates_nothing) {
  TempDir dir;
  PosixFileSystem fs;
  StateStore store(fs, dir.path());
  auto result = store.update(kSid, set_method("GET"));
  BOOST_TEST_REQUIRE(!result.ok());
  BOOST_TEST((result.error().code == ErrorCode::kNotFound));
  BOOST_TEST(list_dir(dir.path()).empty());  // not even a lock file
}

BOOST_AUTO_TEST_CASE(a_no_op_update_does_not_rewrite_the_file) {
  TempDir dir;
  FaultyFileSystem fs;
  StateStore store(fs, dir.path());
  write_file(dir.file(kSid + ".yaml"), kHandEdited);
  ino_t before = inode(dir.file(kSid + ".yaml"));
  auto result = store.update(kSid, set_method("POST"));  // already POST
  BOOST_TEST_REQUIRE(result.ok());
  BOOST_TEST(fs.temps_created == 0);
  BOOST_TEST(inode(dir.file(kSid + ".yaml")) == before);
  BOOST_TEST(read_file(dir.file(kSid + ".yaml")) == kHandEdited);  // comments survive
}

BOOST_AUTO_TEST_CASE(an_invalid_file_is_never_overwritten) {
  TempDir dir;
  FaultyFileSystem fs;
  StateStore store(fs, dir.path());
  const std::string broken = kHandEdited + "method: GET\n";  // duplicate key
  write_file(dir.file(kSid + ".yaml"), broken);
  auto result = store.update(kSid, set_method("GET"));
  BOOST_TEST_REQUIRE(!result.ok());
  BOOST_TEST((result.error().code == ErrorCode::kCorruption));
  BOOST_TEST(fs.temps_created == 0);
  BOOST_TEST(read_file(dir.file(kSid + ".yaml")) == broken);
}

BOOST_AUTO_TEST_CASE(a_refused_mutation_writes_nothing) {
  TempDir dir;
  FaultyFileSystem fs;
  StateStore store(fs, dir.path());
  write_file(dir.file(kSid + ".yaml"), kHandEdited);
  auto result = store.update(kSid, [](const ServiceState&) -> Result<WebhookConfig> {
    return Error::conflict("precondition");
  });
  BOOST_TEST_REQUIRE(!result.ok());
  BOOST_TEST((result.error().code == ErrorCode::kConflict));
  BOOST_TEST(result.error().message == "precondition");  // passed back untouched
  BOOST_TEST(fs.temps_created == 0);
  BOOST_TEST(list_dir(dir.path()).count("." + kSid + ".lock") == 0u);  // decided without the lock
}

// The store under injected failures: the caller gets kIOError (a 500), the
// old file is intact byte for byte, and no temp file is left behind.
BOOST_AUTO_TEST_CASE(every_failing_step_leaves_the_old_file_and_no_temp) {
  struct Case {
    const char* name;
    Op op;
    const char* detail;
  } cases[] = {
      {"lock fails", Op::kLock, "lock"},
      {"create temp fails", Op::kCreateTemp, "mkstemp"},
      {"write fails half way (ENOSPC)", Op::kWrite, "ENOSPC"},
      {"fsync fails (EIO)", Op::kSync, "fsync EIO"},
      {"close fails", Op::kClose, "close"},
      {"rename fails", Op::kRename, "rename"},
      {"directory fsync fails", Op::kSyncDir, "directory fsync"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      TempDir dir;
      FaultyFileSystem fs;
      fs.fail = c.op;
      StateStore store(fs, dir.path());
      write_file(dir.file(kSid + ".yaml"), kHandEdited);
      auto result = store.update(kSid, set_method("GET"));
      BOOST_TEST_REQUIRE(!result.ok());
      BOOST_TEST((result.error().code == ErrorCode::kIOError));
      BOOST_TEST(result.error().message.find(c.detail) != std::string::npos, result.error().message);
      BOOST_TEST(read_file(dir.file(kSid + ".yaml")) == kHandEdited);
      std::set<std::string> left = list_dir(dir.path());
      left.erase("." + kSid + ".lock");
      BOOST_TEST((left == std::set<std::string>{kSid + ".yaml"}));
      // And the store still works once the disk does.
      fs.fail = Op::kNone;
      BOOST_TEST(store.update(kSid, set_method("GET")).ok());
      BOOST_TEST(store.load(kSid).value()->config.method.value() == "GET");
    }
  }
}

// The fix19b review, finding 2: the host out of descriptors right after the
// rename. The directory's fsync used to open it then (EMFILE), putting the
// old bytes back needs a temp file (EMFILE again): the new file stayed while
// the caller heard 503, "nothing written". The directory is now opened
// before the write and fsynced through that descriptor: the answer matches
// the disk. Out of descriptors before the write: 503 and nothing written.
BOOST_AUTO_TEST_CASE(out_of_descriptors_the_answer_matches_what_is_on_disk) {
  const std::string other = "ISbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
  BOOST_TEST_CONTEXT("update, nothing opens after the rename") {
    TempDir dir;
    FaultyFileSystem fs;
    fs.out_of_descriptors_after_rename = true;
    StateStore store(fs, dir.path());
    write_file(dir.file(kSid + ".yaml"), kHandEdited);
    auto result = store.update(kSid, set_method("GET"));
    BOOST_TEST_REQUIRE(fs.renamed);
    BOOST_TEST_REQUIRE(result.ok(), (result.ok() ? "" : result.error().message));
    BOOST_TEST(read_file(dir.file(kSid + ".yaml")).find("method: GET\n") != std::string::npos);
  }
  BOOST_TEST_CONTEXT("create, nothing opens after the rename") {
    TempDir dir;
    FaultyFileSystem fs;
    fs.out_of_descriptors_after_rename = true;
    StateStore store(fs, dir.path());
    WebhookConfig config;
    config.account_sid = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    auto created = store.create(other, config);
    BOOST_TEST_REQUIRE(created.ok(), (created.ok() ? "" : created.error().message));
    BOOST_TEST(list_dir(dir.path()).count(other + ".yaml") == 1u);
  }
  BOOST_TEST_CONTEXT("overwrite of an invalid file, nothing opens after the rename") {
    TempDir dir;
    FaultyFileSystem fs;
    fs.out_of_descriptors_after_rename = true;
    StateStore store(fs, dir.path());
    write_file(dir.file(kSid + ".yaml"), "account_sid: x\n");
    WebhookConfig config;
    config.account_sid = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    auto written = store.overwrite_invalid(kSid, config);
    BOOST_TEST_REQUIRE(written.ok(), (written.ok() ? "" : written.error().message));
    BOOST_TEST(read_file(dir.file(kSid + ".yaml")) != "account_sid: x\n");
  }
  BOOST_TEST_CONTEXT("the directory does not open before the write: 503, nothing written") {
    TempDir dir;
    FaultyFileSystem fs;
    fs.fail = Op::kOpenDir;
    StateStore store(fs, dir.path());
    write_file(dir.file(kSid + ".yaml"), kHandEdited);
    auto result = store.update(kSid, set_method("GET"));
    BOOST_TEST_REQUIRE(!result.ok());
    BOOST_TEST((result.error().code == ErrorCode::kUnavailable));
    BOOST_TEST(fs.temps_created == 0);
    BOOST_TEST(read_file(dir.file(kSid + ".yaml")) == kHandEdited);
    const std::string etag = store.load(kSid).value()->etag;
    Status removed = store.remove(kSid, etag);
    BOOST_TEST_REQUIRE(!removed.ok());
    BOOST_TEST((removed.error().code == ErrorCode::kUnavailable));
    BOOST_TEST(read_file(dir.file(kSid + ".yaml")) == kHandEdited);
    WebhookConfig config;
    config.account_sid = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    auto created = store.create(other, config);
    BOOST_TEST_REQUIRE(!created.ok());
    BOOST_TEST((created.error().code == ErrorCode::kUnavailable));
    BOOST_TEST(list_dir(dir.path()).count(other + ".yaml") == 0u);
  }
}

// A sick host steps aside, a bad file does not take it out: the same errno
// on a file is kUnavailable (503) only when the state directory fails too,
// and stays kIOError (500) when the directory works. Reads and writes alike;
// nothing is written either way.
BOOST_AUTO_TEST_CASE(a_failing_directory_is_unavailable_a_failing_file_is_not) {
  struct Case {
    const char* name;
    int file_errno, dir_errno;
    ErrorCode want;
  } cases[] = {
      {"EIO on the file alone", EIO, 0, ErrorCode::kIOError},
      {"EIO on the directory", EIO, EIO, ErrorCode::kUnavailable},
      {"ENOTCONN on the file alone", ENOTCONN, 0, ErrorCode::kIOError},
      {"ENOTCONN on the directory (a dead FUSE client)", ENOTCONN, ENOTCONN, ErrorCode::kUnavailable},
      {"ESTALE on the file alone", ESTALE, 0, ErrorCode::kIOError},
      {"ESTALE on the directory", ESTALE, ESTALE, ErrorCode::kUnavailable},
      {"EACCES on the file alone (a person's chmod)", EACCES, 0, ErrorCode::kIOError},
      {"EACCES on the directory", EACCES, EACCES, ErrorCode::kUnavailable},
      // A probe that fails for want of a descriptor says nothing of the
      // directory: the file's own error stands. (An open that fails with
      // EMFILE is kUnavailable by itself: file_system_test.)
      {"EIO on the file, the probe out of descriptors", EIO, EMFILE, ErrorCode::kIOError},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      TempDir dir;
      FaultyFileSystem fs;
      StateStore store(fs, dir.path());
      write_file(dir.file(kSid + ".yaml"), kHandEdited);
      fs.read_errno = c.file_errno;
      fs.dir_errno = c.dir_errno;
      auto loaded = store.load(kSid);
      BOOST_TEST_REQUIRE(!loaded.ok());
      BOOST_TEST(loaded.error().code == c.want);
      BOOST_TEST(loaded.error().os_errno == c.file_errno);
      BOOST_TEST(loaded.error().message.find(std::strerror(c.file_errno)) != std::string::npos, loaded.error().message);
      auto updated = store.update(kSid, set_method("GET"));
      BOOST_TEST_REQUIRE(!updated.ok());
      BOOST_TEST(updated.error().code == c.want);
      BOOST_TEST(fs.temps_created == 0);
      fs.read_errno = fs.dir_errno = 0;
      BOOST_TEST(read_file(dir.file(kSid + ".yaml")) == kHandEdited);
      BOOST_TEST(store.load(kSid).ok());  // serves again once it works
    }
  }
  // A missing file in a directory that fails is no 404 (review 18, finding
  // 1): the not-found tests below have the rest.
  TempDir dir;
  FaultyFileSystem fs;
  StateStore store(fs, dir.path());
  fs.dir_errno = ENOTCONN;
  auto missing = store.load(kSid);
  BOOST_TEST_REQUIRE(!missing.ok());
  BOOST_TEST(missing.error().code == ErrorCode::kUnavailable);
  BOOST_TEST(missing.error().os_errno == ENOTCONN);
}

// The directory failing in the middle of a write (the read worked): the
// group hears kUnavailable, and the old file stands.
BOOST_AUTO_TEST_CASE(a_directory_that_fails_during_a_write_is_unavailable) {
  for (Op op : {Op::kLock, Op::kRename, Op::kSyncDir}) {
    BOOST_TEST_CONTEXT("op " << static_cast<int>(op)) {
      TempDir dir;
      FaultyFileSystem fs;
      StateStore store(fs, dir.path());
      write_file(dir.file(kSid + ".yaml"), kHandEdited);
      fs.fail = op;
      fs.dir_errno = ENOTCONN;
      auto updated = store.update(kSid, set_method("GET"));
      BOOST_TEST_REQUIRE(!updated.ok());
      BOOST_TEST(updated.error().code == ErrorCode::kUnavailable);
      BOOST_TEST(updated.error().os_errno == ENOTCONN);
      BOOST_TEST(read_file(dir.file(kSid + ".yaml")) == kHandEdited);
      fs.dir_errno = 0;  // the same failure with a working directory: one request's 500
      auto again = store.update(kSid, set_method("GET"));
      BOOST_TEST_REQUIRE(!again.ok());
      BOOST_TEST(again.error().code == ErrorCode::kIOError);
    }
  }
}

// The POSIX probe itself: a working directory passes, a missing one or a
// file does not (EACCES needs a user without root's override: the e2e test
// runs webhookd as nobody on a chmod 000 directory).
BOOST_AUTO_TEST_CASE(the_posix_probe_tells_a_working_directory) {
  TempDir dir;
  PosixFileSystem fs;
  BOOST_TEST(fs.probe_dir(dir.path()).ok());
  Status missing = fs.probe_dir(dir.file("gone"));
  BOOST_TEST_REQUIRE(!missing.ok());
  BOOST_TEST(missing.error().os_errno == ENOENT);
  write_file(dir.file("plain"), "x");
  Status file = fs.probe_dir(dir.file("plain"));
  BOOST_TEST_REQUIRE(!file.ok());
  BOOST_TEST(file.error().os_errno == ENOTDIR);
  if (::geteuid() != 0) {
    BOOST_TEST_REQUIRE(::chmod(dir.path().c_str(), 0) == 0);
    Status closed = fs.probe_dir(dir.path());
    BOOST_TEST_REQUIRE(::chmod(dir.path().c_str(), 0700) == 0);
    BOOST_TEST_REQUIRE(!closed.ok());
    BOOST_TEST(closed.error().os_errno == EACCES);
  }
}

BOOST_AUTO_TEST_CASE(clean_up_removes_crash_leftovers_and_nothing_else) {
  TempDir dir;
  PosixFileSystem fs;
  StateStore store(fs, dir.path());
  const std::string gone = "ISbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";  // a service deleted through git
  write_file(dir.file(kSid + ".yaml"), kHandEdited);
  write_file(dir.file("." + kSid + ".lock"), "");
  write_file(dir.file("." + kSid + ".tmp.AAAAAA"), "account_sid: torn");
  write_file(dir.file("." + gone + ".lock"), "");
  write_file(dir.file("." + gone + ".tmp.BBBBBB"), "");
  write_file(dir.file(".gitignore"), ".IS*.lock\n");
  write_file(dir.file("notes.txt"), "a person's file");
  auto done = store.clean_up();
  BOOST_TEST_REQUIRE(done.ok());
  BOOST_TEST(done.value().temp_files_removed == 2);
  BOOST_TEST(done.value().lock_files_removed == 1);
  BOOST_TEST((list_dir(dir.path()) ==
              std::set<std::string>{kSid + ".yaml", "." + kSid + ".lock", ".gitignore", "notes.txt"}));
  BOOST_TEST(read_file(dir.file(kSid + ".yaml")) == kHandEdited);
  BOOST_TEST(store.update(kSid, set_method("GET")).ok());  // still locks and writes
  auto again = store.clean_up();
  BOOST_TEST(again.value().temp_files_removed == 0);
  BOOST_TEST(again.value().lock_files_removed == 0);
}

// A FIFO, socket or directory named like a state file is one bad file:
// refused at once as kCorruption (500 at the API, like an invalid edit), never waited on,
// and the other services go on.
BOOST_AUTO_TEST_CASE(a_state_or_lock_file_that_is_not_a_regular_file_is_refused_at_once) {
  TempDir dir;
  PosixFileSystem fs;
  StateStore store(fs, dir.path());
  const std::string fifo = "ISbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", directory = "IScccccccccccccccccccccccccccccccc";
  const std::string fifo_lock = "ISdddddddddddddddddddddddddddddddd";  // a valid file, its lock a FIFO
  const std::string socket = "IS33333333333333333333333333333333";     // a unix socket: open() fails with ENXIO
  const std::string socket_lock = "IS11111111111111111111111111111111";  // a valid file, its lock a socket
  write_file(dir.file(kSid + ".yaml"), kHandEdited);
  write_file(dir.file(fifo_lock + ".yaml"), kHandEdited);
  write_file(dir.file(socket_lock + ".yaml"), kHandEdited);
  BOOST_TEST_REQUIRE(::mkfifo(dir.file(fifo + ".yaml").c_str(), 0644) == 0);
  BOOST_TEST_REQUIRE(::mkdir(dir.file(directory + ".yaml").c_str(), 0755) == 0);
  BOOST_TEST_REQUIRE(::mkfifo(dir.file("." + fifo_lock + ".lock").c_str(), 0644) == 0);
  BOOST_TEST_REQUIRE(webhookd_test::make_socket_file(dir.file(socket + ".yaml")));
  BOOST_TEST_REQUIRE(webhookd_test::make_socket_file(dir.file("." + socket_lock + ".lock")));
  const std::vector<std::string> fifos = {dir.file(fifo + ".yaml"), dir.file("." + fifo_lock + ".lock")};
  struct Case {
    std::string sid, bad_path, kind;
    bool loads;  // only the lock file is bad: reading works, writing does not
  } cases[] = {
      {fifo, dir.file(fifo + ".yaml"), "a FIFO", false},
      {directory, dir.file(directory + ".yaml"), "a directory", false},
      {fifo_lock, dir.file("." + fifo_lock + ".lock"), "a FIFO", true},
      {socket, dir.file(socket + ".yaml"), "a socket", false},
      {socket_lock, dir.file("." + socket_lock + ".lock"), "a socket", true},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.sid) {
      std::optional<Result<ServiceStatePtr>> loaded, updated;
      BOOST_TEST_REQUIRE(webhookd_test::returns_without_blocking(
          [&] {
            loaded.emplace(store.load(c.sid));
            updated.emplace(store.update(c.sid, set_method("GET")));
          },
          fifos));
      const std::string why = c.bad_path + ": not a regular file (" + c.kind + ")";
      if (c.loads) {
        BOOST_TEST(loaded->ok());
      } else {
        BOOST_TEST_REQUIRE(!loaded->ok());
        BOOST_TEST((loaded->error().code == ErrorCode::kCorruption));
        BOOST_TEST(loaded->error().message == why);
      }
      BOOST_TEST_REQUIRE(!updated->ok());
      BOOST_TEST((updated->error().code == ErrorCode::kCorruption));
      BOOST_TEST(updated->error().message == why);
    }
  }
  BOOST_TEST(read_file(dir.file(fifo_lock + ".yaml")) == kHandEdited);  // nothing written past a bad lock
  BOOST_TEST(read_file(dir.file(socket_lock + ".yaml")) == kHandEdited);
  BOOST_TEST(store.update(kSid, set_method("GET")).ok());               // the others go on
  std::string sids;
  BOOST_TEST(store.list_state_files([&](const std::string& sid) { sids += sid + " "; }).ok());
  BOOST_TEST(sids.find(fifo) != std::string::npos);  // listed: it is reported, not hidden
}

// The start-up clean-up reads state files (is the service gone?) and takes
// locks: a FIFO, a socket or a directory under any of webhookd's names never
// holds it up or stops it, is left alone and reported, and the rest is still
// cleaned.
BOOST_AUTO_TEST_CASE(clean_up_never_blocks_on_files_that_are_not_regular) {
  TempDir dir;
  PosixFileSystem fs;
  StateStore store(fs, dir.path());
  const std::string fifo_state = "ISbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";   // state a FIFO, with a lock and a temp
  const std::string fifo_lock = "IScccccccccccccccccccccccccccccccc";    // gone, its lock a FIFO
  const std::string dir_lock = "ISdddddddddddddddddddddddddddddddd";     // gone, its lock a directory, a temp
  const std::string dir_temp = "ISeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";     // gone, a temp that is a directory
  const std::string socket_lock = "IS11111111111111111111111111111111";  // gone, its lock a socket, a temp
  const std::string socket_state = "IS33333333333333333333333333333333"; // state a socket, with a lock and a temp
  write_file(dir.file(kSid + ".yaml"), kHandEdited);
  write_file(dir.file("." + kSid + ".tmp.AAAAAA"), "torn");
  BOOST_TEST_REQUIRE(::mkfifo(dir.file(fifo_state + ".yaml").c_str(), 0644) == 0);
  write_file(dir.file("." + fifo_state + ".lock"), "");
  BOOST_TEST_REQUIRE(::mkfifo(dir.file("." + fifo_state + ".tmp.FIFO00").c_str(), 0644) == 0);
  BOOST_TEST_REQUIRE(::mkfifo(dir.file("." + fifo_lock + ".lock").c_str(), 0644) == 0);
  BOOST_TEST_REQUIRE(::mkdir(dir.file("." + dir_lock + ".lock").c_str(), 0755) == 0);
  write_file(dir.file("." + dir_lock + ".tmp.BBBBBB"), "");
  BOOST_TEST_REQUIRE(::mkdir(dir.file("." + dir_temp + ".tmp.DIR000").c_str(), 0755) == 0);
  // Sockets: open() fails with ENXIO before fstat could say what they are.
  BOOST_TEST_REQUIRE(webhookd_test::make_socket_file(dir.file("." + socket_lock + ".lock")));
  write_file(dir.file("." + socket_lock + ".tmp.CCCCCC"), "");
  BOOST_TEST_REQUIRE(webhookd_test::make_socket_file(dir.file(socket_state + ".yaml")));
  write_file(dir.file("." + socket_state + ".lock"), "");
  write_file(dir.file("." + socket_state + ".tmp.DDDDDD"), "torn");
  std::optional<Result<StateStore::CleanUp>> done;
  BOOST_TEST_REQUIRE(webhookd_test::returns_without_blocking(
      [&] { done.emplace(store.clean_up()); },
      {dir.file(fifo_state + ".yaml"), dir.file("." + fifo_state + ".tmp.FIFO00"), dir.file("." + fifo_lock + ".lock")}));
  BOOST_TEST_REQUIRE(done->ok(), (done->ok() ? "" : done->error().message));
  // kSid's, the FIFO temp (unlink opens nothing) and the socket service's
  BOOST_TEST(done->value().temp_files_removed == 3);
  BOOST_TEST(done->value().lock_files_removed == 1);  // dir_temp's, made by taking its lock
  std::set<std::string> skipped(done->value().skipped.begin(), done->value().skipped.end());
  BOOST_TEST((skipped == std::set<std::string>{
                             dir.file("." + fifo_lock + ".lock") + ": not a regular file (a FIFO)",
                             dir.file("." + dir_lock + ".lock") + ": not a regular file (a directory)",
                             dir.file("." + dir_temp + ".tmp.DIR000") + ": not a regular file (a directory)",
                             dir.file("." + socket_lock + ".lock") + ": not a regular file (a socket)",
                         }));
  BOOST_TEST((list_dir(dir.path()) == std::set<std::string>{
                                          kSid + ".yaml", "." + kSid + ".lock", fifo_state + ".yaml",
                                          "." + fifo_state + ".lock",
                                          "." + fifo_lock + ".lock", "." + dir_lock + ".lock",
                                          "." + dir_lock + ".tmp.BBBBBB", "." + dir_temp + ".tmp.DIR000",
                                          "." + socket_lock + ".lock", "." + socket_lock + ".tmp.CCCCCC",
                                          socket_state + ".yaml", "." + socket_state + ".lock"}));
}

BOOST_AUTO_TEST_CASE(clean_up_waits_for_a_writer_holding_the_lock) {
  TempDir dir;
  PosixFileSystem fs;
  StateStore store(fs, dir.path());
  write_file(dir.file(kSid + ".yaml"), kHandEdited);
  const std::string temp = dir.file("." + kSid + ".tmp.LIVE00");
  write_file(temp, "being written");
  auto held = fs.lock(dir.file("." + kSid + ".lock"), FileSystem::LockFile::kCreate);  // a writer, mid-write
  BOOST_TEST_REQUIRE(held.ok());
  std::atomic<bool> finished{false}, cleaned{false};
  std::thread cleaner([&] {  // no BOOST_TEST here: Boost.Test is not thread-safe
    cleaned = store.clean_up().ok();
    finished = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  BOOST_TEST(!finished.load());
  BOOST_TEST(list_dir(dir.path()).count("." + kSid + ".tmp.LIVE00") == 1u);  // not pulled from under the writer
  held.value().reset();
  BOOST_TEST_REQUIRE(wait_until([&] { return finished.load(); }), "clean_up never finished after the lock was freed");
  cleaner.join();
  BOOST_TEST(cleaned.load());
  BOOST_TEST(list_dir(dir.path()).count("." + kSid + ".tmp.LIVE00") == 0u);
}

// webhookctl apply writes its record through a temp file too; a crash leaves
// it behind. It goes at start-up, under the apply lock (an apply holds it for
// as long as its temp file exists); the record itself stays.
BOOST_AUTO_TEST_CASE(clean_up_removes_the_apply_records_temp_under_the_apply_lock) {
  TempDir dir;
  PosixFileSystem fs;
  StateStore store(fs, dir.path());
  write_file(dir.file(kSid + ".yaml"), kHandEdited);
  auto nothing = store.clean_up();  // no temp: no apply lock file either
  BOOST_TEST_REQUIRE(nothing.ok());
  BOOST_TEST((list_dir(dir.path()) == std::set<std::string>{kSid + ".yaml"}));

  write_file(dir.file(".webhookd-applied"), "# the record\n");
  write_file(dir.file(".webhookd-applied.tmp.CCCCCC"), "# half a record");
  auto apply = fs.lock(dir.file(".webhookd-apply.lock"), FileSystem::LockFile::kCreate);  // an apply, writing its record
  BOOST_TEST_REQUIRE(apply.ok());
  std::atomic<bool> finished{false};
  std::atomic<int> removed{-1};
  std::thread cleaner([&] {  // no BOOST_TEST here: Boost.Test is not thread-safe
    auto done = store.clean_up();
    removed = done.ok() ? done.value().temp_files_removed : -2;
    finished = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  BOOST_TEST(!finished.load());
  BOOST_TEST(list_dir(dir.path()).count(".webhookd-applied.tmp.CCCCCC") == 1u);  // not pulled from under it
  apply.value().reset();
  BOOST_TEST_REQUIRE(wait_until([&] { return finished.load(); }), "clean_up never finished after the lock was freed");
  cleaner.join();
  BOOST_TEST(removed.load() == 1);
  BOOST_TEST((list_dir(dir.path()) ==
              std::set<std::string>{kSid + ".yaml", ".webhookd-applied", ".webhookd-apply.lock"}));
  BOOST_TEST(read_file(dir.file(".webhookd-applied")) == "# the record\n");
}

BOOST_AUTO_TEST_CASE(concurrent_updates_of_different_fields_lose_nothing) {
  TempDir dir;
  PosixFileSystem fs;
  StateStore store(fs, dir.path());
  write_file(dir.file(kSid + ".yaml"), "account_sid: " + kAccount + "\n");
  const int kRounds = 40;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  threads.emplace_back([&] {
    for (int i = 0; i < kRounds; ++i)
      failures += !store.update(kSid, [i](const ServiceState& s) -> Result<WebhookConfig> {
        const WebhookConfig& c = s.config;
        WebhookConfig n = c;
        n.pre_webhook_url = "https://pre/" + std::to_string(i);
        return n;
      }).ok();
  });
  threads.emplace_back([&] {
    for (int i = 0; i < kRounds; ++i)
      failures += !store.update(kSid, [i](const ServiceState& s) -> Result<WebhookConfig> {
        const WebhookConfig& c = s.config;
        WebhookConfig n = c;
        n.post_webhook_url = "https://post/" + std::to_string(i);
        return n;
      }).ok();
  });
  threads.emplace_back([&] {
    for (int i = 0; i < kRounds; ++i) failures += !store.update(kSid, set_method(i % 2 ? "GET" : "POST")).ok();
  });
  threads.emplace_back([&] {
    const char* names[] = {"onMessageAdded", "onMessageUpdated"};
    for (int i = 0; i < kRounds; ++i)
      failures += !store.update(kSid, [&, i](const ServiceState& s) -> Result<WebhookConfig> {
        const WebhookConfig& c = s.config;
        WebhookConfig n = c;
        n.filters = std::vector<std::string>{names[i % 2]};
        return n;
      }).ok();
  });
  for (auto& t : threads) t.join();
  BOOST_TEST(failures.load() == 0);
  auto final = store.load(kSid);
  BOOST_TEST_REQUIRE(final.ok());
  const WebhookConfig& c = final.value()->config;
  BOOST_TEST(c.pre_webhook_url.value() == "https://pre/" + std::to_string(kRounds - 1));
  BOOST_TEST(c.post_webhook_url.value() == "https://post/" + std::to_string(kRounds - 1));
  BOOST_TEST(c.method.value() == ((kRounds - 1) % 2 ? "GET" : "POST"));
  BOOST_TEST(c.filters->at(0) == ((kRounds - 1) % 2 ? "onMessageUpdated" : "onMessageAdded"));
}

BOOST_AUTO_TEST_CASE(updates_queued_behind_a_write_are_committed_by_one_write) {
  TempDir dir;
  GatedFileSystem fs;
  StateStore store(fs, dir.path());
  write_file(dir.file(kSid + ".yaml"), "account_sid: " + kAccount + "\nmethod: POST\n");
  const std::vector<std::string> names = {"onMessageAdd", "onMessageAdded", "onMessageUpdate", "onMessageUpdated",
                                          "onMessageRemove", "onMessageRemoved"};
  const std::vector<Result<ServiceStatePtr>> results = commit_behind_a_write(store, fs, names);

  // One write for the first update, one for all those queued behind it.
  BOOST_TEST(fs.renames == 2);
  BOOST_TEST(list_dir(dir.path()) == (std::set<std::string>{kSid + ".yaml", "." + kSid + ".lock"}));
  auto final = store.load(kSid);
  BOOST_TEST_REQUIRE(final.ok());
  BOOST_TEST(final.value()->config.method.value() == "GET");
  std::set<std::string> on_disk(final.value()->config.filters->begin(), final.value()->config.filters->end());
  BOOST_TEST(on_disk == std::set<std::string>(names.begin(), names.end()));
  // Each caller got the state its own update produced: its filter and those
  // applied before it, so the group's results have 1, 2, ... n filters.
  std::set<size_t> sizes;
  for (size_t i = 1; i < results.size(); ++i) {
    BOOST_TEST_REQUIRE(results[i].ok());
    const auto& filters = *results[i].value()->config.filters;
    BOOST_TEST((std::find(filters.begin(), filters.end(), names[i - 1]) != filters.end()));
    sizes.insert(filters.size());
    if (filters.size() == names.size()) BOOST_TEST(results[i].value()->etag == final.value()->etag);
  }
  BOOST_TEST(sizes.size() == names.size());
  BOOST_TEST(*sizes.rbegin() == names.size());
  // The ETag the store reports is the one a fresh reader of the file finds.
  PosixFileSystem plain;
  StateStore fresh(plain, dir.path());
  auto reread = fresh.load(kSid);
  BOOST_TEST_REQUIRE(reread.ok());
  BOOST_TEST(reread.value()->etag == final.value()->etag);
  BOOST_TEST(reread.value()->etag == config_etag(final.value()->config));
}

BOOST_AUTO_TEST_CASE(a_group_whose_write_fails_reports_the_error_to_every_member) {
  TempDir dir;
  GatedFileSystem fs;
  fs.fail_from_sync = 2;  // the first write succeeds, the group's fails
  StateStore store(fs, dir.path());
  write_file(dir.file(kSid + ".yaml"), "account_sid: " + kAccount + "\nmethod: POST\n");
  const std::vector<std::string> names = {"onMessageAdd", "onMessageAdded", "onMessageUpdate"};
  const std::vector<Result<ServiceStatePtr>> results = commit_behind_a_write(store, fs, names);

  BOOST_TEST(results[0].ok());
  for (size_t i = 1; i < results.size(); ++i) {
    BOOST_TEST_REQUIRE(!results[i].ok());
    BOOST_TEST((results[i].error().code == ErrorCode::kIOError));
  }
  // Only the first update is on disk, and no temp file is left.
  PosixFileSystem plain;
  StateStore fresh(plain, dir.path());
  auto now = fresh.load(kSid);
  BOOST_TEST_REQUIRE(now.ok());
  BOOST_TEST(now.value()->config.method.value() == "GET");
  BOOST_TEST(now.value()->config.filters.value_or(std::vector<std::string>{}).empty());
  BOOST_TEST(list_dir(dir.path()) == (std::set<std::string>{kSid + ".yaml", "." + kSid + ".lock"}));
  BOOST_TEST(StateStoreTestPeer::queued_updates(store, kSid) == 0u);
}

// What the store tells its observer about writes, in order.
class RecordingObserver : public StoreObserver {
 public:
  struct Write {
    bool ok;
    size_t updates;
  };
  void parse_cache_lookup(bool) override {}
  void state_error(StateError) override {}
  void group_commit(bool ok, size_t updates, std::chrono::nanoseconds) override {
    std::lock_guard<std::mutex> lk(mu_);
    writes_.push_back({ok, updates});
  }
  std::vector<Write> writes() {
    std::lock_guard<std::mutex> lk(mu_);
    return writes_;
  }

 private:
  std::mutex mu_;
  std::vector<Write> writes_;
};

// A group's write carries the updates whose mutation was applied: one
// refused in the group (here a filter name that breaks a rule, found only
// when the group is encoded) is not counted in webhookd_group_commit_updates.
BOOST_AUTO_TEST_CASE(a_groups_write_counts_only_the_updates_it_carries) {
  TempDir dir;
  GatedFileSystem fs;
  RecordingObserver observer;
  StateStore store(fs, dir.path(), ParseCache::kDefaultCapacity, &observer);
  write_file(dir.file(kSid + ".yaml"), "account_sid: " + kAccount + "\nmethod: POST\n");
  const std::vector<std::string> names = {"onMessageAdd", "notAnEvent", "onMessageUpdate"};
  const std::vector<Result<ServiceStatePtr>> results = commit_behind_a_write(store, fs, names);
  BOOST_TEST(results[1].ok());
  BOOST_TEST_REQUIRE(!results[2].ok());
  BOOST_TEST((results[2].error().code == ErrorCode::kInvalidArgument));
  BOOST_TEST(results[3].ok());
  const auto writes = observer.writes();
  BOOST_TEST_REQUIRE(writes.size() == 2u);  // the first update's write, then the group's
  BOOST_TEST(writes[0].ok);
  BOOST_TEST(writes[0].updates == 1u);
  BOOST_TEST(writes[1].ok);
  BOOST_TEST(writes[1].updates == 2u);
}

// N processes x M threads of read-modify-write updates on one service, each
// owning one filter name that it takes out and puts back several times:
// lock-free reads and the flock'd write path together must lose none.
BOOST_AUTO_TEST_CASE(processes_and_threads_read_modify_write_without_loss) {
  TempDir dir;
  write_file(dir.file(kSid + ".yaml"), "account_sid: " + kAccount + "\nfilters: []\n");
  const char* names[] = {"onParticipantAdd", "onParticipantAdded", "onDeliveryUpdated", "onConversationUpdated",
                         "onConversationRemove", "onParticipantRemove", "onConversationUpdate", "onMessageAdd",
                         "onMessageRemoved", "onParticipantUpdated", "onConversationAdded", "onMessageAdded",
                         "onConversationAdd", "onConversationRemoved", "onParticipantUpdate", "onMessageRemove",
                         "onMessageUpdated", "onParticipantRemoved", "onMessageUpdate", "onConversationStateUpdated"};
  const int kProcesses = 4, kThreads = 5, kToggles = 10;
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    pid_t pid = fork();
    BOOST_TEST_REQUIRE(pid >= 0);
    if (pid == 0) {  // a child: its own store, threads, and _exit (no Boost teardown)
      PosixFileSystem fs;
      StateStore store(fs, dir.path());
      std::atomic<int> failures{0};
      std::vector<std::thread> threads;
      for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, name = std::string(names[p * kThreads + t])] {
          for (int i = 0; i < kToggles; ++i) {
            bool present = i % 2 == 1;  // remove, add, remove, ..., ends added
            auto r = store.update(kSid, [&](const ServiceState& s) -> Result<WebhookConfig> {
              const WebhookConfig& c = s.config;
              WebhookConfig n = c;
              std::vector<std::string> filters;
              for (const auto& f : *c.filters) {
                if (f != name) filters.push_back(f);
              }
              if (present) filters.push_back(name);
              n.filters = filters;
              return n;
            });
            if (!r.ok()) ++failures;
          }
        });
      }
      for (auto& t : threads) t.join();
      _exit(failures == 0 ? 0 : 1);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    const bool exited = wait_until([&] { return waitpid(pid, &status, WNOHANG) == pid; }, 60);
    if (!exited) {
      kill(pid, SIGKILL);
      (void)waitpid(pid, &status, 0);
    }
    BOOST_TEST_REQUIRE(exited, "a writer process did not finish within 60 s");
    BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  }
  PosixFileSystem fs;
  StateStore store(fs, dir.path());
  auto final = store.load(kSid);
  BOOST_TEST_REQUIRE(final.ok());
  std::set<std::string> got(final.value()->config.filters->begin(), final.value()->config.filters->end());
  BOOST_TEST(got.size() == 20u);
  BOOST_TEST(final.value()->config.filters->size() == 20u);
}

BOOST_AUTO_TEST_CASE(create_refuses_an_existing_service_and_an_invalid_config) {
  TempDir dir;
  PosixFileSystem fs;
  StateStore store(fs, dir.path());
  WebhookConfig config;
  config.account_sid = kAccount;
  auto created = store.create(kSid, config);
  BOOST_TEST_REQUIRE(created.ok());
  BOOST_TEST(read_file(dir.file(kSid + ".yaml")) == emit_state_file(config));
  auto again = store.create(kSid, config);
  BOOST_TEST_REQUIRE(!again.ok());
  BOOST_TEST((again.error().code == ErrorCode::kConflict));
  WebhookConfig bad = config;
  bad.method = "PUT";
  auto invalid = store.create("ISbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", bad);
  BOOST_TEST_REQUIRE(!invalid.ok());
  BOOST_TEST((invalid.error().code == ErrorCode::kInvalidArgument));
  BOOST_TEST(list_dir(dir.path()).count("ISbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.yaml") == 0u);
  // A failing disk: the service does not appear.
  FaultyFileSystem faulty;
  faulty.fail = Op::kSyncDir;
  StateStore faulty_store(faulty, dir.path());
  BOOST_TEST(!faulty_store.create("IScccccccccccccccccccccccccccccccc", config).ok());
  BOOST_TEST(list_dir(dir.path()).count("IScccccccccccccccccccccccccccccccc.yaml") == 0u);
}

BOOST_AUTO_TEST_CASE(remove_compares_the_etag_first) {
  TempDir dir;
  PosixFileSystem fs;
  StateStore store(fs, dir.path());
  write_file(dir.file(kSid + ".yaml"), kHandEdited);
  const std::string etag = store.load(kSid).value()->etag;
  Status stale = store.remove(kSid, "\"00000000000000000000000000000000\"");
  BOOST_TEST_REQUIRE(!stale.ok());
  BOOST_TEST((stale.error().code == ErrorCode::kConflict));
  BOOST_TEST(read_file(dir.file(kSid + ".yaml")) == kHandEdited);
  BOOST_TEST(store.remove(kSid, etag).ok());
  BOOST_TEST(list_dir(dir.path()).empty());  // the state file and its lock file
  BOOST_TEST((store.load(kSid).error().code == ErrorCode::kNotFound));
  BOOST_TEST((store.remove(kSid, etag).error().code == ErrorCode::kNotFound));
  // An invalid file goes only on purpose (an empty ETag).
  write_file(dir.file(kSid + ".yaml"), "account_sid: x\n");
  BOOST_TEST((store.remove(kSid, etag).error().code == ErrorCode::kCorruption));
  BOOST_TEST(store.remove(kSid, "").ok());
}

BOOST_AUTO_TEST_CASE(list_services_names_only_state_files) {
  TempDir dir;
  PosixFileSystem fs;
  StateStore store(fs, dir.path());
  write_file(dir.file(kSid + ".yaml"), kHandEdited);
  write_file(dir.file("." + kSid + ".lock"), "");
  write_file(dir.file(".webhookd-applied"), "");
  write_file(dir.file("README.md"), "");
  std::vector<std::string> sids;
  BOOST_TEST(store.list_state_files([&](const std::string& sid) { sids.push_back(sid); }).ok());
  BOOST_TEST((sids == std::vector<std::string>{kSid}));
}

// An account's global webhooks (AC….yaml) take the same store: read on
// every request, defaults while there is no file, and the first update that
// changes them creates the file through the same lock + temp + fsync +
// rename. Reads and no-op updates create nothing.
BOOST_AUTO_TEST_CASE(an_account_without_a_file_has_its_defaults_and_its_first_change_creates_it) {
  TempDir dir;
  FaultyFileSystem fs;
  StateStore store(fs, dir.path());
  auto loaded = store.load(kAccount);
  BOOST_TEST_REQUIRE(loaded.ok());
  BOOST_TEST((loaded.value()->config == account_defaults()));
  BOOST_TEST(loaded.value()->etag == config_etag(account_defaults()));
  BOOST_TEST(store.load(kAccount).value().get() == loaded.value().get());  // one object: its JSON is cached
  BOOST_TEST((store.load_stored(kAccount).error().code == ErrorCode::kNotFound));
  // A no-op (the defaults again) creates nothing, not even a lock file.
  auto same = store.update(kAccount, [](const ServiceState& s) -> Result<WebhookConfig> { return s.config; });
  BOOST_TEST_REQUIRE(same.ok());
  BOOST_TEST(list_dir(dir.path()).empty());
  BOOST_TEST(fs.temps_created == 0);

  auto to_flex = [](const ServiceState& s) -> Result<WebhookConfig> {
    WebhookConfig c = s.config;
    c.target = "flex";
    c.filters = std::vector<std::string>{"onUserAdded"};
    return c;
  };
  auto created = store.update(kAccount, to_flex);
  BOOST_TEST_REQUIRE(created.ok(), (created.ok() ? "" : created.error().message));
  BOOST_TEST(created.value()->config.target.value() == "flex");
  BOOST_TEST(read_file(dir.file(kAccount + ".yaml")) ==
             "pre_webhook_url: null\npost_webhook_url: null\nfilters:\n  - onUserAdded\nmethod: POST\ntarget: flex\n");
  BOOST_TEST((list_dir(dir.path()) == std::set<std::string>{kAccount + ".yaml", "." + kAccount + ".lock"}));
  BOOST_TEST(store.load_stored(kAccount).value()->etag == created.value()->etag);
  // A hand edit is seen by the next read.
  write_file(dir.file(kAccount + ".yaml"), "# by hand\ntarget: webhook\nmethod: get\n");
  BOOST_TEST(store.load(kAccount).value()->config.method.value() == "GET");
  BOOST_TEST(store.load(kAccount).value()->config.target.value() == "webhook");
  // And an account file holds no service: not a service SID's rules.
  write_file(dir.file(kAccount + ".yaml"), "account_sid: " + kAccount + "\n");
  BOOST_TEST((store.load(kAccount).error().code == ErrorCode::kCorruption));
}

// Review 19 finding 3, review 18 finding 1: "no such file" (a 404, an
// account's defaults) is an answer only from the directory the store was
// made on, and files are made only there. A directory that is gone, or one
// put in its place (an unmounted volume leaves its empty mountpoint), gave
// confident wrong answers a fleet's front never steps around, and took
// writes onto the wrong disk: now kUnavailable (503), nothing written. A
// remount (a new device number, the same root inode and file system type)
// is the same directory. A file that is found is served without a look at
// the directory (the hot path): the limit, pinned by the first column.
BOOST_AUTO_TEST_CASE(not_found_answers_and_new_files_only_in_the_directory_the_store_was_made_on) {
  const std::string kOther = "ISbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
  enum class Then { kNothing, kRemoved, kSwappedForEmpty, kRemounted, kOtherFileSystem, kOtherInode, kFails, kEmfile };
  using Want = std::optional<ErrorCode>;  // nullopt: it works
  const Want ok = std::nullopt, gone = ErrorCode::kUnavailable;
  struct Case {
    const char* name;
    Then then;
    Want found, missing_service, account, account_update, create;
  } cases[] = {
      {"unchanged", Then::kNothing, ok, ErrorCode::kNotFound, ok, ok, ok},
      {"removed", Then::kRemoved, gone, gone, gone, gone, gone},
      {"swapped for an empty directory (an unmounted mountpoint)", Then::kSwappedForEmpty, gone, gone, gone, gone, gone},
      {"remounted: a new device number, same inode and type", Then::kRemounted, ok, ErrorCode::kNotFound, ok, ok, ok},
      {"another file system on it (same inode, other type)", Then::kOtherFileSystem, ok, gone, gone, gone, gone},
      {"another directory of the same file system", Then::kOtherInode, ok, gone, gone, gone, gone},
      {"the directory fails (EIO)", Then::kFails, ok, gone, gone, gone, gone},
      // Out of memory or descriptors the look fails for the process, not
      // the directory: one request's 500, as for the probe.
      {"the look fails for the process (EMFILE)", Then::kEmfile, ok, ErrorCode::kIOError, ErrorCode::kIOError,
       ErrorCode::kIOError, ErrorCode::kIOError},
  };
  // As text, so that a failed comparison prints both sides.
  auto name = [](Want want) { return std::string(want ? error_code_name(*want) : "ok"); };
  auto code = [&](const auto& result) {
    return name(result.ok() ? std::nullopt : Want(result.error().code));
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      TempDir top;
      const std::string state = top.file("state");
      BOOST_TEST_REQUIRE(::mkdir(state.c_str(), 0700) == 0);
      write_file(state + "/" + kSid + ".yaml", kHandEdited);
      FaultyFileSystem fs;
      StateStore store(fs, state);
      auto made = PosixFileSystem().identify_dir(state, true);
      BOOST_TEST_REQUIRE(made.ok());
      DirIdentity other = made.value();
      switch (c.then) {
        case Then::kNothing: break;
        case Then::kRemoved: BOOST_TEST_REQUIRE(::rename(state.c_str(), top.file("moved").c_str()) == 0); break;
        case Then::kSwappedForEmpty:
          BOOST_TEST_REQUIRE(::rename(state.c_str(), top.file("moved").c_str()) == 0);
          BOOST_TEST_REQUIRE(::mkdir(state.c_str(), 0700) == 0);
          break;
        case Then::kRemounted: other.device += 1; fs.identity = other; break;
        case Then::kOtherFileSystem: other.device += 1; other.fs_type += 1; fs.identity = other; break;
        case Then::kOtherInode: other.inode += 1; fs.identity = other; break;
        case Then::kFails: fs.dir_errno = EIO; break;
        case Then::kEmfile: fs.dir_errno = EMFILE; break;
      }
      const std::set<std::string> before = list_dir(state);
      BOOST_TEST(code(store.load(kSid)) == name(c.found));
      BOOST_TEST(code(store.load(kOther)) == name(c.missing_service));
      BOOST_TEST(code(store.update(kOther, set_method("GET"))) == name(c.missing_service));
      auto account = store.load(kAccount);
      BOOST_TEST(code(account) == name(c.account));
      if (account.ok()) BOOST_TEST((account.value()->config == account_defaults()));
      if (!account.ok() && account.error().code == ErrorCode::kUnavailable) {
        BOOST_TEST(account.error().message.find(kAccount + ".yaml") != std::string::npos, account.error().message);
      }
      BOOST_TEST(code(store.load_stored(kAccount)) == name(c.account ? c.account : Want(ErrorCode::kNotFound)));
      BOOST_TEST(code(store.update(kAccount, [](const ServiceState& s) -> Result<WebhookConfig> {
                   WebhookConfig next = s.config;
                   next.target = "flex";
                   return next;
                 })) == name(c.account_update));
      WebhookConfig service;
      service.account_sid = kAccount;
      BOOST_TEST(code(store.create(kOther, service)) == name(c.create));
      if (c.create) {
        // Nothing made where the state was, nor anywhere else.
        BOOST_TEST((list_dir(state) == before));
        BOOST_TEST(fs.temps_created == 0);
      } else {
        BOOST_TEST((list_dir(state) == std::set<std::string>{kSid + ".yaml", kAccount + ".yaml", "." + kAccount + ".lock",
                                                             kOther + ".yaml", "." + kOther + ".lock"}));
      }
      if (c.then == Then::kRemoved || c.then == Then::kSwappedForEmpty) {
        BOOST_TEST((list_dir(top.file("moved")) == std::set<std::string>{kSid + ".yaml"}));
      }
    }
  }
}

// A directory put back where it was is the same directory again; a new one
// at the same path is served only by a new store (webhookd's restart), as
// is a directory that was not there when the store was made.
BOOST_AUTO_TEST_CASE(a_new_directory_at_the_path_is_served_by_a_new_store_only) {
  TempDir top;
  const std::string state = top.file("state");
  BOOST_TEST_REQUIRE(::mkdir(state.c_str(), 0700) == 0);
  PosixFileSystem fs;
  StateStore store(fs, state);
  BOOST_TEST_REQUIRE(::rename(state.c_str(), top.file("moved").c_str()) == 0);
  BOOST_TEST((store.load(kAccount).error().code == ErrorCode::kUnavailable));
  BOOST_TEST(store.load(kAccount).error().os_errno == ENOENT);
  BOOST_TEST_REQUIRE(::rename(top.file("moved").c_str(), state.c_str()) == 0);  // put back
  BOOST_TEST(store.load(kAccount).ok());
  BOOST_TEST_REQUIRE(::rename(state.c_str(), top.file("moved").c_str()) == 0);
  BOOST_TEST_REQUIRE(::mkdir(state.c_str(), 0700) == 0);  // a new one
  auto swapped = store.load(kAccount);
  BOOST_TEST_REQUIRE(!swapped.ok());
  BOOST_TEST((swapped.error().code == ErrorCode::kUnavailable));
  BOOST_TEST(swapped.error().message.find("restart webhookd") != std::string::npos, swapped.error().message);
  StateStore fresh(fs, state);
  BOOST_TEST(fresh.load(kAccount).ok());

  const std::string never = top.file("never");  // not there when its store is made
  StateStore early(fs, never);
  BOOST_TEST((early.load(kAccount).error().code == ErrorCode::kUnavailable));
  BOOST_TEST_REQUIRE(::mkdir(never.c_str(), 0700) == 0);
  BOOST_TEST((early.load(kAccount).error().code == ErrorCode::kUnavailable));
  BOOST_TEST((early.load(kSid).error().code == ErrorCode::kUnavailable));
  BOOST_TEST(list_dir(never).empty());
}

// The look at the directory costs one stat (a statfs too only when the
// device number changed), and only where "no such file" is the answer or
// a file is made: a read that finds its file (every GET of a service or an
// account that has one) and an update whose lock file exists pay nothing.
BOOST_AUTO_TEST_CASE(only_not_found_and_new_files_look_at_the_directory) {
  TempDir dir;
  FaultyFileSystem fs;
  StateStore store(fs, dir.path());
  BOOST_TEST(fs.identify_dirs == 1);  // recorded when the store is made, with its type
  BOOST_TEST(fs.fs_types == 1);
  fs.identify_dirs = fs.fs_types = 0;
  write_file(dir.file(kSid + ".yaml"), kHandEdited);
  BOOST_TEST_REQUIRE(store.load(kSid).ok());
  BOOST_TEST(fs.identify_dirs == 0);
  BOOST_TEST_REQUIRE(store.update(kSid, set_method("GET")).ok());
  BOOST_TEST(fs.identify_dirs == 1);  // its lock file is made
  BOOST_TEST_REQUIRE(store.update(kSid, set_method("POST")).ok());
  BOOST_TEST_REQUIRE(store.load(kSid).ok());
  BOOST_TEST(fs.identify_dirs == 1);  // the lock file is there: no look
  BOOST_TEST((store.load("ISbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb").error().code == ErrorCode::kNotFound));
  BOOST_TEST(fs.identify_dirs == 2);
  BOOST_TEST(store.load(kAccount).ok());
  BOOST_TEST(fs.identify_dirs == 3);
  write_file(dir.file(kAccount + ".yaml"), "target: flex\n");
  BOOST_TEST(store.load(kAccount).ok());
  BOOST_TEST(fs.identify_dirs == 3);
  BOOST_TEST(fs.fs_types == 0);  // the same device: no statfs
  // A new device number (a remount): the type is asked, to tell a remount
  // from another file system.
  auto now = PosixFileSystem().identify_dir(dir.path(), true);
  BOOST_TEST_REQUIRE(now.ok());
  now.value().device += 1;
  fs.identity = now.value();
  BOOST_TEST((store.load("ISbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb").error().code == ErrorCode::kNotFound));
  BOOST_TEST(fs.fs_types == 1);
}

BOOST_AUTO_TEST_CASE(an_invalid_account_file_is_never_overwritten) {
  TempDir dir;
  FaultyFileSystem fs;
  StateStore store(fs, dir.path());
  const std::string broken = "# a person's edit\ntarget: Flex\n";
  write_file(dir.file(kAccount + ".yaml"), broken);
  auto result = store.update(kAccount, set_method("GET"));
  BOOST_TEST_REQUIRE(!result.ok());
  BOOST_TEST((result.error().code == ErrorCode::kCorruption));
  BOOST_TEST(result.error().message.find(kAccount + ".yaml:2:9: target must be webhook or flex") != std::string::npos,
             result.error().message);
  BOOST_TEST(fs.temps_created == 0);
  BOOST_TEST(read_file(dir.file(kAccount + ".yaml")) == broken);
}

// The first write of an account that fails at any step leaves no file (the
// defaults stand, as the client hears 500) and no temp file.
BOOST_AUTO_TEST_CASE(a_failed_first_write_of_an_account_leaves_no_file) {
  for (Op op : {Op::kLock, Op::kCreateTemp, Op::kWrite, Op::kSync, Op::kRename, Op::kSyncDir}) {
    BOOST_TEST_CONTEXT(static_cast<int>(op)) {
      TempDir dir;
      FaultyFileSystem fs;
      fs.fail = op;
      StateStore store(fs, dir.path());
      auto result = store.update(kAccount, set_method("GET"));
      BOOST_TEST_REQUIRE(!result.ok());
      BOOST_TEST((result.error().code == ErrorCode::kIOError));
      std::set<std::string> left = list_dir(dir.path());
      left.erase("." + kAccount + ".lock");
      BOOST_TEST(left.empty());
      BOOST_TEST((store.load(kAccount).value()->config == account_defaults()));
      fs.fail = Op::kNone;
      BOOST_TEST(store.update(kAccount, set_method("GET")).ok());
      BOOST_TEST(store.load_stored(kAccount).value()->config.method.value() == "GET");
    }
  }
}

// Updates of one account queued behind a write are one group and one write,
// the first of them creating the file.
BOOST_AUTO_TEST_CASE(updates_of_an_account_queued_behind_a_write_are_committed_by_one_write) {
  TempDir dir;
  GatedFileSystem fs;
  StateStore store(fs, dir.path());
  const std::vector<std::string> names = {"onUserAdded", "onUserUpdate", "onUserUpdated", "onMessageAdded"};
  std::vector<std::thread> threads;
  std::vector<Result<ServiceStatePtr>> results(names.size() + 1, Result<ServiceStatePtr>(Error::internal("not run")));
  threads.emplace_back([&] { results[0] = store.update(kAccount, set_method("GET")); });
  BOOST_TEST_REQUIRE(wait_until([&] { return fs.at_gate.load(); }), "the first write never reached fsync");
  for (size_t i = 0; i < names.size(); ++i) {
    threads.emplace_back([&, i] { results[i + 1] = store.update(kAccount, add_filter(names[i])); });
  }
  BOOST_TEST_REQUIRE(
      wait_until([&] { return StateStoreTestPeer::queued_updates(store, kAccount) == names.size() + 1; }),
      "the updates never queued behind the write");
  BOOST_TEST(fs.renames == 0);
  fs.open = true;
  for (auto& t : threads) t.join();
  BOOST_TEST(fs.renames == 2);
  for (const auto& r : results) BOOST_TEST(r.ok());
  PosixFileSystem plain;
  StateStore fresh(plain, dir.path());
  auto final = fresh.load_stored(kAccount);
  BOOST_TEST_REQUIRE(final.ok());
  BOOST_TEST(final.value()->config.method.value() == "GET");
  BOOST_TEST(std::set<std::string>(final.value()->config.filters->begin(), final.value()->config.filters->end()) ==
             std::set<std::string>(names.begin(), names.end()));
  BOOST_TEST(final.value()->config.target.value() == "webhook");
}

BOOST_AUTO_TEST_CASE(account_files_in_clean_up_listing_create_and_remove) {
  TempDir dir;
  PosixFileSystem fs;
  StateStore store(fs, dir.path());
  const std::string gone = "ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
  write_file(dir.file(kAccount + ".yaml"), "target: flex\n");
  write_file(dir.file("." + kAccount + ".lock"), "");
  write_file(dir.file("." + kAccount + ".tmp.AAAAAA"), "torn");
  write_file(dir.file("." + gone + ".lock"), "");
  write_file(dir.file("." + gone + ".tmp.BBBBBB"), "");
  write_file(dir.file(kSid + ".yaml"), kHandEdited);
  auto done = store.clean_up();
  BOOST_TEST_REQUIRE(done.ok());
  BOOST_TEST(done.value().temp_files_removed == 2);
  BOOST_TEST(done.value().lock_files_removed == 1);
  BOOST_TEST((list_dir(dir.path()) ==
              std::set<std::string>{kAccount + ".yaml", "." + kAccount + ".lock", kSid + ".yaml"}));
  std::set<std::string> listed;
  BOOST_TEST(store.list_state_files([&](const std::string& sid) { listed.insert(sid); }).ok());
  BOOST_TEST((listed == std::set<std::string>{kAccount, kSid}));
  // create refuses an existing account file; remove takes it back to the defaults.
  BOOST_TEST((store.create(kAccount, account_defaults()).error().code == ErrorCode::kConflict));
  const std::string etag = store.load(kAccount).value()->etag;
  BOOST_TEST(store.remove(kAccount, etag).ok());
  BOOST_TEST((store.load(kAccount).value()->config == account_defaults()));
  BOOST_TEST((store.remove(kAccount, etag).error().code == ErrorCode::kNotFound));
  BOOST_TEST(store.create(gone, account_defaults()).ok());
  BOOST_TEST(read_file(dir.file(gone + ".yaml")) ==
             "pre_webhook_url: null\npost_webhook_url: null\nfilters: []\nmethod: POST\ntarget: webhook\n");
  // A service's configuration is not an account's, nor the other way round.
  WebhookConfig service;
  service.account_sid = kAccount;
  BOOST_TEST((store.create("ACcccccccccccccccccccccccccccccccc", service).error().code == ErrorCode::kInvalidArgument));
  BOOST_TEST((store.create("IScccccccccccccccccccccccccccccccc", account_defaults()).error().code ==
              ErrorCode::kInvalidArgument));
  BOOST_TEST((store.update(kAccount, [&](const ServiceState&) -> Result<WebhookConfig> { return service; })
                  .error()
                  .code == ErrorCode::kInvalidArgument));
  BOOST_TEST(list_dir(dir.path()).count("ACcccccccccccccccccccccccccccccccc.yaml") == 0u);
  BOOST_TEST(list_dir(dir.path()).count("IScccccccccccccccccccccccccccccccc.yaml") == 0u);
  BOOST_TEST(list_dir(dir.path()).count(kAccount + ".yaml") == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
