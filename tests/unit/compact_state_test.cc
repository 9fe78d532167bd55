#define BOOST_TEST_DYN_LINK
#include "model/compact_state.h"

#include <boost/test/unit_test.hpp>

#include "model/state_file.h"
#include "test_support.h"

using namespace webhookd;

namespace {

const std::string kA = "account_sid: ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n";
const std::string kNulls = "pre_webhook_url: null\npost_webhook_url: null\n";

struct Canonical {
  std::string bytes;
  Scope scope;
};

// webhookd's own files of both kinds, every shape of every field.
const Canonical kFiles[] = {
    {kA + "pre_webhook_url: https://www.example.com/pre\npost_webhook_url: https://www.example.com/post\n"
          "filters:\n  - onMessageRemove\n  - onParticipantAdd\nmethod: POST\n",
     Scope::kService},
    {kA + kNulls + "filters: null\nmethod: null\n", Scope::kService},
    {kA + kNulls + "filters: []\nmethod: GET\n", Scope::kService},
    {"account_sid: ACAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n" + kNulls + "filters: null\nmethod: null\n",
     Scope::kService},  // upper-case hex: held as text
    {kA + "pre_webhook_url: https://x/a?b=c&d#e\npost_webhook_url: null\nfilters:\n  - onConversationStateUpdated\n"
          "method: POST\n",
     Scope::kService},
    {kNulls + "filters: []\nmethod: POST\ntarget: webhook\n", Scope::kAccount},
    {"pre_webhook_url: https://p/\npost_webhook_url: http://q/\nfilters:\n  - onUserAdded\n  - onMessageAdded\n"
     "method: GET\ntarget: flex\n",
     Scope::kAccount},
};

CompactState compact(const Canonical& f) {
  std::optional<WebhookConfigView> view = read_canonical_view(f.bytes, f.scope);
  BOOST_TEST_REQUIRE(view.has_value());
  std::optional<CompactState> c = CompactState::of(*view, canonical_etag(f.bytes), f.bytes);
  BOOST_TEST_REQUIRE(c.has_value());
  return std::move(*c);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(compact_state)

// What a compact entry proves equal reads as what read_state_file reads, with
// the same ETag.
BOOST_AUTO_TEST_CASE(holds_every_canonical_file_and_its_etag) {
  for (const Canonical& f : kFiles) {
    BOOST_TEST_CONTEXT(f.bytes) {
      CompactState c = compact(f);
      WebhookConfigView in_bytes;
      BOOST_TEST_REQUIRE(c.same_bytes(f.bytes, &in_bytes));
      auto read = read_state_file(f.bytes, "x", f.scope);
      BOOST_TEST_REQUIRE(read.ok());
      BOOST_TEST((config_of(in_bytes) == read.value().config));
      BOOST_TEST(c.etag() == read.value().etag);
      BOOST_TEST((c.scope() == f.scope));
      // The views are into the bytes given, not into the entry.
      BOOST_TEST((in_bytes.account_sid.empty() ||
                  (in_bytes.account_sid.data() >= f.bytes.data() &&
                   in_bytes.account_sid.data() < f.bytes.data() + f.bytes.size())));
    }
  }
}

// Never by timestamps, never by size: any other bytes are not the same, the
// change of a single byte anywhere included.
BOOST_AUTO_TEST_CASE(any_other_bytes_are_not_the_same) {
  for (const Canonical& f : kFiles) {
    BOOST_TEST_CONTEXT(f.bytes) {
      CompactState c = compact(f);
      WebhookConfigView v;
      for (size_t i = 0; i < f.bytes.size(); ++i) {
        for (char delta : {1, 2, 32}) {
          std::string edited = f.bytes;
          edited[i] = static_cast<char>(edited[i] ^ delta);
          BOOST_TEST_CONTEXT("byte " << i << " ^ " << int(delta)) { BOOST_TEST(!c.same_bytes(edited, &v)); }
        }
      }
      BOOST_TEST(!c.same_bytes(f.bytes + "\n", &v));
      BOOST_TEST(!c.same_bytes(f.bytes.substr(0, f.bytes.size() - 1), &v));
      BOOST_TEST(!c.same_bytes("", &v));
      BOOST_TEST(!c.same_bytes("# hand edit\n" + f.bytes, &v));
    }
  }
}

BOOST_AUTO_TEST_CASE(refuses_what_it_could_not_give_back) {
  const Canonical& f = kFiles[0];
  auto view = read_canonical_view(f.bytes, f.scope);
  BOOST_TEST_REQUIRE(view.has_value());
  std::string etag = canonical_etag(f.bytes);
  std::string upper = etag;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  BOOST_TEST(!CompactState::of(*view, upper, f.bytes).has_value());   // not canonical_etag's form
  BOOST_TEST(!CompactState::of(*view, "\"x\"", f.bytes).has_value());
  BOOST_TEST(!CompactState::of(*view, etag, f.bytes + "x").has_value());  // not the bytes of this view
  BOOST_TEST(CompactState::of(*view, etag, f.bytes).has_value());
}

// A hand-written file's entry: its state, known again only by the digest
// of the very same bytes; and, as any entry, the canonical bytes of that
// state (same ETag: a file's ETag is its configuration's).
BOOST_AUTO_TEST_CASE(a_hand_written_entry_answers_for_its_digest) {
  const std::string text = "# by hand\naccount_sid: ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nfilters: [onMessageAdded]\n"
                           "pre_webhook_url: \"https://x/pre\"\nmethod: post\n";
  auto read = read_state_file(text, "x");
  BOOST_TEST_REQUIRE(read.ok());
  std::optional<CompactState> c = CompactState::of_hand_written(read.value(), sha256_digest(text));
  BOOST_TEST_REQUIRE(c.has_value());
  ServiceState got;
  BOOST_TEST(c->same_digest(sha256_digest(text), &got));
  BOOST_TEST((got.config == read.value().config));
  BOOST_TEST(got.etag == read.value().etag);
  std::string edited = text;
  edited[edited.find("post")] = 'P';  // the same size
  BOOST_TEST(!c->same_digest(sha256_digest(edited), &got));
  WebhookConfigView v;
  BOOST_TEST(c->same_bytes(emit_state_file(read.value().config), &v));
  BOOST_TEST(c->etag() == canonical_etag(emit_state_file(read.value().config)));
  BOOST_TEST(!c->same_bytes(text, &v));
  // A canonical file's entry has no digest to answer for.
  CompactState canonical = compact(kFiles[0]);
  BOOST_TEST(!canonical.same_digest(sha256_digest(kFiles[0].bytes), &got));
  // The digest's 16 bytes are counted.
  const std::string emitted = emit_state_file(read.value().config);
  auto plain = read_canonical_view(emitted, Scope::kService);
  BOOST_TEST_REQUIRE(plain.has_value());
  BOOST_TEST(c->size() == CompactState::of(*plain, read.value().etag, emitted)->size() + 16);
  // An account's hand-written file too.
  const std::string account = "method: GET\ntarget: flex  # by hand\n";
  auto acc = read_state_file(account, "x", Scope::kAccount);
  BOOST_TEST_REQUIRE(acc.ok());
  std::optional<CompactState> a = CompactState::of_hand_written(acc.value(), sha256_digest(account));
  BOOST_TEST_REQUIRE(a.has_value());
  BOOST_TEST((a->scope() == Scope::kAccount));
  BOOST_TEST(a->same_digest(sha256_digest(account), &got));
  BOOST_TEST((got.config == acc.value().config));
}

// Hot on every `every`th read, again and again (not once, not saturating).
BOOST_AUTO_TEST_CASE(counts_reads_in_rounds) {
  for (unsigned every : {1u, 8u, 255u}) {
    CompactState c = compact(kFiles[0]);
    for (unsigned i = 1; i <= 3 * every + 1; ++i) BOOST_TEST(c.count_read(every) == (i % every == 0));
  }
}

// size() is the allocation's: the text of the account and of both URLs
// counts once each, whatever their length.
BOOST_AUTO_TEST_CASE(size_grows_with_the_urls) {
  auto compact_of = [](const std::string& url) {
    WebhookConfig c;
    c.account_sid = "AC00000000000000000000000000000000";
    c.pre_webhook_url = url;
    c.post_webhook_url = url;
    return compact(Canonical{emit_state_file(c), Scope::kService});
  };
  const size_t small = compact_of("https://x/").size();
  BOOST_TEST(compact_of("https://x/" + std::string(1000, 'a')).size() == small + 2000);
  BOOST_TEST(compact_of("https://x/" + std::string(2038, 'a')).size() == small + 2 * 2038);  // URLs of 2,048 bytes, the most
}

BOOST_AUTO_TEST_SUITE_END()
