// The HTTP surface: /health, /metrics, /api/agents, /api/alerts, /api/jobs.
// A bearer token, when set, protects everything except /health.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "config/config.hpp"
#include "coordinator/coordinator.hpp"

namespace httplib {
class Server;
}

namespace agentgres::sidecar {

struct ListenAddress {
	std::string host;
	int port;
	bool loopback;
};

// Parses "host:port" or "[v6]:port"; throws std::runtime_error.
ListenAddress ParseListenAddress(const std::string &text);

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
