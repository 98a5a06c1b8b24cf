// The embedding value: its text form, its limits and its validation rules.
//
// One place decides what a valid embedding is; the type I/O, the casts from
// arrays, binary receive and every operator call these checks.
#include "cpp_only.hpp" // outside the guard: checked at every inclusion
#ifndef AGENTGRES_CORE_EMBEDDING_HPP
#define AGENTGRES_CORE_EMBEDDING_HPP

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace agentgres::core::embedding {

// Same limit as pgvector's vector type, so data moves between the two freely.
inline constexpr int kMaxDimensions = 16000;

// Parses the text form "[1, 2.5, -3e-2]" (whitespace allowed around elements).
// Throws Error with 22P02 for malformed text, 22003 for an element out of range
// of float4, 22000 for NaN, infinity or no elements, 54000 for too many.
std::vector<float> ParseText(std::string_view text);

// Formats the shortest text that parses back to exactly the same floats.
std::string FormatText(std::span<const float> values);

// The binary form (embedding_send and embedding_recv, the same as pgvector's):
// int16 dimensions, int16 reserved (zero), then the float4 elements, all in
// network byte order.
inline constexpr std::size_t kBinaryHeaderSize = 4;

// Decodes one value from the front of bytes and sets consumed to the bytes it
// read (what follows is the caller's to reject). Throws Error with 08P01 when
// bytes end early, 22000 or 54000 for a bad dimension count, 22023 for a
// reserved field that is not zero, 22000 for NaN or infinity.
std::vector<float> ParseBinary(std::string_view bytes, std::size_t &consumed);

// The binary form of values; ParseBinary reads it back bit for bit.
std::string FormatBinary(std::span<const float> values);

// Throws unless 1 <= dims <= kMaxDimensions.
void CheckDimensions(std::int64_t dims);

// Throws unless every element is finite (no NaN, no infinity).
void CheckFinite(std::span<const float> values);

// Throws unless two operands have the same number of dimensions.
void CheckSameDimensions(std::size_t a, std::size_t b);

// Throws when a value's dimensions do not match the column's typmod
// (typmod < 0 means "any").
void CheckTypmod(std::int32_t typmod, std::size_t dims);

// Validates the modifier of embedding(n) and returns it.
std::int32_t ValidateTypmod(std::int64_t requested);

} // namespace agentgres::core::embedding

#endif // AGENTGRES_CORE_EMBEDDING_HPP
