// The HTTP surface: /health, /metrics, /api/agents, /api/alerts, /api/jobs.
// A bearer token, when set, protects everything except /health. Every error
// answers a JSON body {"error": "..."}: 400 for a bad filter, 404 for an
// unknown path, 405 (with Allow) for a method the route does not take, 503
// when the database is unreachable or every pooled connection is busy. The
// database is reached through a small pool (http.db_pool_size) whose
// connections carry statement_timeout and lock_timeout.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "coordinator/coordinator.hpp"

namespace httplib {
class Server;
}

namespace agentgres::sidecar {

struct ListenAddress {
	std::string host;
	int port;
	bool loopback;                      // resolved, and every address is loopback
	std::vector<std::string> addresses; // numeric, as resolved
	std::string resolve_error;          // why the host did not resolve, if it did not
};

// Parses "host:port" or "[v6]:port" (throws std::runtime_error) and resolves
// the host (getaddrinfo): a name that does not resolve is not loopback.
ListenAddress ParseListenAddress(const std::string &text);

struct RouteSpec {
	std::string pattern;              // "/api/jobs", "/api/sessions/{id}"
	std::vector<std::string> methods; // "GET", "POST", ...
};

// The server's routes: their patterns are the only values of the route label
// of agentgres_http_requests_total (plus "unmatched"), so clients cannot grow
// /metrics without bound.
const std::vector<RouteSpec> &HttpRoutes();

struct RouteDecision {
	std::string label; // the matching pattern, or "unmatched"
	int status = 0;    // 0: serve it; 404: no route; 405: method not allowed
	std::string allow; // for 405: "GET, HEAD"
};
// "{name}" in a pattern matches one non-empty path segment.
bool PatternMatches(std::string_view pattern, std::string_view path);
RouteDecision DecideRoute(const std::vector<RouteSpec> &routes, std::string_view method, std::string_view path);

class HttpServer {
public:
	HttpServer(const Config &config, const Coordinator &coordinator);
	~HttpServer();
	// Binds (throws std::runtime_error if it cannot) and serves in a thread.
	void Start();
	void Stop();

private:
	struct Impl;
	std::unique_ptr<Impl> impl_;
	std::thread thread_;
};

} // namespace agentgres::sidecar
