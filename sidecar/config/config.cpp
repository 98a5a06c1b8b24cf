#include "config/config.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <stdexcept>

#include <toml++/toml.h>

#include "util/text.hpp"

extern char **environ;

namespace agentgres::sidecar {

// Every number a setting can hold, times 1000, fits a 32-bit int: any of them
// may become milliseconds, a PostgreSQL int parameter or a statement_timeout
// without overflowing (lease_s = 2147483648 cannot even be written down).
#define AGENTGRES_INT_BOUND(member, path, def, lo, hi, help)                                                           \
	static_assert((lo) >= -2147483 && (hi) <= 2147483 && (lo) <= (def) && (def) <= (hi), path ": range too wide");
#define AGENTGRES_NUM_BOUND(member, path, def, lo, hi, help)                                                           \
	static_assert((lo) >= -2147483.0 && (hi) <= 2147483.0 && (lo) <= (def) && (def) <= (hi), path ": range too wide");
#define AGENTGRES_NO_BOUND(...)
AGENTGRES_SETTINGS(AGENTGRES_INT_BOUND, AGENTGRES_NUM_BOUND, AGENTGRES_NO_BOUND, AGENTGRES_NO_BOUND, AGENTGRES_NO_BOUND)
#undef AGENTGRES_INT_BOUND
#undef AGENTGRES_NUM_BOUND
#undef AGENTGRES_NO_BOUND

const std::vector<SettingInfo> &
SettingsTable()
{
#define AGENTGRES_INT_ROW(member, path, def, lo, hi, help)                                                             \
	SettingInfo{path, help, &Settings::member, SettingValue{std::int64_t{def}}, lo, hi, "", false},
#define AGENTGRES_NUM_ROW(member, path, def, lo, hi, help)                                                             \
	SettingInfo{path, help, &Settings::member, SettingValue{static_cast<double>(def)}, lo, hi, "", false},
#define AGENTGRES_BOOL_ROW(member, path, def, help)                                                                    \
	SettingInfo{path, help, &Settings::member, SettingValue{bool{def}}, 0, 0, "", false},
#define AGENTGRES_TEXT_ROW(member, path, def, choices, secret, help)                                                   \
	SettingInfo{path, help, &Settings::member, SettingValue{std::string(def)}, 0, 0, choices, secret},
#define AGENTGRES_LIST_ROW(member, path, def, help)                                                                    \
	SettingInfo{path, help, &Settings::member, SettingValue{ParseList(def)}, 0, 0, "", false},
	static const std::vector<SettingInfo> table = {
	    AGENTGRES_SETTINGS(AGENTGRES_INT_ROW, AGENTGRES_NUM_ROW, AGENTGRES_BOOL_ROW, AGENTGRES_TEXT_ROW,
	                       AGENTGRES_LIST_ROW)};
#undef AGENTGRES_LIST_ROW
#undef AGENTGRES_INT_ROW
#undef AGENTGRES_NUM_ROW
#undef AGENTGRES_BOOL_ROW
#undef AGENTGRES_TEXT_ROW
	return table;
}

const SettingInfo *
FindSetting(std::string_view path)
{
	for (const SettingInfo &s : SettingsTable())
		if (path == s.path)
			return &s;
	return nullptr;
}

const char *
SourceName(Source source)
{
	switch (source) {
	case Source::kDefault:
		return "default";
	case Source::kFile:
		return "file";
	case Source::kEnvironment:
		return "env";
	case Source::kOption:
		return "option";
	}
	return "unknown";
}

std::string
EnvironmentName(std::string_view path)
{
	std::string name = "AGENTGRES_";
	for (char c : path)
		name.push_back(c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
	return name;
}

std::vector<std::string>
ParseList(std::string_view text)
{
	std::vector<std::string> items;
	std::string item;
	const auto finish = [&] {
		const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
		std::size_t begin = 0, end = item.size();
		while (end > begin && blank(item[end - 1]))
			--end;
		while (begin < end && blank(item[begin]))
			++begin;
		if (begin < end)
			items.push_back(item.substr(begin, end - begin));
		item.clear();
	};
	for (std::size_t i = 0; i < text.size(); ++i) {
		if (text[i] == '\\' && i + 1 < text.size() && (text[i + 1] == ',' || text[i + 1] == '\\'))
			item.push_back(text[++i]);
		else if (text[i] == ',')
			finish();
		else
			item.push_back(text[i]);
	}
	finish();
	return items;
}

std::string
FormatList(const std::vector<std::string> &items)
{
	std::string out;
	for (const std::string &item : items) {
		if (!out.empty())
			out += ',';
		for (char c : item) {
			if (c == ',' || c == '\\')
				out += '\\';
			out += c;
		}
	}
	return out;
}

std::string
FormatValue(const SettingValue &value)
{
	return std::visit(
	    [](const auto &x) -> std::string {
		    using T = std::decay_t<decltype(x)>;
		    if constexpr (std::is_same_v<T, std::string>)
			    return x;
		    else if constexpr (std::is_same_v<T, std::vector<std::string>>)
			    return FormatList(x);
		    else if constexpr (std::is_same_v<T, bool>)
			    return x ? "true" : "false";
		    else if constexpr (std::is_same_v<T, double>)
			    return text::Number(x);
		    else
			    return std::to_string(x);
	    },
	    value);
}

namespace {

// AGENTGRES_* variables that are not settings but are read elsewhere.
const std::vector<std::string> &
OtherEnvironmentNames()
{
	static const std::vector<std::string> names = {
	    "AGENTGRES_DSN",    // the contract's short name of database.dsn
	    "AGENTGRES_CONFIG", // the configuration file (the command line)
	    // the project's scripts and tests, not agentgresd
	    "AGENTGRES_ROOT", "AGENTGRES_PGPORT", "AGENTGRES_DB", "AGENTGRES_PGDATA", "AGENTGRES_TEST_PGPORT",
	    "AGENTGRES_TEST_HTTP_PORT", "AGENTGRES_BENCH_PGPORT", "AGENTGRES_SIFTSMALL", "AGENTGRES_PGXS_FLAGS",
	    "AGENTGRES_FUZZ_SECONDS"};
	return names;
}

std::string
Quoted(std::string_view s)
{
	return "\"" + std::string(s) + "\"";
}

SettingValue
Parse(const SettingInfo &info, std::string_view text)
{
	const std::string t(text);
	const auto bad = [&](const std::string &why) {
		return std::runtime_error("invalid value " + Quoted(t) + " for setting " + Quoted(info.path) + ": " + why);
	};
	const auto range = [&] { return "between " + text::Number(info.min) + " and " + text::Number(info.max); };
	return std::visit(
	    [&](auto member) -> SettingValue {
		    using T = std::decay_t<decltype(std::declval<Settings>().*member)>;
		    std::size_t used = 0;
		    if constexpr (std::is_same_v<T, std::int64_t>) {
			    long long v = 0;
			    bool overflow = false;
			    try {
				    v = std::stoll(t, &used);
			    } catch (const std::out_of_range &) {
				    // Digits only, but beyond 64 bits: out of range, not malformed.
				    overflow = !t.empty() && std::all_of(t.begin() + (t[0] == '-' || t[0] == '+'), t.end(), [](char d) {
					    return d >= '0' && d <= '9';
				    });
				    used = overflow ? t.size() : 0;
			    } catch (const std::logic_error &) {
				    used = 0;
			    }
			    if (t.empty() || used != t.size() || std::isspace(static_cast<unsigned char>(t[0])))
				    throw bad("expected an integer " + range());
			    if (overflow)
				    throw bad("must be " + range());
			    if (static_cast<double>(v) < info.min || static_cast<double>(v) > info.max)
				    throw bad("must be " + range());
			    return static_cast<std::int64_t>(v);
		    } else if constexpr (std::is_same_v<T, double>) {
			    double v = 0;
			    bool overflow = false;
			    try {
				    v = std::stod(t, &used);
			    } catch (const std::out_of_range &) {
				    // 1e400 (or 1e-400): a number, just not one in range.
				    overflow = true;
				    used = t.size();
			    } catch (const std::logic_error &) {
				    used = 0;
			    }
			    if (t.empty() || used != t.size() || std::isspace(static_cast<unsigned char>(t[0])))
				    throw bad("expected a number " + range());
			    if (overflow)
				    throw bad("must be " + range());
			    // !(in range) also rejects NaN.
			    if (!(v >= info.min && v <= info.max))
				    throw bad("must be " + range());
			    return v;
		    } else if constexpr (std::is_same_v<T, bool>) {
			    if (t == "true" || t == "1" || t == "yes" || t == "on")
				    return true;
			    if (t == "false" || t == "0" || t == "no" || t == "off")
				    return false;
			    throw bad("expected true or false");
		    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
			    return ParseList(t);
		    } else {
			    if (*info.choices == '\0')
				    return t;
			    const std::string choices = std::string("|") + info.choices + "|";
			    if (t.find('|') == std::string::npos && choices.find("|" + t + "|") != std::string::npos)
				    return t;
			    std::string list = info.choices;
			    std::replace(list.begin(), list.end(), '|', ',');
			    throw bad("expected one of " + list);
		    }
	    },
	    info.member);
}

std::vector<std::string>
Paths()
{
	std::vector<std::string> paths;
	for (const SettingInfo &s : SettingsTable())
		paths.emplace_back(s.path);
	return paths;
}

std::string
DidYouMean(const std::string &nearest)
{
	return nearest.empty() ? "" : " (did you mean " + nearest + "?)";
}

} // namespace

void
Config::Set(std::string_view path, std::string_view text, Source source)
{
	const SettingInfo *info = FindSetting(path);
	if (info == nullptr)
		throw std::runtime_error("unknown setting " + Quoted(path) + DidYouMean(text::Nearest(path, Paths())));
	SettingValue value = Parse(*info, text);
	std::visit(
	    [&](auto member) {
		    using T = std::decay_t<decltype(this->*member)>;
		    this->*member = std::get<T>(std::move(value));
	    },
	    info->member);
	sources_[static_cast<std::size_t>(info - SettingsTable().data())] = source;
}

void
Config::Validate() const
{
	if (coordinator_restart_backoff_initial_s > coordinator_restart_backoff_max_s)
		throw std::runtime_error("setting \"coordinator.restart_backoff_initial_s\" (" +
		                         text::Number(coordinator_restart_backoff_initial_s) +
		                         ") must not exceed \"coordinator.restart_backoff_max_s\" (" +
		                         text::Number(coordinator_restart_backoff_max_s) + ")");
	// Else every agent of this daemon would always be stale.
	if (agents_heartbeat_enabled && static_cast<double>(agents_heartbeat_stale_after_s) <= agents_heartbeat_interval_s)
		throw std::runtime_error(
		    "setting \"agents.heartbeat.stale_after_s\" (" + std::to_string(agents_heartbeat_stale_after_s) +
		    ") must exceed \"agents.heartbeat.interval_s\" (" + text::Number(agents_heartbeat_interval_s) + ")");
	if (embedder_provider == "openai" && (embedder_url.empty() || embedder_model.empty()))
		throw std::runtime_error(
		    "setting \"embedder.provider\" = \"openai\" needs \"embedder.url\" and \"embedder.model\"");
}

namespace {

// Sets every key of a parsed file; unknown keys and bad values throw.
void
ApplyToml(Config &c, const toml::table &table, const std::string &origin)
{
	// Every key in the file must be a known setting: a typo in a file is an
	// error (with a did-you-mean), not silently a default.
	std::function<void(const toml::table &, const std::string &)> walk = [&](const toml::table &t,
	                                                                         const std::string &prefix) {
		for (const auto &[key, node] : t) {
			const std::string full = prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
			if (const toml::table *sub = node.as_table()) {
				walk(*sub, full);
				continue;
			}
			if (FindSetting(full) == nullptr)
				throw std::runtime_error("unknown setting " + Quoted(full) + " in " + Quoted(origin) +
				                         DidYouMean(text::Nearest(full, Paths())));
			std::string value;
			if (node.is_string())
				value = *node.value<std::string>();
			else if (node.is_boolean())
				value = *node.value<bool>() ? "true" : "false";
			else if (node.is_integer())
				value = std::to_string(*node.value<std::int64_t>());
			else if (node.is_floating_point())
				value = text::Number(*node.value<double>()); // exact: no rounding to 6 decimals
			else if (const toml::array *array = node.as_array()) {
				// A list setting: an array of strings.
				std::vector<std::string> items;
				for (const toml::node &item : *array) {
					if (!item.is_string())
						throw std::runtime_error(
						    "setting " + Quoted(full) + " in " + Quoted(origin) + " must be an array of strings");
					items.push_back(*item.value<std::string>());
				}
				value = FormatList(items);
				if (!std::holds_alternative<std::vector<std::string> Settings::*>(FindSetting(full)->member))
					throw std::runtime_error(
					    "setting " + Quoted(full) + " in " + Quoted(origin) + " takes a single value, not an array");
			} else
				throw std::runtime_error(
				    "setting " + Quoted(full) + " in " + Quoted(origin) + " has an unsupported type");
			try {
				c.Set(full, value, Source::kFile);
			} catch (const std::runtime_error &e) {
				throw std::runtime_error(std::string(e.what()) + " in " + Quoted(origin));
			}
		}
	};
	walk(table, "");
}

} // namespace

Config
Config::FromToml(std::string_view text, const std::string &origin)
{
	Config c;
	toml::table table;
	try {
		table = toml::parse(text, origin);
	} catch (const toml::parse_error &e) {
		throw std::runtime_error(
		    "could not read configuration " + Quoted(origin) + ": " + std::string(e.description()));
	}
	ApplyToml(c, table, origin);
	c.Validate();
	return c;
}

Config
Config::Load(const std::string &path)
{
	Config c;
	if (!path.empty()) {
		toml::table table;
		try {
			table = toml::parse_file(path);
		} catch (const toml::parse_error &e) {
			throw std::runtime_error(
			    "could not read configuration file " + Quoted(path) + ": " + std::string(e.description()));
		}
		ApplyToml(c, table, path);
		c.file_ = path;
	}

	std::vector<std::string> known;
	for (const SettingInfo &s : SettingsTable()) {
		known.push_back(EnvironmentName(s.path));
		if (const char *env = std::getenv(known.back().c_str()))
			c.Set(s.path, env, Source::kEnvironment);
	}
	if (const char *env = std::getenv("AGENTGRES_DSN"))
		c.Set("database.dsn", env, Source::kEnvironment);

	// A misspelt variable would otherwise be ignored without a word.
	for (const std::string &n : OtherEnvironmentNames())
		known.push_back(n);
	for (char **e = environ; e != nullptr && *e != nullptr; ++e) {
		const std::string_view entry(*e);
		const std::string name(entry.substr(0, entry.find('=')));
		if (name.rfind("AGENTGRES_", 0) != 0 || std::find(known.begin(), known.end(), name) != known.end())
			continue;
		c.warnings_.push_back(
		    "unknown environment variable " + name + " ignored" + DidYouMean(text::Nearest(name, known)));
	}
	std::sort(c.warnings_.begin(), c.warnings_.end());
	c.Validate();
	return c;
}

std::string
Config::Describe(const SettingInfo &info) const
{
	const SettingValue value = std::visit([&](auto member) { return SettingValue{this->*member}; }, info.member);
	if (info.secret)
		return std::get<std::string>(value).empty() ? "(unset)" : "(set)";
	return FormatValue(value);
}

std::string
Config::Describe(std::string_view path) const
{
	const SettingInfo *info = FindSetting(path);
	if (info == nullptr)
		throw std::logic_error("unknown setting " + Quoted(path));
	return Describe(*info);
}

namespace {

std::filesystem::path
BesideBinary(const std::string &exe)
{
	if (exe.empty())
		return {};
	std::error_code error;
	const std::filesystem::path binary = std::filesystem::weakly_canonical(exe, error);
	if (error)
		return {};
	return binary.parent_path().parent_path() / ".agentgres" / "agentgresd.toml";
}

} // namespace

std::string
FindDefaultConfigFile(const std::string &start, const std::string &exe)
{
	std::error_code error;
	std::filesystem::path dir = std::filesystem::absolute(start.empty() ? "." : start, error).lexically_normal();
	if (!dir.has_filename())
		dir = dir.parent_path(); // "/a/b/" -> "/a/b"
	std::error_code missing;     // a candidate that does not exist is no error
	for (; !error && !dir.empty(); dir = dir.parent_path()) {
		const std::filesystem::path candidate = dir / ".agentgres" / "agentgresd.toml";
		if (std::filesystem::is_regular_file(candidate, missing))
			return candidate.lexically_normal().string();
		if (dir == dir.parent_path())
			break;
	}
	const std::filesystem::path beside = BesideBinary(exe);
	if (!beside.empty() && std::filesystem::is_regular_file(beside, missing))
		return beside.lexically_normal().string();
	return "";
}

std::string
DefaultConfigSearchText(const std::string &start, const std::string &exe)
{
	std::error_code error;
	std::filesystem::path dir = std::filesystem::absolute(start.empty() ? "." : start, error).lexically_normal();
	if (!dir.has_filename())
		dir = dir.parent_path();
	std::string text = "looked for .agentgres/agentgresd.toml in " + dir.string() + " and its parents";
	const std::filesystem::path beside = BesideBinary(exe);
	if (!beside.empty())
		text += " and at " + beside.lexically_normal().string();
	return text;
}

Source
Config::source(const SettingInfo &info) const
{
	return sources_[static_cast<std::size_t>(&info - SettingsTable().data())];
}

} // namespace agentgres::sidecar
