// Distance functions, operators and helpers over agentgres.embedding.
//
// Each function has the three phases of boundary.hpp on three lines: fetch
// (detoast the arguments, PostgreSQL calls while no C++ object is alive),
// compute (a noexcept kernel; a dimension mismatch throws, and the boundary
// turns it into 22000), emit.
#include <algorithm>
#include <cstring>

#include "core/distance.hpp"
#include "core/embedding.hpp"
#include "embedding.hpp"
#include "boundary.hpp"

namespace dist = agentgres::core::distance;
namespace emb = agentgres::core::embedding;
using agentgres::pg::EmbeddingArg;
using agentgres::pg::EmbeddingHeader;
using agentgres::pg::EmbeddingSpan;

namespace {

struct Operands {
	std::span<const float> a;
	std::span<const float> b;
};

Operands
TwoEmbeddings(FunctionCallInfo fcinfo)
{
	EmbeddingHeader *a = EmbeddingArg(fcinfo, 0);
	EmbeddingHeader *b = EmbeddingArg(fcinfo, 1);
	emb::CheckSameDimensions(static_cast<std::size_t>(a->dims), static_cast<std::size_t>(b->dims));
	return {EmbeddingSpan(a), EmbeddingSpan(b)};
}

// Lexicographic order by elements, then shorter first: a total order for the
// btree operator class (DISTINCT, GROUP BY, UNIQUE, ORDER BY embedding).
int
Compare(std::span<const float> a, std::span<const float> b)
{
	const std::size_t n = std::min(a.size(), b.size());
	for (std::size_t i = 0; i < n; ++i) {
		if (a[i] < b[i])
			return -1;
		if (a[i] > b[i])
			return 1;
	}
	if (a.size() != b.size())
		return a.size() < b.size() ? -1 : 1;
	return 0;
}

// Both arguments, of any dimensions (the order compares different lengths).
Operands
TwoEmbeddingsForOrder(FunctionCallInfo fcinfo)
{
	EmbeddingHeader *a = EmbeddingArg(fcinfo, 0);
	EmbeddingHeader *b = EmbeddingArg(fcinfo, 1);
	return {EmbeddingSpan(a), EmbeddingSpan(b)};
}

} // namespace

AGENTGRES_FUNCTION(agentgres_l2_distance)
{
	const Operands o = TwoEmbeddings(fcinfo);         // fetch
	const double result = dist::L2Distance(o.a, o.b); // compute
	PG_RETURN_FLOAT8(result);                         // emit
}

AGENTGRES_FUNCTION(agentgres_cosine_distance)
{
	const Operands o = TwoEmbeddings(fcinfo);             // fetch
	const double result = dist::CosineDistance(o.a, o.b); // compute
	PG_RETURN_FLOAT8(result);                             // emit
}

AGENTGRES_FUNCTION(agentgres_cosine_similarity)
{
	const Operands o = TwoEmbeddings(fcinfo);               // fetch
	const double result = dist::CosineSimilarity(o.a, o.b); // compute
	PG_RETURN_FLOAT8(result);                               // emit
}

AGENTGRES_FUNCTION(agentgres_inner_product)
{
	const Operands o = TwoEmbeddings(fcinfo);           // fetch
	const double result = dist::InnerProduct(o.a, o.b); // compute
	PG_RETURN_FLOAT8(result);                           // emit
}

AGENTGRES_FUNCTION(agentgres_negative_inner_product)
{
	const Operands o = TwoEmbeddings(fcinfo);                   // fetch
	const double result = dist::NegativeInnerProduct(o.a, o.b); // compute
	PG_RETURN_FLOAT8(result);                                   // emit
}

AGENTGRES_FUNCTION(agentgres_embedding_dims)
{
	EmbeddingHeader *e = EmbeddingArg(fcinfo, 0); // fetch
	PG_RETURN_INT32(e->dims);                     // emit
}

AGENTGRES_FUNCTION(agentgres_embedding_norm)
{
	EmbeddingHeader *e = EmbeddingArg(fcinfo, 0);     // fetch
	const double norm = dist::Norm(EmbeddingSpan(e)); // compute
	PG_RETURN_FLOAT8(norm);                           // emit
}

AGENTGRES_FUNCTION(agentgres_embedding_normalize)
{
	EmbeddingHeader *e = EmbeddingArg(fcinfo, 0); // fetch
	// compute, into a result allocated without a longjmp
	EmbeddingHeader *result = agentgres::pg::NewEmbedding(static_cast<std::size_t>(e->dims));
	dist::Normalize(EmbeddingSpan(e), {agentgres::pg::EmbeddingValues(result), static_cast<std::size_t>(e->dims)});
	PG_RETURN_POINTER(result); // emit
}

AGENTGRES_FUNCTION(agentgres_embedding_cmp)
{
	const Operands o = TwoEmbeddingsForOrder(fcinfo); // fetch
	const int order = Compare(o.a, o.b);              // compute
	PG_RETURN_INT32(order);                           // emit
}

AGENTGRES_FUNCTION(agentgres_embedding_lt)
{
	const Operands o = TwoEmbeddingsForOrder(fcinfo); // fetch
	const int order = Compare(o.a, o.b);              // compute
	PG_RETURN_BOOL(order < 0);                        // emit
}

AGENTGRES_FUNCTION(agentgres_embedding_le)
{
	const Operands o = TwoEmbeddingsForOrder(fcinfo); // fetch
	const int order = Compare(o.a, o.b);              // compute
	PG_RETURN_BOOL(order <= 0);                       // emit
}

AGENTGRES_FUNCTION(agentgres_embedding_eq)
{
	const Operands o = TwoEmbeddingsForOrder(fcinfo); // fetch
	const int order = Compare(o.a, o.b);              // compute
	PG_RETURN_BOOL(order == 0);                       // emit
}

AGENTGRES_FUNCTION(agentgres_embedding_ne)
{
	const Operands o = TwoEmbeddingsForOrder(fcinfo); // fetch
	const int order = Compare(o.a, o.b);              // compute
	PG_RETURN_BOOL(order != 0);                       // emit
}

AGENTGRES_FUNCTION(agentgres_embedding_ge)
{
	const Operands o = TwoEmbeddingsForOrder(fcinfo); // fetch
	const int order = Compare(o.a, o.b);              // compute
	PG_RETURN_BOOL(order >= 0);                       // emit
}

AGENTGRES_FUNCTION(agentgres_embedding_gt)
{
	const Operands o = TwoEmbeddingsForOrder(fcinfo); // fetch
	const int order = Compare(o.a, o.b);              // compute
	PG_RETURN_BOOL(order > 0);                        // emit
}

AGENTGRES_FUNCTION(agentgres_kernel_isa)
{
	const char *name = dist::Active().name;  // compute
	PG_RETURN_TEXT_P(cstring_to_text(name)); // emit
}
