// Normalises error messages into templates, the way a general log parser
// masks the variable parts of a line, so that errors that differ only in
// numbers, ids, names, quoted values or paths are counted together. There are
// no rules for particular systems: only the shape of each token counts.
#include "cpp_only.hpp" // outside the guard: checked at every inclusion
#ifndef AGENTGRES_CORE_ERROR_TEMPLATE_HPP
#define AGENTGRES_CORE_ERROR_TEMPLATE_HPP

#include <cstddef>
#include <string>
#include <string_view>

namespace agentgres::core {

// Longest template kept, in bytes. Longer templates are cut at the last token
// boundary before it (or, for one giant token, at a UTF-8 character boundary)
// and end in " ...". Large enough for any real error message; it bounds what
// one message can add to an aggregate's state.
inline constexpr std::size_t kMaxTemplateBytes = 8192;

// Placeholders, by the shape of the token they replace:
//   <str>          'single', "double", `back` or ‘typographic’ quoted text,
//                  and the value of key=value
//   <url>          scheme://...
//   <path>         /a/b, ./a, ../a, ~/a, C:\a, a/b/c, a/b.ext (a trailing
//                  :line:column stays as :<num>:<num>)
//   <user>@<host>  user@host, e-mail addresses
//   <uuid>         8-4-4-4-12 hex
//   <ip>           IPv4 (with :port or /mask) and IPv6 addresses
//   <time>         dates (2024-01-31, 2024-01-31T10:00:00Z) and times (10:00:05.123)
//   <name>         dotted names: host names, file and module names (db.example.com, a.cpp)
//   <num>          numbers with sign, decimals, exponent, and a unit of up to
//                  three letters or % (42, -3.5e2, 42s, 12MB, 99%)
//   <hex>          0x1f3a, and hex runs with a digit and a letter (7f9c2a)
//   <id>           any other token that contains a digit (lib123, v4.7,
//                  worker-7f9c2a, blk_-123, x86_64)
// a:b tokens are masked part by part (libc6:amd64 -> <id>:amd64); a run of
// one placeholder separated by commas, semicolons, bars or spaces collapses to
// one ("ids 1, 2, 3" and "ids 4, 5" both give "ids <num>"). Whitespace is
// collapsed and trimmed. Bytes outside ASCII are kept as they are.
std::string ErrorTemplate(std::string_view message);

// True when token is, or contains, one of the placeholders above or <*>.
bool HasPlaceholder(std::string_view token) noexcept;

} // namespace agentgres::core

#endif // AGENTGRES_CORE_ERROR_TEMPLATE_HPP
