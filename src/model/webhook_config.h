// The webhook configuration of one service or of one account's global
// settings (WebhookConfig, one value type for both scopes), a change to it
// (WebhookUpdate), and the rules every value must keep: SIDs, webhook URLs,
// the two methods, the 20 event names of a service and the 23 of an account,
// the account's target. No HTTP, no Twilio codes: the API and webhookctl
// both build on these.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace webhookd {

// Whose settings a value is: a Conversation Service's (IS….yaml,
// /v1/Services/{sid}/Configuration/Webhooks) or an account's global ones
// (AC….yaml, /v1/Configuration/Webhooks). The scope decides the keys of the
// state file, the filter names allowed and which values may be null.
enum class Scope { kService, kAccount };
// The scope of a state file's SID: IS… a service, AC… an account; nullopt
// for anything else (no state file has that name).
std::optional<Scope> scope_of_sid(std::string_view sid);

struct WebhookConfig {
  Scope scope = Scope::kService;
  // Service: the owning account, required. Account: always empty: an
  // account file is named by its account and does not repeat it.
  std::string account_sid;
  // nullopt is JSON null: never set, or cleared. An account's method,
  // filters and target are never null (Twilio's spec makes method and
  // target non-nullable; see account_defaults).
  std::optional<std::string> pre_webhook_url;
  std::optional<std::string> post_webhook_url;
  std::optional<std::vector<std::string>> filters;
  std::optional<std::string> method;  // "GET" or "POST"
  std::optional<std::string> target;  // account only: "webhook" or "flex"

  bool operator==(const WebhookConfig& o) const {
    return scope == o.scope && account_sid == o.account_sid && pre_webhook_url == o.pre_webhook_url &&
           post_webhook_url == o.post_webhook_url && filters == o.filters && method == o.method &&
           target == o.target;
  }
  bool operator!=(const WebhookConfig& o) const { return !(*this == o); }
};

// The filter names of a WebhookConfigView, in order, without a copy: a
// WebhookConfig's list, an array of names, or the "  - name\n" lines of a
// state file in canonical form.
class FilterNamesView {
 public:
  FilterNamesView() = default;
  explicit FilterNamesView(const std::vector<std::string>* list) : list_(list) {}
  FilterNamesView(const std::string_view* names, size_t count) : names_(names), count_(count) {}
  // Lines that are each "  - " + name + "\n" (read_canonical_view checked them).
  static FilterNamesView lines(std::string_view block) {
    FilterNamesView v;
    v.lines_ = block;
    return v;
  }
  template <typename F>
  void each(F f) const {
    if (list_) {
      for (const std::string& name : *list_) f(std::string_view(name));
      return;
    }
    if (names_) {
      for (size_t i = 0; i < count_; ++i) f(names_[i]);
      return;
    }
    for (std::string_view rest = lines_; !rest.empty();) {
      const size_t nl = rest.find('\n');
      f(rest.substr(4, nl - 4));
      rest.remove_prefix(nl + 1);
    }
  }
  bool empty() const { return list_ ? list_->empty() : names_ ? count_ == 0 : lines_.empty(); }

 private:
  const std::vector<std::string>* list_ = nullptr;
  const std::string_view* names_ = nullptr;
  size_t count_ = 0;
  std::string_view lines_;
};

// A configuration's values without owning them: views into a WebhookConfig
// (view_of), or straight into the bytes of a state file in canonical form
// (read_canonical_view), so that a read can be answered without building
// the value. Valid as long as what it views.
struct WebhookConfigView {
  Scope scope = Scope::kService;
  std::string_view account_sid;
  std::optional<std::string_view> pre_webhook_url;
  std::optional<std::string_view> post_webhook_url;
  std::optional<FilterNamesView> filters;
  std::optional<std::string_view> method;
  std::optional<std::string_view> target;
};
WebhookConfigView view_of(const WebhookConfig& config);
WebhookConfig config_of(const WebhookConfigView& view);

// Each field: not given (nullopt) keeps the stored value; given sets it.
// For the URLs the inner nullopt means "clear to null".
struct WebhookUpdate {
  std::optional<std::optional<std::string>> pre_webhook_url;
  std::optional<std::optional<std::string>> post_webhook_url;
  std::optional<std::vector<std::string>> filters;
  std::optional<std::string> method;
  std::optional<std::string> target;  // account only
};

// The 20 event names of a service, in Twilio's documentation order, and the
// 3 more an account's global filters take (Twilio's global list).
extern const std::vector<std::string_view> kFilterNames;
extern const std::vector<std::string_view> kAccountOnlyFilterNames;
bool is_filter_name(std::string_view s, Scope scope = Scope::kService);
// "webhook" or "flex", exactly (Twilio's enum).
bool is_target(std::string_view s);

// An account that never set its global webhooks: no URLs, POST, no
// filters, target webhook. Also what null or absent keys of an account file
// read as (fill_account_defaults).
WebhookConfig account_defaults();
void fill_account_defaults(WebhookConfig* config);
// A pre-event (onMessageAdd, ...) is sent to pre_webhook_url before the
// action and may stop it; the others (onMessageAdded, ...) after it.
bool is_pre_event(std::string_view filter_name);
// "get"/"Post"... -> "GET"/"POST"; nullopt for anything else.
std::optional<std::string> normalize_method(std::string_view s);
// Drops repeats, keeping the first occurrence's order.
std::vector<std::string> dedupe_filters(const std::vector<std::string>& filters);

// Every rule of a stored configuration of its scope; kInvalidArgument naming
// the first one broken. What is written must pass it, so it can always be
// read back as the same value.
Status validate_config(const WebhookConfig& config);

WebhookConfig apply(const WebhookConfig& current, const WebhookUpdate& update);

}  // namespace webhookd
