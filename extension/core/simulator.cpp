#include "simulator.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

namespace agentgres::core::simulator {
namespace {

const std::array<const char *, 8> kAgents = {"planner",    "coder",  "reviewer", "tester",
                                             "researcher", "writer", "deployer", "critic"};

bool
Has(const std::vector<std::string> &team, const char *agent)
{
	return std::find(team.begin(), team.end(), agent) != team.end();
}

} // namespace

Simulator::Simulator(std::uint64_t seed) : rng_(seed) {}

SimulatedExecution
Simulator::Next()
{
	std::uniform_real_distribution<double> unit(0.0, 1.0);
	SimulatedExecution e;
	const double team_kind = unit(rng_);
	if (team_kind < 0.25) {
		e.agents = {"planner", "coder", "reviewer"};
	} else if (team_kind < 0.42) {
		e.agents = {"coder", "deployer"};
		if (unit(rng_) < 0.5)
			e.agents.push_back(kAgents[std::uniform_int_distribution<std::size_t>(2, 5)(rng_)]);
	} else {
		const auto size = std::uniform_int_distribution<std::size_t>(2, 4)(rng_);
		std::vector<std::string> pool(kAgents.begin(), kAgents.end());
		std::shuffle(pool.begin(), pool.end(), rng_);
		e.agents.assign(pool.begin(), pool.begin() + static_cast<std::ptrdiff_t>(size));
	}
	e.complexity = 1.0 + 9.0 * unit(rng_);

	const bool best = Has(e.agents, "planner") && Has(e.agents, "coder") && Has(e.agents, "reviewer");
	const bool bad = Has(e.agents, "coder") && Has(e.agents, "deployer");
	const double logit = 1.0 - 0.15 * (e.complexity - 5.0) + (best ? 2.5 : 0.0) - (bad ? 3.0 : 0.0);
	e.success = unit(rng_) < 1.0 / (1.0 + std::exp(-logit));

	std::normal_distribution<double> noise(0.0, 0.3);
	e.duration_s = 30.0 * (1.0 + e.complexity / 5.0) * std::exp(noise(rng_)) *
	               (Has(e.agents, "researcher") ? 4.0 : 1.0);

	if (!e.success) {
		char text[160];
		const auto pick = std::uniform_int_distribution<int>(0, 9)(rng_);
		if (bad && pick < 8) {
			std::snprintf(text, sizeof text,
			              "deploy lock timeout after %ds on node 0x%04x (job %08x-%04x-4%03x-a%03x-%012llx)",
			              30 + static_cast<int>(unit(rng_) * 60), static_cast<unsigned>(rng_() & 0xffff),
			              static_cast<unsigned>(rng_() & 0xffffffff), static_cast<unsigned>(rng_() & 0xffff),
			              static_cast<unsigned>(rng_() & 0xfff), static_cast<unsigned>(rng_() & 0xfff),
			              static_cast<unsigned long long>(rng_() & 0xffffffffffffull));
		} else if (pick < 4) {
			std::snprintf(text, sizeof text, "tool call failed: HTTP %d from 'search'",
			              500 + static_cast<int>(rng_() % 4));
		} else if (pick < 7) {
			std::snprintf(text, sizeof text, "context length %d exceeds limit %d",
			              8000 + static_cast<int>(rng_() % 4000), 8192);
		} else {
			std::snprintf(text, sizeof text, "assertion failed at /src/agents/step_%d.py:%d",
			              static_cast<int>(rng_() % 9), 10 + static_cast<int>(rng_() % 400));
		}
		e.error = text;
	}
	e.age_s = unit(rng_) * 30.0 * 86400.0;
	return e;
}

} // namespace agentgres::core::simulator
