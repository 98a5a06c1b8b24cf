// The state of the agent_patterns aggregate: for every agent set seen in the
// executions, and for each of its subsets up to a maximum size, per task type
// and across all task types, how often it ran, how often it succeeded, how
// long it took (mean, and p95 from a 1%-accurate sketch) and which
// group of error templates it failed with most (templates are grouped across
// all patterns with LogClusters when rows are read, so the state stays a plain
// count per template).
//
// States merge (parallel workers each aggregate a part of the table) and
// serialize to bytes with a format version first. Executions with more than
// kMaxAgentsForSubsets distinct agents contribute the subsets of their first
// kMaxAgentsForSubsets agents. Each pattern keeps at most kMaxErrorTemplates
// distinct error templates; rarer ones are counted as "other" (so top_error is
// exact unless a pattern fails in more than that many different ways).
//
// The number of agent sets is combinatorial (16 agents and max_size 5 make
// 6884 subsets per execution), so a state has a memory limit: its size is
// estimated as it grows (Add, Merge, Deserialize, Rows) and passing the limit
// throws Error 54000 that names work_mem, where the glue takes the limit from.
#include "cpp_only.hpp" // outside the guard: checked at every inclusion
#ifndef AGENTGRES_CORE_PATTERNS_HPP
#define AGENTGRES_CORE_PATTERNS_HPP

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dictionary.hpp"
#include "stats.hpp"

namespace agentgres::core::patterns {

inline constexpr int kMaxSetSize = 5;
inline constexpr std::size_t kMaxAgentsForSubsets = 16;
inline constexpr std::size_t kMaxErrorTemplates = 32;

struct PatternRow {
	std::optional<std::string> task_type; // nullopt: across all task types
	std::vector<std::string> agents;      // sorted by name
	std::uint64_t n = 0;
	std::uint64_t successes = 0;
	double success_rate = 0;
	double wilson_low = 0;
	double wilson_high = 0;
	double mean_duration_s = 0;
	double p95_duration_s = 0;
	std::optional<std::string> top_error;
	std::uint64_t top_error_count = 0;
};

class Accumulator {
public:
	// Throws Error (22023) unless 1 <= max_size <= kMaxSetSize.
	static int ValidateMaxSize(std::int64_t max_size);

	// Adds one execution. agents in recorded order; repeats are ignored.
	void Add(std::string_view task_type, std::span<const std::string_view> agents, bool success,
	         std::optional<double> duration_s, std::optional<std::string_view> error, int max_size);
	void Merge(const Accumulator &other);

	// memory_limit: bytes the state may hold (0: no limit); check_interrupts,
	// if set, is called every few thousand steps and may throw.
	void SetLimits(std::size_t memory_limit, std::function<void()> check_interrupts);
	// The estimated bytes the state holds: what the limit is checked against.
	std::size_t
	memory_bytes() const noexcept
	{
		return memory_;
	}

	std::string Serialize() const;
	// Throws Error (22000) for bytes that are not a state of this format, and
	// Error (54000) when the state would hold more than memory_limit bytes.
	static Accumulator Deserialize(std::string_view bytes, std::size_t memory_limit = 0,
	                               const std::function<void()> &check_interrupts = {});

	// Patterns of at most max_size agents with at least min_support
	// executions: task types in name order with the all-types rows last, then
	// by set size, then by agent names.
	// progress, if set, is called now and then (the glue checks for query
	// cancellation there). The rows are held to the state's memory limit too.
	std::vector<PatternRow> Rows(std::uint64_t min_support, int max_size = kMaxSetSize,
	                             const std::function<void()> &progress = {}) const;

	std::size_t
	size() const noexcept
	{
		return patterns_.size();
	}

private:
	struct Key {
		std::int32_t task_type; // -1: all task types
		std::uint8_t size;
		std::array<std::int32_t, kMaxSetSize> agents; // sorted ids, unused slots -1
		bool operator==(const Key &) const = default;
	};
	struct KeyHash {
		std::size_t operator()(const Key &k) const noexcept;
	};
	struct Stats {
		std::uint64_t n = 0;
		std::uint64_t successes = 0;
		double duration_sum = 0;
		stats::DurationSketch durations;
		std::unordered_map<std::int32_t, std::uint64_t> errors; // template id -> count
		std::uint64_t other_errors = 0;
		void AddError(std::int32_t template_id, std::uint64_t count);
		void Merge(const Stats &other, std::span<const std::int32_t> template_map);
	};

	// Groups the error templates with LogClusters: the cluster index of
	// every template id (-1 if never counted) and, in names, the clusters.
	std::vector<std::int32_t>
	ClusterTemplates(std::vector<std::string> &names, const std::function<void()> &progress) const;
	void Update(const Key &key, bool success, std::optional<double> duration_s, std::int32_t error_template);
	static void SortAgents(Key &key);
	// The estimated heap bytes of one pattern's statistics beyond its node.
	static std::size_t StatsBytes(const Stats &s) noexcept;
	// The pattern's statistics, inserted (and its memory charged) if new.
	Stats &Slot(const Key &key);
	std::int32_t InternCharged(Dictionary &dictionary, std::string_view name);
	// Adds bytes to the estimate; throws Error 54000 past the limit.
	void Charge(std::size_t bytes);
	void
	Tick() const
	{
		if (check_interrupts_ && ++ticks_ % 4096 == 0)
			check_interrupts_();
	}

	Dictionary task_types_;
	Dictionary agents_;
	Dictionary templates_;
	std::unordered_map<Key, Stats, KeyHash> patterns_;
	std::vector<std::int32_t> scratch_;
	std::size_t memory_ = 0;
	std::size_t memory_limit_ = 0;
	std::function<void()> check_interrupts_;
	mutable std::size_t ticks_ = 0;
};

// Throws the Error (54000) for a pattern state or result over memory_limit.
[[noreturn]] void ThrowMemoryLimit(std::size_t memory_limit, std::size_t patterns);

} // namespace agentgres::core::patterns

#endif // AGENTGRES_CORE_PATTERNS_HPP
