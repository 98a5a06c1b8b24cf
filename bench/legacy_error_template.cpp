// The error template of agentgres 0.3.0 (git show main:extension/core/error_template.cpp), kept
// only so that bench/error_templates.cpp can report the accuracy before and after.
#include <string>
#include <string_view>

#include <cctype>

namespace agentgres::bench::legacy {
namespace {

constexpr std::size_t kMaxMessage = 500;

bool
IsHex(char c)
{
	return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}
bool
IsDigit(char c)
{
	return c >= '0' && c <= '9';
}
bool
IsWordChar(char c)
{
	return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

// Length of a UUID (8-4-4-4-12 hex) at s, or 0.
std::size_t
UuidAt(std::string_view s)
{
	static constexpr int kGroups[] = {8, 4, 4, 4, 12};
	std::size_t i = 0;
	for (int g = 0; g < 5; ++g) {
		if (g > 0) {
			if (i >= s.size() || s[i] != '-')
				return 0;
			++i;
		}
		for (int k = 0; k < kGroups[g]; ++k, ++i)
			if (i >= s.size() || !IsHex(s[i]))
				return 0;
	}
	return (i < s.size() && IsWordChar(s[i])) ? 0 : i;
}

// Length of a hex id at s: 0x followed by hex digits, or a run of at least 8
// hex digits with at least one decimal digit and one letter (so that plain
// words and plain numbers are left alone).
std::size_t
HexAt(std::string_view s)
{
	if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && IsHex(s[2])) {
		std::size_t i = 2;
		while (i < s.size() && IsHex(s[i]))
			++i;
		return i;
	}
	std::size_t i = 0;
	bool digit = false, letter = false;
	while (i < s.size() && IsHex(s[i])) {
		(IsDigit(s[i]) ? digit : letter) = true;
		++i;
	}
	if (i >= 8 && digit && letter && (i == s.size() || !IsWordChar(s[i])))
		return i;
	return 0;
}

// Length of a number at s (optional sign handled by the caller), or 0.
std::size_t
NumberAt(std::string_view s)
{
	std::size_t i = 0;
	while (i < s.size() && IsDigit(s[i]))
		++i;
	if (i == 0)
		return 0;
	if (i + 1 < s.size() && s[i] == '.' && IsDigit(s[i + 1])) {
		i += 1;
		while (i < s.size() && IsDigit(s[i]))
			++i;
	}
	if (i + 1 < s.size() && (s[i] == 'e' || s[i] == 'E')) {
		std::size_t j = i + 1;
		if (j < s.size() && (s[j] == '+' || s[j] == '-'))
			++j;
		if (j < s.size() && IsDigit(s[j])) {
			while (j < s.size() && IsDigit(s[j]))
				++j;
			i = j;
		}
	}
	return i;
}

// Length of a path at s, or 0: starts with /, ./, ../, ~/ or a drive letter,
// and runs to the next whitespace or quote.
std::size_t
PathAt(std::string_view s)
{
	const bool starts = (s.size() > 1 && s[0] == '/' && (IsWordChar(s[1]) || s[1] == '.')) || s.substr(0, 2) == "./" ||
	                    s.substr(0, 3) == "../" || s.substr(0, 2) == "~/" ||
	                    (s.size() > 2 && std::isalpha(static_cast<unsigned char>(s[0])) && s[1] == ':' &&
	                     (s[2] == '\\' || s[2] == '/'));
	if (!starts)
		return 0;
	std::size_t i = 0;
	while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i])) && s[i] != '"' && s[i] != '\'' &&
	       s[i] != ',' && s[i] != ')' && !(s[i] == ':' && i + 1 < s.size() && IsDigit(s[i + 1])))
		++i;
	// A trailing period ends the sentence, not the path.
	while (i > 1 && (s[i - 1] == '.' || s[i - 1] == ':'))
		--i;
	return i;
}

} // namespace

std::string
ErrorTemplate(std::string_view message)
{
	const std::string_view s = message.substr(0, kMaxMessage);
	std::string out;
	out.reserve(s.size());
	std::size_t i = 0;
	auto previous_is_word = [&] { return !out.empty() && IsWordChar(out.back()); };
	while (i < s.size()) {
		const char c = s[i];
		const std::string_view rest = s.substr(i);
		if (std::isspace(static_cast<unsigned char>(c))) {
			if (!out.empty() && out.back() != ' ')
				out.push_back(' ');
			++i;
			continue;
		}
		if (!previous_is_word()) {
			if (const std::size_t n = UuidAt(rest)) {
				out += "<uuid>";
				i += n;
				continue;
			}
			if (const std::size_t n = HexAt(rest)) {
				out += "<hex>";
				i += n;
				continue;
			}
		}
		if (c == '\'' || c == '"') {
			const std::size_t close = s.find(c, i + 1);
			if (close != std::string_view::npos) {
				out += "<str>";
				i = close + 1;
				continue;
			}
		}
		if (out.empty() || std::string_view(" ('\"=[:,").find(out.back()) != std::string_view::npos) {
			if (const std::size_t n = PathAt(rest)) {
				out += "<path>";
				i += n;
				continue;
			}
		}
		// "v1.2": the digits after a dot inside a word belong to the word.
		const bool after_word_dot = out.size() >= 2 && out.back() == '.' && IsWordChar(out[out.size() - 2]);
		if (!after_word_dot &&
		    (!previous_is_word() || (!out.empty() && !std::isalpha(static_cast<unsigned char>(out.back()))))) {
			std::size_t sign = (c == '-' || c == '+') && !previous_is_word() ? 1 : 0;
			if (const std::size_t n = NumberAt(rest.substr(sign))) {
				out += "<num>";
				i += sign + n;
				continue;
			}
		}
		out.push_back(c);
		++i;
	}
	while (!out.empty() && out.back() == ' ')
		out.pop_back();
	return out;
}

} // namespace agentgres::bench::legacy
