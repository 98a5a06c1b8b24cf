// core/chunker: the invariants on random and hostile input, where code,
// Markdown and text are cut, and the speed on huge lines.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "core/chunker.hpp"
#include "core/error.hpp"
#include "chunk_oracle.hpp"

namespace agentgres::core::chunker {
namespace {

using agentgres::testing::CharStarts;
using agentgres::testing::IsWs;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

bool
IsWhitespace(std::string_view s)
{
	return std::all_of(s.begin(), s.end(), IsWs);
}

std::size_t
CountChars(const std::vector<bool> &starts, std::size_t begin, std::size_t end)
{
	return static_cast<std::size_t>(std::count(starts.begin() + static_cast<std::ptrdiff_t>(begin),
	                                           starts.begin() + static_cast<std::ptrdiff_t>(end), true));
}

std::size_t
LineOf(std::string_view s, std::size_t pos)
{
	return 1 + static_cast<std::size_t>(std::count(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(pos), '\n'));
}

// Every rule of chunker.hpp that can be checked from the outside.
void
CheckInvariants(std::string_view s, std::string_view language, const Options &o, const std::vector<Chunk> &chunks)
{
	SCOPED_TRACE(::testing::Message() << "language " << language << " size " << o.chunk_size << " overlap " << o.overlap
	                                  << " input bytes " << s.size());
	const std::vector<bool> starts = CharStarts(s);
	if (IsWhitespace(s)) {
		EXPECT_TRUE(chunks.empty());
		return;
	}
	ASSERT_FALSE(chunks.empty());
	std::size_t covered = 0; // every byte before it is in a chunk or whitespace
	for (std::size_t i = 0; i < chunks.size(); ++i) {
		const Chunk &c = chunks[i];
		SCOPED_TRACE(::testing::Message() << "chunk " << i << " [" << c.begin << ", " << c.end << ")");
		ASSERT_LT(c.begin, c.end);
		ASSERT_LE(c.end, s.size());
		EXPECT_TRUE(starts[c.begin]);
		EXPECT_TRUE(starts[c.end]);
		EXPECT_FALSE(c.begin > 0 && s[c.begin] == '\n' && s[c.begin - 1] == '\r');
		EXPECT_FALSE(c.end < s.size() && s[c.end] == '\n' && s[c.end - 1] == '\r');
		EXPECT_LE(CountChars(starts, c.begin, c.end), o.chunk_size);
		// Trimmed: no whitespace at the end, none at the start but a line's indentation.
		EXPECT_FALSE(IsWs(s[c.end - 1]));
		if (IsWs(s[c.begin])) {
			EXPECT_TRUE(c.begin == 0 || s[c.begin - 1] == '\n');
			EXPECT_NE(s[c.begin], '\n');
			EXPECT_FALSE(s[c.begin] == '\r' && s[c.begin + 1] == '\n');
		}
		EXPECT_FALSE(IsWhitespace(s.substr(c.begin, c.end - c.begin)));
		EXPECT_EQ(c.line_start, LineOf(s, c.begin));
		EXPECT_EQ(c.line_end, LineOf(s, c.end - 1));
		// Nothing but whitespace is left out.
		if (c.begin > covered) {
			EXPECT_TRUE(IsWhitespace(s.substr(covered, c.begin - covered))) << "gap before chunk";
		}
		covered = std::max(covered, c.end);
		if (i > 0) {
			const Chunk &p = chunks[i - 1];
			EXPECT_GT(c.begin, p.begin);
			EXPECT_GT(c.end, p.end);
			if (c.begin < p.end) {
				EXPECT_LE(CountChars(starts, c.begin, p.end), o.overlap) << "overlap too large";
			}
			if (o.overlap == 0) {
				EXPECT_GE(c.begin, p.end);
			}
		}
	}
	EXPECT_TRUE(IsWhitespace(s.substr(covered))) << "content lost at the end";
}

std::vector<Chunk>
SplitChecked(std::string_view s, std::string_view language, Options o)
{
	std::vector<Chunk> chunks = Split(s, language, o);
	CheckInvariants(s, language, o, chunks);
	// Deterministic.
	const std::vector<Chunk> again = Split(std::string(s), language, o);
	EXPECT_EQ(again.size(), chunks.size());
	for (std::size_t i = 0; i < std::min(again.size(), chunks.size()); ++i)
		EXPECT_TRUE(again[i].begin == chunks[i].begin && again[i].end == chunks[i].end);
	return chunks;
}

std::string
Content(std::string_view s, const Chunk &c)
{
	return std::string(s.substr(c.begin, c.end - c.begin));
}

const char *const kPieces[] = {
    "a",
    "word",
    " ",
    "  ",
    "\t",
    "\n",
    "\n\n",
    "\r\n",
    "\r",
    "é",
    "€",
    "名",
    "😀",
    "𝄞",
    "}",
    "{",
    ". ",
    "! ",
    "? ",
    "。",
    "# ",
    "## T\n",
    "```\n",
    "~~~",
    "def f():\n",
    "    x = 1\n",
    "}\n\n",
    "class A:\n",
    "int\nf()\n{\n",
    "\xff",
    "\xc3",
    "\x80",
    "\0",
    ";",
    ",",
    "end\n",
    "    ",
    "\n    return 0;\n"};

std::string
RandomText(std::mt19937 &rng, std::size_t pieces)
{
	std::uniform_int_distribution<std::size_t> pick(0, std::size(kPieces) - 1);
	std::string s;
	for (std::size_t i = 0; i < pieces; ++i) {
		const char *p = kPieces[pick(rng)];
		if (*p == '\0')
			s.push_back('\0');
		else
			s += p;
	}
	return s;
}

TEST(ChunkerInvariants, RandomInputsEveryLanguageAndSize)
{
	std::mt19937 rng(20261122);
	const char *const languages[] = {"cpp", "python", "markdown", "text", "yaml"};
	for (int round = 0; round < 1500; ++round) {
		const std::string s = RandomText(rng, std::uniform_int_distribution<std::size_t>(0, 400)(rng));
		const std::size_t size = std::uniform_int_distribution<std::size_t>(1, round % 3 == 0 ? 12 : 300)(rng);
		const std::size_t overlap = round % 4 == 0 ? 0 : std::uniform_int_distribution<std::size_t>(0, size - 1)(rng);
		SplitChecked(s, languages[round % std::size(languages)], Options{size, overlap});
		if (HasFatalFailure() || HasFailure())
			FAIL() << "round " << round;
	}
}

TEST(ChunkerInvariants, EmptyAndWhitespaceOnly)
{
	for (const char *lang : {"cpp", "markdown", "text"}) {
		EXPECT_TRUE(Split("", lang, Options{}).empty());
		EXPECT_TRUE(Split(" \n\t\r\n\n   \f\v\n", lang, Options{}).empty());
		EXPECT_TRUE(Split(std::string(100000, '\n'), lang, Options{10, 3}).empty());
		const std::vector<Chunk> one = Split("\n\n   x  \n\n", lang, Options{});
		ASSERT_EQ(one.size(), 1u);
		EXPECT_EQ(one[0].begin, 2u); // the line's indentation is kept
		EXPECT_EQ(one[0].end, 6u);
		EXPECT_EQ(one[0].line_start, 3u);
		EXPECT_EQ(one[0].line_end, 3u);
	}
}

TEST(ChunkerInvariants, SmallInputIsOneChunk)
{
	const std::string s = "int\nmain()\n{\n\treturn 0;\n}\n";
	const std::vector<Chunk> chunks = SplitChecked(s, "cpp", Options{});
	ASSERT_EQ(chunks.size(), 1u);
	EXPECT_EQ(Content(s, chunks[0]), "int\nmain()\n{\n\treturn 0;\n}");
	EXPECT_EQ(chunks[0].line_start, 1u);
	EXPECT_EQ(chunks[0].line_end, 5u);
}

TEST(ChunkerOptions, BadOptionsAreRefused)
{
	const auto code_of = [](Options o) {
		try {
			Split("some text", "text", o);
		} catch (const Error &e) {
			return std::string(Sqlstate(e.code())) + " " + e.what();
		}
		return std::string("no error");
	};
	EXPECT_EQ(code_of(Options{0, 0}), "22023 chunk size must be between 1 and 1000000 characters");
	EXPECT_EQ(code_of(Options{1000001, 0}), "22023 chunk size must be between 1 and 1000000 characters");
	EXPECT_EQ(code_of(Options{100, 100}), "22023 chunk overlap must be less than the chunk size");
	EXPECT_EQ(code_of(Options{100, 5000}), "22023 chunk overlap must be less than the chunk size");
	// Options are checked even when there is nothing to split.
	EXPECT_THROW(Split("", "text", Options{0, 0}), Error);
	EXPECT_NO_THROW(Split("x", "text", Options{1, 0}));
	EXPECT_NO_THROW(Split("x y z", "text", Options{1000000, 999999}));
}

// Every width of character at every position around every boundary: no cut
// splits a character, for chunk sizes that put the boundary everywhere.
TEST(ChunkerInvariants, MultibyteCharactersStraddlingEveryBoundary)
{
	for (const std::string ch : {"é", "€", "名", "😀", "𝄞"}) {
		for (std::size_t ascii = 0; ascii < 7; ++ascii) {
			for (const std::string sep : {"", " ", "\n", "\r\n"}) {
				std::string s = std::string(ascii, 'x');
				for (int k = 0; k < 6; ++k)
					s += ch + (k % 2 ? sep : "") + "y";
				for (std::size_t size = 1; size <= 12; ++size)
					for (std::size_t overlap = 0; overlap < size; overlap += (size > 4 ? 2 : 1))
						for (const char *lang : {"text", "cpp", "markdown"})
							SplitChecked(s, lang, Options{size, overlap});
			}
		}
	}
}

TEST(ChunkerInvariants, CharactersCountedNotBytes)
{
	// 100 four-byte characters fit a 100-character chunk.
	std::string s;
	for (int i = 0; i < 100; ++i)
		s += "😀";
	const std::vector<Chunk> one = SplitChecked(s, "text", Options{100, 10});
	ASSERT_EQ(one.size(), 1u);
	EXPECT_EQ(one[0].end, 400u);
	s += "😀";
	const std::vector<Chunk> two = SplitChecked(s, "text", Options{100, 10});
	ASSERT_EQ(two.size(), 2u);
	EXPECT_EQ(two[0].end, 400u);
	EXPECT_EQ(two[1].begin, 400u - 40u); // 10 characters of overlap
	// Tabs count one each.
	EXPECT_EQ(SplitChecked(std::string(50, '\t') + "x", "text", Options{51, 0}).size(), 1u);
}

TEST(ChunkerInvariants, CrLfIsOneLineEnd)
{
	std::string s;
	for (int i = 0; i < 200; ++i)
		s += "line " + std::to_string(i) + " of some windows text.\r\n" + (i % 7 == 0 ? "\r\n" : "");
	for (const char *lang : {"text", "cpp", "markdown"}) {
		for (std::size_t size : {1, 2, 3, 5, 17, 64, 300}) {
			const std::vector<Chunk> chunks = SplitChecked(s, lang, Options{size, size / 3});
			for (const Chunk &c : chunks) {
				EXPECT_NE(s[c.end - 1], '\r');
				EXPECT_NE(s[c.begin], '\n');
			}
		}
	}
	// Code chunks end at line ends: their content never ends with the CR.
	const std::vector<Chunk> chunks = SplitChecked(s, "cpp", Options{100, 20});
	for (const Chunk &c : chunks)
		EXPECT_EQ(s.substr(c.end, 2), "\r\n");
	// A lone CR is an ordinary character, not a line end.
	const std::vector<Chunk> cr = SplitChecked("a\rb\rc", "text", Options{});
	ASSERT_EQ(cr.size(), 1u);
	EXPECT_EQ(cr[0].line_end, 1u);
}

// The heart of it: code is cut where a top-level function or class ends.
const char kCppFunction[] = R"(// Returns the number of %s in text, counting overlapping matches; the
// caller owns text and must keep it alive while the result is used.
std::size_t
Count_%s(std::string_view text, std::string_view what)
{
	if (what.empty())
		return 0;
	std::size_t n = 0;
	for (std::size_t at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1)) {
		if (at > 0 && text[at - 1] == '\\')
			continue; // escaped
		++n;
	}
	return n;
}

)";

