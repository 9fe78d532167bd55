// libFuzzer target: the form decoder and the Content-Type check. Invariant:
// whatever it accepts is UTF-8, keys and values alike.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "base/text.h"
#include "api/form_parser.h"
#include "model/webhook_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  webhookd::is_form_content_type(body);
  auto form = webhookd::parse_form(body);
  if (!form.ok()) return 0;
  for (const auto& [key, value] : form.value()) {
    if (!webhookd::is_valid_utf8(key) || !webhookd::is_valid_utf8(value)) std::abort();
  }
  (void)webhookd::parse_update(form.value());
  return 0;
}
