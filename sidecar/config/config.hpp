// agentgresd's settings: one table (kSettings in config.cpp) names every
// setting with its type, default and meaning. Values come from the defaults,
// then the TOML file (AGENTGRES_CONFIG or --config), then the environment:
// the setting "a.b_c" is overridden by AGENTGRES_A_B_C, and the contract's
// short names AGENTGRES_DSN, AGENTGRES_HTTP_LISTEN, AGENTGRES_HTTP_TOKEN work
// too. With no DSN, libpq's PG* variables apply.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace agentgres::sidecar {

using SettingValue = std::variant<std::int64_t, double, bool, std::string>;

struct SettingInfo {
	const char *path;
	SettingValue default_value;
	const char *description;
	bool secret = false;
};

const std::vector<SettingInfo> &Settings();

class Config {
public:
	// Defaults, then the file (if non-empty path), then the environment.
	// Throws std::runtime_error with a clear message on a bad file or value.
	static Config Load(const std::string &path);

	std::int64_t Int(std::string_view path) const;
	double Number(std::string_view path) const;
	bool Bool(std::string_view path) const;
	const std::string &String(std::string_view path) const;

	void Set(std::string_view path, std::string_view text); // parses text as the setting's type
	std::string Describe(std::string_view path) const;       // value as text, secrets hidden
	const std::string &source() const noexcept { return source_; }

private:
	const SettingValue &Get(std::string_view path) const;
	std::map<std::string, SettingValue, std::less<>> values_;
	std::string source_ = "defaults";
};

// "AGENTGRES_" + path upper-cased with '.' -> '_'.
std::string EnvironmentName(std::string_view path);

} // namespace agentgres::sidecar
