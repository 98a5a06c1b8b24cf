// A stable 64-bit hash of bytes: the same value on every platform and every
// PostgreSQL version, so feature buckets and experiment assignments never move.
#include "cpp_only.hpp" // outside the guard: checked at every inclusion
#ifndef AGENTGRES_CORE_HASH_HPP
#define AGENTGRES_CORE_HASH_HPP

#include <cstdint>
#include <string_view>

namespace agentgres::core {

// The splitmix64 finaliser: spreads every input bit over the output.
constexpr std::uint64_t
Mix64(std::uint64_t h)
{
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 31;
	return h;
}

// FNV-1a over the bytes, then Mix64 for good low bits.
constexpr std::uint64_t
StableHash(std::string_view bytes, std::uint64_t seed = 0)
{
	std::uint64_t h = 14695981039346656037ull ^ seed;
	for (char c : bytes) {
		h ^= static_cast<unsigned char>(c);
		h *= 1099511628211ull;
	}
	return Mix64(h);
}

// Combines two hashes; order matters.
constexpr std::uint64_t
HashCombine(std::uint64_t a, std::uint64_t b)
{
	return Mix64(a ^ (b + 0x9e3779b97f4a7c15ull + (a << 6) + (a >> 2)));
}

} // namespace agentgres::core

#endif // AGENTGRES_CORE_HASH_HPP
