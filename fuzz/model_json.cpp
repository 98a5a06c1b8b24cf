// A stored model's JSON (agentgres.models.model): any text either is
// rejected with core::Error (22023, "stored model is not valid") or is a
// model that writes out and reads back to the same model, and predicts a
// probability in [0, 1] and a duration >= 0 without crashing.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/learning.hpp"
#include "fuzz.hpp"

using agentgres::core::Error;
using agentgres::core::ErrorCode;
namespace learning = agentgres::core::learning;

namespace {

bool
SameModel(const learning::Model &a, const learning::Model &b)
{
	return a.space.task_types() == b.space.task_types() && a.space.agents() == b.space.agents() &&
	       a.space.complexity_mean() == b.space.complexity_mean() &&
	       a.space.complexity_std() == b.space.complexity_std() && a.success_weights == b.success_weights &&
	       a.duration_weights == b.duration_weights && a.duration_log_variance == b.duration_log_variance;
}

void
CheckPrediction(const learning::Model &m, std::string_view task_type, std::span<const std::string_view> agents,
                std::optional<double> complexity)
{
	const learning::Model::Prediction p = m.Predict({task_type, agents, complexity});
	FUZZ_CHECK(!(p.p_success < 0 || p.p_success > 1));
	FUZZ_CHECK(!(p.duration_s < 0));
}

} // namespace

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	const std::string_view json(reinterpret_cast<const char *>(data), size);
	std::optional<learning::Model> model;
	try {
		model.emplace(learning::Model::FromJson(json));
	} catch (const Error &e) {
		FUZZ_CHECK(e.code() == ErrorCode::kInvalidParameterValue);
		return 0;
	}
	const learning::Model again = learning::Model::FromJson(model->ToJson());
	FUZZ_CHECK(SameModel(*model, again));

	// Known and unknown names, with and without a complexity.
	std::vector<std::string_view> agents(model->space.agents().begin(), model->space.agents().end());
	agents.push_back("no such agent");
	const std::string type = model->space.task_types().empty() ? std::string() : model->space.task_types()[0];
	CheckPrediction(*model, type, agents, 3.0);
	CheckPrediction(*model, "no such type", std::span(agents).last(1), std::nullopt);
	return 0;
}
