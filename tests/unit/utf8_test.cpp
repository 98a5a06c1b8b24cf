// core/utf8.hpp: cuts never split a multibyte character.
#include <gtest/gtest.h>

#include <string>

#include "core/utf8.hpp"

namespace agentgres::core::utf8 {
namespace {

// Valid UTF-8 as PostgreSQL's pg_verifymbstr sees it, enough for these tests.
bool
IsValidUtf8(std::string_view s)
{
	for (std::size_t i = 0; i < s.size();) {
		const auto lead = static_cast<unsigned char>(s[i]);
		const std::size_t n = lead < 0x80           ? 1
		                      : (lead >> 5) == 0x6  ? 2
		                      : (lead >> 4) == 0xE  ? 3
		                      : (lead >> 3) == 0x1E ? 4
		                                            : 0;
		if (n == 0 || i + n > s.size())
			return false;
		for (std::size_t k = 1; k < n; ++k)
			if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80)
				return false;
		i += n;
	}
	return true;
}

TEST(Utf8Prefix, ShortTextIsWhole)
{
	EXPECT_EQ(PrefixLength("", 0), 0u);
	EXPECT_EQ(PrefixLength("abc", 3), 3u);
	EXPECT_EQ(PrefixLength("é", 2), 2u);
	EXPECT_EQ(Prefix("abcdef", 4), "abcd");
}

// Each width of character straddling the cut at every offset: the cut moves
// back to before the character and the prefix stays valid.
TEST(Utf8Prefix, NeverSplitsACharacter)
{
	for (const std::string ch : {"é", "€", "名", "😀", "𝄞"}) {
		for (std::size_t ascii = 0; ascii < 6; ++ascii) {
			const std::string text = std::string(ascii, 'x') + ch + ch + "tail";
			for (std::size_t max = 0; max <= text.size(); ++max) {
				const std::string_view cut = Prefix(text, max);
				EXPECT_LE(cut.size(), max);
				EXPECT_TRUE(IsValidUtf8(cut)) << ch << " ascii " << ascii << " max " << max;
				// As long as possible: at most one character shorter than asked.
				EXPECT_GT(cut.size() + ch.size(), max) << ch << " ascii " << ascii << " max " << max;
			}
		}
	}
}

TEST(Utf8Prefix, TheIssuesCase)
{
	// 511 bytes of room (a 512-byte buffer and its NUL) after 510 ASCII bytes:
	// a 2-byte character would end at 512, so it is left out whole.
	const std::string hint = std::string(510, 'h') + "é" + "more";
	EXPECT_EQ(PrefixLength(hint, 511), 510u);
	const std::string three = std::string(509, 'h') + "€";
	EXPECT_EQ(PrefixLength(three, 511), 509u);
	const std::string four = std::string(508, 'h') + "😀";
	EXPECT_EQ(PrefixLength(four, 511), 508u);
	EXPECT_EQ(PrefixLength(four, 512), 512u);
}

TEST(Utf8Prefix, BytesThatAreNotUtf8AreCutWhereAsked)
{
	// A run of continuation bytes is not a character to keep whole.
	const std::string junk(10, '\x80');
	EXPECT_EQ(PrefixLength(junk, 5), 5u);
	EXPECT_EQ(PrefixLength("ab\xff\xfe", 3), 3u);
}

} // namespace
} // namespace agentgres::core::utf8
