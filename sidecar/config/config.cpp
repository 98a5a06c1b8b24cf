#include "config/config.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <stdexcept>

#include <toml++/toml.h>

namespace agentgres::sidecar {

const std::vector<SettingInfo> &
Settings()
{
	using I = std::int64_t;
	static const std::vector<SettingInfo> settings = {
	    {"database.dsn", std::string(""), "libpq conninfo or URI; empty: libpq's PG* environment variables", true},
	    {"database.connect_timeout_s", I{5}, "seconds to wait for a connection"},
	    {"database.reconnect_max_s", I{30}, "longest wait between reconnection attempts (exponential backoff)"},
	    {"http.listen", std::string("127.0.0.1:7780"), "address:port of /health, /metrics and /api"},
	    {"http.token", std::string(""), "bearer token required on everything but /health; needed off loopback", true},
	    {"log.level", std::string("info"), "debug, info, warning or error"},
	    {"log.format", std::string("text"), "text or json (one object per line)"},
	    {"coordinator.restart_backoff_initial_s", 1.0, "first wait before restarting a crashed loop"},
	    {"coordinator.restart_backoff_max_s", 60.0, "longest wait before restarting a crashed loop"},
	    {"coordinator.max_crashes", I{5}, "crashes within crash_window_s that mark a loop failed (and alert)"},
	    {"coordinator.crash_window_s", I{300}, "window for max_crashes"},
	    {"coordinator.shutdown_grace_s", 4.0, "time loops get to stop on SIGTERM/SIGINT"},
	    {"agents.heartbeat.enabled", true, "write each loop's heartbeat; alert on stale agents"},
	    {"agents.heartbeat.interval_s", 5.0, "seconds between heartbeats"},
	    {"agents.heartbeat.stale_after_s", I{30}, "an agent without a heartbeat for this long is stale"},
	    {"agents.perfmon.enabled", true, "collect host and database metrics; threshold and anomaly alerts"},
	    {"agents.perfmon.interval_s", 15.0, "seconds between samples"},
	    {"agents.perfmon.cpu_alert_percent", 95.0, "CPU use that raises an alert"},
	    {"agents.perfmon.memory_alert_percent", 95.0, "memory use that raises an alert"},
	    {"agents.perfmon.disk_alert_percent", 90.0, "disk use (of disk_path) that raises an alert"},
	    {"agents.perfmon.disk_path", std::string("/"), "file system whose use is watched"},
	    {"agents.perfmon.anomaly_sigma", 4.0, "alert when a metric leaves its EWMA band by this many deviations"},
	    {"agents.perfmon.anomaly_warmup", I{20}, "samples before anomaly alerts start"},
	    {"agents.janitor.enabled", true, "retention and metric rollups"},
	    {"agents.janitor.interval_s", 300.0, "seconds between runs"},
	    {"agents.janitor.retention_days", I{30}, "heartbeats, raw metrics, events and finished jobs kept this long"},
	    {"agents.worker.enabled", true, "run jobs from agentgres.jobs"},
	    {"agents.worker.concurrency", I{1}, "worker loops (each with its own connection) running jobs in parallel"},
	    {"agents.worker.lease_s", I{60}, "lease of a claimed job; a dead worker's job returns after it"},
	    {"agents.worker.poll_s", 5.0, "longest wait for work when no NOTIFY arrives"},
	    {"agents.chaos.enabled", false, "test aid: a loop that throws every interval (restart and alert paths)"},
	    {"agents.chaos.interval_s", 0.5, "seconds between the chaos loop's crashes"},
	};
	return settings;
}

std::string
EnvironmentName(std::string_view path)
{
	std::string name = "AGENTGRES_";
	for (char c : path)
		name.push_back(c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
	return name;
}

namespace {

const SettingInfo &
Info(std::string_view path)
{
	for (const SettingInfo &s : Settings())
		if (path == s.path)
			return s;
	throw std::runtime_error("unknown setting \"" + std::string(path) + "\"");
}

SettingValue
Parse(const SettingInfo &info, std::string_view text)
{
	const std::string t(text);
	try {
		return std::visit(
		    [&](const auto &d) -> SettingValue {
			    using T = std::decay_t<decltype(d)>;
			    std::size_t used = 0;
			    if constexpr (std::is_same_v<T, std::int64_t>) {
				    const auto v = std::stoll(t, &used);
				    if (used != t.size())
					    throw std::invalid_argument("");
				    return static_cast<std::int64_t>(v);
			    } else if constexpr (std::is_same_v<T, double>) {
				    const double v = std::stod(t, &used);
				    if (used != t.size())
					    throw std::invalid_argument("");
				    return v;
			    } else if constexpr (std::is_same_v<T, bool>) {
				    if (t == "true" || t == "1" || t == "yes" || t == "on")
					    return true;
				    if (t == "false" || t == "0" || t == "no" || t == "off")
					    return false;
				    throw std::invalid_argument("");
			    } else {
				    return t;
			    }
		    },
		    info.default_value);
	} catch (const std::logic_error &) {
		throw std::runtime_error("invalid value for setting \"" + std::string(info.path) + "\": \"" + t + "\"");
	}
}

void
Validate(const Config &c)
{
	for (const char *path : {"agents.heartbeat.interval_s", "agents.perfmon.interval_s", "agents.janitor.interval_s",
	                         "agents.worker.poll_s", "agents.chaos.interval_s", "coordinator.shutdown_grace_s",
	                         "coordinator.restart_backoff_initial_s", "coordinator.restart_backoff_max_s"})
		if (!(c.Number(path) > 0))
			throw std::runtime_error(std::string("setting \"") + path + "\" must be positive");
	if (c.Int("agents.worker.concurrency") < 1 || c.Int("agents.worker.concurrency") > 64)
		throw std::runtime_error("setting \"agents.worker.concurrency\" must be between 1 and 64");
	for (const char *path : {"agents.worker.lease_s", "agents.heartbeat.stale_after_s", "coordinator.max_crashes",
	                         "coordinator.crash_window_s", "agents.janitor.retention_days", "database.connect_timeout_s",
	                         "database.reconnect_max_s"})
		if (c.Int(path) < 1)
			throw std::runtime_error(std::string("setting \"") + path + "\" must be at least 1");
	const std::string &format = c.String("log.format");
	if (format != "text" && format != "json")
		throw std::runtime_error("setting \"log.format\" must be text or json");
}

} // namespace

Config
Config::Load(const std::string &path)
{
	Config c;
	for (const SettingInfo &s : Settings())
		c.values_.emplace(s.path, s.default_value);

	if (!path.empty()) {
		toml::table table;
		try {
			table = toml::parse_file(path);
		} catch (const toml::parse_error &e) {
			throw std::runtime_error("could not read configuration file \"" + path + "\": " +
			                         std::string(e.description()));
		}
		// Every key in the file must be a known setting: typos are errors.
		std::vector<std::string> unknown;
		std::function<void(const toml::table &, const std::string &)> walk = [&](const toml::table &t,
		                                                                         const std::string &prefix) {
			for (const auto &[key, node] : t) {
				const std::string full = prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
				if (const toml::table *sub = node.as_table()) {
					walk(*sub, full);
					continue;
				}
				auto it = c.values_.find(full);
				if (it == c.values_.end()) {
					unknown.push_back(full);
					continue;
				}
				std::string text;
				if (auto v = node.value<std::string>(); v && node.is_string())
					text = *v;
				else if (node.is_boolean())
					text = *node.value<bool>() ? "true" : "false";
				else if (node.is_integer())
					text = std::to_string(*node.value<std::int64_t>());
				else if (node.is_floating_point()) {
					char buffer[32]; // all 17 digits: std::to_string would round to 6 decimals
					std::snprintf(buffer, sizeof buffer, "%.17g", *node.value<double>());
					text = buffer;
				}
				else
					throw std::runtime_error("setting \"" + full + "\" in \"" + path + "\" has an unsupported type");
				c.Set(full, text);
			}
		};
		walk(table, "");
		if (!unknown.empty())
			throw std::runtime_error("unknown setting \"" + unknown.front() + "\" in \"" + path + "\"");
		c.source_ = path;
	}

	for (const SettingInfo &s : Settings())
		if (const char *env = std::getenv(EnvironmentName(s.path).c_str()))
			c.Set(s.path, env);
	// The contract's short names.
	if (const char *env = std::getenv("AGENTGRES_DSN"))
		c.Set("database.dsn", env);
	Validate(c);
	return c;
}

void
Config::Set(std::string_view path, std::string_view text)
{
	auto it = values_.find(path);
	if (it == values_.end())
		throw std::runtime_error("unknown setting \"" + std::string(path) + "\"");
	it->second = Parse(Info(path), text);
}

const SettingValue &
Config::Get(std::string_view path) const
{
	auto it = values_.find(path);
	if (it == values_.end())
		throw std::logic_error("unknown setting \"" + std::string(path) + "\"");
	return it->second;
}

std::int64_t
Config::Int(std::string_view path) const
{
	return std::get<std::int64_t>(Get(path));
}
double
Config::Number(std::string_view path) const
{
	const SettingValue &v = Get(path);
	return std::holds_alternative<double>(v) ? std::get<double>(v) : static_cast<double>(std::get<std::int64_t>(v));
}
bool
Config::Bool(std::string_view path) const
{
	return std::get<bool>(Get(path));
}
const std::string &
Config::String(std::string_view path) const
{
	return std::get<std::string>(Get(path));
}

std::string
Config::Describe(std::string_view path) const
{
	const SettingInfo &info = Info(path);
	const SettingValue &v = Get(path);
	if (info.secret)
		return std::get<std::string>(v).empty() ? "(unset)" : "(set)";
	return std::visit(
	    [](const auto &x) -> std::string {
		    using T = std::decay_t<decltype(x)>;
		    if constexpr (std::is_same_v<T, std::string>)
			    return x;
		    else if constexpr (std::is_same_v<T, bool>)
			    return x ? "true" : "false";
		    else
			    return std::to_string(x);
	    },
	    v);
}

} // namespace agentgres::sidecar
