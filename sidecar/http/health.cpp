#include "http/health.hpp"

namespace agentgres::sidecar {
namespace {

int
Rank(const std::string &status)
{
	return status == "ok" ? 0 : status == "warning" ? 1 : 2;
}

} // namespace

HealthVerdict
JudgeHealth(const nlohmann::json &system, const std::string &database_error,
            const std::vector<std::string> &failed_loops)
{
	HealthVerdict v;
	std::string status = "ok";
	const auto worsen = [&](const std::string &to) {
		if (Rank(to) > Rank(status))
			status = to;
	};
	if (!database_error.empty()) {
		worsen("failing");
		v.reasons.push_back("database " + database_error);
	}
	for (const std::string &loop : failed_loops) {
		worsen("failing");
		v.reasons.push_back("loop " + loop + " failed in this daemon");
	}
	if (system.is_object()) {
		const std::string s = system.value("status", std::string());
		if (s == "ok" || s == "warning" || s == "failing")
			worsen(s);
		else if (s == "degraded") // extension before 0.4.0
			worsen("warning");
		else {
			worsen("failing");
			v.reasons.push_back("system_health() answered an unknown status \"" + s + "\"");
		}
		if (const auto r = system.find("reasons"); r != system.end() && r->is_array())
			for (const auto &reason : *r)
				if (reason.is_string())
					v.reasons.push_back(reason.get<std::string>());
	} else if (database_error.empty()) {
		worsen("failing");
		v.reasons.push_back("system_health() answered nothing");
	}
	v.status = status;
	v.http_status = status == "failing" ? 503 : 200;
	return v;
}

} // namespace agentgres::sidecar
