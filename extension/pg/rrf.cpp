// agentgres.rrf(VARIADIC "any") and agentgres.rrf_weighted(k, weights,
// VARIADIC "any"): reciprocal rank fusion of bigint[] id lists.
//
// "any" is used instead of bigint[] so that lists of different lengths can be
// passed as separate arguments (a VARIADIC bigint[][] would have to be
// rectangular). Each argument's type is checked against bigint[] here.
#include <cstdint>
#include <span>
#include <vector>

#include "core/error.hpp"
#include "core/rrf.hpp"
#include "boundary.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
}

namespace core = agentgres::core;
namespace rrf = agentgres::core::rrf;
using agentgres::pg::PgCall;

namespace {

// One list as read from its argument, in palloc'd memory.
struct ListArgument {
	bool is_null;
	int length;
	const int64 *ids;
	const bool *element_is_null;
};

struct ListArguments {
	int count;
	ListArgument *lists;
};

// The elements of a bigint[]: in place when it has no NULLs (int8 elements
// are stored 8-byte aligned and contiguous), else expanded into palloc'd ids
// and null flags. No Datum array per element, so the lists cost no more
// memory than the arguments themselves.
struct Elements {
	const int64 *ids;
	const bool *is_null; // nullptr: no NULLs
};

Elements
ReadElements(ArrayType *array, int count)
{
	if (ARR_ELEMTYPE(array) != INT8OID)
		ereport(ERROR, errcode(ERRCODE_DATATYPE_MISMATCH), errmsg("rrf lists must be of type bigint[]"));
	const auto *data = reinterpret_cast<const int64 *>(ARR_DATA_PTR(array));
	if (!ARR_HASNULL(array))
		return {data, nullptr};
	auto *ids = static_cast<int64 *>(palloc(sizeof(int64) * (count + 1)));
	auto *is_null = static_cast<bool *>(palloc(sizeof(bool) * (count + 1)));
	const bits8 *bitmap = ARR_NULLBITMAP(array);
	for (int i = 0; i < count; ++i) {
		is_null[i] = (bitmap[i / 8] & (1 << (i % 8))) == 0;
		ids[i] = is_null[i] ? 0 : *data++;
	}
	return {ids, is_null};
}

ListArgument
Slice(const Elements &elements, int offset, int length)
{
	return ListArgument{false, length, elements.ids + offset,
	                    elements.is_null == nullptr ? nullptr : elements.is_null + offset};
}

// Collects the lists from arguments first..nargs-1 (PostgreSQL calls only).
ListArguments
CollectLists(FunctionCallInfo fcinfo, int first)
{
	const int nargs = PG_NARGS();
	ListArguments out{0, nullptr};

	if (get_fn_expr_variadic(fcinfo->flinfo)) {
		// Called as f(VARIADIC array): the lists are the rows of one array.
		if (nargs <= first || PG_ARGISNULL(first))
			return out;
		const Oid type = getBaseType(get_fn_expr_argtype(fcinfo->flinfo, first));
		if (type != INT8ARRAYOID)
			ereport(ERROR, errcode(ERRCODE_DATATYPE_MISMATCH),
			        errmsg("VARIADIC argument of rrf must be of type bigint[], not %s", format_type_be(type)));
		ArrayType *array = PG_GETARG_ARRAYTYPE_P(first);
		if (ARR_NDIM(array) == 0)
			return out;
		if (ARR_NDIM(array) > 2)
			ereport(ERROR, errcode(ERRCODE_DATA_EXCEPTION),
			        errmsg("VARIADIC argument of rrf must have one or two dimensions"));
		const int total = ArrayGetNItems(ARR_NDIM(array), ARR_DIMS(array));
		const int rows = ARR_NDIM(array) == 1 ? 1 : ARR_DIMS(array)[0];
		const int width = ARR_NDIM(array) == 1 ? total : ARR_DIMS(array)[1];
		const Elements elements = ReadElements(array, total);
		out.count = rows;
		out.lists = static_cast<ListArgument *>(palloc(sizeof(ListArgument) * (rows + 1)));
		for (int r = 0; r < rows; ++r)
			out.lists[r] = Slice(elements, r * width, width);
		return out;
	}

	out.count = nargs - first;
	out.lists = static_cast<ListArgument *>(palloc(sizeof(ListArgument) * (out.count + 1)));
	for (int a = first; a < nargs; ++a) {
		const Oid type = getBaseType(get_fn_expr_argtype(fcinfo->flinfo, a));
		if (type != INT8ARRAYOID)
			ereport(ERROR, errcode(ERRCODE_DATATYPE_MISMATCH),
			        errmsg("argument %d of rrf must be of type bigint[], not %s", a + 1, format_type_be(type)),
			        errhint("Cast each list to bigint[], for example ARRAY[3, 1, 2]::bigint[]."));
		ListArgument &list = out.lists[a - first];
		if (PG_ARGISNULL(a)) {
			list = ListArgument{true, 0, nullptr, nullptr};
			continue;
		}
		ArrayType *array = PG_GETARG_ARRAYTYPE_P(a);
		if (ARR_NDIM(array) > 1)
			ereport(ERROR, errcode(ERRCODE_DATA_EXCEPTION),
			        errmsg("argument %d of rrf must be a one-dimensional array", a + 1));
		const int length = ArrayGetNItems(ARR_NDIM(array), ARR_DIMS(array));
		list = Slice(ReadElements(array, length), 0, length);
	}
	return out;
}

// Fuses the collected lists with the given constant and weights (nullptr
// weights means 1 for every list). C++ only.
rrf::FusedRows
Fuse(const ListArguments &arguments, int k, const double *weights)
{
	std::vector<rrf::RankedList> lists;
	lists.reserve(static_cast<std::size_t>(arguments.count));
	for (int i = 0; i < arguments.count; ++i) {
		const ListArgument &a = arguments.lists[i];
		const auto length = static_cast<std::size_t>(a.length);
		lists.push_back(rrf::RankedList{a.is_null,
		                                {a.ids, a.ids == nullptr ? 0 : length},
		                                {a.element_is_null, a.element_is_null == nullptr ? 0 : length}});
	}
	std::vector<double> weight_vector;
	if (weights == nullptr)
		weight_vector.assign(lists.size(), 1.0);
	return rrf::Fuse(lists,
	                 weights == nullptr ? std::span<const double>(weight_vector)
	                                    : std::span<const double>(weights, lists.size()),
	                 k, [] { PgCall([] { CHECK_FOR_INTERRUPTS(); }); });
}

// The list_ranks array of one row: one element per list, NULL where the id
// is absent. Built directly from the sparse ranks (a null bitmap and the
// present ranks only), so a row costs list_count / 8 bytes plus its ranks,
// not a Datum per list. PostgreSQL phase.
ArrayType *
RankArray(std::size_t list_count, std::span<const rrf::ListRankEntry> ranks)
{
	const int items = static_cast<int>(list_count);
	const bool has_nulls = ranks.size() < list_count;
	const Size data_offset = has_nulls ? ARR_OVERHEAD_WITHNULLS(1, items) : 0;
	const Size bytes = (has_nulls ? data_offset : ARR_OVERHEAD_NONULLS(1)) + ranks.size() * sizeof(int32);
	auto *array = static_cast<ArrayType *>(palloc0(bytes)); // a zero bitmap: every element NULL
	SET_VARSIZE(array, bytes);
	array->ndim = 1;
	array->dataoffset = static_cast<int32>(data_offset);
	array->elemtype = INT4OID;
	ARR_DIMS(array)[0] = items;
	ARR_LBOUND(array)[0] = 1;
	bits8 *bitmap = ARR_NULLBITMAP(array);
	auto *data = reinterpret_cast<int32 *>(ARR_DATA_PTR(array));
	for (std::size_t i = 0; i < ranks.size(); ++i) { // ascending list: the data order
		data[i] = ranks[i].rank;
		if (bitmap != nullptr)
			bitmap[ranks[i].list / 8] |= static_cast<bits8>(1 << (ranks[i].list % 8));
	}
	return array;
}

// Emits the fused rows into the materialized result set (which spills to
// disk beyond work_mem). PostgreSQL phase.
void
EmitRows(ReturnSetInfo *result_info, const rrf::FusedRows &fused)
{
	for (std::size_t row = 0; row < fused.ids.size(); ++row) {
		CHECK_FOR_INTERRUPTS();
		ArrayType *ranks = RankArray(fused.list_count, fused.RowRanks(row));
		Datum values[4] = {Int64GetDatum(fused.ids[row]), Float8GetDatum(fused.scores[row]),
		                   Int32GetDatum(static_cast<int32>(row + 1)), PointerGetDatum(ranks)};
		bool nulls[4] = {false, false, false, false};
		tuplestore_putvalues(result_info->setResult, result_info->setDesc, values, nulls);
		pfree(ranks);
	}
}

} // namespace