std::string
CppSample(int functions)
{
	std::string s = "#include <string_view>\n\nnamespace sample {\n\n";
	for (int i = 0; i < functions; ++i) {
		std::string f = kCppFunction;
		for (std::size_t at; (at = f.find("%s")) != std::string::npos;)
			f.replace(at, 2, "item" + std::to_string(i));
		if (i % 3 == 1) // some longer functions, so cuts do not fall in step
			f.insert(f.find("\treturn n;"), "\tif (n > 1000)\n\t\tn = 1000; // clamp\n\tlog_count(n);\n");
		s += f;
	}
	s += "} // namespace sample\n";
	return s;
}

TEST(ChunkerCode, CppCutsAtFunctionEnds)
{
	const std::string s = CppSample(40);
	const std::vector<Chunk> chunks = SplitChecked(s, "cpp", Options{1000, 200});
	ASSERT_GT(chunks.size(), 10u);
	for (std::size_t i = 0; i + 1 < chunks.size(); ++i) {
		const std::string c = Content(s, chunks[i]);
		// The chunk ends with a function's closing brace at column 0.
		EXPECT_EQ(c.substr(c.size() - 2), "\n}") << "chunk " << i << " ends with:\n" << c.substr(c.size() - 80);
		// Chunks are not tiny.
		EXPECT_GT(c.size(), 400u) << "chunk " << i;
	}
	// The overlap starts at a line start and carries no half function: a
	// chunk after the first starts at a line start.
	for (std::size_t i = 1; i < chunks.size(); ++i)
		EXPECT_EQ(s[chunks[i].begin - 1], '\n');
	// With no overlap the chunks start at the comment before the next function.
	const std::vector<Chunk> tiled = SplitChecked(s, "cpp", Options{1000, 0});
	for (std::size_t i = 1; i < tiled.size(); ++i)
		EXPECT_EQ(s.substr(tiled[i].begin, 13), "// Returns th") << "chunk " << i;
}

