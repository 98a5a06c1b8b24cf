// The chunker and the symbol extractor on arbitrary bytes. The first three
// bytes choose the chunk size, the overlap and the language; the rest is the
// document. It is split with those options and with the defaults, and every
// rule of core/chunker.hpp is checked: chunks in order, at most chunk_size
// characters, cut on character boundaries (never inside CR LF), trimmed,
// never whitespace only, nothing but whitespace left out, overlap bounded,
// line numbers right, the same chunks twice. Extract must give named
// symbols on existing lines, in line order.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/chunker.hpp"
#include "core/error.hpp"
#include "core/symbols.hpp"
#include "../tests/unit/chunk_oracle.hpp"
#include "fuzz.hpp"

namespace chunker = agentgres::core::chunker;
namespace symbols = agentgres::core::symbols;

namespace {

using agentgres::testing::CharStarts;
using agentgres::testing::IsWs;

// Valid UTF-8 without NUL, decoded the long way: every sequence is the
// shortest encoding of a code point up to U+10FFFF that is no surrogate.
bool
IsText(std::string_view s)
{
	for (std::size_t i = 0; i < s.size();) {
		const auto c = static_cast<unsigned char>(s[i]);
		const std::size_t len =
		    c < 0x80             ? 1
		    : (c & 0xE0) == 0xC0 ? 2
		    : (c & 0xF0) == 0xE0 ? 3
		    : (c & 0xF8) == 0xF0 ? 4
		                         : 0;
		if (len == 0 || i + len > s.size())
			return false;
		std::uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
		for (std::size_t k = 1; k < len; ++k) {
			const auto b = static_cast<unsigned char>(s[i + k]);
			if ((b & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (b & 0x3F);
		}
		static constexpr std::uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
		if (cp == 0 || cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += len;
	}
	return true;
}

void
Check(std::string_view s, std::string_view language, const chunker::Options &o)
{
	const std::vector<chunker::Chunk> chunks = chunker::Split(s, language, o);
	const std::vector<bool> starts = CharStarts(s);
	// chars_before[i]: characters in [0, i); lines_before[i]: LFs in [0, i).
	std::vector<std::size_t> chars_before(s.size() + 1, 0), lines_before(s.size() + 1, 0);
	for (std::size_t i = 0; i < s.size(); ++i) {
		chars_before[i + 1] = chars_before[i] + starts[i];
		lines_before[i + 1] = lines_before[i] + (s[i] == '\n');
	}
	const auto chars = [&](std::size_t b, std::size_t e) { return chars_before[e] - chars_before[b]; };
	const bool blank = std::all_of(s.begin(), s.end(), IsWs);
	FUZZ_CHECK(blank == chunks.empty());
	std::size_t covered = 0;
	for (std::size_t i = 0; i < chunks.size(); ++i) {
		const chunker::Chunk &c = chunks[i];
		FUZZ_CHECK(c.begin < c.end && c.end <= s.size());
		FUZZ_CHECK(starts[c.begin] && starts[c.end]);
		FUZZ_CHECK(!(c.begin > 0 && s[c.begin] == '\n' && s[c.begin - 1] == '\r'));
		FUZZ_CHECK(!(c.end < s.size() && s[c.end] == '\n' && s[c.end - 1] == '\r'));
		FUZZ_CHECK(chars(c.begin, c.end) <= o.chunk_size);
		FUZZ_CHECK(!IsWs(s[c.end - 1]));
		FUZZ_CHECK(!IsWs(s[c.begin]) || ((c.begin == 0 || s[c.begin - 1] == '\n') && s[c.begin] != '\n'));
		FUZZ_CHECK(c.line_start == 1 + lines_before[c.begin]);
		FUZZ_CHECK(c.line_end == 1 + lines_before[c.end - 1]);
		for (std::size_t k = covered; k < c.begin; ++k)
			FUZZ_CHECK(IsWs(s[k]));
		covered = std::max(covered, c.end);
		if (i > 0) {
			const chunker::Chunk &p = chunks[i - 1];
			FUZZ_CHECK(c.begin > p.begin && c.end > p.end);
			if (c.begin < p.end)
				FUZZ_CHECK(chars(c.begin, p.end) <= o.overlap);
		}
	}
	for (std::size_t k = covered; k < s.size(); ++k)
		FUZZ_CHECK(IsWs(s[k]));
	const std::vector<chunker::Chunk> again = chunker::Split(std::string(s), language, o);
	FUZZ_CHECK(again.size() == chunks.size());
	for (std::size_t i = 0; i < chunks.size(); ++i)
		FUZZ_CHECK(again[i].begin == chunks[i].begin && again[i].end == chunks[i].end);
}

void
CheckSymbols(std::string_view s, std::string_view language)
{
	const std::size_t lines = 1 + static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
	std::size_t previous = 1;
	for (const symbols::Symbol &sym : symbols::Extract(s, language)) {
		FUZZ_CHECK(!sym.name.empty() && sym.name.size() <= symbols::kMaxNameBytes);
		FUZZ_CHECK(!sym.kind.empty());
		FUZZ_CHECK(sym.line >= previous && sym.line <= lines);
		previous = sym.line;
	}
}

} // namespace

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	static constexpr std::array<std::string_view, 16> kLanguages = {
	    "text", "markdown", "cpp",  "python", "javascript", "go",    "rust", "java",
	    "sql",  "shell",    "perl", "ruby",   "yaml",       "cmake", "make", "typescript"};
	if (size < 3)
		return 0;
	const std::size_t chunk_size = 1 + data[0] % 64;
	const std::size_t overlap = data[1] % chunk_size;
	const std::string_view language = kLanguages[data[2] % kLanguages.size()];
	const std::string_view text(reinterpret_cast<const char *>(data + 3), size - 3);
	Check(text, language, chunker::Options{chunk_size, overlap});
	Check(text, language, chunker::Options{chunk_size * 7, 0});
	Check(text, language, chunker::Options{});
	CheckSymbols(text, language);
	// Bad options are refused with 22023, not split.
	try {
		chunker::Split(text, language, chunker::Options{chunk_size, chunk_size});
		FUZZ_CHECK(false);
	} catch (const agentgres::core::Error &e) {
		FUZZ_CHECK(e.code() == agentgres::core::ErrorCode::kInvalidParameterValue);
	}
	std::string reason;
	FUZZ_CHECK(chunker::LooksBinary(text, &reason) == !IsText(text));
	FUZZ_CHECK(reason.empty() == IsText(text));
	return 0;
}
