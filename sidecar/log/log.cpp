#include "log/log.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <stdexcept>

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

void
Write(Level level, std::string_view component, std::string_view message, const nlohmann::json &fields)
{
	if (static_cast<int>(level) < g_level.load())
		return;
	std::string line;
	if (g_json) {
		nlohmann::json j = fields.is_object() ? fields : nlohmann::json::object();
		j["ts"] = Timestamp();
		j["level"] = LevelName(level);
		j["component"] = component;
		j["msg"] = message;
		line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
	} else {
		line = Timestamp() + " " + LevelName(level) + " [" + std::string(component) + "] " + std::string(message);
		if (fields.is_object())
			for (const auto &[key, value] : fields.items())
				line += " " + key + "=" +
				        (value.is_string() ? value.get<std::string>()
				                           : value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
	}
	line += '\n';
	std::lock_guard<std::mutex> lock(g_mutex);
	std::fwrite(line.data(), 1, line.size(), stderr);
	std::fflush(stderr);
}

namespace {

bool
StartsWithNoCase(std::string_view s, std::size_t at, std::string_view prefix)
{
	if (s.size() - at < prefix.size())
		return false;
	for (std::size_t i = 0; i < prefix.size(); ++i)
		if (std::tolower(static_cast<unsigned char>(s[at + i])) != prefix[i])
			return false;
	return true;
}

bool
IsSpace(char c)
{
	return std::isspace(static_cast<unsigned char>(c)) != 0;
}

} // namespace

// A hand-written scan rather than std::regex, which costs seconds of
// compile time for two patterns.
std::string
RedactConninfo(std::string_view conninfo)
{
	std::string out;
	const std::string_view s = conninfo;
	std::size_t i = 0;
	while (i < s.size()) {
		// key=value form: password=secret or password = 'se cr\'et'
		if (StartsWithNoCase(s, i, "password")) {
			std::size_t j = i + 8;
			while (j < s.size() && IsSpace(s[j]))
				++j;
			if (j < s.size() && s[j] == '=') {
				++j;
				while (j < s.size() && IsSpace(s[j]))
					++j;
				std::size_t end = j;
				if (end < s.size() && s[end] == '\'') {
					for (++end; end < s.size() && s[end] != '\''; ++end)
						if (s[end] == '\\' && end + 1 < s.size())
							++end;
					end = std::min(end + 1, s.size());
				} else {
					while (end < s.size() && !IsSpace(s[end]))
						++end;
				}
				if (end > j) {
					out.append(s.substr(i, j - i)).append("***");
					i = end;
					continue;
				}
			}
		}
		// URI form: postgresql://user:secret@host
		for (std::string_view scheme : {"postgresql://", "postgres://"}) {
			if (!StartsWithNoCase(s, i, scheme))
				continue;
			std::size_t user_end = i + scheme.size();
			while (user_end < s.size() && s[user_end] != ':' && s[user_end] != '/' && s[user_end] != '@')
				++user_end;
			const std::size_t at = s.find('@', user_end);
			if (user_end > i + scheme.size() && user_end < s.size() && s[user_end] == ':' &&
			    at != std::string_view::npos) {
				out.append(s.substr(i, user_end + 1 - i)).append("***");
				i = at;
			}
			break;
		}
		if (i < s.size())
			out.push_back(s[i++]);
	}
	return out;
}

} // namespace agentgres::sidecar::log
