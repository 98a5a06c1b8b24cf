// Type I/O, typmod and casts of agentgres.embedding.
#include <cfloat>
#include <charconv>
#include <cstring>
#include <cmath>
#include <string>
#include <string_view>
#include <vector>

#include "core/embedding.hpp"
#include "core/error.hpp"
#include "embedding.hpp"
#include "boundary.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
}

namespace core = agentgres::core;
namespace emb = agentgres::core::embedding;
using agentgres::pg::AllocOrThrow;
using agentgres::pg::EmbeddingArg;
using agentgres::pg::EmbeddingHeader;
using agentgres::pg::EmbeddingSpan;
using agentgres::pg::EmbeddingValues;
using agentgres::pg::NewEmbedding;

namespace agentgres::pg {

void
CheckEmbeddingSize(const EmbeddingHeader *e)
{
	const std::size_t size = VARSIZE_ANY(e);
	if (e->dims < 1 || size != EmbeddingSize(static_cast<std::size_t>(e->dims)))
		throw core::Error(core::ErrorCode::kDataException, "embedding value is corrupted",
		                  "The stored size does not match its dimension count.");
	if (e->reserved != 0)
		throw core::Error(core::ErrorCode::kDataException, "embedding value is corrupted",
		                  "The reserved field is not zero.");
}

EmbeddingHeader *
NewEmbedding(std::size_t dims)
{
	emb::CheckDimensions(static_cast<std::int64_t>(dims));
	const std::size_t size = EmbeddingSize(dims);
	auto *e = static_cast<EmbeddingHeader *>(AllocOrThrow(size));
	std::memset(e, 0, size);
	SET_VARSIZE(e, size);
	e->dims = static_cast<int16>(dims);
	return e;
}

} // namespace agentgres::pg

namespace {

EmbeddingHeader *
FromFloats(std::span<const float> values, int32 typmod)
{
	emb::CheckDimensions(static_cast<std::int64_t>(values.size()));
	emb::CheckFinite(values);
	emb::CheckTypmod(typmod, values.size());
	EmbeddingHeader *e = NewEmbedding(values.size());
	std::memcpy(EmbeddingValues(e), values.data(), values.size_bytes());
	return e;
}

// A one-dimensional array without NULLs, as the casts from arrays require.
// Called before any C++ object is alive (array_contains_nulls is PostgreSQL).
void
CheckCastableArray(ArrayType *array)
{
	if (ARR_NDIM(array) > 1)
		ereport(ERROR, errcode(ERRCODE_DATA_EXCEPTION), errmsg("array must be one-dimensional"));
	if (array_contains_nulls(array))
		ereport(ERROR, errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("array must not contain nulls"));
}

int
ArrayLength(ArrayType *array)
{
	return ARR_NDIM(array) == 0 ? 0 : ARR_DIMS(array)[0];
}

// Each double as a float4, or 22003 when a finite value does not fit. C++ only.
void
NarrowToFloats(std::span<const double> source, std::span<float> out)
{
	for (std::size_t i = 0; i < source.size(); ++i) {
		const double v = source[i];
		if (std::isfinite(v) && std::fabs(v) > FLT_MAX) {
			char text[32];
			const auto result = std::to_chars(text, text + sizeof text, v);
			throw core::Error(core::ErrorCode::kNumericValueOutOfRange,
			                  "\"" + std::string(text, result.ptr) + "\" is out of range for type embedding");
		}
		out[i] = static_cast<float>(v);
	}
}

} // namespace

// embedding_in(cstring, oid, integer): the text form "[1,2,3]".
AGENTGRES_FUNCTION(agentgres_embedding_in)
{
	// fetch (PostgreSQL)
	const char *literal = PG_GETARG_CSTRING(0);
	const int32 typmod = PG_GETARG_INT32(2);

	// compute (C++), into the result (allocated without a longjmp)
	const std::vector<float> values = emb::ParseText(literal);
	EmbeddingHeader *e = FromFloats(values, typmod);

	// emit (PostgreSQL)
	PG_RETURN_POINTER(e);
}

// embedding_out(embedding): the shortest text that round-trips exactly.
AGENTGRES_FUNCTION(agentgres_embedding_out)
{
	// fetch (PostgreSQL)
	EmbeddingHeader *e = EmbeddingArg(fcinfo, 0);

	// compute (C++), copied out without a longjmp while text is alive
	const std::string text = emb::FormatText(EmbeddingSpan(e));
	char *result = static_cast<char *>(AllocOrThrow(text.size() + 1));
	std::memcpy(result, text.c_str(), text.size() + 1);

	// emit (PostgreSQL)
	PG_RETURN_CSTRING(result);
}

// embedding_typmod_in(cstring[]): embedding(n) with 1 <= n <= 16000.
AGENTGRES_FUNCTION(agentgres_embedding_typmod_in)
{
	// fetch (PostgreSQL)
	ArrayType *array = PG_GETARG_ARRAYTYPE_P(0);
	int count = 0;
	int32 *modifiers = ArrayGetIntegerTypmods(array, &count);
	if (count != 1)
		ereport(ERROR, errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid type modifier"),
		        errdetail("Type embedding takes exactly one modifier, its number of dimensions."));

	// compute (C++)
	const int32 typmod = emb::ValidateTypmod(modifiers[0]);

	// emit (PostgreSQL)
	PG_RETURN_INT32(typmod);
}