// rrf(VARIADIC lists "any"): k = 60, all weights 1.
AGENTGRES_FUNCTION(agentgres_rrf)
{
	// fetch (PostgreSQL): the lists and the result set
	InitMaterializedSRF(fcinfo, 0);
	auto *result_info = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	const ListArguments arguments = CollectLists(fcinfo, 0);

	// compute (C++)
	const rrf::FusedRows fused = Fuse(arguments, rrf::kDefaultK, nullptr);

	// emit (PostgreSQL)
	PgCall([&] { EmitRows(result_info, fused); });
	return static_cast<Datum>(0);
}

// rrf_weighted(k integer, weights double precision[], VARIADIC lists "any").
AGENTGRES_FUNCTION(agentgres_rrf_weighted)
{
	// fetch (PostgreSQL): k, the weights, the lists and the result set
	if (PG_ARGISNULL(0))
		ereport(ERROR, errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("rrf constant k must not be null"));
	if (PG_ARGISNULL(1))
		ereport(ERROR, errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("rrf weights must not be null"));
	const int32 k = PG_GETARG_INT32(0);
	ArrayType *weight_array = PG_GETARG_ARRAYTYPE_P(1);
	if (ARR_NDIM(weight_array) > 1)
		ereport(ERROR, errcode(ERRCODE_DATA_EXCEPTION), errmsg("rrf weights must be a one-dimensional array"));
	if (array_contains_nulls(weight_array))
		ereport(ERROR, errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("rrf weights must not contain nulls"));
	const int weight_count = ARR_NDIM(weight_array) == 0 ? 0 : ARR_DIMS(weight_array)[0];
	const auto *weights = reinterpret_cast<const double *>(ARR_DATA_PTR(weight_array));
	InitMaterializedSRF(fcinfo, 0);
	auto *result_info = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	const ListArguments arguments = CollectLists(fcinfo, 2);

	// compute (C++)
	if (weight_count != arguments.count)
		throw core::Error(core::ErrorCode::kInvalidParameterValue,
		                  "number of weights (" + std::to_string(weight_count) + ") does not match number of lists (" +
		                      std::to_string(arguments.count) + ")");
	const rrf::FusedRows fused = Fuse(arguments, k, weights);

	// emit (PostgreSQL)
	PgCall([&] { EmitRows(result_info, fused); });
	return static_cast<Datum>(0);
}
