// Exact k-nearest selection with a bounded max-heap.
//
// Rows are offered one at a time; the heap keeps the k closest seen so far,
// "closest" meaning smaller distance, then smaller id, so results are
// deterministic under ties. Cost: O(n log k) comparisons, O(k) memory, and a
// single comparison against the current worst for the common rejected row.
#include "cpp_only.hpp" // outside the guard: checked at every inclusion
#ifndef AGENTGRES_CORE_TOPK_HPP
#define AGENTGRES_CORE_TOPK_HPP

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace agentgres::core {

struct Neighbor {
	std::int64_t id;
	double distance;
};

inline bool
Closer(const Neighbor &a, const Neighbor &b) noexcept
{
	return a.distance < b.distance || (a.distance == b.distance && a.id < b.id);
}

class TopK {
public:
	explicit TopK(std::size_t k) : k_(k)
	{
		// Reserve what small k needs at once; large k grows with the data.
		heap_.reserve(std::min<std::size_t>(k, kInitialReserve));
		live_instances_.fetch_add(1, std::memory_order_relaxed);
	}
	~TopK() { live_instances_.fetch_sub(1, std::memory_order_relaxed); }
	TopK(const TopK &) = delete;
	TopK &operator=(const TopK &) = delete;

	// Offers a row; NaN distances (cosine against a zero vector) are not
	// ranked. May throw std::bad_alloc while the heap is still filling.
	void
	Offer(std::int64_t id, double distance)
	{
		if (std::isnan(distance) || k_ == 0)
			return;
		const Neighbor candidate{id, distance};
		if (heap_.size() < k_) {
			heap_.push_back(candidate);
			std::push_heap(heap_.begin(), heap_.end(), Closer);
			return;
		}
		if (!Closer(candidate, heap_.front()))
			return;
		std::pop_heap(heap_.begin(), heap_.end(), Closer);
		heap_.back() = candidate;
		std::push_heap(heap_.begin(), heap_.end(), Closer);
	}

	// The kept rows, closest first. Leaves the selector empty.
	std::vector<Neighbor>
	TakeSorted()
	{
		std::sort_heap(heap_.begin(), heap_.end(), Closer);
		return std::move(heap_);
	}

	std::size_t
	size() const noexcept
	{
		return heap_.size();
	}

	// The farthest kept row: the one a closer offer would replace once the
	// heap is full. Only when size() > 0.
	const Neighbor &
	worst() const noexcept
	{
		return heap_.front();
	}

	// How many selectors exist right now in this process. Tests use it to
	// prove that an error or a cancel raised by PostgreSQL in the middle of a
	// scan still runs the C++ destructors.
	static long
	LiveInstances() noexcept
	{
		return live_instances_.load(std::memory_order_relaxed);
	}

private:
	static constexpr std::size_t kInitialReserve = 4096;
	static inline std::atomic<long> live_instances_{0};

	std::size_t k_;
	std::vector<Neighbor> heap_;
};

} // namespace agentgres::core

#endif // AGENTGRES_CORE_TOPK_HPP
