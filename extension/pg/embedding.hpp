// The on-disk and in-memory layout of agentgres.embedding.
//
// Byte for byte the same as pgvector's vector: a 4-byte varlena header, int16
// dimensions, int16 reserved (always zero; a hook for future versions), then
// the float4 elements. That is what makes pgvector columns usable through
// binary-coercible casts (agentgres.enable_pgvector_interop()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "postgres_headers.hpp"

namespace agentgres::pg {

struct EmbeddingHeader {
	int32 vl_len_; // varlena header; use SET_VARSIZE, never write directly
	int16 dims;
	int16 reserved;
	// float4 elements follow
};

constexpr std::size_t kEmbeddingHeaderSize = sizeof(EmbeddingHeader);
static_assert(kEmbeddingHeaderSize == 8, "embedding header must match pgvector's layout");

inline std::size_t
EmbeddingSize(std::size_t dims)
{
	return kEmbeddingHeaderSize + dims * sizeof(float);
}

inline float *
EmbeddingValues(EmbeddingHeader *e)
{
	return reinterpret_cast<float *>(reinterpret_cast<char *>(e) + kEmbeddingHeaderSize);
}

inline std::span<const float>
EmbeddingSpan(const EmbeddingHeader *e)
{
	return {reinterpret_cast<const float *>(reinterpret_cast<const char *>(e) + kEmbeddingHeaderSize),
	        static_cast<std::size_t>(e->dims)};
}

// Checks a detoasted datum's varlena size against its dimension count, so a
// corrupted or hand-crafted value cannot make a kernel read out of bounds.
void CheckEmbeddingSize(const EmbeddingHeader *e);

// Allocates a zeroed embedding of dims elements (throws, never longjmps).
EmbeddingHeader *NewEmbedding(std::size_t dims);

// Detoasts argument n and checks its size against its dimension count. Call
// only where no C++ object with a destructor is alive (detoasting may raise a
// PostgreSQL error).
inline EmbeddingHeader *
EmbeddingArg(FunctionCallInfo fcinfo, int n)
{
	auto *e = reinterpret_cast<EmbeddingHeader *>(PG_DETOAST_DATUM(PG_GETARG_DATUM(n)));
	if (VARSIZE(e) != EmbeddingSize(static_cast<std::size_t>(e->dims < 0 ? 0 : e->dims)))
		CheckEmbeddingSize(e); // throws with the reason
	return e;
}

} // namespace agentgres::pg
