// Conversions between C++ strings and PostgreSQL text/bytea values, used by
// every glue file that passes names in or out.
#pragma once

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "boundary.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "utils/array.h"
}

namespace agentgres::pg {

// The bytes of a detoasted text or bytea (short headers included).
inline std::string_view
VarlenaView(const struct varlena *v)
{
	return {VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v)};
}

// A new text or bytea holding bytes. C++ phase: throws instead of longjmp.
inline struct varlena *
NewVarlena(std::string_view bytes)
{
	auto *out = static_cast<struct varlena *>(AllocOrThrow(VARHDRSZ + bytes.size()));
	SET_VARSIZE(out, VARHDRSZ + bytes.size());
	std::memcpy(VARDATA(out), bytes.data(), bytes.size());
	return out;
}

// A text Datum. PostgreSQL phase (palloc may raise an error).
inline Datum
TextDatum(std::string_view s)
{
	return PointerGetDatum(cstring_to_text_with_len(s.data(), static_cast<int>(s.size())));
}

// A text[] Datum. PostgreSQL phase.
inline Datum
TextArrayDatum(const std::vector<std::string> &items)
{
	Datum *elements = static_cast<Datum *>(palloc(sizeof(Datum) * (items.size() + 1)));
	for (std::size_t i = 0; i < items.size(); ++i)
		elements[i] = TextDatum(items[i]);
	return PointerGetDatum(construct_array_builtin(elements, static_cast<int>(items.size()), TEXTOID));
}

} // namespace agentgres::pg
