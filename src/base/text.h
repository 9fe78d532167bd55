// Small text rules shared by several layers: UTF-8 validity, SID shapes and
// the URL rule of the contract. Pure functions, no allocation beyond results.
#pragma once

#include <string>
#include <string_view>

namespace webhookd {

bool is_valid_utf8(std::string_view s);
// Replaces each invalid byte with U+FFFD, for echoing untrusted text safely.
std::string sanitize_utf8(std::string_view s);

// prefix + 32 hex digits (either case), e.g. ("IS", s) for ^IS[0-9a-fA-F]{32}$.
bool is_sid(std::string_view s, std::string_view prefix);
bool is_service_sid(std::string_view s);
bool is_account_sid(std::string_view s);
bool is_api_key_sid(std::string_view s);

// Absolute http/https URL with a host, at most 2048 bytes, no space or
// control character, and a port (if any) from 1 to 65535. Userinfo
// (https://user:pass@host/) is allowed: Twilio documents it for a webhook's
// Basic auth.
bool is_webhook_url(std::string_view s);

bool iequals(std::string_view a, std::string_view b);

// 0-15 for a hex digit of either case, -1 for anything else.
int hex_digit_value(char c);

}  // namespace webhookd