const char kPythonSample[] = R"(import os
import sys


class Reader:
    """Reads records from a file, one per line."""

    def __init__(self, path):
        self.path = path
        self.count = 0

    def records(self):
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                self.count += 1
                yield line.split("\t")


def summarise_%s(path, limit=10):
    """Returns the first limit records and how many there were."""
    reader = Reader(path)
    first = []
    for record in reader.records():
        if len(first) < limit:
            first.append(record)
    return first, reader.count


@functools.lru_cache(maxsize=None)
def parse_%s(text):
    fields = {}
    for part in text.split(";"):
        key, _, value = part.partition("=")
        fields[key.strip()] = value.strip()
    return fields
)";

TEST(ChunkerCode, PythonCutsAtTopLevelDefinitions)
{
	std::string s;
	for (int i = 0; i < 30; ++i) {
		std::string part = kPythonSample;
		for (std::size_t at; (at = part.find("%s")) != std::string::npos;)
			part.replace(at, 2, std::to_string(i));
		s += part + "\n\n";
	}
	const std::vector<Chunk> chunks = SplitChecked(s, "python", Options{1000, 200});
	ASSERT_GT(chunks.size(), 10u);
	for (std::size_t i = 0; i + 1 < chunks.size(); ++i) {
		// What follows the chunk (after blank lines) starts at column 0.
		std::size_t next = chunks[i].end;
		while (next < s.size() && IsWs(s[next]))
			++next;
		const std::size_t line = s.rfind('\n', next);
		EXPECT_EQ(line, next - 1) << "chunk " << i << " is followed by an indented line:\n"
		                          << s.substr(chunks[i].end, 60);
		const std::string rest = s.substr(next, 6);
		EXPECT_TRUE(rest.starts_with("def ") || rest.starts_with("class ") || rest.starts_with("@") ||
		            rest.starts_with("import"))
		    << "chunk " << i << " is followed by: " << rest;
	}
}

