#include "api/filters.hpp"

#include <nlohmann/json.hpp>

#include "core/utf8.hpp"

namespace agentgres::sidecar::api {

const std::vector<std::string> &
JobStates()
{
	static const std::vector<std::string> states = {"queued", "running", "done", "dead", "cancelled"};
	return states;
}

const std::vector<std::string> &
AgentStatuses()
{
	static const std::vector<std::string> states = {"registered", "starting", "running", "degraded",
	                                                "stopping",   "stopped",  "failed"};
	return states;
}

const std::vector<std::string> &
AlertStatuses()
{
	static const std::vector<std::string> states = {"open", "acknowledged", "resolved"};
	return states;
}

std::string
CheckState(std::string_view noun, const std::vector<std::string> &valid, std::string_view value)
{
	for (const std::string &v : valid)
		if (value == v)
			return v;
	std::string list;
	for (const std::string &v : valid)
		list += (list.empty() ? "" : ", ") + v;
	// "job state" -> "states", "agent status" -> "statuses"
	std::string plural(noun.substr(noun.rfind(' ') + 1));
	plural += plural.back() == 's' ? "es" : "s";
	// Quote no more than a line of what was sent.
	const std::string given =
	    value.empty() ? "empty " + std::string(noun)
	                  : "unknown " + std::string(noun) + " \"" + std::string(core::utf8::Prefix(value, 64)) + "\"";
	throw BadRequest(given + "; valid " + plural + " are " + list);
}

int
ParseLimit(std::string_view text)
{
	const std::string message = "limit must be an integer from 1 to " + std::to_string(kMaxLimit);
	if (text.empty())
		throw BadRequest(message + ", not empty");
	if (text.size() > 9) // more would overflow, and is out of range anyway
		throw BadRequest(
		    message + ", not \"" + std::string(core::utf8::Prefix(text, 24)) + (text.size() > 24 ? "...\"" : "\""));
	int value = 0;
	for (char c : text) {
		if (c < '0' || c > '9')
			throw BadRequest(message + ", not \"" + std::string(text) + "\"");
		value = value * 10 + (c - '0');
	}
	if (value < 1 || value > kMaxLimit)
		throw BadRequest(message + ", not " + std::to_string(value));
	return value;
}

ListQuery
ParseListQuery(const std::multimap<std::string, std::string> &params, std::string_view noun,
               const std::vector<std::string> &valid)
{
	ListQuery query;
	for (const auto &[name, value] : params) {
		if (name != "state" && name != "limit")
			throw BadRequest("unknown parameter \"" + std::string(core::utf8::Prefix(name, 64)) +
			                 "\"; parameters are state and limit");
		if (params.count(name) > 1)
			throw BadRequest("parameter \"" + name + "\" given more than once");
		if (name == "state")
			query.state = CheckState(noun, valid, value);
		else
			query.limit = ParseLimit(value);
	}
	return query;
}

std::string
ErrorBody(std::string_view message)
{
	return nlohmann::json({{"error", message}}).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace agentgres::sidecar::api
