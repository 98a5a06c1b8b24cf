#include "embedding.hpp"

#include <bit>
#include <charconv>
#include <cmath>
#include <system_error>

#include "error.hpp"
#include "utf8.hpp"

namespace agentgres::core::embedding {
namespace {

// Long literals are cut in messages so that a multi-megabyte bad value does
// not end up whole in the server log.
constexpr std::size_t kMaxQuotedInput = 120;

std::string
Quoted(std::string_view text)
{
	if (text.size() <= kMaxQuotedInput)
		return "\"" + std::string(text) + "\"";
	return "\"" + std::string(utf8::Prefix(text, kMaxQuotedInput)) + "...\"";
}

[[noreturn]] void
ThrowSyntax(std::string_view input, std::string detail = {})
{
	throw Error(ErrorCode::kInvalidTextRepresentation, "invalid input syntax for type embedding: " + Quoted(input),
	            std::move(detail));
}

bool
IsSpace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::uint32_t
ReadBigEndian(const char *p, std::size_t bytes) noexcept
{
	std::uint32_t v = 0;
	for (std::size_t i = 0; i < bytes; ++i)
		v = (v << 8) | static_cast<unsigned char>(p[i]);
	return v;
}

void
AppendBigEndian(std::string &out, std::uint32_t v, std::size_t bytes)
{
	for (std::size_t i = bytes; i-- > 0;)
		out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

const char *
SkipSpace(const char *p, const char *end)
{
	while (p < end && IsSpace(*p))
		++p;
	return p;
}

} // namespace

void
CheckDimensions(std::int64_t dims)
{
	if (dims < 1)
		throw Error(ErrorCode::kDataException, "embedding must have at least 1 dimension");
	if (dims > kMaxDimensions)
		throw Error(ErrorCode::kProgramLimitExceeded,
		            "embedding cannot have more than " + std::to_string(kMaxDimensions) + " dimensions");
}

void
CheckFinite(std::span<const float> values)
{
	for (float v : values) {
		if (std::isnan(v))
			throw Error(ErrorCode::kDataException, "NaN not allowed in embedding");
		if (std::isinf(v))
			throw Error(ErrorCode::kDataException, "infinite value not allowed in embedding");
	}
}

void
CheckSameDimensions(std::size_t a, std::size_t b)
{
	if (a != b)
		throw Error(ErrorCode::kDataException,
		            "different embedding dimensions " + std::to_string(a) + " and " + std::to_string(b));
}

void
CheckTypmod(std::int32_t typmod, std::size_t dims)
{
	if (typmod >= 0 && static_cast<std::size_t>(typmod) != dims)
		throw Error(ErrorCode::kDataException,
		            "expected " + std::to_string(typmod) + " dimensions, not " + std::to_string(dims));
}

std::int32_t
ValidateTypmod(std::int64_t requested)
{
	if (requested < 1)
		throw Error(ErrorCode::kInvalidParameterValue, "dimensions for type embedding must be at least 1");
	if (requested > kMaxDimensions)
		throw Error(ErrorCode::kInvalidParameterValue,
		            "dimensions for type embedding cannot exceed " + std::to_string(kMaxDimensions));
	return static_cast<std::int32_t>(requested);
}

std::vector<float>
ParseText(std::string_view text)
{
	const char *p = text.data();
	const char *const end = text.data() + text.size();
	std::vector<float> values;

	p = SkipSpace(p, end);
	if (p == end || *p != '[')
		ThrowSyntax(text, "Embedding contents must start with \"[\".");
	p = SkipSpace(p + 1, end);
	if (p < end && *p == ']')
		throw Error(ErrorCode::kDataException, "embedding must have at least 1 dimension");

	for (;;) {
		p = SkipSpace(p, end);
		if (p == end)
			ThrowSyntax(text, "Unexpected end of input.");

		// from_chars does not take a leading '+', which float4in accepts.
		const char *number = p;
		if (*p == '+' && p + 1 < end && *(p + 1) != '-' && *(p + 1) != '+')
			++number;
		float value = 0.0f;
		auto [next, ec] = std::from_chars(number, end, value, std::chars_format::general);
		if (next == number)
			ThrowSyntax(text);
		if (ec == std::errc::result_out_of_range)
			throw Error(ErrorCode::kNumericValueOutOfRange,
			            Quoted(std::string_view(p, static_cast<std::size_t>(next - p))) +
			                " is out of range for type embedding");
		if (std::isnan(value))
			throw Error(ErrorCode::kDataException, "NaN not allowed in embedding");
		if (std::isinf(value))
			throw Error(ErrorCode::kDataException, "infinite value not allowed in embedding");
		if (values.size() == static_cast<std::size_t>(kMaxDimensions))
			CheckDimensions(static_cast<std::int64_t>(values.size()) + 1);
		values.push_back(value);

		p = SkipSpace(next, end);
		if (p == end)
			ThrowSyntax(text, "Unexpected end of input.");
		if (*p == ',') {
			++p;
			continue;
		}
		if (*p == ']')
			break;
		ThrowSyntax(text);
	}

	p = SkipSpace(p + 1, end);
	if (p != end)
		ThrowSyntax(text, "Junk after closing right bracket.");
	return values;
}

std::string
FormatText(std::span<const float> values)
{
	// The longest shortest-round-trip float4 is 15 characters ("-1.1754944e-38"),
	// plus a separator.
	std::string out;
	out.reserve(2 + values.size() * 16);
	out.push_back('[');
	char buffer[32];
	for (std::size_t i = 0; i < values.size(); ++i) {
		if (i > 0)
			out.push_back(',');
		auto [ptr, ec] = std::to_chars(buffer, buffer + sizeof buffer, values[i]);
		(void)ec; // cannot fail: the buffer fits every float
		out.append(buffer, ptr);
	}
	out.push_back(']');
	return out;
}

std::vector<float>
ParseBinary(std::string_view bytes, std::size_t &consumed)
{
	const auto too_short = [] { return Error(ErrorCode::kProtocolViolation, "insufficient data left in message"); };
	if (bytes.size() < kBinaryHeaderSize)
		throw too_short();
	const auto dims = static_cast<std::int16_t>(ReadBigEndian(bytes.data(), 2));
	const auto reserved = static_cast<std::int16_t>(ReadBigEndian(bytes.data() + 2, 2));
	// The count is checked before the size it implies is allocated or read.
	CheckDimensions(dims);
	if (reserved != 0)
		throw Error(ErrorCode::kInvalidParameterValue, "reserved field of embedding must be zero",
		            "The binary form of embedding has a reserved int16 after the dimension count.");
	const auto n = static_cast<std::size_t>(dims);
	if (bytes.size() - kBinaryHeaderSize < n * sizeof(float))
		throw too_short();
	std::vector<float> values(n);
	for (std::size_t i = 0; i < n; ++i)
		values[i] = std::bit_cast<float>(ReadBigEndian(bytes.data() + kBinaryHeaderSize + i * 4, 4));
	CheckFinite(values);
	consumed = kBinaryHeaderSize + n * sizeof(float);
	return values;
}

std::string
FormatBinary(std::span<const float> values)
{
	std::string out;
	out.reserve(kBinaryHeaderSize + values.size() * sizeof(float));
	AppendBigEndian(out, static_cast<std::uint32_t>(values.size()), 2);
	AppendBigEndian(out, 0, 2);
	for (float v : values)
		AppendBigEndian(out, std::bit_cast<std::uint32_t>(v), 4);
	return out;
}

} // namespace agentgres::core::embedding
