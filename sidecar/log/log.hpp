// One line per event on stderr, as text or JSON, from any thread.
//   log::Info("worker", "job done", {{"job", 42}, {"ms", 12.5}});
// Secrets never reach it: the DSN is logged only through RedactConninfo.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace agentgres::sidecar::log {

enum class Level { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

void Configure(Level level, bool json);
Level ParseLevel(std::string_view name); // throws std::invalid_argument
void Write(Level level, std::string_view component, std::string_view message, const nlohmann::json &fields = {});
// The line Write prints (ending in a newline). In text form every part is
// passed through EscapeText; in JSON form the encoder escapes.
std::string FormatLine(Level level, std::string_view component, std::string_view message, const nlohmann::json &fields,
                       bool json);
// text with backslash, control characters (C0, DEL, C1) and the Unicode line
// separators escaped (\n, \t, \x1b, \u0085): always one line.
std::string EscapeText(std::string_view text);

inline void
Debug(std::string_view c, std::string_view m, const nlohmann::json &f = {})
{
	Write(Level::kDebug, c, m, f);
}
inline void
Info(std::string_view c, std::string_view m, const nlohmann::json &f = {})
{
	Write(Level::kInfo, c, m, f);
}
inline void
Warn(std::string_view c, std::string_view m, const nlohmann::json &f = {})
{
	Write(Level::kWarning, c, m, f);
}
inline void
Error(std::string_view c, std::string_view m, const nlohmann::json &f = {})
{
	Write(Level::kError, c, m, f);
}

// A conninfo string or URI, parsed by libpq and rebuilt as keyword='value'
// pairs with every secret (password, sslpassword) replaced by "***"; text
// libpq cannot parse is hidden entirely.
std::string RedactConninfo(std::string_view conninfo);

} // namespace agentgres::sidecar::log
