// Team recommendations from a trained model: which agents to put on a task.
//
// A team is a set of agents. Candidates are the teams seen in the history of
// the task type and the teams built greedily from the model's agents; each
// distinct set is one candidate, shown and scored with its agents sorted by
// name (byte order), so a recommendation's p_success equals
// predict_success(task_type, agents, complexity) for the agents it shows.
#include "cpp_only.hpp" // outside the guard: checked at every inclusion
#ifndef AGENTGRES_CORE_RECOMMEND_HPP
#define AGENTGRES_CORE_RECOMMEND_HPP

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "learning.hpp"

namespace agentgres::core::learning {

// A team as recorded: agents in any order, possibly repeated.
struct SeenTeam {
	std::vector<std::string> agents;
	std::int64_t executions = 0;
};

struct Recommendation {
	std::vector<std::string> agents; // distinct, sorted by name
	double p_success = 0;
	double duration_s = 0;
	std::int64_t support = 0; // executions with this set of agents, in any order
};

struct RecommendRequest {
	std::string_view task_type;
	std::optional<double> complexity;
	std::size_t k = 5;          // at most this many teams
	std::size_t max_agents = 4; // agents per team
};

// The canonical form of a team: its distinct names in byte order.
std::vector<std::string> CanonicalTeam(std::span<const std::string> agents);

// Teams built greedily: start from the best single agent, then add the agent
// that raises predicted success most, while it still rises. One team per
// size reached, smallest first, each canonical.
std::vector<std::vector<std::string>> GreedyTeams(const Model &model, const RecommendRequest &request);

// Up to request.k distinct teams of 1..max_agents agents, best first: by
// predicted success, then expected duration, then support, then names.
// Seen teams that are the same set are merged (their executions added up).
std::vector<Recommendation> Recommend(const Model &model, const RecommendRequest &request,
                                      std::span<const SeenTeam> seen);

} // namespace agentgres::core::learning

#endif // AGENTGRES_CORE_RECOMMEND_HPP
