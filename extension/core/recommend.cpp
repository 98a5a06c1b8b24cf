#include "recommend.hpp"

#include <algorithm>
#include <map>

#include "stats.hpp"

namespace agentgres::core::learning {
namespace {

Model::Prediction
Score(const Model &model, const RecommendRequest &request, const std::vector<std::string> &team)
{
	const std::vector<std::string_view> names(team.begin(), team.end());
	return model.Predict({request.task_type, names, request.complexity});
}

} // namespace

std::vector<std::string>
CanonicalTeam(std::span<const std::string> agents)
{
	std::vector<std::string> team(agents.begin(), agents.end());
	std::sort(team.begin(), team.end());
	team.erase(std::unique(team.begin(), team.end()), team.end());
	return team;
}

std::vector<std::vector<std::string>>
GreedyTeams(const Model &model, const RecommendRequest &request)
{
	std::vector<std::vector<std::string>> teams;
	std::vector<std::string> current;
	double best_p = -1;
	while (current.size() < request.max_agents) {
		std::vector<std::string> best_next;
		double best_next_p = -1;
		for (const std::string &agent : model.space.agents()) {
			if (std::binary_search(current.begin(), current.end(), agent))
				continue;
			std::vector<std::string> trial = current;
			trial.insert(std::upper_bound(trial.begin(), trial.end(), agent), agent);
			const double p = Score(model, request, trial).p_success;
			if (best_next.empty() || p > best_next_p) {
				best_next = std::move(trial);
				best_next_p = p;
			}
		}
		if (best_next.empty() || best_next_p <= best_p)
			break;
		best_p = best_next_p;
		current = std::move(best_next);
		teams.push_back(current);
	}
	return teams;
}

std::vector<Recommendation>
Recommend(const Model &model, const RecommendRequest &request, std::span<const SeenTeam> seen)
{
	// One entry per set: the seen teams merged, then the greedy ones added.
	std::map<std::vector<std::string>, std::int64_t> support;
	for (const SeenTeam &team : seen) {
		std::vector<std::string> set = CanonicalTeam(team.agents);
		if (!set.empty() && set.size() <= request.max_agents)
			support[std::move(set)] += team.executions;
	}
	for (std::vector<std::string> &team : GreedyTeams(model, request))
		support.try_emplace(std::move(team), 0);

	std::vector<Recommendation> ranked;
	ranked.reserve(support.size());
	for (auto &[team, executions] : support) {
		const Model::Prediction p = Score(model, request, team);
		ranked.push_back({team, p.p_success, p.duration_s, executions});
	}
	const auto better = [](const Recommendation &a, const Recommendation &b) {
		// NaN ranks last on either key, keeping the order strict weak.
		if (!stats::SameNanLast(a.p_success, b.p_success))
			return stats::LessNanLast(-a.p_success, -b.p_success);
		if (!stats::SameNanLast(a.duration_s, b.duration_s))
			return stats::LessNanLast(a.duration_s, b.duration_s);
		if (a.support != b.support)
			return a.support > b.support;
		return a.agents < b.agents;
	};
	const std::size_t keep = std::min(request.k, ranked.size());
	std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(keep), ranked.end(), better);
	ranked.resize(keep);
	return ranked;
}

} // namespace agentgres::core::learning
