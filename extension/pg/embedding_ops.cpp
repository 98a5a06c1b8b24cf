// Distance functions, operators and helpers over agentgres.embedding.
//
// Each function detoasts its arguments first (PostgreSQL calls, while no C++
// object is alive), then runs a noexcept kernel; a dimension mismatch throws,
// and the boundary turns it into 22000.
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

int
CompareArgs(FunctionCallInfo fcinfo)
{
	EmbeddingHeader *a = EmbeddingArg(fcinfo, 0);
	EmbeddingHeader *b = EmbeddingArg(fcinfo, 1);
	return Compare(EmbeddingSpan(a), EmbeddingSpan(b));
}

} // namespace

AGENTGRES_FUNCTION(agentgres_l2_distance)
{
	const Operands o = TwoEmbeddings(fcinfo);
	PG_RETURN_FLOAT8(dist::L2Distance(o.a, o.b));
}

AGENTGRES_FUNCTION(agentgres_cosine_distance)
{
	const Operands o = TwoEmbeddings(fcinfo);
	PG_RETURN_FLOAT8(dist::CosineDistance(o.a, o.b));
}

AGENTGRES_FUNCTION(agentgres_cosine_similarity)
{
	const Operands o = TwoEmbeddings(fcinfo);
	PG_RETURN_FLOAT8(dist::CosineSimilarity(o.a, o.b));
}

AGENTGRES_FUNCTION(agentgres_inner_product)
{
	const Operands o = TwoEmbeddings(fcinfo);
	PG_RETURN_FLOAT8(dist::InnerProduct(o.a, o.b));
}

AGENTGRES_FUNCTION(agentgres_negative_inner_product)
{
	const Operands o = TwoEmbeddings(fcinfo);
	PG_RETURN_FLOAT8(dist::NegativeInnerProduct(o.a, o.b));
}

AGENTGRES_FUNCTION(agentgres_embedding_dims)
{
	EmbeddingHeader *e = EmbeddingArg(fcinfo, 0);
	PG_RETURN_INT32(e->dims);
}

AGENTGRES_FUNCTION(agentgres_embedding_norm)
{
	EmbeddingHeader *e = EmbeddingArg(fcinfo, 0);
	PG_RETURN_FLOAT8(dist::Norm(EmbeddingSpan(e)));
}

AGENTGRES_FUNCTION(agentgres_embedding_normalize)
{
	EmbeddingHeader *e = EmbeddingArg(fcinfo, 0);
	EmbeddingHeader *result = agentgres::pg::NewEmbedding(static_cast<std::size_t>(e->dims));
	dist::Normalize(EmbeddingSpan(e), {agentgres::pg::EmbeddingValues(result), static_cast<std::size_t>(e->dims)});
	PG_RETURN_POINTER(result);
}

AGENTGRES_FUNCTION(agentgres_embedding_cmp)
{
	PG_RETURN_INT32(CompareArgs(fcinfo));
}

AGENTGRES_FUNCTION(agentgres_embedding_lt)
{
	PG_RETURN_BOOL(CompareArgs(fcinfo) < 0);
}

AGENTGRES_FUNCTION(agentgres_embedding_le)
{
	PG_RETURN_BOOL(CompareArgs(fcinfo) <= 0);
}

AGENTGRES_FUNCTION(agentgres_embedding_eq)
{
	PG_RETURN_BOOL(CompareArgs(fcinfo) == 0);
}

AGENTGRES_FUNCTION(agentgres_embedding_ne)
{
	PG_RETURN_BOOL(CompareArgs(fcinfo) != 0);
}

AGENTGRES_FUNCTION(agentgres_embedding_ge)
{
	PG_RETURN_BOOL(CompareArgs(fcinfo) >= 0);
}

AGENTGRES_FUNCTION(agentgres_embedding_gt)
{
	PG_RETURN_BOOL(CompareArgs(fcinfo) > 0);
}

AGENTGRES_FUNCTION(agentgres_kernel_isa)
{
	PG_RETURN_TEXT_P(cstring_to_text(dist::Active().name));
}