// embedding_typmod_out(integer): "(n)".
AGENTGRES_FUNCTION(agentgres_embedding_typmod_out)
{
	// fetch, then emit (PostgreSQL): nothing to compute
	const int32 typmod = PG_GETARG_INT32(0);
	PG_RETURN_CSTRING(typmod < 0 ? pstrdup("") : psprintf("(%d)", typmod));
}

// embedding_recv(internal, oid, integer): the binary form (core/embedding.hpp).
AGENTGRES_FUNCTION(agentgres_embedding_recv)
{
	// fetch (PostgreSQL)
	StringInfo buffer = reinterpret_cast<StringInfo>(PG_GETARG_POINTER(0));
	const int32 typmod = PG_GETARG_INT32(2);
	const std::string_view bytes(buffer->data + buffer->cursor, static_cast<std::size_t>(buffer->len - buffer->cursor));

	// compute (C++), into the result (allocated without a longjmp). The
	// caller rejects bytes left unread.
	std::size_t consumed = 0;
	const std::vector<float> values = emb::ParseBinary(bytes, consumed);
	EmbeddingHeader *e = FromFloats(values, typmod);
	buffer->cursor += static_cast<int>(consumed);

	// emit (PostgreSQL)
	PG_RETURN_POINTER(e);
}

// embedding_send(embedding)
AGENTGRES_FUNCTION(agentgres_embedding_send)
{
	// fetch (PostgreSQL)
	EmbeddingHeader *e = EmbeddingArg(fcinfo, 0);

	// compute (C++), copied out without a longjmp while bytes is alive
	const std::string bytes = emb::FormatBinary(EmbeddingSpan(e));
	auto *result = static_cast<bytea *>(AllocOrThrow(VARHDRSZ + bytes.size()));
	SET_VARSIZE(result, VARHDRSZ + bytes.size());
	std::memcpy(VARDATA(result), bytes.data(), bytes.size());

	// emit (PostgreSQL)
	PG_RETURN_BYTEA_P(result);
}

// embedding(embedding, integer, boolean): the typmod coercion cast.
AGENTGRES_FUNCTION(agentgres_embedding_typmod_cast)
{
	// fetch (PostgreSQL)
	EmbeddingHeader *e = EmbeddingArg(fcinfo, 0);
	const int32 typmod = PG_GETARG_INT32(1);

	// compute (C++)
	emb::CheckTypmod(typmod, static_cast<std::size_t>(e->dims));

	// emit (PostgreSQL)
	PG_RETURN_POINTER(e);
}

// real[] -> embedding
AGENTGRES_FUNCTION(agentgres_float4_array_to_embedding)
{
	// fetch (PostgreSQL)
	ArrayType *array = PG_GETARG_ARRAYTYPE_P(0);
	const int32 typmod = PG_GETARG_INT32(1);
	CheckCastableArray(array);
	const std::span<const float> values(reinterpret_cast<const float *>(ARR_DATA_PTR(array)),
	                                    static_cast<std::size_t>(ArrayLength(array)));

	// compute (C++), into the result
	EmbeddingHeader *e = FromFloats(values, typmod);

	// emit (PostgreSQL)
	PG_RETURN_POINTER(e);
}

// double precision[] -> embedding: each element must fit in float4.
AGENTGRES_FUNCTION(agentgres_float8_array_to_embedding)
{
	// fetch (PostgreSQL)
	ArrayType *array = PG_GETARG_ARRAYTYPE_P(0);
	const int32 typmod = PG_GETARG_INT32(1);
	CheckCastableArray(array);
	const std::span<const double> source(reinterpret_cast<const double *>(ARR_DATA_PTR(array)),
	                                     static_cast<std::size_t>(ArrayLength(array)));

	// compute (C++), into the result
	emb::CheckDimensions(static_cast<std::int64_t>(source.size()));
	EmbeddingHeader *e = NewEmbedding(source.size());
	NarrowToFloats(source, {EmbeddingValues(e), source.size()});
	emb::CheckFinite(EmbeddingSpan(e));
	emb::CheckTypmod(typmod, source.size());

	// emit (PostgreSQL)
	PG_RETURN_POINTER(e);
}

// embedding -> real[]
AGENTGRES_FUNCTION(agentgres_embedding_to_float4_array)
{
	// fetch, then emit (PostgreSQL): a copy of the elements
	// fetch, then emit (PostgreSQL): a copy of the elements
	EmbeddingHeader *e = EmbeddingArg(fcinfo, 0);
	Datum *datums = static_cast<Datum *>(palloc(sizeof(Datum) * static_cast<std::size_t>(e->dims)));
	const float *values = EmbeddingValues(e);
	for (int16 i = 0; i < e->dims; ++i)
		datums[i] = Float4GetDatum(values[i]);
	PG_RETURN_POINTER(construct_array_builtin(datums, e->dims, FLOAT4OID));
}

// embedding -> double precision[]
AGENTGRES_FUNCTION(agentgres_embedding_to_float8_array)
{
	EmbeddingHeader *e = EmbeddingArg(fcinfo, 0);
	Datum *datums = static_cast<Datum *>(palloc(sizeof(Datum) * static_cast<std::size_t>(e->dims)));
	const float *values = EmbeddingValues(e);
	for (int16 i = 0; i < e->dims; ++i)
		datums[i] = Float8GetDatum(static_cast<double>(values[i]));
	PG_RETURN_POINTER(construct_array(datums, e->dims, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}
