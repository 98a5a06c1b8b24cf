// Text form and validation of embeddings.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/embedding.hpp"
#include "core/error.hpp"

namespace agentgres::core::embedding {
namespace {

ErrorCode
CodeOf(const std::string &text)
{
	try {
		ParseText(text);
	} catch (const Error &e) {
		return e.code();
	}
	ADD_FAILURE() << "no error for " << text;
	return ErrorCode::kInternalError;
}

TEST(ParseText, AcceptsPlainAndSpacedLiterals)
{
	EXPECT_EQ(ParseText("[1,2,3]"), (std::vector<float>{1, 2, 3}));
	EXPECT_EQ(ParseText(" [ 1 ,\t-2.5 ,\n+3e-2 ] "), (std::vector<float>{1, -2.5f, 3e-2f}));
	EXPECT_EQ(ParseText("[1.1754944e-38]")[0], 1.1754944e-38f);
}

TEST(ParseText, RejectsMalformedTextAsInvalidTextRepresentation)
{
	for (const char *bad : {"", "1,2", "[", "[1", "[1,]", "[1,,2]", "[,1]", "[1 2]", "[1,2] x", "[1,2]]", "[a]", "[1e]",
	                        "[--1]", "[+-1]", "[1;2]", "[++1]", "(1,2)"})
		EXPECT_EQ(CodeOf(bad), ErrorCode::kInvalidTextRepresentation) << bad;
}

TEST(ParseText, RejectsNonFiniteEmptyAndOutOfRange)
{
	EXPECT_EQ(CodeOf("[]"), ErrorCode::kDataException);
	EXPECT_EQ(CodeOf("[ ]"), ErrorCode::kDataException);
	EXPECT_EQ(CodeOf("[nan]"), ErrorCode::kDataException);
	EXPECT_EQ(CodeOf("[inf]"), ErrorCode::kDataException);
	EXPECT_EQ(CodeOf("[-Infinity]"), ErrorCode::kDataException);
	EXPECT_EQ(CodeOf("[4e38]"), ErrorCode::kNumericValueOutOfRange);
	EXPECT_EQ(CodeOf("[1e-46]"), ErrorCode::kNumericValueOutOfRange);
}

TEST(ParseText, EnforcesTheDimensionLimit)
{
	std::string ok = "[1";
	for (int i = 1; i < kMaxDimensions; ++i)
		ok += ",1";
	EXPECT_EQ(ParseText(ok + "]").size(), static_cast<std::size_t>(kMaxDimensions));
	EXPECT_EQ(CodeOf(ok + ",1]"), ErrorCode::kProgramLimitExceeded);
}

TEST(ParseText, QuotesOnlyTheStartOfHugeInput)
{
	try {
		ParseText(std::string(100000, 'x'));
		FAIL();
	} catch (const Error &e) {
		EXPECT_LT(std::string(e.what()).size(), 200u);
	}
}

TEST(FormatText, RoundTripsRandomFloatsExactly)
{
	std::mt19937 rng(7);
	std::uniform_int_distribution<std::uint32_t> bits;
	std::vector<float> values;
	while (values.size() < 5000) {
		const std::uint32_t b = bits(rng);
		float f;
		std::memcpy(&f, &b, sizeof f);
		if (std::isfinite(f) && (f == 0 || std::fabs(f) >= 1.1754944e-38f))
			values.push_back(f);
	}
	const std::vector<float> parsed = ParseText(FormatText(values));
	ASSERT_EQ(parsed.size(), values.size());
	for (std::size_t i = 0; i < values.size(); ++i)
		EXPECT_EQ(std::memcmp(&parsed[i], &values[i], sizeof(float)), 0) << i;
}

TEST(FormatText, IsShortest)
{
	EXPECT_EQ(FormatText(std::vector<float>{1, 0.1f, -2.5f, 1e20f}), "[1,0.1,-2.5,1e+20]");
}

TEST(Binary, LayoutIsPgvectorsInNetworkOrder)
{
	const std::vector<float> values = {1.0f, -2.5f};
	const std::string bytes = FormatBinary(values);
	EXPECT_EQ(bytes, std::string("\x00\x02\x00\x00\x3f\x80\x00\x00\xc0\x20\x00\x00", 12));
	std::size_t consumed = 0;
	EXPECT_EQ(ParseBinary(bytes, consumed), values);
	EXPECT_EQ(consumed, bytes.size());
	// Bytes after the value are left to the caller (PostgreSQL rejects them).
	EXPECT_EQ(ParseBinary(bytes + "xyz", consumed), values);
	EXPECT_EQ(consumed, bytes.size());
}

TEST(Binary, RejectsBadInputWithTheRecvSqlstates)
{
	const auto code = [](const std::string &bytes) {
		std::size_t consumed = 0;
		try {
			ParseBinary(bytes, consumed);
		} catch (const Error &e) {
			return e.code();
		}
		ADD_FAILURE() << "no error";
		return ErrorCode::kInternalError;
	};
	EXPECT_EQ(code(""), ErrorCode::kProtocolViolation);
	EXPECT_EQ(code(std::string("\x00\x01", 2)), ErrorCode::kProtocolViolation);
	EXPECT_EQ(code(std::string("\x00\x03\x00\x00\x3f\x80\x00\x00", 8)), ErrorCode::kProtocolViolation);
	EXPECT_EQ(code(std::string("\x00\x00\x00\x00", 4)), ErrorCode::kDataException);
	EXPECT_EQ(code(std::string("\xff\xff\x00\x00", 4)), ErrorCode::kDataException);
	EXPECT_EQ(code(std::string("\x3e\x81\x00\x00", 4)), ErrorCode::kProgramLimitExceeded);
	EXPECT_EQ(code(std::string("\x00\x01\x00\x01\x3f\x80\x00\x00", 8)), ErrorCode::kInvalidParameterValue);
	EXPECT_EQ(code(std::string("\x00\x01\x00\x00\x7f\xc0\x00\x00", 8)), ErrorCode::kDataException);
	EXPECT_EQ(code(std::string("\x00\x01\x00\x00\x7f\x80\x00\x00", 8)), ErrorCode::kDataException);
	EXPECT_STREQ(Sqlstate(ErrorCode::kProtocolViolation), "08P01");
}

TEST(ParseText, QuotesACutThatIsValidUtf8)
{
	// 119 ASCII bytes then 2-byte characters: the 120-byte quote would end
	// inside the first one.
	try {
		ParseText("[" + std::string(118, 'x') + "ééé");
		FAIL();
	} catch (const Error &e) {
		const std::string message = e.what();
		EXPECT_NE(message.find("\"[" + std::string(118, 'x') + "...\""), std::string::npos) << message;
	}
}

TEST(Validation, TypmodAndDimensions)
{
	EXPECT_NO_THROW(CheckTypmod(-1, 5));
	EXPECT_NO_THROW(CheckTypmod(5, 5));
	EXPECT_THROW(CheckTypmod(4, 5), Error);
	EXPECT_THROW(CheckSameDimensions(3, 4), Error);
	EXPECT_EQ(ValidateTypmod(16000), 16000);
	EXPECT_THROW(ValidateTypmod(0), Error);
	EXPECT_THROW(ValidateTypmod(16001), Error);
	EXPECT_THROW(CheckDimensions(0), Error);
	const std::vector<float> nan{1, NAN};
	EXPECT_THROW(CheckFinite(nan), Error);
}

TEST(Sqlstate, EveryCodeHasFiveCharacters)
{
	for (int c = 0; c <= static_cast<int>(ErrorCode::kInternalError); ++c)
		EXPECT_EQ(std::string(Sqlstate(static_cast<ErrorCode>(c))).size(), 5u);
	EXPECT_STREQ(Sqlstate(ErrorCode::kInvalidTextRepresentation), "22P02");
	EXPECT_STREQ(Sqlstate(ErrorCode::kProgramLimitExceeded), "54000");
}

} // namespace
} // namespace agentgres::core::embedding
