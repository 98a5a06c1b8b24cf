#include "coordinator/coordinator.hpp"

#include <unistd.h>

#include <deque>
#include <thread>

#include <nlohmann/json.hpp>

#include "metrics/metrics.hpp"
#include "log/log.hpp"

namespace agentgres::sidecar {

const char *
LoopStatusName(LoopStatus status)
{
	switch (status) {
	case LoopStatus::kStarting:
		return "starting";
	case LoopStatus::kRunning:
		return "running";
	case LoopStatus::kRestarting:
		return "restarting";
	case LoopStatus::kFailed:
		return "failed";
	case LoopStatus::kStopping:
		return "stopping";
	case LoopStatus::kStopped:
		return "stopped";
	}
	return "unknown";
}

std::int64_t
SteadyMillis()
{
	return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
	    .count();
}

bool
LoopContext::Sleep(double seconds) const
{
	const auto until =
	    std::chrono::steady_clock::now() +
	    std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
	while (!stop) {
		const auto now = std::chrono::steady_clock::now();
		if (now >= until)
			return true;
		const std::chrono::steady_clock::duration slice = std::chrono::milliseconds(50);
		std::this_thread::sleep_for(std::min(until - now, slice));
	}
	return false;
}

namespace {

std::string
Hostname()
{
	char buffer[256] = {0};
	if (gethostname(buffer, sizeof buffer - 1) != 0)
		return "localhost";
	return buffer;
}

// Best effort: the database may be the reason we are here. Recorded as this
// instance's loop: another daemon's record of the same loop is its own.
void
RecordStatus(db::Connection &db, const std::string &instance, const std::string &name, const std::string &status,
             const std::string &error = {})
{
	static const std::string host = Hostname();
	static const std::string pid = std::to_string(getpid());
	try {
		if (db.Ok())
			db.Exec("SELECT agentgres.set_loop_status($1, $2, $3, $4, $5, $6)",
			        {instance, name, status, error.empty() ? db::Param() : db::Param(error), host, pid});
	} catch (const std::exception &e) {
		log::Warn("coordinator", "could not record status", {{"loop", name}, {"status", status}, {"error", e.what()}});
	}
}

void
SetLoopUp(const LoopState &state, bool up)
{
	metrics::Registry::Global().Set("agentgres_loop_up", {{"loop", state.name}}, up ? 1 : 0);
}

} // namespace

Coordinator::Coordinator(const Config &config)
    : config_(config), instance_(Hostname() + "/" + config.http_listen),
      process_(Hostname() + ":" + std::to_string(getpid()))
{
}

Coordinator::~Coordinator()
{
	Stop();
}

void
Coordinator::Add(std::unique_ptr<Loop> loop)
{
	auto state = std::make_unique<LoopState>();
	state->name = loop->name();
	loops_.push_back(std::move(loop));
	states_.push_back(std::move(state));
}

void
Coordinator::Start()
{
	for (std::size_t i = 0; i < loops_.size(); ++i) {
		SetLoopUp(*states_[i], false);
		metrics::Registry::Global().Add("agentgres_loop_restarts_total", {{"loop", states_[i]->name}}, 0);
		threads_.emplace_back([this, i] { Supervise(i); });
	}
}

bool
Coordinator::Stop()
{
	stop_ = true;
	const auto deadline = std::chrono::steady_clock::now() +
	                      std::chrono::duration<double>(config_.coordinator_shutdown_grace_s);
	while (finished_ < static_cast<int>(threads_.size()) && std::chrono::steady_clock::now() < deadline)
		std::this_thread::sleep_for(std::chrono::milliseconds(20));
	const bool all = finished_ >= static_cast<int>(threads_.size());
	for (std::thread &t : threads_) {
		if (all)
			t.join();
		else
			t.detach(); // the process exits next; a loop stuck in a call cannot hold it up
	}
	threads_.clear();
	return all;
}

void
Coordinator::Supervise(std::size_t index)
{
	Loop &loop = *loops_[index];
	LoopState &state = *states_[index];
	const std::string &name = state.name;
	db::Connection db(config_.database_dsn, "agentgresd/" + name, static_cast<int>(config_.database_connect_timeout_s));
	LoopContext context{config_, stop_, db, state, process_, instance_};
	const auto max_wait = std::chrono::seconds(config_.database_reconnect_max_s);
	const double backoff_initial = config_.coordinator_restart_backoff_initial_s;
	const double backoff_max = config_.coordinator_restart_backoff_max_s;
	const auto max_crashes = config_.coordinator_max_crashes;
	const auto window_ms = config_.coordinator_crash_window_s * 1000;
	std::deque<std::int64_t> crashes;
	double backoff = backoff_initial;
	bool registered = false;

	while (!stop_) {
		if (!db.EnsureConnected(stop_, max_wait))
			break;
		try {
			if (!registered) {
				db.Exec("SELECT agentgres.register_agent($1, 'loop', '{}')", {name});
				registered = true;
			}
			state.status = LoopStatus::kStarting;
			RecordStatus(db, instance_, name, "starting");
			state.status = LoopStatus::kRunning;
			state.running_since_ms = SteadyMillis();
			state.last_progress_ms = SteadyMillis();
			RecordStatus(db, instance_, name, "running");
			SetLoopUp(state, true);
			log::Info("coordinator", "loop running", {{"loop", name}});
			loop.Run(context);
			break; // returned: the daemon is stopping
		} catch (const db::DbError &e) {
			SetLoopUp(state, false);
			if (e.connection_lost()) {
				state.status = LoopStatus::kRestarting;
				state.SetError(e.what());
				log::Warn("coordinator", "database connection lost", {{"loop", name}, {"error", e.what()}});
				continue; // reconnects with backoff; not a crash
			}
			state.SetError(e.what());
		} catch (const std::exception &e) {
			SetLoopUp(state, false);
			state.SetError(e.what());
		}
		if (stop_)
			break;

		// A crash: count it, record it, back off, restart. A loop that ran
		// for a minute before crashing starts again from the shortest backoff.
		const std::int64_t now = SteadyMillis();
		if (now - state.running_since_ms > 60000)
			backoff = backoff_initial;
		crashes.push_back(now);
		while (!crashes.empty() && crashes.front() < now - window_ms)
			crashes.pop_front();
		++state.restarts;
		metrics::Registry::Global().Add("agentgres_loop_restarts_total", {{"loop", name}});
		const bool failed = static_cast<std::int64_t>(crashes.size()) >= max_crashes;
		state.status = failed ? LoopStatus::kFailed : LoopStatus::kRestarting;
		const std::string error = state.Error();
		log::Error("coordinator", failed ? "loop failed" : "loop crashed, restarting",
		           {{"loop", name}, {"error", error}, {"crashes_in_window", crashes.size()}, {"retry_in_s", backoff}});
		RecordStatus(db, instance_, name, failed ? "failed" : "degraded", error);
		try {
			if (db.Ok())
				db.Exec("SELECT agentgres.raise_alert('loop_crashed', $1, $2, $3, $4::jsonb)",
				        {name, failed ? "critical" : "warning",
				         "agent loop " + name + (failed ? " failed after repeated crashes: " : " crashed: ") + error,
				         nlohmann::json({{"crashes_in_window", crashes.size()}, {"restarts", state.restarts.load()}})
				             .dump()});
		} catch (const std::exception &e) {
			log::Warn("coordinator", "could not raise alert", {{"loop", name}, {"error", e.what()}});
		}
		if (failed) {
			// Given up: the loop stays failed (and /health unhealthy) until
			// the daemon is restarted.
			while (context.Sleep(1.0)) {
			}
			break;
		}
		context.Sleep(backoff);
		backoff = std::min(backoff_max, backoff * 2);
	}

	SetLoopUp(state, false);
	state.status = LoopStatus::kStopping;
	RecordStatus(db, instance_, name, "stopping");
	try {
		loop.Shutdown(context);
	} catch (const std::exception &e) {
		log::Warn("coordinator", "loop shutdown failed", {{"loop", name}, {"error", e.what()}});
	}
	RecordStatus(db, instance_, name, "stopped");
	state.status = LoopStatus::kStopped;
	log::Info("coordinator", "loop stopped", {{"loop", name}});
	++finished_;
}

} // namespace agentgres::sidecar
