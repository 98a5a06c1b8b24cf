// agentgresd's configuration file: any text either is rejected with
// std::runtime_error (the documented error of Config::Load, which the daemon
// reports and exits 2 on) or gives settings that are each in their range,
// pass validation, and write out as TOML that reads back to the same values.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/config.hpp"
#include "fuzz.hpp"
#include "util/text.hpp"

using agentgres::sidecar::Config;
using agentgres::sidecar::SettingInfo;
using agentgres::sidecar::SettingsTable;
using agentgres::sidecar::SettingValue;

namespace {

SettingValue
ValueOf(const Config &c, const SettingInfo &info)
{
	return std::visit([&](auto member) { return SettingValue{c.*member}; }, info.member);
}

// A TOML basic string: quotes, backslashes and control characters escaped.
std::string
TomlString(const std::string &s)
{
	std::string out = "\"";
	for (unsigned char ch : s) {
		if (ch == '"' || ch == '\\') {
			out += '\\';
			out += static_cast<char>(ch);
		} else if (ch < 0x20 || ch == 0x7F) {
			char escaped[8];
			std::snprintf(escaped, sizeof escaped, "\\u%04X", ch);
			out += escaped;
		} else {
			out += static_cast<char>(ch);
		}
	}
	return out + "\"";
}

std::string
TomlValue(const SettingValue &v)
{
	if (const auto *s = std::get_if<std::string>(&v))
		return TomlString(*s);
	if (const auto *list = std::get_if<std::vector<std::string>>(&v)) {
		std::string out = "[";
		for (const std::string &item : *list)
			out += (out.size() > 1 ? ", " : "") + TomlString(item);
		return out + "]";
	}
	if (const auto *b = std::get_if<bool>(&v))
		return *b ? "true" : "false";
	if (const auto *i = std::get_if<std::int64_t>(&v))
		return std::to_string(*i);
	return agentgres::sidecar::text::Number(std::get<double>(v));
}

} // namespace

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	const std::string_view text(reinterpret_cast<const char *>(data), size);
	std::optional<Config> config;
	try {
		config.emplace(Config::FromToml(text, "fuzz.toml"));
	} catch (const std::runtime_error &e) {
		FUZZ_CHECK(e.what()[0] != '\0');
		return 0;
	}
	std::string written;
	for (const SettingInfo &info : SettingsTable()) {
		const SettingValue v = ValueOf(*config, info);
		if (const auto *i = std::get_if<std::int64_t>(&v))
			FUZZ_CHECK(static_cast<double>(*i) >= info.min && static_cast<double>(*i) <= info.max);
		if (const auto *d = std::get_if<double>(&v))
			FUZZ_CHECK(*d >= info.min && *d <= info.max);
		if (const auto *s = std::get_if<std::string>(&v); s != nullptr && *info.choices != '\0')
			FUZZ_CHECK(("|" + std::string(info.choices) + "|").find("|" + *s + "|") != std::string::npos);
		// What `agentgresd settings` shows is the value's clean form.
		FUZZ_CHECK(info.secret || config->Describe(info) == agentgres::sidecar::FormatValue(v));
		written += std::string(info.path) + " = " + TomlValue(v) + "\n";
	}
	Config again;
	try {
		again = Config::FromToml(written, "written.toml");
	} catch (const std::runtime_error &e) {
		std::fprintf(stderr, "the settings written back were rejected: %s\n%s", e.what(), written.c_str());
		FUZZ_CHECK(false);
	}
	for (const SettingInfo &info : SettingsTable())
		FUZZ_CHECK(ValueOf(again, info) == ValueOf(*config, info));
	return 0;
}
