// Interns names (task types, agents, error templates) as small integer ids,
// with lookups that do not allocate.
#include "cpp_only.hpp" // outside the guard: checked at every inclusion
#ifndef AGENTGRES_CORE_DICTIONARY_HPP
#define AGENTGRES_CORE_DICTIONARY_HPP

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "hash.hpp"

namespace agentgres::core {

struct TransparentStringHash {
	using is_transparent = void;
	std::size_t
	operator()(std::string_view s) const noexcept
	{
		return static_cast<std::size_t>(StableHash(s));
	}
};

class Dictionary {
public:
	std::int32_t
	Intern(std::string_view name)
	{
		if (auto it = ids_.find(name); it != ids_.end())
			return it->second;
		const auto id = static_cast<std::int32_t>(names_.size());
		names_.emplace_back(name);
		hashes_.push_back(StableHash(name));
		ids_.emplace(names_.back(), id);
		return id;
	}
	// -1 when absent.
	std::int32_t
	Find(std::string_view name) const
	{
		auto it = ids_.find(name);
		return it == ids_.end() ? -1 : it->second;
	}
	const std::string &
	Name(std::int32_t id) const
	{
		return names_[static_cast<std::size_t>(id)];
	}
	std::uint64_t
	Hash(std::int32_t id) const
	{
		return hashes_[static_cast<std::size_t>(id)];
	}
	std::size_t
	size() const noexcept
	{
		return names_.size();
	}

private:
	std::vector<std::string> names_;
	std::vector<std::uint64_t> hashes_;
	std::unordered_map<std::string, std::int32_t, TransparentStringHash, std::equal_to<>> ids_;
};

} // namespace agentgres::core

#endif // AGENTGRES_CORE_DICTIONARY_HPP
