#include "log/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <regex>
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
	const auto millis =
	    std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
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

std::string
RedactConninfo(std::string_view conninfo)
{
	std::string s(conninfo);
	// key=value form: password=secret or password='se cret'
	static const std::regex kKeyValue(R"((password\s*=\s*)('([^'\\]|\\.)*'|\S+))", std::regex::icase);
	s = std::regex_replace(s, kKeyValue, "$1***");
	// URI form: postgresql://user:secret@host
	static const std::regex kUri(R"((postgres(ql)?://[^:/@]+:)[^@]*@)", std::regex::icase);
	return std::regex_replace(s, kUri, "$1***@");
}

} // namespace agentgres::sidecar::log