TEST(ChunkerCode, CodeIsCutOnlyAtLineEnds)
{
	const std::string s = CppSample(25);
	for (std::size_t size : {120, 333, 1000}) { // longer than every line
		const std::vector<Chunk> chunks = SplitChecked(s, "cpp", Options{size, size / 5});
		for (const Chunk &c : chunks) {
			EXPECT_TRUE(c.end == s.size() || s[c.end] == '\n');
			EXPECT_TRUE(c.begin == 0 || s[c.begin - 1] == '\n');
		}
	}
}

TEST(ChunkerMarkdown, CutsBeforeHeadingsAndNeverInsideFences)
{
	std::mt19937 rng(7);
	std::string s;
	for (int i = 0; i < 40; ++i) {
		s += "## Section " + std::to_string(i) + "\n\n";
		const int sentences = std::uniform_int_distribution<int>(4, 6)(rng);
		for (int k = 0; k < sentences; ++k)
			s += "This sentence explains part " + std::to_string(k) + " of the section. ";
		s += "\n\n";
		if (i % 5 == 0)
			s += "```sh\n# not a heading\nmake install\n```\n\n";
	}
	const std::vector<Chunk> chunks = SplitChecked(s, "markdown", Options{500, 0});
	ASSERT_GT(chunks.size(), 10u);
	for (std::size_t i = 1; i < chunks.size(); ++i)
		EXPECT_TRUE(s.substr(chunks[i].begin, 11) == "## Section ")
		    << "chunk " << i << " starts with: " << s.substr(chunks[i].begin, 40);
	// With overlap the cuts stay before headings.
	const std::vector<Chunk> overlapping = SplitChecked(s, "markdown", Options{500, 100});
	for (std::size_t i = 0; i + 1 < overlapping.size(); ++i) {
		std::size_t next = overlapping[i].end;
		while (next < s.size() && IsWs(s[next]))
			++next;
		EXPECT_EQ(s.substr(next, 3), "## ") << "chunk " << i;
	}
	// A fence's line is never cut, even when a space inside it would do.
	std::string fenced = "Intro.\n\n```\n";
	for (int i = 0; i < 50; ++i)
		fenced += "x = call(a, b) + other(c, d) # " + std::to_string(i) + "\n";
	fenced += "```\n";
	for (const Chunk &c : SplitChecked(fenced, "markdown", Options{100, 30})) {
		EXPECT_TRUE(c.end == fenced.size() || fenced[c.end] == '\n');
		EXPECT_TRUE(c.begin == 0 || fenced[c.begin - 1] == '\n');
	}
	// "# not a heading" inside a fence is not a heading: no cut before it.
	const std::string code_comment =
	    "Para one is here.\n\n```\n" + std::string(40, 'a') + "\n# comment\n" + std::string(40, 'b') + "\n```\n";
	const std::vector<Chunk> cc = SplitChecked(code_comment, "markdown", Options{100, 0});
	for (const Chunk &c : cc)
		EXPECT_NE(code_comment.substr(c.begin, 9), "# comment");
}

