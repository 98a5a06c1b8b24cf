// The learning system's models: which agents to use, how likely a task is to
// succeed and how long it will take, learned from recorded executions.
//
// Features of an execution (task type, complexity, the ordered agent list):
// bias; standardized complexity, its square and a missing flag; log team size;
// task type one-hot; agent multi-hot; the lead (first) agent one-hot; hashed
// unordered agent pairs; hashed (task type, agent) interactions. Vocabularies
// keep the most frequent names; rarer ones still reach the hashed features.
//
// Success: L2-regularised logistic regression fitted by Newton's method
// (IRLS) with a dense Hessian (the feature count stays in the hundreds).
// Duration: ridge regression on log seconds over the same features; the
// estimate is the log-normal mean exp(mu + sigma^2 / 2).
// A deterministic 20% of rows (by hashed id) is held out for the quality
// figures, then the final model is refitted on all rows.
#include "cpp_only.hpp" // outside the guard: checked at every inclusion
#ifndef AGENTGRES_CORE_LEARNING_HPP
#define AGENTGRES_CORE_LEARNING_HPP

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dictionary.hpp"

namespace agentgres::core::learning {

// The meaningful ranges of the inputs. Complexity is a caller-defined scale
// (the simulator uses 1..10); beyond a million it is a bug, and squared it
// must stay far from overflow. Durations beyond ~115 days are not task runs.
// The SQL functions reject values outside; training clamps stored rows (older
// versions accepted any finite value) so no accepted row makes a feature
// non-finite.
inline constexpr double kMaxAbsComplexity = 1e6;
inline constexpr double kMaxDurationSeconds = 1e7;
// Agents per execution, as the executions table allows: the pair features
// are quadratic in it, so a prediction for a longer list is an error.
inline constexpr std::size_t kMaxAgents = 64;

// Recorded executions in compact form.
class TrainingData {
public:
	void Add(std::uint64_t id, std::string_view task_type, std::span<const std::string_view> agents,
	         std::optional<double> complexity, bool success, double duration_s);

	struct Row {
		std::uint64_t id;
		std::int32_t task_type;
		std::uint32_t agents_begin;
		std::uint16_t agents_count;
		bool has_complexity;
		bool success;
		float complexity;
		float duration_s;
	};

	std::size_t
	size() const noexcept
	{
		return rows_.size();
	}
	const std::vector<Row> &
	rows() const noexcept
	{
		return rows_;
	}
	std::span<const std::int32_t>
	AgentsOf(const Row &row) const
	{
		return {agents_.data() + row.agents_begin, row.agents_count};
	}
	const Dictionary &
	task_types() const noexcept
	{
		return task_types_;
	}
	const Dictionary &
	agents() const noexcept
	{
		return agents_dictionary_;
	}

private:
	std::vector<Row> rows_;
	std::vector<std::int32_t> agents_;
	Dictionary task_types_;
	Dictionary agents_dictionary_;
};

// One execution to encode: names with their stable hashes.
struct Query {
	std::string_view task_type;
	std::span<const std::string_view> agents;
	std::optional<double> complexity;
};

using SparseRow = std::vector<std::pair<std::uint32_t, double>>;

// The layout of the feature vector and the vocabularies it needs.
class FeatureSpace {
public:
	static constexpr std::uint32_t kPairBuckets = 256;
	static constexpr std::uint32_t kTypeAgentBuckets = 256;
	static constexpr std::size_t kMaxVocabulary = 500;

	FeatureSpace() = default;
	FeatureSpace(std::vector<std::string> task_types, std::vector<std::string> agents, double complexity_mean,
	             double complexity_std);

	std::uint32_t
	dimensions() const noexcept
	{
		return type_agent_offset_ + kTypeAgentBuckets;
	}
	// Appends the non-zero features of an execution to out (cleared first).
	void Encode(std::int32_t task_type_index, std::uint64_t task_type_hash, std::span<const std::int32_t> agent_indices,
	            std::span<const std::uint64_t> agent_hashes, std::optional<double> complexity, SparseRow &out) const;
	void Encode(const Query &query, SparseRow &out) const;

	const std::vector<std::string> &
	task_types() const noexcept
	{
		return task_types_;
	}
	const std::vector<std::string> &
	agents() const noexcept
	{
		return agents_;
	}
	double
	complexity_mean() const noexcept
	{
		return complexity_mean_;
	}
	double
	complexity_std() const noexcept
	{
		return complexity_std_;
	}
	std::int32_t TaskTypeIndex(std::string_view name) const;
	std::int32_t AgentIndex(std::string_view name) const;

private:
	void Layout();

	std::vector<std::string> task_types_;
	std::vector<std::string> agents_;
	std::unordered_map<std::string, std::int32_t> task_type_index_;
	std::unordered_map<std::string, std::int32_t> agent_index_;
	double complexity_mean_ = 0;
	double complexity_std_ = 1;
	std::uint32_t type_offset_ = 0, agent_offset_ = 0, lead_offset_ = 0, pair_offset_ = 0, type_agent_offset_ = 0;
};

struct Model {
	FeatureSpace space;
	std::vector<double> success_weights;
	std::vector<double> duration_weights;
	double duration_log_variance = 0; // residual variance of log seconds

	struct Prediction {
		double p_success;
		double duration_s; // log-normal mean, seconds
	};
	// Both predictions from one encoding of the query.
	Prediction Predict(const Query &query) const;
	double PredictSuccess(const Query &query) const;
	double EstimateDuration(const Query &query) const; // seconds

	std::string ToJson() const;
	// Throws Error (22023) for a document that is not a model of this format.
	static Model FromJson(std::string_view json);
};

struct TrainOptions {
	double l2 = 1.0;
	int max_iterations = 30;
	std::uint64_t holdout_modulo = 5; // 1 in 5 rows held out
	// Called often during training; may throw (or, in the glue, raise a
	// query cancel) to abandon it.
	std::function<void()> check_interrupts;
};

// The holdout quality figures estimate anything only with enough rows of
// each outcome: with 10 successes and 10 failures the standard error of an
// AUC near 0.5 is still about 0.13 (Hanley and McNeil, 1982), with fewer it
// is noise. Below this the report says the figures are not meaningful.
constexpr std::size_t kMinHoldoutPerOutcome = 10;

struct TrainResult {
	Model model;
	std::string report_json; // auc, log_loss, brier, n, features, duration errors, meaningful, ...
	bool meaningful = true;  // the holdout figures estimate the model's quality
	std::string warning;     // why they do not, when !meaningful
};

// Throws Error (22000) when there are too few executions or only one outcome.
TrainResult Train(const TrainingData &data, const TrainOptions &options = {});

// The sigmoid, guarded against overflow.
double Sigmoid(double z);

} // namespace agentgres::core::learning

#endif // AGENTGRES_CORE_LEARNING_HPP
