#include "learning.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include <Eigen/Dense>
#include <nlohmann/json.hpp>

#include "error.hpp"
#include "hash.hpp"
#include "stats.hpp"

namespace agentgres::core::learning {
namespace {

constexpr int kModelFormat = 1;
constexpr std::size_t kMinExecutions = 20;
constexpr double kMinDuration = 1e-3;     // seconds; log of 0 is undefined
constexpr double kMaxStandardised = 10.0; // |z| of complexity features

constexpr std::size_t kInterruptInterval = 256; // rows between interrupt checks

void
CheckInterrupts(const TrainOptions &options)
{
	if (options.check_interrupts)
		options.check_interrupts();
}

std::uint32_t
Bucket(std::uint64_t hash, std::uint32_t buckets)
{
	return static_cast<std::uint32_t>(hash % buckets);
}

double
LogDuration(double seconds)
{
	return std::log(std::max(seconds, kMinDuration));
}

bool
IsHoldout(std::uint64_t id, std::uint64_t modulo)
{
	return modulo > 1 && Mix64(id) % modulo == 0;
}

// The names seen most often, at most kMaxVocabulary of them, in a stable order.
std::vector<std::string>
Vocabulary(const Dictionary &dictionary, const std::vector<std::uint64_t> &counts)
{
	std::vector<std::int32_t> ids(dictionary.size());
	std::iota(ids.begin(), ids.end(), 0);
	std::stable_sort(ids.begin(), ids.end(), [&](std::int32_t a, std::int32_t b) {
		return counts[static_cast<std::size_t>(a)] > counts[static_cast<std::size_t>(b)];
	});
	if (ids.size() > FeatureSpace::kMaxVocabulary)
		ids.resize(FeatureSpace::kMaxVocabulary);
	std::sort(ids.begin(), ids.end(),
	          [&](std::int32_t a, std::int32_t b) { return dictionary.Name(a) < dictionary.Name(b); });
	std::vector<std::string> names;
	names.reserve(ids.size());
	for (std::int32_t id : ids)
		names.push_back(dictionary.Name(id));
	return names;
}

double
Dot(const std::vector<double> &weights, const SparseRow &row)
{
	double z = 0;
	for (const auto &[index, value] : row)
		z += weights[index] * value;
	return z;
}

// Encodes training rows, translating dictionary ids to the model's indices.
class RowEncoder {
public:
	RowEncoder(const TrainingData &data, const FeatureSpace &space) : data_(data), space_(space)
	{
		for (std::size_t i = 0; i < data.task_types().size(); ++i)
			type_index_.push_back(space.TaskTypeIndex(data.task_types().Name(static_cast<std::int32_t>(i))));
		for (std::size_t i = 0; i < data.agents().size(); ++i)
			agent_index_.push_back(space.AgentIndex(data.agents().Name(static_cast<std::int32_t>(i))));
	}
	void
	Encode(const TrainingData::Row &row, SparseRow &out)
	{
		indices_.clear();
		hashes_.clear();
		for (std::int32_t a : data_.AgentsOf(row)) {
			indices_.push_back(agent_index_[static_cast<std::size_t>(a)]);
			hashes_.push_back(data_.agents().Hash(a));
		}
		space_.Encode(type_index_[static_cast<std::size_t>(row.task_type)], data_.task_types().Hash(row.task_type),
		              indices_, hashes_, row.has_complexity ? std::optional<double>(row.complexity) : std::nullopt,
		              out);
	}

private:
	const TrainingData &data_;
	const FeatureSpace &space_;
	std::vector<std::int32_t> type_index_, agent_index_, indices_;
	std::vector<std::uint64_t> hashes_;
};

// Accumulates H += s * x x^T (upper triangle) and g += r * x.
void
Accumulate(Eigen::MatrixXd &hessian, Eigen::VectorXd &gradient, const SparseRow &row, double s, double r)
{
	for (std::size_t a = 0; a < row.size(); ++a) {
		const auto [ia, va] = row[a];
		gradient[ia] += r * va;
		const double sva = s * va;
		for (std::size_t b = 0; b < row.size(); ++b) {
			const auto [ib, vb] = row[b];
			if (ib >= ia)
				hessian(ia, ib) += sva * vb;
		}
	}
}

Eigen::VectorXd
Solve(Eigen::MatrixXd &hessian, const Eigen::VectorXd &rhs)
{
	Eigen::LLT<Eigen::MatrixXd, Eigen::Upper> llt(hessian);
	if (llt.info() != Eigen::Success)
		throw Error(ErrorCode::kDataException, "could not fit the model: the normal equations are singular");
	return llt.solve(rhs);
}

void
AddRidge(Eigen::MatrixXd &hessian, Eigen::VectorXd &gradient, const std::vector<double> &weights, double l2)
{
	// The bias (feature 0) is not penalised; a tiny ridge keeps it solvable.
	hessian(0, 0) += 1e-9;
	for (Eigen::Index i = 1; i < hessian.rows(); ++i) {
		hessian(i, i) += l2;
		gradient[i] += l2 * weights[static_cast<std::size_t>(i)];
	}
}

struct SuccessFit {
	std::vector<double> weights;
	int iterations = 0;
};

// Newton's method on the L2-regularised log-likelihood over the rows picked
// by use_row.
template <typename UseRow>
SuccessFit
FitSuccess(const TrainingData &data, const FeatureSpace &space, const TrainOptions &options, UseRow use_row)
{
	const auto d = static_cast<Eigen::Index>(space.dimensions());
	SuccessFit fit;
	fit.weights.assign(static_cast<std::size_t>(d), 0.0);
	RowEncoder encoder(data, space);
	SparseRow row;
	Eigen::MatrixXd hessian(d, d);
	Eigen::VectorXd gradient(d);
	std::size_t visited = 0;
	for (fit.iterations = 1; fit.iterations <= options.max_iterations; ++fit.iterations) {
		CheckInterrupts(options);
		hessian.setZero();
		gradient.setZero();
		for (const auto &r : data.rows()) {
			if (++visited % kInterruptInterval == 0)
				CheckInterrupts(options);
			if (!use_row(r))
				continue;
			encoder.Encode(r, row);
			const double p = Sigmoid(Dot(fit.weights, row));
			Accumulate(hessian, gradient, row, std::max(p * (1.0 - p), 1e-10), p - (r.success ? 1.0 : 0.0));
		}
		AddRidge(hessian, gradient, fit.weights, options.l2);
		const Eigen::VectorXd step = Solve(hessian, gradient);
		// Never store what cannot be used: keep the last finite weights.
		if (!step.allFinite())
			break;
		for (Eigen::Index i = 0; i < d; ++i)
			fit.weights[static_cast<std::size_t>(i)] -= step[i];
		if (step.cwiseAbs().maxCoeff() < 1e-7)
			break;
	}
	return fit;
}

// Ridge regression of log seconds; returns the weights and the residual
// variance over the rows used.
template <typename UseRow>
std::pair<std::vector<double>, double>
FitDuration(const TrainingData &data, const FeatureSpace &space, const TrainOptions &options, UseRow use_row)
{
	const double l2 = options.l2;
	std::size_t visited = 0;
	const auto d = static_cast<Eigen::Index>(space.dimensions());
	std::vector<double> weights(static_cast<std::size_t>(d), 0.0);
	RowEncoder encoder(data, space);
	SparseRow row;
	Eigen::MatrixXd hessian = Eigen::MatrixXd::Zero(d, d);
	Eigen::VectorXd rhs = Eigen::VectorXd::Zero(d);
	for (const auto &r : data.rows()) {
		if (++visited % kInterruptInterval == 0)
			CheckInterrupts(options);
		if (!use_row(r))
			continue;
		encoder.Encode(r, row);
		Accumulate(hessian, rhs, row, 1.0, LogDuration(r.duration_s));
	}
	AddRidge(hessian, rhs, weights, l2);
	const Eigen::VectorXd solution = Solve(hessian, rhs);
	for (Eigen::Index i = 0; i < d; ++i)
		weights[static_cast<std::size_t>(i)] = solution[i];
	double squared = 0;
	std::uint64_t n = 0;
	for (const auto &r : data.rows()) {
		if (++visited % kInterruptInterval == 0)
			CheckInterrupts(options);
		if (!use_row(r))
			continue;
		encoder.Encode(r, row);
		const double e = LogDuration(r.duration_s) - Dot(weights, row);
		squared += e * e;
		++n;
	}
	return {weights, n > 0 ? squared / static_cast<double>(n) : 0.0};
}

nlohmann::json
Finite(double value)
{
	return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
}

} // namespace

// --- TrainingData ---------------------------------------------------------------

void
TrainingData::Add(std::uint64_t id, std::string_view task_type, std::span<const std::string_view> agents,
                  std::optional<double> complexity, bool success, double duration_s)
{
	Row row{};
	row.id = id;
	row.task_type = task_types_.Intern(task_type);
	row.agents_begin = static_cast<std::uint32_t>(agents_.size());
	row.agents_count = static_cast<std::uint16_t>(std::min<std::size_t>(agents.size(), UINT16_MAX));
	for (std::size_t i = 0; i < row.agents_count; ++i)
		agents_.push_back(agents_dictionary_.Intern(agents[i]));
	// Clamped to the accepted ranges (rows stored by older versions may lie
	// beyond them), so that the float fields and every feature stay finite.
	row.has_complexity = complexity.has_value() && std::isfinite(*complexity);
	row.complexity =
	    row.has_complexity ? static_cast<float>(std::clamp(*complexity, -kMaxAbsComplexity, kMaxAbsComplexity)) : 0.0f;
	row.success = success;
	row.duration_s = static_cast<float>(
	    std::isnan(duration_s) ? 0.0 : std::clamp(duration_s, 0.0, kMaxDurationSeconds));
	rows_.push_back(row);
}

// --- FeatureSpace ---------------------------------------------------------------

FeatureSpace::FeatureSpace(std::vector<std::string> task_types, std::vector<std::string> agents, double complexity_mean,
                           double complexity_std)
    : task_types_(std::move(task_types)), agents_(std::move(agents)), complexity_mean_(complexity_mean),
      complexity_std_(complexity_std > 0 ? complexity_std : 1.0)
{
	Layout();
}

void
FeatureSpace::Layout()
{
	task_type_index_.clear();
	agent_index_.clear();
	for (std::size_t i = 0; i < task_types_.size(); ++i)
		task_type_index_.emplace(task_types_[i], static_cast<std::int32_t>(i));
	for (std::size_t i = 0; i < agents_.size(); ++i)
		agent_index_.emplace(agents_[i], static_cast<std::int32_t>(i));
	type_offset_ = 5;
	agent_offset_ = type_offset_ + static_cast<std::uint32_t>(task_types_.size());
	lead_offset_ = agent_offset_ + static_cast<std::uint32_t>(agents_.size());
	pair_offset_ = lead_offset_ + static_cast<std::uint32_t>(agents_.size());
	type_agent_offset_ = pair_offset_ + kPairBuckets;
}

std::int32_t
FeatureSpace::TaskTypeIndex(std::string_view name) const
{
	auto it = task_type_index_.find(std::string(name));
	return it == task_type_index_.end() ? -1 : it->second;
}

std::int32_t
FeatureSpace::AgentIndex(std::string_view name) const
{
	auto it = agent_index_.find(std::string(name));
	return it == agent_index_.end() ? -1 : it->second;
}

void
FeatureSpace::Encode(std::int32_t task_type_index, std::uint64_t task_type_hash,
                     std::span<const std::int32_t> agent_indices, std::span<const std::uint64_t> agent_hashes,
                     std::optional<double> complexity, SparseRow &out) const
{
	out.clear();
	out.emplace_back(0, 1.0);
	if (complexity.has_value() && std::isfinite(*complexity)) {
		// Winsorised at 10 standard deviations: an outlier in training cannot
		// dominate the fit, and a prediction far outside the data extrapolates
		// flat instead of squaring its way to p = 0 or 1 and infinite durations.
		const double z =
		    std::clamp((*complexity - complexity_mean_) / complexity_std_, -kMaxStandardised, kMaxStandardised);
		out.emplace_back(1, z);
		out.emplace_back(2, z * z);
	} else {
		out.emplace_back(3, 1.0);
	}
	out.emplace_back(4, std::log(1.0 + static_cast<double>(agent_indices.size())));
	if (task_type_index >= 0)
		out.emplace_back(type_offset_ + static_cast<std::uint32_t>(task_type_index), 1.0);
	const std::size_t n = agent_indices.size();
	for (std::size_t i = 0; i < n; ++i) {
		if (agent_indices[i] >= 0) {
			out.emplace_back(agent_offset_ + static_cast<std::uint32_t>(agent_indices[i]), 1.0);
			if (i == 0)
				out.emplace_back(lead_offset_ + static_cast<std::uint32_t>(agent_indices[i]), 1.0);
		}
		out.emplace_back(type_agent_offset_ + Bucket(HashCombine(task_type_hash, agent_hashes[i]), kTypeAgentBuckets),
		                 1.0);
		for (std::size_t j = i + 1; j < n; ++j) {
			// Unordered: the pair {a, b} is the same feature as {b, a}.
			const std::uint64_t lo = std::min(agent_hashes[i], agent_hashes[j]);
			const std::uint64_t hi = std::max(agent_hashes[i], agent_hashes[j]);
			out.emplace_back(pair_offset_ + Bucket(HashCombine(lo, hi), kPairBuckets), 1.0);
		}
	}
	// Merge duplicate indices (repeated agents, colliding buckets).
	std::sort(out.begin(), out.end());
	std::size_t w = 0;
	for (std::size_t r = 0; r < out.size(); ++r) {
		if (w > 0 && out[w - 1].first == out[r].first)
			out[w - 1].second += out[r].second;
		else
			out[w++] = out[r];
	}
	out.resize(w);
}

void
FeatureSpace::Encode(const Query &query, SparseRow &out) const
{
	if (query.agents.size() > kMaxAgents)
		throw Error(ErrorCode::kInvalidParameterValue,
		            "agents must be a one-dimensional array of at most " + std::to_string(kMaxAgents) + " names",
		            "The list has " + std::to_string(query.agents.size()) + " names.");
	// Reused: a prediction allocates nothing once these have grown.
	static thread_local std::vector<std::int32_t> indices;
	static thread_local std::vector<std::uint64_t> hashes;
	indices.clear();
	hashes.clear();
	for (std::string_view a : query.agents) {
		indices.push_back(AgentIndex(a));
		hashes.push_back(StableHash(a));
	}
	Encode(TaskTypeIndex(query.task_type), StableHash(query.task_type), indices, hashes, query.complexity, out);
}

// --- Model ------------------------------------------------------------------------

double
Sigmoid(double z)
{
	if (z >= 0)
		return 1.0 / (1.0 + std::exp(-z));
	const double e = std::exp(z);
	return e / (1.0 + e);
}

Model::Prediction
Model::Predict(const Query &query) const
{
	static thread_local SparseRow row;
	space.Encode(query, row);
	return {Sigmoid(Dot(success_weights, row)), std::exp(Dot(duration_weights, row) + duration_log_variance / 2.0)};
}

double
Model::PredictSuccess(const Query &query) const
{
	return Predict(query).p_success;
}

double
Model::EstimateDuration(const Query &query) const
{
	return Predict(query).duration_s;
}

std::string
Model::ToJson() const
{
	nlohmann::json j;
	j["format"] = kModelFormat;
	j["task_types"] = space.task_types();
	j["agents"] = space.agents();
	j["pair_buckets"] = FeatureSpace::kPairBuckets;
	j["type_agent_buckets"] = FeatureSpace::kTypeAgentBuckets;
	j["complexity_mean"] = space.complexity_mean();
	j["complexity_std"] = space.complexity_std();
	j["success_weights"] = success_weights;
	j["duration_weights"] = duration_weights;
	j["duration_log_variance"] = duration_log_variance;
	return j.dump();
}

Model
Model::FromJson(std::string_view json)
{
	const auto bad = [](const std::string &why) {
		return Error(ErrorCode::kInvalidParameterValue, "stored model is not valid", why);
	};
	nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
	if (j.is_discarded() || !j.is_object())
		throw bad("It is not a JSON object.");
	// nlohmann's get<int>() of a float casts it, which is undefined behaviour
	// when it does not fit ("format": 1e308, found by fuzz/model_json.cpp).
	const auto integer = [&](const char *key) {
		const nlohmann::json &v = j.at(key);
		if (!v.is_number_integer())
			throw bad(std::string("Its field \"") + key + "\" is not an integer.");
		return v.get<std::int64_t>();
	};
	try {
		if (integer("format") != kModelFormat)
			throw bad("It was written in another format; train it again.");
		if (integer("pair_buckets") != FeatureSpace::kPairBuckets ||
		    integer("type_agent_buckets") != FeatureSpace::kTypeAgentBuckets)
			throw bad("Its feature layout differs from this version; train it again.");
		Model m;
		m.space = FeatureSpace(j.at("task_types").get<std::vector<std::string>>(),
		                       j.at("agents").get<std::vector<std::string>>(), j.at("complexity_mean").get<double>(),
		                       j.at("complexity_std").get<double>());
		m.success_weights = j.at("success_weights").get<std::vector<double>>();
		m.duration_weights = j.at("duration_weights").get<std::vector<double>>();
		m.duration_log_variance = j.at("duration_log_variance").get<double>();
		if (m.success_weights.size() != m.space.dimensions() || m.duration_weights.size() != m.space.dimensions())
			throw bad("Its weight vectors do not match its vocabularies.");
		return m;
	} catch (const nlohmann::json::exception &e) {
		throw bad(std::string("A field is missing or has the wrong type: ") + e.what());
	}
}

// --- Training -----------------------------------------------------------------

TrainResult
Train(const TrainingData &data, const TrainOptions &options)
{
	const auto started = std::chrono::steady_clock::now();
	const auto &rows = data.rows();
	if (rows.size() < kMinExecutions)
		throw Error(ErrorCode::kDataException, "not enough executions to train a model",
		            "There are " + std::to_string(rows.size()) + "; at least " + std::to_string(kMinExecutions) +
		                " are needed.",
		            "Record executions with agentgres.record_execution() first.");
	std::uint64_t successes = 0;
	std::vector<std::uint64_t> type_counts(data.task_types().size()), agent_counts(data.agents().size());
	// Welford's mean and variance: no sum of squares to overflow or cancel.
	double complexity_mean = 0, complexity_m2 = 0;
	std::uint64_t complexity_n = 0;
	for (const auto &r : rows) {
		successes += r.success;
		++type_counts[static_cast<std::size_t>(r.task_type)];
		for (std::int32_t a : data.AgentsOf(r))
			++agent_counts[static_cast<std::size_t>(a)];
		if (r.has_complexity) {
			++complexity_n;
			const double delta = r.complexity - complexity_mean;
			complexity_mean += delta / static_cast<double>(complexity_n);
			complexity_m2 += delta * (r.complexity - complexity_mean);
		}
	}
	if (successes == 0 || successes == rows.size())
		throw Error(ErrorCode::kDataException, "cannot train a success model from a single outcome",
		            successes == 0 ? "Every recorded execution failed." : "Every recorded execution succeeded.");
	const double mean = complexity_mean;
	const double variance = complexity_n ? std::max(0.0, complexity_m2 / static_cast<double>(complexity_n)) : 1.0;

	Model model;
	model.space = FeatureSpace(Vocabulary(data.task_types(), type_counts), Vocabulary(data.agents(), agent_counts),
	                           mean, std::sqrt(variance));

	// Quality on the held-out rows of a model fitted without them.
	const auto is_train = [&](const TrainingData::Row &r) { return !IsHoldout(r.id, options.holdout_modulo); };
	const SuccessFit holdout_fit = FitSuccess(data, model.space, options, is_train);
	const auto [holdout_duration_weights, holdout_variance] = FitDuration(data, model.space, options, is_train);

	RowEncoder encoder(data, model.space);
	SparseRow row;
	std::vector<double> probabilities;
	std::vector<std::uint8_t> labels;
	std::vector<double> log_errors, abs_errors, pct_errors;
	std::size_t visited = 0;
	for (const auto &r : rows) {
		if (++visited % kInterruptInterval == 0)
			CheckInterrupts(options);
		if (is_train(r))
			continue;
		encoder.Encode(r, row);
		probabilities.push_back(Sigmoid(Dot(holdout_fit.weights, row)));
		labels.push_back(r.success);
		const double mu = Dot(holdout_duration_weights, row);
		log_errors.push_back(LogDuration(r.duration_s) - mu);
		const double estimate = std::exp(mu + holdout_variance / 2.0);
		abs_errors.push_back(std::fabs(estimate - r.duration_s));
		if (r.duration_s > 0)
			pct_errors.push_back(std::fabs(estimate - r.duration_s) / r.duration_s);
	}
	auto median = [](std::vector<double> v) {
		if (v.empty())
			return std::nan("");
		std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
		return v[v.size() / 2];
	};
	double rmse = 0;
	for (double e : log_errors)
		rmse += e * e;
	rmse = log_errors.empty() ? std::nan("") : std::sqrt(rmse / static_cast<double>(log_errors.size()));
	double mae = 0;
	for (double e : abs_errors)
		mae += e;
	mae = abs_errors.empty() ? std::nan("") : mae / static_cast<double>(abs_errors.size());

	// The stored model learns from every row.
	const auto all = [](const TrainingData::Row &) { return true; };
	const SuccessFit final_fit = FitSuccess(data, model.space, options, all);
	model.success_weights = final_fit.weights;
	std::tie(model.duration_weights, model.duration_log_variance) = FitDuration(data, model.space, options, all);
	const auto finite = [](const std::vector<double> &v) {
		return std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
	};
	if (!finite(model.success_weights) || !finite(model.duration_weights) ||
	    !std::isfinite(model.duration_log_variance))
		throw Error(ErrorCode::kDataException, "could not fit the model: its weights are not finite",
		            "The executions hold values too extreme to fit.");

	const std::size_t holdout_successes = static_cast<std::size_t>(
	    std::count(labels.begin(), labels.end(), std::uint8_t{1}));
	const std::size_t holdout_failures = labels.size() - holdout_successes;
	const bool meaningful = holdout_successes >= kMinHoldoutPerOutcome && holdout_failures >= kMinHoldoutPerOutcome;
	std::string warning;
	if (!meaningful)
		warning = "The holdout has " + std::to_string(holdout_successes) +
		          (holdout_successes == 1 ? " success and " : " successes and ") + std::to_string(holdout_failures) +
		          (holdout_failures == 1 ? " failure" : " failures") + "; at least " +
		          std::to_string(kMinHoldoutPerOutcome) +
		          " of each are needed before auc, log_loss, brier and the duration errors mean anything.";

	nlohmann::json report;
	report["meaningful"] = meaningful;
	if (!meaningful)
		report["warning"] = warning;
	report["holdout_successes"] = holdout_successes;
	report["holdout_failures"] = holdout_failures;
	report["n"] = rows.size();
	report["n_train"] = rows.size() - probabilities.size();
	report["n_holdout"] = probabilities.size();
	report["features"] = model.space.dimensions();
	report["task_types"] = model.space.task_types().size();
	report["agents"] = model.space.agents().size();
	report["base_rate"] = static_cast<double>(successes) / static_cast<double>(rows.size());
	report["auc"] = Finite(stats::Auc(probabilities, labels));
	report["log_loss"] = Finite(stats::LogLoss(probabilities, labels));
	report["brier"] = Finite(stats::Brier(probabilities, labels));
	report["iterations"] = final_fit.iterations;
	report["l2"] = options.l2;
	report["duration"] = {{"rmse_log", Finite(rmse)},
	                      {"mae_s", Finite(mae)},
	                      {"median_relative_error", Finite(median(pct_errors))}};
	report["train_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
	return {std::move(model), report.dump(), meaningful, std::move(warning)};
}

} // namespace agentgres::core::learning