TEST(ChunkerText, ParagraphThenSentenceThenSpace)
{
	std::string s;
	for (int p = 0; p < 20; ++p) {
		for (int k = 0; k < 6; ++k)
			s += "Sentence number " + std::to_string(k) + " says something useful! ";
		s += "\n\n";
	}
	// Paragraphs (about 260 characters) fit a 300-character chunk: cuts at paragraph ends.
	for (const Chunk &c : SplitChecked(s, "text", Options{300, 0}))
		EXPECT_TRUE(c.end + 2 >= s.size() || s.substr(c.end, 3) == " \n\n") << Content(s, c);
	// Smaller chunks: cuts after sentences.
	for (const Chunk &c : SplitChecked(s, "text", Options{100, 20})) {
		EXPECT_EQ(s[c.end - 1], '!') << Content(s, c);
		EXPECT_TRUE(c.begin == 0 || IsWs(s[c.begin - 1])); // at a word start
	}
	// One long sentence without punctuation: cuts at spaces, overlap at word starts.
	std::string words;
	for (int i = 0; i < 500; ++i)
		words += "w" + std::to_string(i) + " ";
	for (const Chunk &c : SplitChecked(words, "text", Options{64, 16})) {
		EXPECT_TRUE(c.end == words.size() - 1 || words[c.end] == ' ');
		EXPECT_TRUE(c.begin == 0 || words[c.begin - 1] == ' ');
	}
}

