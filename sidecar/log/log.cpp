#include "log/log.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <stdexcept>

#include <libpq-fe.h>

namespace agentgres::sidecar::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::atomic<bool> g_json{false};
std::mutex g_mutex;

const char *
LevelName(Level level)
{
	switch (level) {
	case Level::kDebug:
		return "debug";
	case Level::kInfo:
		return "info";
	case Level::kWarning:
		return "warning";
	case Level::kError:
		return "error";
	}
	return "info";
}

std::string
Timestamp()
{
	const auto now = std::chrono::system_clock::now();
	const auto seconds = std::chrono::system_clock::to_time_t(now);
	const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
	std::tm tm{};
	gmtime_r(&seconds, &tm);
	char buffer[32];
	std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &tm);
	char out[40];
	std::snprintf(out, sizeof out, "%s.%03lldZ", buffer, static_cast<long long>(millis));
	return out;
}

} // namespace

void
Configure(Level level, bool json)
{
	g_level = static_cast<int>(level);
	g_json = json;
}

Level
ParseLevel(std::string_view name)
{
	if (name == "debug")
		return Level::kDebug;
	if (name == "info")
		return Level::kInfo;
	if (name == "warning" || name == "warn")
		return Level::kWarning;
	if (name == "error")
		return Level::kError;
	throw std::invalid_argument("unrecognized log level \"" + std::string(name) + "\" (debug, info, warning, error)");
}

std::string
EscapeText(std::string_view text)
{
	static const char kHex[] = "0123456789abcdef";
	std::string out;
	out.reserve(text.size());
	for (std::size_t i = 0; i < text.size(); ++i) {
		const auto c = static_cast<unsigned char>(text[i]);
		if (c == '\\')
			out += "\\\\";
		else if (c == '\n')
			out += "\\n";
		else if (c == '\r')
			out += "\\r";
		else if (c == '\t')
			out += "\\t";
		else if (c < 0x20 || c == 0x7f)
			out.append("\\x").append(1, kHex[c >> 4]).append(1, kHex[c & 15]);
		else if (c == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
		         static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
			// C1 controls in UTF-8 (NEL, U+0085, ends a line for some readers).
			const auto d = static_cast<unsigned char>(text[++i]);
			out.append("\\u00").append(1, kHex[d >> 4]).append(1, kHex[d & 15]);
		} else if (c == 0xe2 && i + 2 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0x80 &&
		           (static_cast<unsigned char>(text[i + 2]) == 0xa8 ||
		            static_cast<unsigned char>(text[i + 2]) == 0xa9)) {
			// U+2028 and U+2029, the line and paragraph separators.
			out += static_cast<unsigned char>(text[i + 2]) == 0xa8 ? "\\u2028" : "\\u2029";
			i += 2;
		} else
			out.push_back(static_cast<char>(c));
	}
	return out;
}

std::string
FormatLine(Level level, std::string_view component, std::string_view message, const nlohmann::json &fields, bool json)
{
	std::string line;
	if (json) {
		// nlohmann escapes every control character; ensure_ascii also
		// escapes U+2028/U+2029 and C1 controls, which some readers split on.
		nlohmann::json j = fields.is_object() ? fields : nlohmann::json::object();
		j["ts"] = Timestamp();
		j["level"] = LevelName(level);
		j["component"] = component;
		j["msg"] = message;
		line = j.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
	} else {
		// Every field is escaped: a value with a newline (a job's error)
		// cannot forge a line of its own.
		line = Timestamp() + " " + LevelName(level) + " [" + EscapeText(component) + "] " + EscapeText(message);
		if (fields.is_object())
			for (const auto &[key, value] : fields.items())
				line += " " + EscapeText(key) + "=" +
				        EscapeText(value.is_string()
				                       ? value.get<std::string>()
				                       : value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
	}
	return line + '\n';
}

void
Write(Level level, std::string_view component, std::string_view message, const nlohmann::json &fields)
{
	if (static_cast<int>(level) < g_level.load())
		return;
	const std::string line = FormatLine(level, component, message, fields, g_json);
	std::lock_guard<std::mutex> lock(g_mutex);
	std::fwrite(line.data(), 1, line.size(), stderr);
	std::fflush(stderr);
}

namespace {

// A conninfo value in single quotes, as libpq reads it back.
std::string
Quote(std::string_view value)
{
	std::string out = "'";
	for (char c : value) {
		if (c == '\'' || c == '\\')
			out.push_back('\\');
		out.push_back(c);
	}
	return out + "'";
}

bool
IsSecretOption(const PQconninfoOption &o)
{
	// libpq marks the options it would never show with "*" (password,
	// sslpassword); the names are checked too in case a build does not.
	const std::string_view key = o.keyword;
	return (o.dispchar != nullptr && std::string_view(o.dispchar).find('*') != std::string_view::npos) ||
	       key == "password" || key == "sslpassword";
}

bool
LooksLikeConninfo(std::string_view value)
{
	return value.find('=') != std::string_view::npos || value.rfind("postgresql://", 0) == 0 ||
	       value.rfind("postgres://", 0) == 0;
}

std::string
Redact(std::string_view conninfo, int depth)
{
	const std::string text(conninfo);
	// What the daemon's connect (expand_dbname) takes for a database name.
	if (!text.empty() && !LooksLikeConninfo(text))
		return "dbname=" + Quote(text);
	char *error = nullptr;
	PQconninfoOption *options = PQconninfoParse(text.c_str(), &error);
	if (options == nullptr) {
		PQfreemem(error);
		// Nothing libpq can read is logged: it might be all secret.
		return "(unparsable conninfo, hidden)";
	}
	std::string out;
	for (const PQconninfoOption *o = options; o->keyword != nullptr; ++o) {
		if (o->val == nullptr)
			continue;
		std::string value;
		if (IsSecretOption(*o))
			value = "***";
		else if (std::string_view(o->keyword) == "dbname" && LooksLikeConninfo(o->val))
			// libpq expands a conninfo given as dbname (the daemon connects
			// that way): redact inside it too, once.
			value = Quote(depth == 0 ? Redact(o->val, 1) : "(hidden)");
		else
			value = Quote(o->val);
		out += (out.empty() ? "" : " ") + std::string(o->keyword) + "=" + value;
	}
	PQconninfoFree(options);
	return out;
}

} // namespace

// libpq's own parser reads the conninfo or URI, so every form libpq accepts
// (URIs with an empty user, percent-encoding, query parameters, quoted
// values) is understood exactly as the connection will understand it; the
// result is rebuilt as keyword=value pairs with secrets replaced.
std::string
RedactConninfo(std::string_view conninfo)
{
	return Redact(conninfo, 0);
}

} // namespace agentgres::sidecar::log
