// Cutting text to a byte budget without splitting a UTF-8 character.
//
// Messages, details and hints go into fixed buffers at the PostgreSQL
// boundary and quoted input is shortened in messages; a cut inside a
// multibyte sequence would hand the client invalid UTF-8 (which a client
// encoding conversion then rejects). Header-only: the daemon uses it too.
#include "cpp_only.hpp" // outside the guard: checked at every inclusion
#ifndef AGENTGRES_CORE_UTF8_HPP
#define AGENTGRES_CORE_UTF8_HPP

#include <cstddef>
#include <string_view>

namespace agentgres::core::utf8 {

// The length of the longest prefix of text that is at most max_bytes long
// and does not end inside a multibyte character: the cut moves back to the
// lead byte of a character that straddles it. Bytes that are not UTF-8 are
// left as they are (at most 3 continuation bytes are stepped over).
inline std::size_t
PrefixLength(std::string_view text, std::size_t max_bytes) noexcept
{
	if (text.size() <= max_bytes)
		return text.size();
	std::size_t cut = max_bytes;
	for (int back = 0; back < 3 && cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80; ++back)
		--cut;
	// A run of more than three continuation bytes is no character; cut where asked.
	return (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80 ? max_bytes : cut;
}

inline std::string_view
Prefix(std::string_view text, std::size_t max_bytes) noexcept
{
	return text.substr(0, PrefixLength(text, max_bytes));
}

} // namespace agentgres::core::utf8

#endif // AGENTGRES_CORE_UTF8_HPP
