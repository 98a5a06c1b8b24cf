// Executions drawn from a known ground truth, so that a user can try the
// learning system in minutes and a test can check that it finds what was
// planted.
//
// Agents: planner, coder, reviewer, tester, researcher, writer, deployer,
// critic. Complexity is uniform in [1, 10]. Success has log-odds
// 1.0 - 0.15 (complexity - 5), plus:
//   * planner + coder + reviewer together: +2.5  (the best combination)
//   * coder + deployer together:           -3.0  (to avoid; they fail with
//     "deploy lock timeout after <num>s on node <hex> (job <uuid>)")
// Duration is log-normal around 30 s (1 + complexity / 5), four times longer
// when a researcher takes part (the slow pattern). A quarter of the teams are
// planner, coder, reviewer; a sixth are coder, deployer plus maybe one more;
// the rest are random teams of two to four. Executions are spread over the
// last 30 days. The same seed gives the same executions.
#include "cpp_only.hpp" // outside the guard: checked at every inclusion
#ifndef AGENTGRES_CORE_SIMULATOR_HPP
#define AGENTGRES_CORE_SIMULATOR_HPP

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace agentgres::core::simulator {

struct SimulatedExecution {
	std::vector<std::string> agents;
	double complexity;
	bool success;
	double duration_s;
	std::optional<std::string> error;
	double age_s; // how long ago it ran
};

class Simulator {
public:
	explicit Simulator(std::uint64_t seed);
	SimulatedExecution Next();

private:
	std::mt19937_64 rng_;
};

} // namespace agentgres::core::simulator

#endif // AGENTGRES_CORE_SIMULATOR_HPP