TEST(ChunkerHugeLine, TenMegabyteLinesAreFastAndStayOnTheirLine)
{
	const std::size_t mb10 = 10u << 20;
	std::string with_spaces;
	with_spaces.reserve(mb10 + 100);
	with_spaces = "first line\n";
	while (with_spaces.size() < mb10)
		with_spaces += "var a=function(b){return b+1};x(a, \"é\") ";
	with_spaces += "\nlast line\n";
	const std::string no_spaces = std::string(mb10, 'x');
	std::string multibyte;
	while (multibyte.size() < mb10)
		multibyte += "名😀é";
	struct Case {
		const char *name;
		const std::string *text;
		const char *language;
	} cases[] = {{"minified js", &with_spaces, "javascript"},
	             {"no spaces", &no_spaces, "text"},
	             {"multibyte", &multibyte, "markdown"}};
	for (const Case &c : cases) {
		const auto t0 = std::chrono::steady_clock::now();
		const std::vector<Chunk> chunks = Split(*c.text, c.language, Options{});
		const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
		std::cout << "[chunker] 10 MB line (" << c.name << "): " << chunks.size() << " chunks in " << seconds * 1000
		          << " ms, " << (c.text->size() / 1048576.0) / seconds << " MB/s\n";
		if (!kSanitized) {
			EXPECT_LT(seconds, 1.0) << c.name;
		}
		ASSERT_GT(chunks.size(), 1000u);
		// Chunks inside the line stay on it and are full-sized.
		std::size_t on_line = 0;
		for (std::size_t i = 1; i + 1 < chunks.size(); ++i) {
			on_line += chunks[i].line_start == chunks[i].line_end;
			EXPECT_GE(chunks[i].end - chunks[i].begin, 650u) << c.name << " chunk " << i;
		}
		EXPECT_EQ(on_line, chunks.size() - 2) << c.name;
	}
	// The full invariants on a smaller long line (the checker is quadratic-free but slow).
	SplitChecked(with_spaces.substr(0, 300000) + "\nend\n", "javascript", Options{});
	SplitChecked(no_spaces.substr(0, 20000), "cpp", Options{1000, 999}); // one new character per chunk
	SplitChecked(multibyte.substr(0, 200000), "text", Options{});
	// The code around the line is cut at its own line ends.
	const std::vector<Chunk> js = Split(with_spaces, "javascript", Options{});
	EXPECT_EQ(Content(with_spaces, js.front()), "first line");
	EXPECT_EQ(Content(with_spaces, js.back()).substr(Content(with_spaces, js.back()).size() - 9), "last line");
}

TEST(ChunkerSpeed, LargeCodeFile)
{
	std::string s;
	while (s.size() < (20u << 20))
		s += CppSample(50);
	const auto t0 = std::chrono::steady_clock::now();
	int interrupts = 0;
	const std::vector<Chunk> chunks = Split(s, "cpp", Options{}, [&] { ++interrupts; });
	const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
	std::cout << "[chunker] " << s.size() / 1048576 << " MB of C++: " << chunks.size() << " chunks in "
	          << seconds * 1000 << " ms, " << (s.size() / 1048576.0) / seconds << " MB/s\n";
	EXPECT_GT(interrupts, 20);
	if (!kSanitized) {
		EXPECT_LT(seconds, 4.0);
	}
}

// Inputs built to make a careless splitter quadratic: each stays fast, with
// the default options and with a tiny window that overlaps almost entirely.
TEST(ChunkerSpeed, PathologicalInputsAreLinear)
{
	const std::size_t half_mb = 1u << 19;
	const auto repeat = [&](std::string_view unit) {
		std::string s;
		while (s.size() < half_mb)
			s += unit;
		return s;
	};
	const std::string inputs[] = {
	    repeat("\n"),
	    repeat(" "),
	    std::string(half_mb, ' ') + "x",
	    repeat("```\n"),
	    repeat("# h\n"),
	    repeat("\r\n x"),
	    repeat("\xff\x80"),
	    repeat("}\n"),
	    repeat("a\n" + std::string(300, ' ')),
	    repeat(". "),
	    std::string(half_mb, ' ') + "x\n" + std::string(half_mb, 'y'),
	    repeat("\t\t\t\t\t\t\t\tx\n")};
	for (const char *lang : {"cpp", "markdown", "text"}) {
		for (const Options o : {Options{}, Options{10, 9}}) {
			const auto t0 = std::chrono::steady_clock::now();
			for (const std::string &s : inputs)
				Split(s, lang, o);
			const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
			if (!kSanitized) {
				EXPECT_LT(seconds, 5.0) << lang << " " << o.chunk_size;
			}
		}
	}
}

