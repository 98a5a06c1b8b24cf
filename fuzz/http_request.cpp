// What agentgresd reads from an HTTP request before any SQL runs: the query
// string of the list endpoints (/api/jobs, /api/agents, /api/alerts), decoded
// by cpp-httplib as the server does, then checked by api::ParseListQuery.
// Any query either is rejected with api::BadRequest (400) or yields a state
// the endpoint allows and a limit from 1 to 1000. Every answer, including the
// error that quotes what was sent, is valid JSON that reads back.
// The daemon's routes take no request body yet: a route that does gets its
// body parser fuzzed here too.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "api/filters.hpp"
#include "fuzz.hpp"

namespace api = agentgres::sidecar::api;

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	const std::string query(reinterpret_cast<const char *>(data), size);
	httplib::Params params;
	httplib::detail::parse_query_text(query, params);
	const struct {
		const char *noun;
		const std::vector<std::string> &states;
	} endpoints[] = {{"job state", api::JobStates()},
	                 {"agent status", api::AgentStatuses()},
	                 {"alert status", api::AlertStatuses()}};
	for (const auto &endpoint : endpoints) {
		std::string body;
		try {
			const api::ListQuery q = api::ParseListQuery(params, endpoint.noun, endpoint.states);
			FUZZ_CHECK(q.limit >= 1 && q.limit <= api::kMaxLimit);
			if (q.state) {
				bool known = false;
				for (const std::string &s : endpoint.states)
					known = known || s == *q.state;
				FUZZ_CHECK(known);
			}
			continue;
		} catch (const api::BadRequest &e) {
			body = api::ErrorBody(e.what());
			// A bounded echo of what was sent.
			FUZZ_CHECK(std::string_view(e.what()).size() < 300);
		}
		const nlohmann::json parsed = nlohmann::json::parse(body, nullptr, false);
		FUZZ_CHECK(!parsed.is_discarded() && parsed.is_object() && parsed.at("error").is_string());
	}
	return 0;
}
