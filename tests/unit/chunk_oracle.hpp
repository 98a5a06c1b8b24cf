// The chunker's definitions, computed apart from it (the slow, obvious way),
// for the unit tests and the fuzz target that check its output.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace agentgres::testing {

inline bool
IsWs(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Characters as the chunker counts them (chunker.hpp): a well-formed UTF-8
// sequence (by its lead byte and continuation bytes) is one, any other byte
// is one. starts[i] is true where a character starts; starts[size] too.
inline std::vector<bool>
CharStarts(std::string_view s)
{
	std::vector<bool> starts(s.size() + 1, false);
	for (std::size_t i = 0; i < s.size();) {
		starts[i] = true;
		const auto c = static_cast<unsigned char>(s[i]);
		std::size_t len = c < 0x80                   ? 1
		                  : (c >= 0xC2 && c <= 0xDF) ? 2
		                  : (c >= 0xE0 && c <= 0xEF) ? 3
		                  : (c >= 0xF0 && c <= 0xF4) ? 4
		                                             : 1;
		if (i + len > s.size())
			len = 1;
		for (std::size_t k = 1; k < len; ++k)
			if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80)
				len = 1;
		i += len;
	}
	starts[s.size()] = true;
	return starts;
}

} // namespace agentgres::testing