TEST(ChunkerInterrupt, ExceptionFromTheCallbackStopsTheSplit)
{
	const std::string s(4u << 20, 'a');
	EXPECT_THROW(Split(s, "text", Options{}, [] { throw Error(ErrorCode::kInternalError, "canceled"); }), Error);
}

TEST(ChunkerBinary, NulAndInvalidUtf8)
{
	std::string reason;
	EXPECT_FALSE(LooksBinary("", &reason));
	EXPECT_FALSE(LooksBinary("plain ascii\r\n\ttext", &reason));
	EXPECT_FALSE(LooksBinary("é € 名 😀 𝄞 \xF4\x8F\xBF\xBF", &reason));
	EXPECT_TRUE(reason.empty());
	EXPECT_TRUE(LooksBinary(std::string("ab\0cd", 5), &reason));
	EXPECT_EQ(reason, "NUL byte at byte offset 2");
	EXPECT_TRUE(LooksBinary("abc\xff", &reason));
	EXPECT_EQ(reason, "invalid UTF-8 at byte offset 3");
	EXPECT_TRUE(LooksBinary("x\xc3", &reason));
	EXPECT_EQ(reason, "truncated UTF-8 sequence at byte offset 1");
	EXPECT_TRUE(LooksBinary("\x80", nullptr));                 // lone continuation byte
	EXPECT_TRUE(LooksBinary("\xc0\xaf", nullptr));             // overlong '/'
	EXPECT_TRUE(LooksBinary("\xe0\x80\xaf", nullptr));         // overlong
	EXPECT_TRUE(LooksBinary("\xed\xa0\x80", nullptr));         // surrogate U+D800
	EXPECT_TRUE(LooksBinary("\xf4\x90\x80\x80", nullptr));     // above U+10FFFF
	EXPECT_TRUE(LooksBinary("\xf0\x9f\x98", nullptr));         // truncated emoji
	EXPECT_TRUE(LooksBinary("\xe2\x82\x41", nullptr));         // bad continuation
	EXPECT_TRUE(LooksBinary("\xf8\x88\x80\x80\x80", nullptr)); // five-byte form
	// A PNG header and an ELF header.
	EXPECT_TRUE(LooksBinary(std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16)));
	EXPECT_TRUE(LooksBinary(std::string("\x7f"
	                                    "ELF\x02\x01\x01\0",
	                                    8)));
	// Split itself copes with bytes that are not UTF-8 (one character each).
	SplitChecked("ab\xff\xfe cd\x80\x80\x80\x80 e\xc3", "text", Options{3, 1});
}

TEST(ChunkerOptions, FromIntegers)
{
	EXPECT_EQ(MakeOptions(1000, 200).chunk_size, 1000u);
	EXPECT_EQ(MakeOptions(1000, 200).overlap, 200u);
	EXPECT_EQ(MakeOptions(1, 0).chunk_size, 1u);
	const auto message = [](std::int64_t size, std::int64_t overlap) {
		try {
			MakeOptions(size, overlap);
		} catch (const Error &e) {
			return std::string(Sqlstate(e.code())) + " " + e.what();
		}
		return std::string("no error");
	};
	EXPECT_EQ(message(0, 0), "22023 chunk size must be between 1 and 1000000 characters");
	EXPECT_EQ(message(-5, 0), "22023 chunk size must be between 1 and 1000000 characters");
	EXPECT_EQ(message(INT64_MAX, 0), "22023 chunk size must be between 1 and 1000000 characters");
	EXPECT_EQ(message(100, -1), "22023 chunk overlap must not be negative");
	EXPECT_EQ(message(100, INT64_MIN), "22023 chunk overlap must not be negative");
	EXPECT_EQ(message(100, 100), "22023 chunk overlap must be less than the chunk size");
}

