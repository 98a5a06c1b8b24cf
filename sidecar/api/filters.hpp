// The filters the CLI and the JSON API share: a state must be one the table
// allows and a limit a sane positive integer, checked before any SQL runs,
// with an error that names what is valid.
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace agentgres::sidecar::api {

// A caller's mistake: the CLI exits 2, the API answers 400.
class BadRequest : public std::invalid_argument {
public:
	using std::invalid_argument::invalid_argument;
};

// The CHECK constraints of agentgres.jobs, .agents and .alerts.
const std::vector<std::string> &JobStates();
const std::vector<std::string> &AgentStatuses();
const std::vector<std::string> &AlertStatuses();

inline constexpr int kMaxLimit = 1000;

// value when it is one of `valid`; else BadRequest naming them, e.g.
// unknown job state "failed" (valid states: queued, running, done, dead, cancelled)
std::string CheckState(std::string_view noun, const std::vector<std::string> &valid, std::string_view value);
// An integer from 1 to kMaxLimit; else BadRequest.
int ParseLimit(std::string_view text);

// The query of a list endpoint (/api/jobs, ...), as the HTTP server decoded
// it: ?state= (one of `valid`) and ?limit= (default 100), each at most once,
// nothing else; else BadRequest.
struct ListQuery {
	std::optional<std::string> state;
	int limit = 100;
};
ListQuery ParseListQuery(const std::multimap<std::string, std::string> &params, std::string_view noun,
                         const std::vector<std::string> &valid);

// The JSON body of an error answer, {"error": message}. Quoted parameters may
// hold any byte: what is not UTF-8 becomes U+FFFD rather than an exception.
std::string ErrorBody(std::string_view message);

} // namespace agentgres::sidecar::api
