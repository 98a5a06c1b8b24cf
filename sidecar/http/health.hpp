// One meaning of healthy, shared by /health and `agentgresd status`.
//
// The database's agentgres.system_health() judges the system (ok, warning,
// failing, with reasons). On top of it this daemon is failing when the
// database does not answer or one of its own loops has failed. ok and
// warning answer HTTP 200, failing 503; a busy host is a warning.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace agentgres::sidecar {

struct HealthVerdict {
	std::string status; // ok, warning or failing
	std::vector<std::string> reasons;
	int http_status = 200;
};

// system: agentgres.system_health()'s JSON, or null when the database did
// not answer (database_error says why: "unreachable: ...", "locked: ...",
// "busy: ..."); failed_loops: this daemon's.
HealthVerdict JudgeHealth(const nlohmann::json &system, const std::string &database_error,
                          const std::vector<std::string> &failed_loops);

} // namespace agentgres::sidecar