TEST(ChunkerSymbols, ChunkOfLine)
{
	const std::string s = CppSample(20);
	const std::vector<Chunk> chunks = SplitChecked(s, "cpp", Options{1000, 200});
	const std::size_t lines = LineOf(s, s.size() - 1);
	for (std::size_t line = 1; line <= lines; ++line) {
		const std::size_t i = ChunkOfLine(chunks, line);
		// The reference: the last chunk that starts at or before the line, if it covers it.
		std::size_t expected = chunks.size();
		for (std::size_t k = 0; k < chunks.size(); ++k)
			if (chunks[k].line_start <= line)
				expected = chunks[k].line_end >= line ? k : chunks.size();
		EXPECT_EQ(i, expected) << "line " << line;
	}
	EXPECT_EQ(ChunkOfLine(chunks, 0), chunks.size());
	EXPECT_EQ(ChunkOfLine(chunks, lines + 5), chunks.size());
	EXPECT_EQ(ChunkOfLine({}, 1), 0u);
	// The pieces of one long line: the first piece.
	const std::string line = "short\n" + std::string(5000, 'x') + "\n";
	const std::vector<Chunk> pieces = SplitChecked(line, "text", Options{100, 10});
	ASSERT_GT(pieces.size(), 10u);
	EXPECT_EQ(ChunkOfLine(pieces, 1), 0u);
	const std::size_t first = ChunkOfLine(pieces, 2);
	ASSERT_LT(first, pieces.size());
	EXPECT_EQ(pieces[first].line_start, 2u);
	EXPECT_TRUE(first == 0 || pieces[first - 1].line_start < 2u);
}

TEST(ChunkerLanguage, FromUri)
{
	EXPECT_EQ(LanguageOf("extension/core/chunker.cpp"), "cpp");
	EXPECT_EQ(LanguageOf("a/b/c.h"), "cpp");
	EXPECT_EQ(LanguageOf("x.HPP"), "cpp");
	EXPECT_EQ(LanguageOf("main.c"), "c");
	EXPECT_EQ(LanguageOf("file:///home/u/src/app.py"), "python");
	EXPECT_EQ(LanguageOf("https://example.com/docs/guide.md?raw=1#intro"), "markdown");
	EXPECT_EQ(LanguageOf("Makefile"), "make");
	EXPECT_EQ(LanguageOf("src/GNUmakefile"), "make");
	EXPECT_EQ(LanguageOf("Makefile.pgxs"), "make");
	EXPECT_EQ(LanguageOf("Makefile.in"), "make");
	EXPECT_EQ(LanguageOf("CMakeLists.txt"), "cmake");
	EXPECT_EQ(LanguageOf("cmake/Find.cmake"), "cmake");
	EXPECT_EQ(LanguageOf("sql/agentgres--0.5.0.sql"), "sql");
	EXPECT_EQ(LanguageOf("sql/x.sql.in"), "sql");
	EXPECT_EQ(LanguageOf("scripts/test.sh"), "shell");
	EXPECT_EQ(LanguageOf("t/001_basic.pl"), "perl");
	EXPECT_EQ(LanguageOf("web/app.tsx"), "typescript");
	EXPECT_EQ(LanguageOf("web/app.mjs"), "javascript");
	EXPECT_EQ(LanguageOf("main.go"), "go");
	EXPECT_EQ(LanguageOf("lib.rs"), "rust");
	EXPECT_EQ(LanguageOf("A.java"), "java");
	EXPECT_EQ(LanguageOf("Gemfile"), "ruby");
	EXPECT_EQ(LanguageOf("config.toml"), "toml");
	EXPECT_EQ(LanguageOf(".github/workflows/ci.yml"), "yaml");
	EXPECT_EQ(LanguageOf("package.json"), "json");
	EXPECT_EQ(LanguageOf("index.html"), "html");
	EXPECT_EQ(LanguageOf("style.css"), "css");
	EXPECT_EQ(LanguageOf("C:\\src\\x.rb"), "ruby");
	EXPECT_EQ(LanguageOf("notes.txt"), "text");
	EXPECT_EQ(LanguageOf("LICENSE"), "text");
	EXPECT_EQ(LanguageOf(".gitignore"), "text");
	EXPECT_EQ(LanguageOf("archive.tar.gz"), "text");
	EXPECT_EQ(LanguageOf(""), "text");
	EXPECT_EQ(LanguageOf("dir.d/"), "text");
	EXPECT_TRUE(IsCode("cpp"));
	EXPECT_TRUE(IsCode("python"));
	EXPECT_TRUE(IsCode("yaml"));
	EXPECT_TRUE(IsCode("make"));
	EXPECT_FALSE(IsCode("markdown"));
	EXPECT_FALSE(IsCode("text"));
	EXPECT_FALSE(IsCode("klingon"));
}

} // namespace
} // namespace agentgres::core::chunker
