#include "error_template.hpp"

#include "utf8.hpp"

#include <algorithm>

namespace agentgres::core {
namespace {

// ASCII only: locale-independent, and bytes of multi-byte UTF-8 characters
// are never mistaken for letters, digits or delimiters.
bool
IsSpace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool
IsDigit(char c)
{
	return c >= '0' && c <= '9';
}
bool
IsAlpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool
IsAlnum(char c)
{
	return IsAlpha(c) || IsDigit(c);
}
bool
IsWord(char c)
{
	return IsAlnum(c) || c == '_';
}
bool
IsHex(char c)
{
	return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
// Characters that end a token and are kept as they are.
bool
IsDelimiter(char c)
{
	switch (c) {
	case '(':
	case ')':
	case '[':
	case ']':
	case '{':
	case '}':
	case '<':
	case '>':
	case ',':
	case ';':
	case '|':
		return true;
	default:
		return false;
	}
}
bool
HasDigit(std::string_view t)
{
	for (char c : t)
		if (IsDigit(c))
			return true;
	return false;
}
bool
StartsWith(std::string_view s, std::string_view prefix)
{
	return s.substr(0, prefix.size()) == prefix;
}

std::size_t
Digits(std::string_view t, std::size_t i)
{
	std::size_t j = i;
	while (j < t.size() && IsDigit(t[j]))
		++j;
	return j - i;
}

// 42, -3.5e2, .5, 42s, 12MB, 99%, 3rd.
bool
IsNumber(std::string_view t)
{
	std::size_t i = 0;
	if (i < t.size() && (t[i] == '-' || t[i] == '+'))
		++i;
	std::size_t n = Digits(t, i);
	i += n;
	if (i + 1 < t.size() && t[i] == '.' && IsDigit(t[i + 1])) {
		const std::size_t f = Digits(t, i + 1);
		i += 1 + f;
		n += f;
	}
	if (n == 0)
		return false;
	if (i + 1 < t.size() && (t[i] == 'e' || t[i] == 'E')) {
		std::size_t j = i + 1;
		if (j < t.size() && (t[j] == '+' || t[j] == '-'))
			++j;
		if (const std::size_t e = Digits(t, j); e > 0)
			i = j + e;
	}
	if (i < t.size() && t[i] == '%')
		return i + 1 == t.size();
	std::size_t unit = 0;
	while (i < t.size() && IsAlpha(t[i])) {
		++i;
		++unit;
	}
	return i == t.size() && unit <= 3;
}

// 0x1f3a, or only hex digits with at least one digit and one letter.
bool
IsHexId(std::string_view t)
{
	if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
		for (std::size_t i = 2; i < t.size(); ++i)
			if (!IsHex(t[i]))
				return false;
		return true;
	}
	bool digit = false, letter = false;
	for (char c : t) {
		if (!IsHex(c))
			return false;
		(IsDigit(c) ? digit : letter) = true;
	}
	return digit && letter;
}

bool
IsUuid(std::string_view t)
{
	if (t.size() != 36)
		return false;
	for (std::size_t i = 0; i < t.size(); ++i) {
		const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? t[i] != '-' : !IsHex(t[i]))
			return false;
	}
	return true;
}

// d.d.d.d with an optional :port or /mask; or IPv6 (hex groups and colons,
// with :: or at least five colons, optionally %zone).
bool
IsIp(std::string_view t)
{
	std::size_t i = 0;
	int groups = 0;
	for (;;) {
		const std::size_t n = Digits(t, i);
		if (n == 0 || n > 3)
			break;
		i += n;
		if (++groups == 4)
			break;
		if (i >= t.size() || t[i] != '.')
			break;
		++i;
	}
	if (groups == 4) {
		if (i == t.size())
			return true;
		if ((t[i] == ':' || t[i] == '/') && Digits(t, i + 1) > 0 && i + 1 + Digits(t, i + 1) == t.size())
			return true;
	}
	const std::size_t zone = t.find('%');
	const std::string_view v6 = t.substr(0, zone);
	int colons = 0;
	bool hex = false;
	for (char c : v6) {
		if (c == ':')
			++colons;
		else if (IsHex(c) || c == '.')
			hex = true;
		else
			return false;
	}
	return hex && colons >= 2 && (v6.find("::") != std::string_view::npos || colons >= 5);
}

// hh:mm, hh:mm:ss(.fff)(Z|+hh:mm) at i; returns its length or 0.
std::size_t
TimeAt(std::string_view t, std::size_t i)
{
	const std::size_t start = i;
	const std::size_t h = Digits(t, i);
	if (h == 0 || h > 2)
		return 0;
	i += h;
	int parts = 0;
	while (i + 2 < t.size() && t[i] == ':' && Digits(t, i + 1) == 2) {
		i += 3;
		++parts;
	}
	if (parts == 0)
		return 0;
	if (i + 1 < t.size() && (t[i] == '.' || t[i] == ',') && Digits(t, i + 1) > 0)
		i += 1 + Digits(t, i + 1);
	if (i < t.size() && t[i] == 'Z')
		++i;
	else if (i < t.size() && (t[i] == '+' || t[i] == '-') && Digits(t, i + 1) >= 2) {
		i += 1 + Digits(t, i + 1);
		if (i < t.size() && t[i] == ':' && Digits(t, i + 1) == 2)
			i += 3;
	}
	return i - start;
}

// 2024-01-31, 2024/01/31, 2024-01-31T10:00:00.5Z, 10:00:05.
bool
IsTime(std::string_view t)
{
	if (Digits(t, 0) == 4 && t.size() >= 10 && (t[4] == '-' || t[4] == '/') && Digits(t, 5) == 2 && t[7] == t[4] &&
	    Digits(t, 8) == 2) {
		if (t.size() == 10)
			return true;
		if (t[10] != 'T' && t[10] != '_')
			return false;
		return TimeAt(t, 11) == t.size() - 11;
	}
	return TimeAt(t, 0) == t.size();
}

// /a, ./a, ../a, ~/a, C:\a, \\host\share; or a relative path with at least
// two slashes or a dot in its last part (a/b/c, src/main.cpp, but not
// "and/or" or "Input/output").
std::size_t
PathLength(std::string_view t)
{
	const bool absolute = (t.size() > 1 && t[0] == '/' && (IsWord(t[1]) || t[1] == '.' || t[1] == '-')) ||
	                      StartsWith(t, "./") || StartsWith(t, "../") || StartsWith(t, "~/") || StartsWith(t, "\\\\") ||
	                      (t.size() > 2 && IsAlpha(t[0]) && t[1] == ':' && (t[2] == '\\' || t[2] == '/'));
	// A path runs up to :<digit> (a line number) or a quote.
	std::size_t end = 0;
	while (end < t.size() && t[end] != '"' && t[end] != '\'' &&
	       !(t[end] == ':' && end > 1 && end + 1 < t.size() && IsDigit(t[end + 1])))
		++end;
	if (absolute)
		return end;
	const std::string_view p = t.substr(0, end);
	std::size_t slashes = 0;
	for (char c : p)
		slashes += c == '/';
	if (slashes == 0 || p.front() == '/' || p.back() == '/' || p.find("//") != std::string_view::npos)
		return 0;
	if (slashes >= 2 || p.substr(p.rfind('/')).find('.') != std::string_view::npos)
		return end;
	return 0;
}

// user@host: a non-empty local part and a host of letters, digits, dots, dashes.
bool
IsAddress(std::string_view t)
{
	const std::size_t at = t.find('@');
	if (at == 0 || at == std::string_view::npos || at + 1 >= t.size())
		return false;
	for (std::size_t i = 0; i < at; ++i)
		if (!IsWord(t[i]) && t[i] != '.' && t[i] != '-' && t[i] != '+' && t[i] != '%')
			return false;
	for (std::size_t i = at + 1; i < t.size(); ++i)
		if (!IsAlnum(t[i]) && t[i] != '.' && t[i] != '-' && t[i] != '_')
			return false;
	return IsAlnum(t[at + 1]);
}

// db.example.com, main.cpp, java.lang.Error: labels of letters, digits, - and
// _, the last one starting with a letter (so versions like 1.2.3 and v4.7 are
// not names).
bool
IsDottedName(std::string_view t)
{
	if (t.size() < 3 || t.find('.') == std::string_view::npos || !IsAlnum(t.front()))
		return false;
	std::size_t label = 0;
	for (std::size_t i = 0; i < t.size(); ++i) {
		const char c = t[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (IsWord(c) || c == '-') {
			++label;
		} else {
			return false;
		}
	}
	const std::string_view last = t.substr(t.rfind('.') + 1);
	if (label == 0 || !IsAlpha(last.front()))
		return false;
	// Abbreviations like e.g and i.e have only one-letter labels.
	std::size_t longest = 0, run = 0;
	for (char c : t) {
		run = c == '.' ? 0 : run + 1;
		longest = std::max(longest, run);
	}
	return longest > 1;
}

class Builder {
public:
	explicit Builder(std::size_t input_size) { out_.reserve(std::min(input_size, kMaxTemplateBytes) + 16); }

	void
	Raw(std::string_view text)
	{
		out_.append(text);
	}
	void
	Raw(char c)
	{
		out_.push_back(c);
	}

	// Appends a placeholder, unless the output already ends with the same
	// placeholder and a list separator: then the list stays one placeholder.
	void
	Placeholder(std::string_view ph)
	{
		std::size_t k = out_.size();
		bool separator = false;
		while (k > 0 && out_.size() - k < 3 &&
		       (out_[k - 1] == ' ' || out_[k - 1] == ',' || out_[k - 1] == ';' || out_[k - 1] == '|')) {
			separator = separator || out_[k - 1] != ' ';
			--k;
		}
		// The earlier placeholder must be a whole list item, not the end of
		// a:<id> or x<id>.
		if (separator && k >= ph.size() && std::string_view(out_).substr(k - ph.size(), ph.size()) == ph &&
		    (k == ph.size() || std::string_view(" ,;|([{").find(out_[k - ph.size() - 1]) != std::string_view::npos)) {
			out_.resize(k);
			return;
		}
		out_.append(ph);
	}

	void
	Space()
	{
		if (!out_.empty() && out_.back() != ' ')
			out_.push_back(' ');
	}

	std::size_t
	size() const
	{
		return out_.size();
	}

	std::string
	Finish(bool truncated)
	{
		while (!out_.empty() && out_.back() == ' ')
			out_.pop_back();
		if (out_.size() > kMaxTemplateBytes) {
			truncated = true;
			std::size_t cut = out_.rfind(' ', kMaxTemplateBytes);
			if (cut == std::string::npos || cut == 0)
				cut = utf8::PrefixLength(out_, kMaxTemplateBytes);
			out_.resize(cut);
		}
		if (truncated)
			out_ += " ...";
		return std::move(out_);
	}

private:
	std::string out_;
};

// One token without whitespace, delimiters or '=': a placeholder or itself.
void
EmitAtom(Builder &b, std::string_view t)
{
	if (t.empty())
		return;
	if (IsUuid(t))
		return b.Placeholder("<uuid>");
	if (IsIp(t))
		return b.Placeholder("<ip>");
	if (IsTime(t))
		return b.Placeholder("<time>");
	if (IsDottedName(t))
		return b.Placeholder("<name>");
	if (!HasDigit(t))
		return b.Raw(t);
	if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X') && IsHexId(t))
		return b.Placeholder("<hex>");
	if (IsNumber(t))
		return b.Placeholder("<num>");
	if (IsHexId(t))
		return b.Placeholder("<hex>");
	return b.Placeholder("<id>");
}

// A token without whitespace or delimiters, sentence punctuation removed.
void
EmitToken(Builder &b, std::string_view t)
{
	if (t.empty())
		return;
	if (t.find("://") != std::string_view::npos && IsAlpha(t.front()))
		return b.Placeholder("<url>");
	if (const std::size_t n = PathLength(t)) {
		b.Placeholder("<path>");
		t.remove_prefix(n);
		if (t.empty())
			return;
	} else if (IsAddress(t)) {
		return b.Placeholder("<user>@<host>");
	} else if (IsUuid(t) || IsIp(t) || IsTime(t)) {
		return EmitAtom(b, t);
	}
	// :12:5 after a path or a bracket: line and column, or a port.
	if (t.front() == ':') {
		for (std::size_t colon = 0; colon != std::string_view::npos;) {
			const std::size_t next = t.find(':', colon + 1);
			b.Raw(':');
			EmitAtom(b,
			         t.substr(colon + 1, next == std::string_view::npos ? std::string_view::npos : next - colon - 1));
			colon = next;
		}
		return;
	}
	// name:12:5 (a file and a line): the name, then the numbers.
	std::size_t end = t.size();
	while (end > 0) {
		std::size_t colon = t.rfind(':', end - 1);
		if (colon == std::string_view::npos || colon == 0 || !IsNumber(t.substr(colon + 1, end - colon - 1)))
			break;
		end = colon;
	}
	if (end < t.size() && end > 0) {
		EmitAtom(b, t.substr(0, end));
		for (t.remove_prefix(end); !t.empty();) {
			const std::size_t next = t.find(':', 1);
			b.Raw(':');
			b.Placeholder("<num>");
			t.remove_prefix(next == std::string_view::npos ? t.size() : next);
		}
		return;
	}
	// key:number (port:5432, errno:2).
	if (const std::size_t colon = t.find(':'); colon != std::string_view::npos && colon > 0 &&
	                                           !HasDigit(t.substr(0, colon)) && IsNumber(t.substr(colon + 1))) {
		b.Raw(t.substr(0, colon + 1));
		return EmitAtom(b, t.substr(colon + 1));
	}
	EmitAtom(b, t);
}

// Length of the quoted text starting with the opening quote at s[i], closing
// quote included, or 0 if it is not closed. A closing quote must not be
// followed by a word character (so "it's" inside does not close 'x').
std::size_t
QuotedAt(std::string_view s, std::size_t i)
{
	std::string_view open = s.substr(i, 1), close = open;
	if (StartsWith(s.substr(i), "\xE2\x80\x98")) { // ‘ ’
		open = "\xE2\x80\x98";
		close = "\xE2\x80\x99";
	} else if (StartsWith(s.substr(i), "\xE2\x80\x9C")) { // “ ”
		open = "\xE2\x80\x9C";
		close = "\xE2\x80\x9D";
	} else if (s[i] != '\'' && s[i] != '"' && s[i] != '`') {
		return 0;
	}
	std::size_t j = i + open.size();
	for (;;) {
		j = s.find(close, j);
		if (j == std::string_view::npos)
			return 0;
		const std::size_t after = j + close.size();
		if (after == s.size() || !IsWord(s[after]))
			return after - i;
		j = after;
	}
}

bool
IsKey(std::string_view k)
{
	if (k.empty() || !(IsAlpha(k[0]) || k[0] == '_' || k[0] == '-'))
		return false;
	for (char c : k)
		if (!IsWord(c) && c != '-' && c != '.')
			return false;
	return true;
}

} // namespace

bool
HasPlaceholder(std::string_view token) noexcept
{
	static constexpr std::string_view kPlaceholders[] = {"<*>",  "<str>",  "<url>",  "<path>", "<user>", "<uuid>",
	                                                     "<ip>", "<time>", "<name>", "<num>",  "<hex>",  "<id>"};
	if (token.find('<') == std::string_view::npos)
		return false;
	for (std::string_view p : kPlaceholders)
		if (token.find(p) != std::string_view::npos)
			return true;
	return false;
}

std::string
ErrorTemplate(std::string_view s)
{
	Builder b(s.size());
	std::size_t i = 0;
	bool pending_space = false;
	// Where a quote may open a quoted value: at a token start or after =, :, (.
	auto quote_may_open = [&](std::size_t at) {
		if (at == 0)
			return true;
		const char p = s[at - 1];
		return IsSpace(p) || IsDelimiter(p) || p == '=' || p == ':';
	};
	while (i < s.size()) {
		if (b.size() > kMaxTemplateBytes)
			return b.Finish(true);
		const char c = s[i];
		if (IsSpace(c)) {
			pending_space = true;
			++i;
			continue;
		}
		if (pending_space) {
			b.Space();
			pending_space = false;
		}
		if (quote_may_open(i)) {
			if (const std::size_t n = QuotedAt(s, i)) {
				b.Placeholder("<str>");
				i += n;
				continue;
			}
		}
		if (IsDelimiter(c)) {
			b.Raw(c);
			++i;
			continue;
		}
		std::size_t end = i;
		while (end < s.size() && !IsSpace(s[end]) && !IsDelimiter(s[end]))
			++end;
		std::string_view token = s.substr(i, end - i);

		// key=value: the key stays, the value is masked (a quoted value is
		// taken up by the quote rule on the next round).
		if (const std::size_t eq = token.find('=');
		    eq != std::string_view::npos && eq > 0 && IsKey(token.substr(0, eq)) && eq + 1 < token.size() &&
		    token[eq + 1] != '=' && token[eq + 1] != '>') {
			b.Raw(token.substr(0, eq + 1));
			i += eq + 1;
			if (QuotedAt(s, i) > 0)
				continue;
			std::string_view value = token.substr(eq + 1);
			const bool special = HasDigit(value) || PathLength(value) > 0 || IsAddress(value) || IsDottedName(value) ||
			                     value.find("://") != std::string_view::npos;
			if (special)
				EmitToken(b, value);
			else
				b.Placeholder("<str>");
			i = end;
			continue;
		}

		// Sentence punctuation after the token is kept but not masked.
		std::size_t core = token.size();
		while (core > 0 && (token[core - 1] == '.' || token[core - 1] == ':' || token[core - 1] == '!' ||
		                    token[core - 1] == '?' || token[core - 1] == '"' || token[core - 1] == '\''))
			--core;
		EmitToken(b, token.substr(0, core));
		b.Raw(token.substr(core));
		i = end;
	}
	return b.Finish(false);
}

} // namespace agentgres::core
