// The ETag is printed beside the file because it is what a script passes
// back as If-Match; the file itself is exactly what webhookd would write.
#include "ctl/service_text.h"

#include <cstdio>

#include "ctl/options.h"

namespace webhookd::ctl {

void print_state(const std::string& sid, const ServiceState& state) {
  std::printf("# %s  ETag %s\n%s", sid.c_str(), state.etag.c_str(), emit_state_file(state.config).c_str());
}

int fail_for(const std::string& sid, const Error& error) {
  return fail(error.is_not_found() ? "no service " + sid : error.message);
}

}  // namespace webhookd::ctl
