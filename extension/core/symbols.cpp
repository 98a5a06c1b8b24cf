#include "symbols.hpp"

#include "interrupts.hpp"
#include "utf8.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

namespace agentgres::core::symbols {
namespace {

constexpr std::size_t kInterruptEvery = 256 * 1024;

bool
IsBlank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}
bool
IsIdentStart(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || static_cast<unsigned char>(c) >= 0x80;
}
bool
IsIdentChar(char c)
{
	return IsIdentStart(c) || (c >= '0' && c <= '9');
}
bool
IsUpperName(std::string_view s)
{
	bool upper = false;
	for (char c : s) {
		if (c >= 'a' && c <= 'z')
			return false;
		upper = upper || (c >= 'A' && c <= 'Z');
	}
	return upper && s.size() > 1;
}
char
ToLower(char c)
{
	return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
bool
EqualsNoCase(std::string_view a, std::string_view b)
{
	if (a.size() != b.size())
		return false;
	for (std::size_t i = 0; i < a.size(); ++i)
		if (ToLower(a[i]) != ToLower(b[i]))
			return false;
	return true;
}
template <std::size_t N>
bool
OneOf(std::string_view word, const std::array<std::string_view, N> &words)
{
	return std::find(words.begin(), words.end(), word) != words.end();
}

std::string_view
TrimBlanks(std::string_view s)
{
	while (!s.empty() && (IsBlank(s.front()) || s.front() == '\n'))
		s.remove_prefix(1);
	while (!s.empty() && (IsBlank(s.back()) || s.back() == '\n'))
		s.remove_suffix(1);
	return s;
}

// What every scanner shares: the output, the interrupt budget, lines.
class Output {
public:
	explicit Output(const std::function<void()> &check_interrupt) : ticker_(check_interrupt, kInterruptEvery) {}

	void
	Add(std::string_view name, std::string_view kind, std::size_t line)
	{
		name = TrimBlanks(name);
		if (name.empty())
			return;
		symbols_.push_back(Symbol{std::string(utf8::Prefix(name, kMaxNameBytes)), std::string(kind), line});
	}

	void
	Work(std::size_t bytes)
	{
		ticker_.Work(bytes);
	}

	std::vector<Symbol>
	Take()
	{
		// Scanners that emit on a closing token can be late by a few
		// symbols; the contract is line order.
		std::stable_sort(symbols_.begin(), symbols_.end(),
		                 [](const Symbol &a, const Symbol &b) { return a.line < b.line; });
		return std::move(symbols_);
	}

private:
	InterruptTicker ticker_;
	std::vector<Symbol> symbols_;
};

// Iterates over lines: text without the line end, 1-based number.
class Lines {
public:
	explicit Lines(std::string_view s) : s_(s) {}
	bool
	Next(std::string_view &line, std::size_t &number)
	{
		if (pos_ >= s_.size())
			return false;
		const std::size_t lf = s_.find('\n', pos_);
		const std::size_t end = lf == std::string_view::npos ? s_.size() : lf;
		line = s_.substr(pos_, end - pos_);
		if (!line.empty() && line.back() == '\r')
			line.remove_suffix(1);
		number = ++line_;
		pos_ = end + 1;
		return true;
	}

private:
	std::string_view s_;
	std::size_t pos_ = 0, line_ = 0;
};

std::size_t
Indent(std::string_view line)
{
	std::size_t i = 0;
	while (i < line.size() && IsBlank(line[i]))
		++i;
	return i;
}

std::string_view
IdentAt(std::string_view s, std::size_t i, std::string_view extra = {})
{
	std::size_t j = i;
	while (j < s.size() && (IsIdentChar(s[j]) || extra.find(s[j]) != std::string_view::npos))
		++j;
	return s.substr(i, j - i);
}

// Skips blanks from i.
std::size_t
SkipBlanks(std::string_view s, std::size_t i)
{
	while (i < s.size() && IsBlank(s[i]))
		++i;
	return i;
}

// Word at i followed by a blank (or the end).
bool
KeywordAt(std::string_view s, std::size_t i, std::string_view word)
{
	return s.substr(i, word.size()) == word && (i + word.size() == s.size() || IsBlank(s[i + word.size()]));
}

// ---------------------------------------------------------------------------
// Brace languages: C, C++, Java, C#, JavaScript, TypeScript, Go, Rust,
// Kotlin, Swift, Scala, PHP.

struct Token {
	std::string_view text;
	std::size_t line;
	char kind; // 'i' identifier, 'p' punctuation, '(' and ')' a parenthesis at depth 0
};

class BraceScanner {
public:
	BraceScanner(std::string_view s, std::string_view language, Output &out) : s_(s), out_(out)
	{
		cpp_ = language == "c" || language == "cpp";
		preprocessor_ = cpp_ || language == "csharp";
		js_ = language == "javascript" || language == "typescript";
		go_ = language == "go";
		rust_ = language == "rust";
		single_quote_strings_ = js_ || language == "php";
		triple_quotes_ = language == "kotlin" || language == "scala" || language == "swift";
		// Where a declarator followed by a body defines a function: at file
		// scope in C-like languages, in class bodies in those and in JS/PHP.
		clike_top_ = cpp_ || language == "java" || language == "csharp";
		clike_methods_ = clike_top_ || js_ || language == "php";
	}

	void
	Run()
	{
		const std::size_t n = s_.size();
		std::size_t i = 0;
		bool line_start = true;
		while (i < n) {
			const char c = s_[i];
			if (c == '\n') {
				if (go_ && paren_ == 0)
					GoLineEnd();
				++line_;
				++i;
				line_start = true;
				out_.Work(1);
				continue;
			}
			if (IsBlank(c)) {
				++i;
				continue;
			}
			const bool was_line_start = line_start;
			line_start = false;
			const std::size_t from = i;
			if (c == '/' && i + 1 < n && s_[i + 1] == '/') {
				while (i < n && s_[i] != '\n')
					++i;
			} else if (c == '/' && i + 1 < n && s_[i + 1] == '*') {
				i = SkipTo(i + 2, "*/", true);
			} else if (c == '#' && preprocessor_ && was_line_start) {
				i = Preprocessor(i);
			} else if (c == '"') {
				if (triple_quotes_ && s_.substr(i, 3) == "\"\"\"")
					i = SkipTo(i + 3, "\"\"\"", true);
				else if (cpp_ && RawStringPrefix(i))
					i = CppRawString(i);
				else
					i = SkipQuoted(i, '"');
			} else if (c == '\'') {
				if (single_quote_strings_)
					i = SkipQuoted(i, '\'');
				else
					i = CharLiteral(i);
			} else if (c == '/' && js_ && RegexAllowed()) {
				i = SkipRegex(i);
			} else if (c == '`' && (js_ || go_)) {
				i = SkipTo(i + 1, "`", true, js_);
			} else if (IsIdentStart(c) || c == '$') {
				std::size_t j = i;
				while (j < n && (IsIdentChar(s_[j]) || s_[j] == '$'))
					++j;
				const std::string_view word = s_.substr(i, j - i);
				if (rust_ && (word == "r" || word == "br") && j < n && (s_[j] == '"' || s_[j] == '#')) {
					i = RustRawString(j);
				} else {
					OnToken(Token{word, line_, 'i'});
					i = j;
				}
			} else if (c >= '0' && c <= '9') {
				while (i < n && (IsIdentChar(s_[i]) || s_[i] == '.' || s_[i] == '\''))
					++i;
			} else {
				std::size_t len = 1;
				if (i + 1 < n && ((c == ':' && s_[i + 1] == ':') || (c == '=' && s_[i + 1] == '>') ||
				                  (c == '-' && s_[i + 1] == '>')))
					len = 2;
				OnToken(Token{s_.substr(i, len), line_, 'p'});
				i += len;
			}
			out_.Work(i - from);
		}
	}

private:
	enum class ScopeKind { kDecl, kClass, kBody };
	struct Scope {
		ScopeKind kind;
		int saved_paren;
	};

	std::string_view s_;
	Output &out_;
	bool cpp_ = false, preprocessor_ = false, js_ = false, go_ = false, rust_ = false;
	bool single_quote_strings_ = false, triple_quotes_ = false, clike_top_ = false, clike_methods_ = false;
	std::size_t line_ = 1;
	int paren_ = 0;
	std::vector<Scope> scopes_{Scope{ScopeKind::kDecl, 0}};
	std::vector<Token> stmt_;
	Token last_{{}, 0, 'p'};

	// Skips to just after `end` (counting lines when multiline; a newline
	// ends the skip otherwise). With escapes, a backslash skips a byte.
	std::size_t
	SkipTo(std::size_t i, std::string_view end, bool multiline, bool escapes = false)
	{
		const std::size_t n = s_.size();
		while (i < n) {
			if (escapes && s_[i] == '\\') {
				if (i + 1 < n && s_[i + 1] == '\n')
					++line_;
				i += 2;
				continue;
			}
			if (s_.compare(i, end.size(), end) == 0)
				return i + end.size();
			if (s_[i] == '\n') {
				if (!multiline)
					return i; // the newline is seen by the caller
				++line_;
			}
			++i;
		}
		return n;
	}

	std::size_t
	SkipQuoted(std::size_t i, char quote)
	{
		const std::size_t n = s_.size();
		for (++i; i < n; ++i) {
			if (s_[i] == '\\') {
				if (i + 1 < n && s_[i + 1] == '\n')
					++line_;
				++i;
			} else if (s_[i] == quote) {
				return i + 1;
			} else if (s_[i] == '\n') {
				return i; // unterminated: the line ends it
			}
		}
		return n;
	}

	// 'x', '\n', '\x41'; anything else (a Rust lifetime, a C++14 digit
	// separator) is a lone quote.
	std::size_t
	CharLiteral(std::size_t i)
	{
		const std::size_t n = s_.size();
		if (i + 1 < n && s_[i + 1] == '\\') {
			for (std::size_t j = i + 2; j < n && j < i + 12 && s_[j] != '\n'; ++j)
				if (s_[j] == '\'' && s_[j - 1] != '\\')
					return j + 1;
			return i + 1;
		}
		// One character, possibly multibyte.
		for (std::size_t j = i + 2; j < n && j <= i + 5; ++j)
			if (s_[j] == '\'')
				return j + 1;
			else if ((static_cast<unsigned char>(s_[j]) & 0xC0) != 0x80)
				break;
		return i + 1;
	}

	bool
	RawStringPrefix(std::size_t i) const
	{
		if (i == 0 || s_[i - 1] != 'R')
			return false;
		std::size_t p = i - 1; // the R; the prefix before it may be u8, u, U or L
		std::size_t start = p;
		while (start > 0 && IsIdentChar(s_[start - 1]))
			--start;
		const std::string_view prefix = s_.substr(start, p - start);
		return prefix.empty() || prefix == "u8" || prefix == "u" || prefix == "U" || prefix == "L";
	}

	std::size_t
	CppRawString(std::size_t i)
	{
		if (!stmt_.empty() && stmt_.back().text.size() <= 3 && stmt_.back().text.back() == 'R')
			stmt_.pop_back(); // the prefix was taken for an identifier
		// The delimiter is at most 16 characters: look no further (linear time).
		const std::size_t open = s_.substr(0, std::min(s_.size(), i + 18)).find('(', i + 1);
		if (open == std::string_view::npos)
			return SkipQuoted(i, '"');
		const std::string end = ")" + std::string(s_.substr(i + 1, open - i - 1)) + "\"";
		return SkipTo(open + 1, end, true);
	}

	std::size_t
	RustRawString(std::size_t j)
	{
		std::size_t hashes = 0;
		while (j < s_.size() && s_[j] == '#') {
			++j;
			++hashes;
		}
		if (j >= s_.size() || s_[j] != '"')
			return j;
		return SkipTo(j + 1, "\"" + std::string(hashes, '#'), true);
	}

	// A preprocessor line (with its continuations); #define NAME is a macro.
	std::size_t
	Preprocessor(std::size_t i)
	{
		const std::size_t n = s_.size();
		std::size_t j = SkipBlanks(s_, i + 1);
		const std::string_view directive = IdentAt(s_, j);
		if (directive == "define") {
			j = SkipBlanks(s_, j + directive.size());
			const std::string_view name = IdentAt(s_, j);
			if (!name.empty())
				out_.Add(name, "macro", line_);
		}
		while (i < n && s_[i] != '\n') {
			if (s_[i] == '\\' && i + 1 < n &&
			    (s_[i + 1] == '\n' || (s_[i + 1] == '\r' && i + 2 < n && s_[i + 2] == '\n'))) {
				i += s_[i + 1] == '\r' ? 3 : 2;
				++line_;
				continue;
			}
			if (s_[i] == '/' && i + 1 < n && s_[i + 1] == '*') {
				i = SkipTo(i + 2, "*/", true);
				continue;
			}
			++i;
		}
		return i;
	}

	// JavaScript: a slash starts a regular expression where an operand is
	// expected (not after an identifier, a literal or a closing bracket).
	bool
	RegexAllowed() const
	{
		static constexpr std::array<std::string_view, 13> kBefore = {
		    "return", "typeof", "case", "do", "else", "in", "of", "new", "delete", "void", "throw", "yield", "await"};
		if (last_.text.empty())
			return true;
		if (last_.kind == 'i')
			return OneOf(last_.text, kBefore);
		return last_.text != ")" && last_.text != "]" && last_.text != "}";
	}

	std::size_t
	SkipRegex(std::size_t i)
	{
		const std::size_t n = s_.size();
		bool in_class = false;
		for (++i; i < n && s_[i] != '\n'; ++i) {
			if (s_[i] == '\\')
				++i;
			else if (s_[i] == '[')
				in_class = true;
			else if (s_[i] == ']')
				in_class = false;
			else if (s_[i] == '/' && !in_class)
				break;
		}
		if (i < n && s_[i] == '/')
			++i;
		while (i < n && IsIdentChar(s_[i]))
			++i;
		last_ = Token{"/", line_, 'i'}; // an operand
		return i;
	}

	void
	OnToken(const Token &t)
	{
		last_ = t;
		const char c = t.kind == 'p' && t.text.size() == 1 ? t.text[0] : 0;
		if (c == '(' || c == '[') {
			if (paren_++ == 0)
				Push(Token{t.text, t.line, '('});
			return;
		}
		if (c == ')' || c == ']') {
			if (paren_ > 0 && --paren_ == 0)
				Push(Token{t.text, t.line, ')'});
			return;
		}
		if (c == '{') {
			if (paren_ > 0) { // a lambda or an initializer inside a call
				scopes_.push_back(Scope{ScopeKind::kBody, paren_});
				paren_ = 0;
			} else {
				scopes_.push_back(Scope{Classify(), 0});
			}
			stmt_.clear();
			return;
		}
		if (c == '}') {
			if (scopes_.size() > 1) {
				paren_ = scopes_.back().saved_paren;
				scopes_.pop_back();
			}
			stmt_.clear();
			return;
		}
		if (c == ';') {
			if (paren_ == 0) {
				StatementEnd();
				stmt_.clear();
			}
			return;
		}
		if (paren_ == 0)
			Push(t);
	}

	void
	Push(const Token &t)
	{
		if (stmt_.size() < 64)
			stmt_.push_back(t);
	}

	ScopeKind
	CurrentScope() const
	{
		return scopes_.back().kind;
	}

	bool
	Is(std::size_t k, std::string_view text) const
	{
		return k < stmt_.size() && stmt_[k].text == text && stmt_[k].kind != '(' && stmt_[k].kind != ')';
	}
	bool
	IsOpen(std::size_t k, char bracket) const
	{
		return k < stmt_.size() && stmt_[k].kind == '(' && stmt_[k].text[0] == bracket;
	}
	bool
	IsIdent(std::size_t k) const
	{
		return k < stmt_.size() && stmt_[k].kind == 'i';
	}

	// TypeScript and Rust: type NAME = ...
	bool
	TypeAlias()
	{
		if (!js_ && !rust_)
			return false;
		for (std::size_t k = 0; k + 2 < stmt_.size(); ++k)
			if (Is(k, "type") && IsIdent(k + 1) && (Is(k + 2, "=") || Is(k + 2, "<"))) {
				out_.Add(stmt_[k + 1].text, "type", stmt_[k + 1].line);
				return true;
			}
		return false;
	}

	void
	StatementEnd()
	{
		if (TypeAlias() || !rust_)
			return;
		// Rust: struct Unit; struct Tuple(T);
		for (std::size_t k = 0; k + 1 < stmt_.size(); ++k)
			if ((Is(k, "struct") || Is(k, "union")) && IsIdent(k + 1) &&
			    (k + 2 == stmt_.size() || stmt_[k + 2].kind == '(' || Is(k + 2, "<"))) {
				out_.Add(stmt_[k + 1].text, "struct", stmt_[k + 1].line);
				return;
			}
	}

	// Go: a type declaration ends with its line.
	void
	GoLineEnd()
	{
		if (CurrentScope() == ScopeKind::kDecl && stmt_.size() >= 3 && Is(0, "type") && IsIdent(1))
			out_.Add(stmt_[1].text,
			         Is(2, "struct")      ? "struct"
			         : Is(2, "interface") ? "interface"
			                              : "type",
			         stmt_[1].line);
		if (!stmt_.empty() && stmt_.back().kind != 'p')
			stmt_.clear();
	}

	// What the statement before a `{` at parenthesis depth 0 defines, if
	// anything, and the kind of the block it opens.
	ScopeKind
	Classify()
	{
		const ScopeKind scope = CurrentScope();
		const std::size_t n = stmt_.size();
		if (n == 0)
			return ScopeKind::kBody; // a bare block, or a body after a constructor's member initializers
		// Keyword-led functions.
		static constexpr std::array<std::string_view, 5> kFunctionKeywords = {"function", "func", "fn", "fun", "def"};
		for (std::size_t k = 0; k < n; ++k) {
			if (stmt_[k].kind != 'i' || !OneOf(stmt_[k].text, kFunctionKeywords))
				continue;
			std::size_t j = k + 1;
			if (Is(j, "*"))
				++j;
			bool receiver = false;
			if (go_ && j < n && stmt_[j].kind == '(') {
				while (j < n && stmt_[j].kind != ')')
					++j;
				++j;
				receiver = true;
			}
			if (IsIdent(j)) {
				out_.Add(stmt_[j].text, receiver || scope == ScopeKind::kClass ? "method" : "function", stmt_[j].line);
			} else if (k >= 2 && Is(k - 1, "=") && IsIdent(k - 2)) {
				out_.Add(stmt_[k - 2].text, scope == ScopeKind::kClass ? "method" : "function", stmt_[k - 2].line);
			}
			return ScopeKind::kBody;
		}
		if (rust_) {
			for (std::size_t k = 0; k + 2 < n; ++k)
				if (Is(k, "macro_rules") && Is(k + 1, "!") && IsIdent(k + 2)) {
					out_.Add(stmt_[k + 2].text, "macro", stmt_[k + 2].line);
					return ScopeKind::kBody;
				}
		}
		// Arrow functions: const NAME = (...) => {
		if (js_ && scope != ScopeKind::kBody) {
			for (std::size_t k = 1; k < n; ++k) {
				if (!Is(k, "="))
					continue;
				bool arrow = false;
				for (std::size_t j = k + 1; j < n; ++j)
					arrow = arrow || Is(j, "=>");
				if (arrow && IsIdent(k - 1))
					out_.Add(stmt_[k - 1].text, scope == ScopeKind::kClass ? "method" : "function", stmt_[k - 1].line);
				return ScopeKind::kBody;
			}
		}
		if (TypeAlias())
			return ScopeKind::kBody;
		// Types and namespaces.
		for (std::size_t k = 0; k < n; ++k) {
			if (stmt_[k].kind != 'i')
				continue;
			const std::string_view kw = stmt_[k].text;
			std::string_view kind;
			ScopeKind opens = ScopeKind::kClass;
			if (kw == "class" || kw == "record" || kw == "object")
				kind = "class";
			else if (kw == "struct")
				kind = "struct";
			else if (kw == "union")
				kind = "union";
			else if (kw == "enum")
				kind = "enum";
			else if (kw == "interface" || kw == "protocol")
				kind = "interface";
			else if (kw == "trait")
				kind = "trait";
			else if (kw == "impl" || kw == "extension")
				return ScopeKind::kClass;
			else if (kw == "namespace" || kw == "mod" || kw == "module" || kw == "package") {
				kind = kw == "namespace" ? "namespace" : "module";
				opens = ScopeKind::kDecl;
			} else if (go_ && kw == "type" && IsIdent(k + 1)) {
				out_.Add(stmt_[k + 1].text,
				         Is(k + 2, "struct")      ? "struct"
				         : Is(k + 2, "interface") ? "interface"
				                                  : "type",
				         stmt_[k + 1].line);
				return ScopeKind::kBody;
			} else
				continue;
			if (k > 0 && (Is(k - 1, "=") || Is(k - 1, "new") || Is(k - 1, "(")))
				continue; // an expression
			std::size_t j = k + 1;
			if (kw == "enum" && (Is(j, "class") || Is(j, "struct")))
				++j;
			std::string name;
			std::size_t name_line = stmt_[k].line;
			static constexpr std::array<std::string_view, 6> kAfterName = {"extends", "implements", "where",
			                                                               "for",     "with",       "permits"};
			while (j < n && !(IsIdent(j) && OneOf(stmt_[j].text, kAfterName))) {
				if (IsIdent(j) && stmt_[j].text != "final" && stmt_[j].text != "sealed") {
					if (name.empty() || !(name.ends_with("::") || name.ends_with(".")))
						name.clear();
					name += stmt_[j].text;
					name_line = stmt_[j].line;
				} else if (Is(j, "::") || Is(j, ".")) {
					name += stmt_[j].text;
				} else if (IsOpen(j, '[')) { // [[attributes]]
					while (j < n && stmt_[j].kind != ')')
						++j;
				} else if (!(IsIdent(j))) {
					break;
				}
				++j;
			}
			const bool ends = j >= n || Is(j, ":") || Is(j, "<") || Is(j, "extends") || Is(j, "implements") ||
			                  Is(j, "where") || Is(j, "for") || Is(j, "with") || (!cpp_ && stmt_[j].kind == '(');
			if (opens == ScopeKind::kDecl) {
				out_.Add(name, kind, name_line);
				return opens;
			}
			if (!ends)
				continue; // struct foo *make(...) { is a function
			if (kw == "enum" && cpp_)
				opens = ScopeKind::kBody;
			const std::size_t last = name.find_last_of(":.");
			out_.Add(last == std::string::npos ? name : name.substr(last + 1), kind, name_line);
			return opens;
		}
		if (n == 1 && Is(0, "extern"))
			return ScopeKind::kDecl; // extern "C" {
		if ((scope == ScopeKind::kDecl && clike_top_) || (scope == ScopeKind::kClass && clike_methods_))
			return CLikeFunction(scope);
		return ScopeKind::kBody;
	}

	// TYPE NAME(ARGS) QUALIFIERS { at file or class scope.
	ScopeKind
	CLikeFunction(ScopeKind scope)
	{
		static constexpr std::array<std::string_view, 24> kNotNames = {
		    "if",      "for",    "while",   "switch",   "catch",         "return",        "sizeof",  "do",
		    "else",    "new",    "delete",  "throw",    "case",          "synchronized",  "using",   "lock",
		    "foreach", "typeof", "alignof", "decltype", "static_assert", "__attribute__", "alignas", "requires"};
		const std::size_t n = stmt_.size();
		bool after_operator = false;
		for (std::size_t k = 0; k < n; ++k) {
			if (Is(k, "operator"))
				after_operator = true;
			if (Is(k, "=") && !after_operator)
				return ScopeKind::kBody; // an initializer
			if (stmt_[k].kind != '(' || k == 0)
				continue;
			if (IsOpen(k, '['))
				continue; // [[attribute]] or an array bound
			std::string name;
			std::size_t line = stmt_[k].line;
			if (after_operator) {
				std::size_t o = k;
				while (o > 0 && !Is(o - 1, "operator"))
					--o;
				if (o == 0)
					return ScopeKind::kBody;
				name = "operator";
				for (std::size_t p = o; p < k; ++p)
					name += stmt_[p].text;
				line = stmt_[o - 1].line;
				if (k + 1 < n && stmt_[k].kind == '(' && name == "operator")
					name += "()";
			} else {
				if (!IsIdent(k - 1))
					return ScopeKind::kBody;
				name = std::string(stmt_[k - 1].text);
				line = stmt_[k - 1].line;
				if (k >= 2 && Is(k - 2, "@"))
					continue; // an annotation's arguments
				if (OneOf(stmt_[k - 1].text, kNotNames) || (k >= 2 && Is(k - 2, "new")))
					return ScopeKind::kBody;
				if (IsUpperName(name))
					return ScopeKind::kBody; // a macro invocation
				if (k >= 2 && Is(k - 2, "~"))
					name = "~" + name;
			}
			const bool qualified = k >= 2 && (Is(k - 2, "::") || (k >= 3 && Is(k - 2, "~") && Is(k - 3, "::")));
			out_.Add(name, scope == ScopeKind::kClass || qualified ? "method" : "function", line);
			return ScopeKind::kBody;
		}
		return ScopeKind::kBody;
	}
};

// ---------------------------------------------------------------------------
// Python: def and class by indentation; strings and comments skipped.

void
Python(std::string_view s, Output &out)
{
	struct Open {
		std::size_t indent;
		bool is_class;
	};
	std::vector<Open> open;
	char triple = 0; // inside a triple-quoted string of this quote
	int depth = 0;   // brackets
	bool continued = false;
	Lines lines(s);
	std::string_view line;
	std::size_t number = 0;
	while (lines.Next(line, number)) {
		out.Work(line.size() + 1);
		const bool logical = triple == 0 && depth == 0 && !continued;
		std::size_t i = 0;
		if (logical) {
			const std::size_t indent = Indent(line);
			if (indent < line.size() && line[indent] != '#') {
				while (!open.empty() && open.back().indent >= indent)
					open.pop_back();
				std::size_t k = indent;
				if (KeywordAt(line, k, "async"))
					k = SkipBlanks(line, k + 5);
				if (KeywordAt(line, k, "def")) {
					const std::string_view name = IdentAt(line, SkipBlanks(line, k + 3));
					out.Add(name, !open.empty() && open.back().is_class ? "method" : "function", number);
					open.push_back(Open{indent, false});
				} else if (KeywordAt(line, k, "class")) {
					out.Add(IdentAt(line, SkipBlanks(line, k + 5)), "class", number);
					open.push_back(Open{indent, true});
				} else if (indent == 0 && IsIdentStart(line[0])) {
					const std::string_view name = IdentAt(line, 0);
					std::size_t j = SkipBlanks(line, name.size());
					if (j < line.size() && line[j] == ':' && (j + 1 >= line.size() || line[j + 1] != '=')) {
						// NAME: annotation = value
						const std::size_t eq = line.find('=', j);
						j = eq == std::string_view::npos ? line.size() : eq;
					}
					static constexpr std::array<std::string_view, 8> kStatements = {"if",  "for",    "while", "with",
					                                                                "try", "import", "from",  "print"};
					if (j < line.size() && line[j] == '=' && (j + 1 >= line.size() || line[j + 1] != '=') &&
					    !OneOf(name, kStatements))
						out.Add(name, "variable", number);
				}
			}
		}
		// Update the lexical state over the line.
		continued = false;
		while (i < line.size()) {
			const char c = line[i];
			if (triple != 0) {
				if (c == '\\') {
					i += 2;
					continue;
				}
				if (c == triple && i + 2 < line.size() && line[i + 1] == c && line[i + 2] == c) {
					triple = 0;
					i += 3;
					continue;
				}
				++i;
				continue;
			}
			if (c == '#')
				break;
			if (c == '"' || c == '\'') {
				if (i + 2 < line.size() && line[i + 1] == c && line[i + 2] == c) {
					triple = c;
					i += 3;
					continue;
				}
				for (++i; i < line.size() && line[i] != c; ++i)
					if (line[i] == '\\')
						++i;
				++i;
				continue;
			}
			if (c == '(' || c == '[' || c == '{')
				++depth;
			else if ((c == ')' || c == ']' || c == '}') && depth > 0)
				--depth;
			else if (c == '\\' && i + 1 == line.size())
				continued = true;
			++i;
		}
	}
}

// ---------------------------------------------------------------------------
// Ruby: class, module, def by indentation; =begin/=end and comments skipped.

void
Ruby(std::string_view s, Output &out)
{
	struct Open {
		std::size_t indent;
		bool is_type;
	};
	std::vector<Open> open;
	bool doc = false;
	Lines lines(s);
	std::string_view line;
	std::size_t number = 0;
	while (lines.Next(line, number)) {
		out.Work(line.size() + 1);
		if (doc) {
			doc = !line.starts_with("=end");
			continue;
		}
		if (line.starts_with("=begin")) {
			doc = true;
			continue;
		}
		if (line.starts_with("__END__"))
			break;
		const std::size_t indent = Indent(line);
		if (indent >= line.size() || line[indent] == '#')
			continue;
		while (!open.empty() && open.back().indent >= indent)
			open.pop_back();
		if (KeywordAt(line, indent, "def")) {
			std::size_t k = SkipBlanks(line, indent + 3);
			if (line.substr(k, 5) == "self.")
				k += 5;
			out.Add(IdentAt(line, k, "?!="), !open.empty() && open.back().is_type ? "method" : "function", number);
			open.push_back(Open{indent, false});
		} else if (KeywordAt(line, indent, "class") || KeywordAt(line, indent, "module")) {
			const bool is_class = line[indent] == 'c';
			const std::size_t k = SkipBlanks(line, indent + (is_class ? 5 : 6));
			if (k < line.size() && line[k] != '<') // class << self
				out.Add(IdentAt(line, k, ":"), is_class ? "class" : "module", number);
			open.push_back(Open{indent, true});
		}
	}
}

// ---------------------------------------------------------------------------
// Shell: NAME() and function NAME; here-documents, quotes, comments skipped.

void
Shell(std::string_view s, Output &out)
{
	std::string heredoc; // the terminator being waited for
	bool heredoc_tabs = false;
	char quote = 0; // an open quote carried over from the previous line
	Lines lines(s);
	std::string_view line;
	std::size_t number = 0;
	while (lines.Next(line, number)) {
		out.Work(line.size() + 1);
		if (!heredoc.empty()) {
			std::string_view t = line;
			if (heredoc_tabs)
				while (!t.empty() && t.front() == '\t')
					t.remove_prefix(1);
			if (t == heredoc)
				heredoc.clear();
			continue;
		}
		if (quote == 0) {
			const std::size_t i = Indent(line);
			std::size_t name_at = i;
			bool keyword = false;
			if (KeywordAt(line, i, "function")) {
				name_at = SkipBlanks(line, i + 8);
				keyword = true;
			}
			const std::string_view name = IdentAt(line, name_at, ":.-");
			if (!name.empty() && !(name[0] >= '0' && name[0] <= '9')) {
				std::size_t j = SkipBlanks(line, name_at + name.size());
				const bool parens = line.substr(j, 1) == "(" && line.substr(SkipBlanks(line, j + 1), 1) == ")";
				if (parens)
					j = SkipBlanks(line, SkipBlanks(line, j + 1) + 1);
				const bool body = j >= line.size() || line[j] == '{' || line[j] == '(' || line[j] == '#';
				if ((parens || keyword) && (body || keyword))
					out.Add(name, "function", number);
			}
		}
		// Quotes, comments and here-documents on this line.
		for (std::size_t i = 0; i < line.size(); ++i) {
			const char c = line[i];
			if (quote != 0) {
				if (c == '\\' && quote == '"')
					++i;
				else if (c == quote)
					quote = 0;
				continue;
			}
			if (c == '\\') {
				++i;
			} else if (c == '\'' || c == '"') {
				quote = c;
			} else if (c == '#' && (i == 0 || IsBlank(line[i - 1]))) {
				break;
			} else if (c == '<' && line.substr(i, 2) == "<<" && line.substr(i, 3) != "<<<") {
				std::size_t k = i + 2;
				heredoc_tabs = k < line.size() && line[k] == '-';
				if (heredoc_tabs || (k < line.size() && line[k] == '~'))
					++k;
				k = SkipBlanks(line, k);
				const bool quoted = k < line.size() && (line[k] == '\'' || line[k] == '"');
				if (quoted)
					++k;
				const std::string_view word = IdentAt(line, k);
				if (!word.empty()) {
					heredoc = std::string(word);
					i = k + word.size() - (quoted ? 0 : 1);
				} else {
					i = k;
				}
			}
		}
	}
}

// ---------------------------------------------------------------------------
// Perl: sub NAME and package NAME; POD skipped.

void
Perl(std::string_view s, Output &out)
{
	bool pod = false;
	Lines lines(s);
	std::string_view line;
	std::size_t number = 0;
	while (lines.Next(line, number)) {
		out.Work(line.size() + 1);
		if (pod) {
			pod = !line.starts_with("=cut");
			continue;
		}
		if (line.size() > 1 && line[0] == '=' && IsIdentStart(line[1])) {
			pod = true;
			continue;
		}
		if (line.starts_with("__END__") || line.starts_with("__DATA__"))
			break;
		const std::size_t i = Indent(line);
		if (KeywordAt(line, i, "sub"))
			out.Add(IdentAt(line, SkipBlanks(line, i + 3), ":"), "function", number);
		else if (KeywordAt(line, i, "package"))
			out.Add(IdentAt(line, SkipBlanks(line, i + 7), ":"), "package", number);
	}
}

// ---------------------------------------------------------------------------
// SQL: CREATE ... KIND [IF NOT EXISTS] NAME, outside comments, strings,
// quoted identifiers and dollar-quoted bodies.

void
Sql(std::string_view s, Output &out)
{
	struct Word {
		std::string text; // identifiers as written, quotes removed; a dotted name is one word
		std::size_t line;
	};
	std::vector<Word> words; // since the last CREATE or statement end
	bool after_create = false;
	const auto finish = [&] {
		// CREATE [OR REPLACE] [modifiers] KIND [IF NOT EXISTS] [CONCURRENTLY] NAME
		static constexpr std::array<std::string_view, 11> kModifiers = {
		    "or",    "replace",   "temp",   "temporary", "unlogged",  "global",
		    "local", "recursive", "unique", "trusted",   "procedural"};
		static constexpr std::array<std::string_view, 15> kKinds = {
		    "table",  "view",   "function",  "procedure", "index",  "sequence", "type",    "trigger",
		    "schema", "domain", "aggregate", "extension", "policy", "rule",     "language"};
		std::size_t k = 0;
		while (k < words.size() && OneOf(std::string_view(words[k].text), kModifiers))
			++k;
		std::string kind;
		if (k < words.size() && EqualsNoCase(words[k].text, "materialized"))
			++k;
		if (k + 1 < words.size() && EqualsNoCase(words[k].text, "event") && EqualsNoCase(words[k + 1].text, "trigger"))
			++k;
		if (k >= words.size() || !OneOf(std::string_view(words[k].text), kKinds))
			return;
		kind = words[k].text;
		++k;
		if (k + 2 < words.size() && words[k].text == "if" && words[k + 1].text == "not" &&
		    words[k + 2].text == "exists")
			k += 3;
		if (k < words.size() && words[k].text == "concurrently")
			++k;
		if (k < words.size() && words[k].text != "on")
			out.Add(words[k].text, kind, words[k].line);
	};
	const std::size_t n = s.size();
	std::size_t line = 1;
	std::size_t i = 0;
	// A name being built from parts: a.b, "A"."b".
	std::string name;
	std::size_t name_line = 0;
	bool name_open = false; // the last part may be followed by a dot
	const auto end_name = [&] {
		if (name.empty())
			return;
		if (after_create && words.size() < 12) {
			words.push_back(Word{name, name_line});
		}
		name.clear();
		name_open = false;
	};
	while (i < n) {
		const char c = s[i];
		const std::size_t from = i;
		if (c == '\n') {
			++line;
			++i;
		} else if (IsBlank(c)) {
			++i;
			if (!name.empty() && !name_open)
				end_name();
		} else if (c == '-' && i + 1 < n && s[i + 1] == '-') {
			while (i < n && s[i] != '\n')
				++i;
		} else if (c == '/' && i + 1 < n && s[i + 1] == '*') {
			int nest = 1;
			for (i += 2; i < n && nest > 0; ++i) {
				if (s[i] == '\n')
					++line;
				else if (s[i] == '/' && i + 1 < n && s[i + 1] == '*')
					++nest, ++i;
				else if (s[i] == '*' && i + 1 < n && s[i + 1] == '/')
					--nest, ++i;
			}
		} else if (c == '\'') {
			end_name();
			const bool escapes = i > 0 && (s[i - 1] == 'E' || s[i - 1] == 'e');
			for (++i; i < n; ++i) {
				if (s[i] == '\n')
					++line;
				if (escapes && s[i] == '\\') {
					++i;
					continue;
				}
				if (s[i] == '\'') {
					if (i + 1 < n && s[i + 1] == '\'') {
						++i;
						continue;
					}
					++i;
					break;
				}
			}
		} else if (c == '$' && (i == 0 || !IsIdentChar(s[i - 1]))) {
			// $tag$ ... $tag$
			std::size_t j = i + 1;
			while (j < n && IsIdentChar(s[j]) && !(s[j] >= '0' && s[j] <= '9' && j == i + 1))
				++j;
			if (j < n && s[j] == '$') {
				end_name();
				const std::string_view tag = s.substr(i, j - i + 1);
				const std::size_t close = s.find(tag, j + 1);
				const std::size_t stop = close == std::string_view::npos ? n : close + tag.size();
				line += static_cast<std::size_t>(std::count(s.begin() + static_cast<std::ptrdiff_t>(j),
				                                            s.begin() + static_cast<std::ptrdiff_t>(stop), '\n'));
				i = stop;
			} else {
				++i;
			}
		} else if (c == '"') {
			std::size_t j = i + 1;
			std::string part;
			for (; j < n; ++j) {
				if (s[j] == '"') {
					if (j + 1 < n && s[j + 1] == '"') {
						part += '"';
						++j;
						continue;
					}
					break;
				}
				if (s[j] == '\n')
					++line;
				part += s[j];
			}
			if (name.empty() || !name_open) {
				end_name();
				name_line = line;
			}
			name += part;
			name_open = false;
			i = j + 1;
		} else if (IsIdentStart(c)) {
			std::size_t j = i;
			while (j < n && (IsIdentChar(s[j]) || s[j] == '$'))
				++j;
			std::string part(s.substr(i, j - i));
			if (name.empty() || !name_open) {
				end_name();
				name_line = line;
			}
			for (char &ch : part)
				ch = ToLower(ch);
			if (!after_create && part == "create") {
				after_create = true;
				words.clear();
				name.clear();
			} else {
				name += part;
			}
			name_open = false;
			i = j;
		} else if (c == '.' && !name.empty()) {
			name += '.';
			name_open = true;
			++i;
		} else {
			end_name();
			if (after_create && (c == '(' || c == ';' || c == ',')) {
				finish();
				after_create = false;
				words.clear();
			}
			++i;
		}
		out.Work(i - from);
		if (after_create && words.size() >= 8) {
			finish();
			after_create = false;
			words.clear();
		}
	}
	end_name();
	if (after_create)
		finish();
}

// ---------------------------------------------------------------------------
// Markdown: ATX (# Title) and setext (Title / ===) headings outside fenced
// code blocks.

void
Markdown(std::string_view s, Output &out)
{
	char fence = 0;
	std::size_t fence_len = 0;
	std::string_view prev;
	std::size_t prev_number = 0;
	bool prev_paragraph = false;
	Lines lines(s);
	std::string_view line;
	std::size_t number = 0;
	while (lines.Next(line, number)) {
		out.Work(line.size() + 1);
		const std::size_t indent = Indent(line);
		const std::string_view t = line.substr(indent);
		// Fences.
		if (indent <= 3 && (t.starts_with("```") || t.starts_with("~~~"))) {
			std::size_t run = 0;
			while (run < t.size() && t[run] == t[0])
				++run;
			if (fence == 0) {
				fence = t[0];
				fence_len = run;
			} else if (t[0] == fence && run >= fence_len && TrimBlanks(t.substr(run)).empty()) {
				fence = 0;
			}
			prev_paragraph = false;
			continue;
		}
		if (fence != 0)
			continue;
		const bool front_matter = number == 1 && t == "---";
		if (front_matter) {
			// Skip YAML front matter up to its closing line.
			while (lines.Next(line, number) && line != "---" && line != "...")
				;
			prev_paragraph = false;
			continue;
		}
		if (indent <= 3 && !t.empty() && t[0] == '#') {
			std::size_t level = 0;
			while (level < t.size() && t[level] == '#')
				++level;
			if (level <= 6 && (level == t.size() || IsBlank(t[level]))) {
				std::string_view title = TrimBlanks(t.substr(level));
				while (!title.empty() && title.back() == '#')
					title.remove_suffix(1);
				out.Add(TrimBlanks(title), "heading", number);
				prev_paragraph = false;
				continue;
			}
		}
		// Setext underline.
		if (prev_paragraph && indent <= 3 && !t.empty() && (t[0] == '=' || t[0] == '-')) {
			const std::string_view run = TrimBlanks(t);
			if (run.find_first_not_of(t[0]) == std::string_view::npos) {
				out.Add(TrimBlanks(prev), "heading", prev_number);
				prev_paragraph = false;
				continue;
			}
		}
		const bool blank = t.empty();
		prev_paragraph = !blank && indent <= 3 && t[0] != '>' && t[0] != '|' && t[0] != '<' &&
		                 !((t[0] == '-' || t[0] == '*' || t[0] == '+') && t.size() > 1 && IsBlank(t[1]));
		prev = t;
		prev_number = number;
	}
}

// ---------------------------------------------------------------------------
// CMake: function(NAME) and macro(NAME). Make: targets and define NAME.

void
CMake(std::string_view s, Output &out)
{
	Lines lines(s);
	std::string_view line;
	std::size_t number = 0;
	while (lines.Next(line, number)) {
		out.Work(line.size() + 1);
		const std::size_t i = Indent(line);
		const std::string_view word = IdentAt(line, i);
		const bool function = EqualsNoCase(word, "function");
		if (!function && !EqualsNoCase(word, "macro"))
			continue;
		std::size_t j = SkipBlanks(line, i + word.size());
		if (j >= line.size() || line[j] != '(')
			continue;
		j = SkipBlanks(line, j + 1);
		out.Add(IdentAt(line, j, "-.+"), function ? "function" : "macro", number);
	}
}

void
Make(std::string_view s, Output &out)
{
	bool in_define = false;
	Lines lines(s);
	std::string_view line;
	std::size_t number = 0;
	while (lines.Next(line, number)) {
		out.Work(line.size() + 1);
		if (in_define) {
			in_define = TrimBlanks(line) != "endef";
			continue;
		}
		if (line.empty() || line[0] == '\t' || line[0] == '#')
			continue;
		const std::size_t i = Indent(line);
		if (KeywordAt(line, i, "define")) {
			out.Add(IdentAt(line, SkipBlanks(line, i + 6), "-.$()"), "macro", number);
			in_define = true;
			continue;
		}
		// targets: a b: prerequisites (not :=, ::= or a variable)
		const std::size_t colon = line.find(':');
		if (colon == std::string_view::npos || colon == 0 || line.substr(colon, 2) == ":=" ||
		    line.substr(colon, 3) == "::=")
			continue;
		const std::string_view targets = line.substr(0, colon);
		if (targets.find_first_of("=#$") != std::string_view::npos)
			continue;
		std::size_t k = 0;
		while (k < targets.size()) {
			k = SkipBlanks(targets, k);
			std::size_t e = k;
			while (e < targets.size() && !IsBlank(targets[e]))
				++e;
			const std::string_view target = targets.substr(k, e - k);
			if (!target.empty() && target[0] != '.')
				out.Add(target, "target", number);
			k = e;
		}
	}
}

} // namespace

std::vector<Symbol>
Extract(std::string_view content, std::string_view language, const std::function<void()> &check_interrupt)
{
	Output out(check_interrupt);
	static constexpr std::array<std::string_view, 12> kBraceLanguages = {
	    "c", "cpp", "java", "csharp", "javascript", "typescript", "go", "rust", "kotlin", "swift", "scala", "php"};
	if (OneOf(language, kBraceLanguages))
		BraceScanner(content, language, out).Run();
	else if (language == "python")
		Python(content, out);
	else if (language == "ruby")
		Ruby(content, out);
	else if (language == "shell")
		Shell(content, out);
	else if (language == "perl")
		Perl(content, out);
	else if (language == "sql")
		Sql(content, out);
	else if (language == "markdown")
		Markdown(content, out);
	else if (language == "cmake")
		CMake(content, out);
	else if (language == "make")
		Make(content, out);
	return out.Take();
}

} // namespace agentgres::core::symbols
