// worker: runs jobs from agentgres.jobs through a registry of handlers.
//
// Claim (a committed transaction), run the handler with no transaction open,
// then complete or fail in a new short transaction. NOTIFY on
// agentgres_jobs wakes the worker at once; otherwise it polls every poll_s.
// A job whose kind has no handler fails at once with a clear error. When the
// daemon stops in the middle of a job, the job is released (its attempt not
// counted); if the daemon dies, the job's lease runs out and it is claimed
// again.
#include <functional>
#include <map>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "agents/agents.hpp"
#include "metrics/metrics.hpp"
#include "log/log.hpp"

namespace agentgres::sidecar {
namespace {

struct Interrupted : std::runtime_error {
	Interrupted() : std::runtime_error("interrupted by shutdown") {}
};

using Handler = std::function<nlohmann::json(const nlohmann::json &payload, LoopContext &context)>;

const std::map<std::string, Handler> &
Handlers()
{
	static const std::map<std::string, Handler> handlers = {
	    // Echoes its payload: a probe that the queue and a worker work.
	    {"noop",
	     [](const nlohmann::json &payload, LoopContext &) {
		     return nlohmann::json{{"echo", payload}};
	     }},
	    // Sleeps payload.ms milliseconds (interruptible): for tests and drills.
	    {"sleep",
	     [](const nlohmann::json &payload, LoopContext &c) {
		     const double ms = payload.value("ms", 1000.0);
		     if (!c.Sleep(ms / 1000.0))
			     throw Interrupted();
		     return nlohmann::json{{"slept_ms", ms}};
	     }},
	    // Fails with payload.error: exercises retries and dead jobs.
	    {"fail",
	     [](const nlohmann::json &payload, LoopContext &) -> nlohmann::json {
		     throw std::runtime_error(payload.value("error", std::string("requested failure")));
	     }},
	    {"learning.train",
	     [](const nlohmann::json &payload, LoopContext &c) {
		     const db::Result r = c.db.Exec("SELECT agentgres.train_success_model($1)::text",
		                                    {payload.value("model", std::string("default"))});
		     return nlohmann::json::parse(r.String(0, 0));
	     }},
	    {"learning.refresh_insights",
	     [](const nlohmann::json &, LoopContext &c) {
		     const db::Result r = c.db.Exec("SELECT agentgres.refresh_insights()");
		     return nlohmann::json{{"insights", r.Int(0, 0)}};
	     }},
	    {"metrics.rollup",
	     [](const nlohmann::json &, LoopContext &c) {
		     const db::Result r = c.db.Exec("SELECT agentgres.rollup_metrics()");
		     return nlohmann::json{{"rows", r.Int(0, 0)}};
	     }},
	};
	return handlers;
}

class WorkerLoop : public Loop {
public:
	explicit WorkerLoop(std::string name) : name_(std::move(name)) {}
	std::string
	name() const override
	{
		return name_;
	}

	void
	Run(LoopContext &c) override
	{
		const std::string worker = c.instance + "/" + name_;
		const std::string lease = std::to_string(c.config.agents_worker_lease_s);
		const double poll = c.config.agents_worker_poll_s;
		c.db.Listen("agentgres_jobs");
		auto &registry = metrics::Registry::Global();
		while (!c.stop) {
			c.Progress();
			const db::Result claimed = c.db.Exec(
			    "SELECT id, kind, payload::text FROM agentgres.claim_jobs($1, NULL, 1, make_interval(secs => $2::int))",
			    {worker, lease});
			if (claimed.rows() == 0) {
				WaitForWork(c, poll);
				continue;
			}
			const std::string id = claimed.String(0, 0);
			const std::string kind = claimed.String(0, 1);
			held_ = id;
			const auto started = std::chrono::steady_clock::now();
			auto handler = Handlers().find(kind);
			if (handler == Handlers().end()) {
				c.db.Exec("SELECT agentgres.fail_job($1, $2, $3, false)",
				          {id, worker, "no handler for job kind \"" + kind + "\""});
				log::Warn("worker", "job of unknown kind failed", {{"job", id}, {"kind", kind}});
				registry.Add("agentgres_jobs_processed_total", {{"kind", kind}, {"outcome", "unknown_kind"}});
				held_.clear();
				continue;
			}
			try {
				const nlohmann::json result =
				    handler->second(nlohmann::json::parse(claimed.String(0, 2), nullptr, false), c);
				c.db.Exec("SELECT agentgres.complete_job($1, $2, $3::jsonb)", {id, worker, result.dump()});
				registry.Add("agentgres_jobs_processed_total", {{"kind", kind}, {"outcome", "done"}});
				log::Info("worker", "job done", {{"job", id}, {"kind", kind}});
			} catch (const Interrupted &) {
				c.db.Exec("SELECT agentgres.release_job($1, $2)", {id, worker});
				log::Info("worker", "job released at shutdown", {{"job", id}, {"kind", kind}});
				held_.clear();
				return;
			} catch (const db::DbError &e) {
				if (e.connection_lost())
					throw; // the lease brings the job back
				FailJob(c, worker, id, kind, e.what());
			} catch (const std::exception &e) {
				FailJob(c, worker, id, kind, e.what());
			}
			held_.clear();
			registry.Observe("agentgres_job_duration_seconds", {{"kind", kind}},
			                 std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
		}
	}

	void
	Shutdown(LoopContext &c) override
	{
		if (held_.empty() || !c.db.Ok())
			return;
		c.db.Exec("SELECT agentgres.release_job($1, $2)", {held_, c.instance + "/" + name_});
		log::Info("worker", "job released at shutdown", {{"job", held_}});
		held_.clear();
	}

private:
	static void
	FailJob(LoopContext &c, const std::string &worker, const std::string &id, const std::string &kind,
	        const std::string &error)
	{
		const db::Result r = c.db.Exec("SELECT agentgres.fail_job($1, $2, $3)", {id, worker, error});
		log::Warn("worker", "job failed", {{"job", id}, {"kind", kind}, {"error", error}, {"now", r.String(0, 0)}});
		metrics::Registry::Global().Add("agentgres_jobs_processed_total", {{"kind", kind}, {"outcome", "failed"}});
	}

	// Waits for a NOTIFY, at most poll seconds, in slices so a stop is seen.
	static void
	WaitForWork(LoopContext &c, double poll)
	{
		const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(poll);
		while (!c.stop && std::chrono::steady_clock::now() < until)
			if (c.db.WaitForNotification(std::chrono::milliseconds(200)))
				return;
	}

	std::string name_;
	std::string held_;
};

} // namespace

std::unique_ptr<Loop>
MakeWorkerLoop(std::string name)
{
	return std::make_unique<WorkerLoop>(std::move(name));
}

} // namespace agentgres::sidecar
