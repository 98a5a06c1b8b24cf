// Calling a long loop's interrupt check every so many bytes of work, so the
// glue's CHECK_FOR_INTERRUPTS (through PgCall) costs nothing per byte but a
// cancel still lands within a fraction of a millisecond.
#include "cpp_only.hpp" // outside the guard: checked at every inclusion
#ifndef AGENTGRES_CORE_INTERRUPTS_HPP
#define AGENTGRES_CORE_INTERRUPTS_HPP

#include <cstddef>
#include <functional>

namespace agentgres::core {

class InterruptTicker {
public:
	// check may be empty (no checks); it must outlive the ticker.
	explicit InterruptTicker(const std::function<void()> &check, std::size_t every_bytes = 256 * 1024)
	    : check_(check), every_(every_bytes)
	{
	}

	void
	Work(std::size_t bytes)
	{
		done_ += bytes;
		if (done_ >= every_) {
			done_ = 0;
			if (check_)
				check_();
		}
	}

private:
	const std::function<void()> &check_;
	std::size_t every_;
	std::size_t done_ = 0;
};

} // namespace agentgres::core

#endif // AGENTGRES_CORE_INTERRUPTS_HPP
