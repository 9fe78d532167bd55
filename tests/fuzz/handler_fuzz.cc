// libFuzzer target: the whole handler on an in-memory store, both resources
// (a service's webhooks and the account's global ones). The input is
// "METHOD\nPATH\nAUTHORIZATION\nCONTENT-TYPE\nIF-MATCH\nBODY". Invariants:
// every answer has a known status, a request id and a JSON body; the state
// files always stay loadable, each as its kind.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "base/sha256.h"
#include "mem_file_system.h"
#include "api/handler.h"
#include "model/state_file.h"

using namespace webhookd;

namespace {

std::string_view next_field(std::string_view* rest) {
  size_t nl = rest->find('\n');
  std::string_view field = rest->substr(0, nl);
  rest->remove_prefix(nl == std::string_view::npos ? rest->size() : nl + 1);
  return field;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static webhookd_fuzz::MemFileSystem fs;
  static StateStore store(fs, "/state");
  static const Config config = [] {
    Config c;
    c.state_dir = "/state";
    c.credentials.account_token_digest["ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"] = sha256_raw("token123");
    return c;
  }();
  const std::string a = "/state/ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.yaml";
  const std::string b = "/state/ISbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.yaml";
  fs.files[a] = "account_sid: ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nmethod: POST\nfilters: [onMessageAdded]\n";
  fs.files[b] = "account_sid: ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n";
  // The account's global webhooks: no file (its defaults) at the start of each input.
  const std::string account_file = "/state/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.yaml";
  fs.files.erase(account_file);

  std::string_view rest(reinterpret_cast<const char*>(data), size);
  HttpRequest req;
  req.method = std::string(next_field(&rest));
  req.path = std::string(next_field(&rest));
  req.authorization = std::string(next_field(&rest));
  req.content_type = std::string(next_field(&rest));
  req.if_match = std::string(next_field(&rest));
  req.body = std::string(rest);
  req.scheme = "https";
  req.host = "fuzz.example";

  HttpResponse r = handle(req, config, store);
  switch (r.status) {
    case 200: case 304: case 400: case 401: case 403: case 404: case 405: case 412: case 413: case 415: case 500: break;
    default: std::abort();
  }
  if (!r.header("Twilio-Request-Id")) std::abort();
  if (req.method != "HEAD" && r.status != 304 && (r.body.empty() || r.body.front() != '{' || r.body.back() != '}')) {
    std::abort();
  }
  if (r.status == 500) std::abort();  // the seeded files are valid: a 500 here is a bug
  for (const std::string& f : {a, b}) {
    if (!read_state_file(fs.files[f], f).ok()) std::abort();
  }
  auto global = fs.files.find(account_file);
  if (global != fs.files.end() && !read_state_file(global->second, account_file, Scope::kAccount).ok()) std::abort();
  return 0;
}
