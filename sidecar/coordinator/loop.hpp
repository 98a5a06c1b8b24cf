// An agent loop and what it sees of the daemon.
//
// A loop's Run() returns when the daemon stops. It may throw: a DbError with
// connection_lost() makes the coordinator reconnect (with backoff) and call
// Run() again, which is not a crash; any other exception is a crash, and the
// loop is restarted with exponential backoff (and marked failed, with an
// alert, after repeated crashes). Each loop has its own connection and never
// keeps a transaction open while it waits or calls out.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>

#include "config/config.hpp"
#include "db/connection.hpp"

namespace agentgres::sidecar {

enum class LoopStatus { kStarting, kRunning, kRestarting, kFailed, kStopping, kStopped };
const char *LoopStatusName(LoopStatus status);

// Shared, thread-safe view of one loop (the coordinator writes it; the
// heartbeat loop and the HTTP server read it).
struct LoopState {
	std::string name;
	std::atomic<LoopStatus> status{LoopStatus::kStarting};
	std::atomic<std::int64_t> restarts{0};
	std::atomic<std::int64_t> last_progress_ms{0}; // steady clock
	std::atomic<std::int64_t> running_since_ms{0};
	mutable std::mutex error_mutex;
	std::string last_error;

	void
	SetError(const std::string &e)
	{
		std::lock_guard<std::mutex> lock(error_mutex);
		last_error = e;
	}
	std::string
	Error() const
	{
		std::lock_guard<std::mutex> lock(error_mutex);
		return last_error;
	}
};

std::int64_t SteadyMillis();

struct LoopContext {
	const Config &config;
	const std::atomic<bool> &stop;
	db::Connection &db;
	LoopState &state;
	std::string instance;        // host:pid, this process (part of worker ids)
	std::string daemon_instance; // host/listen address: whose loop records these are

	// Waits up to seconds or until the daemon stops; false when stopping.
	bool Sleep(double seconds) const;
	void
	Progress() const
	{
		state.last_progress_ms = SteadyMillis();
	}
};

class Loop {
public:
	virtual ~Loop() = default;
	virtual std::string name() const = 0;
	virtual void Run(LoopContext &context) = 0;
	// Called once when the daemon stops, with the connection if it is up.
	virtual void
	Shutdown(LoopContext &)
	{
	}
};

} // namespace agentgres::sidecar
