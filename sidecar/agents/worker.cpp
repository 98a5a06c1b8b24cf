// worker: runs jobs from agentgres.jobs through a registry of handlers.
//
// Claim (a committed transaction), run the handler with no transaction open,
// then complete or fail in a new short transaction. NOTIFY on
// agentgres_jobs wakes the worker at once; otherwise it polls every poll_s.
// The worker claims only the kinds it has handlers for: other kinds belong to
// the application's own workers. While a handler runs, a lease keeper (a
// thread with its own connection) renews the job's lease every lease_s / 3;
// when the job is lost (cancelled, or requeued after a missed renewal and
// perhaps claimed by another worker) the handler is stopped where it can be,
// and the run never completes or fails the job: it logs and moves on. When
// the daemon stops in the middle of a job, the job is released (its attempt
// not counted); if the daemon dies, the job's lease runs out and it is
// claimed again.
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

#include "agents/agents.hpp"
#include "agents/job_errors.hpp"
#include "knowledge/embedding_job.hpp"
#include "knowledge/indexer.hpp"
#include "metrics/metrics.hpp"
#include "log/log.hpp"

namespace agentgres::sidecar {
namespace {

using Interrupted = JobInterrupted;

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
	    // enqueue() checks the payloads of these kinds (sql/jobs.sql): keep
	    // the two in step.
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
	    // Indexes payload.paths (default: knowledge.sources) into
	    // payload.collection; a failed file fails the job (retried).
	    {"knowledge.index",
	     [](const nlohmann::json &payload, LoopContext &c) {
		     nlohmann::json result = knowledge::RunIndexJob(payload, c);
		     if (c.stop)
			     throw Interrupted(); // released, not done: it runs again
		     return result;
	     }},
	    // Fills the embeddings of an external-embedder collection's document.
	    {"knowledge.embed", knowledge::RunEmbedJob},
	    // Trains an lsa collection's embedder and re-embeds its chunks (asked
	    // for by ingest_document as the collection grows).
	    {"knowledge.train",
	     [](const nlohmann::json &payload, LoopContext &c) {
		     const db::Result r =
		         c.db.Exec("SELECT agentgres.train_embedder($1)::text", {payload.value("collection", std::string())});
		     return nlohmann::json::parse(r.String(0, 0));
	     }},
	    {"metrics.rollup",
	     [](const nlohmann::json &, LoopContext &c) {
		     const db::Result r = c.db.Exec("SELECT agentgres.rollup_metrics()");
		     return nlohmann::json{{"rows", r.Int(0, 0)}};
	     }},
	};
	return handlers;
}

// Renews a claimed job's lease while its handler runs, on its own connection
// (the handler may be using the loop's). Sets abort, which the handler's
// context uses as its stop flag, when the daemon stops or the job is lost.
class LeaseKeeper {
public:
	LeaseKeeper(db::Connection &db, const LoopContext &loop, std::string id, std::string worker, int lease_s)
	    : db_(db), loop_(loop), id_(std::move(id)), worker_(std::move(worker)), lease_(std::to_string(lease_s)),
	      period_(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
	          std::chrono::duration<double>(lease_s / 3.0)))
	{
		thread_ = std::thread([this] { Keep(); });
	}
	~LeaseKeeper() { Stop(); }
	LeaseKeeper(const LeaseKeeper &) = delete;
	LeaseKeeper &operator=(const LeaseKeeper &) = delete;

	void
	Stop()
	{
		{
			std::lock_guard<std::mutex> lock(mutex_);
			done_ = true;
		}
		wake_.notify_all();
		if (thread_.joinable())
			thread_.join();
	}
	bool
	lost() const
	{
		return lost_;
	}
	const std::atomic<bool> &
	abort() const
	{
		return abort_;
	}

private:
	void
	Keep()
	{
		auto next = std::chrono::steady_clock::now() + period_;
		bool warned = false;
		std::unique_lock<std::mutex> lock(mutex_);
		while (!done_) {
			// Short slices, so a daemon stop reaches the handler at once.
			wake_.wait_for(lock, std::chrono::milliseconds(50));
			if (done_)
				break;
			if (loop_.stop)
				abort_ = true;
			if (std::chrono::steady_clock::now() < next)
				continue;
			next = std::chrono::steady_clock::now() + period_;
			lock.unlock();
			try {
				if (!db_.Ok())
					db_.Connect();
				const db::Result r = db_.Exec("SELECT agentgres.renew_lease($1, $2, make_interval(secs => $3::int))",
				                              {id_, worker_, lease_});
				if (r.String(0, 0) != "t") {
					lost_ = true;
					abort_ = true;
					return;
				}
				loop_.Progress();
				warned = false;
			} catch (const std::exception &e) {
				// The job runs on; if renewals keep failing the lease runs
				// out and the job is found lost when it is settled.
				if (!warned)
					log::Warn("worker", "could not renew a job's lease", {{"job", id_}, {"error", e.what()}});
				warned = true;
			}
			lock.lock();
		}
	}

	db::Connection &db_;
	const LoopContext &loop_;
	const std::string id_;
	const std::string worker_;
	const std::string lease_;
	const std::chrono::steady_clock::duration period_;
	std::mutex mutex_;
	std::condition_variable wake_;
	bool done_ = false;
	std::atomic<bool> lost_{false};
	std::atomic<bool> abort_{false};
	std::thread thread_;
};

// The kinds this worker claims, as a text[] literal.
std::string
KindsArray()
{
	std::string kinds = "{";
	for (const auto &[kind, handler] : Handlers())
		kinds += (kinds.size() > 1 ? ",\"" : "\"") + kind + "\"";
	return kinds + "}";
}

// complete_job and fail_job refuse (55000) a job the worker no longer holds.
bool
NotHeld(const db::DbError &e)
{
	return e.sqlstate() == "55000";
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
		const int lease_s = static_cast<int>(c.config.agents_worker_lease_s);
		const std::string lease = std::to_string(lease_s);
		const std::string kinds = KindsArray();
		const double poll = c.config.agents_worker_poll_s;
		if (!lease_db_)
			lease_db_ = std::make_unique<db::Connection>(c.config.database_dsn, "agentgresd/" + name_ + "/lease",
			                                             static_cast<int>(c.config.database_connect_timeout_s));
		c.db.Listen("agentgres_jobs");
		auto &registry = metrics::Registry::Global();
		while (!c.stop) {
			c.Progress();
			const db::Result claimed =
			    c.db.Exec("SELECT id, kind, payload::text FROM agentgres.claim_jobs($1, $2::text[], 1, "
			              "make_interval(secs => $3::int))",
			              {worker, kinds, lease});
			if (claimed.rows() == 0) {
				WaitForWork(c, poll);
				continue;
			}
			const std::string id = claimed.String(0, 0);
			const std::string kind = claimed.String(0, 1);
			held_ = id;
			const auto started = std::chrono::steady_clock::now();
			const Handler &handler = Handlers().at(kind); // claimed by kind
			LeaseKeeper keeper(*lease_db_, c, id, worker, lease_s);
			LoopContext job{c.config, keeper.abort(), c.db, c.state, c.instance, c.daemon_instance};
			bool completing = false; // a 55000 then means the job was lost, not that the handler failed
			try {
				const nlohmann::json result = handler(nlohmann::json::parse(claimed.String(0, 2), nullptr, false), job);
				keeper.Stop();
				if (keeper.lost()) {
					Lost(c, id, kind);
				} else {
					completing = true;
					c.db.Exec("SELECT agentgres.complete_job($1, $2, $3::jsonb)", {id, worker, result.dump()});
					registry.Add("agentgres_jobs_processed_total", {{"kind", kind}, {"outcome", "done"}});
					log::Info("worker", "job done", {{"job", id}, {"kind", kind}});
				}
			} catch (const Interrupted &) {
				keeper.Stop();
				if (keeper.lost()) {
					Lost(c, id, kind);
				} else {
					c.db.Exec("SELECT agentgres.release_job($1, $2)", {id, worker});
					log::Info("worker", "job released at shutdown", {{"job", id}, {"kind", kind}});
					held_.clear();
					return;
				}
			} catch (const db::DbError &e) {
				keeper.Stop();
				if (e.connection_lost())
					throw; // the lease brings the job back
				if (completing && NotHeld(e))
					Lost(c, id, kind);
				else
					FailJob(c, worker, id, kind, e.what());
			} catch (const PermanentJobError &e) {
				keeper.Stop();
				FailJob(c, worker, id, kind, e.what(), false);
			} catch (const std::exception &e) {
				keeper.Stop();
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
	        const std::string &error, bool retry = true)
	{
		try {
			// retry = false: dead at once (a PermanentJobError).
			const db::Result r = c.db.Exec("SELECT agentgres.fail_job($1, $2, $3, $4::boolean)",
			                               {id, worker, error, retry ? "true" : "false"});
			log::Warn("worker", "job failed", {{"job", id}, {"kind", kind}, {"error", error}, {"now", r.String(0, 0)}});
			metrics::Registry::Global().Add("agentgres_jobs_processed_total", {{"kind", kind}, {"outcome", "failed"}});
		} catch (const db::DbError &e) {
			if (e.connection_lost() || !NotHeld(e))
				throw;
			Lost(c, id, kind);
		}
	}

	// The job is no longer this worker's: cancelled (a normal outcome), or
	// requeued after its lease ran out and perhaps claimed by another worker.
	// Either way this run leaves it alone.
	static void
	Lost(LoopContext &c, const std::string &id, const std::string &kind)
	{
		const db::Result r =
		    c.db.Exec("SELECT state, coalesce(locked_by, '') FROM agentgres.jobs WHERE id = $1::bigint", {id});
		const std::string state = r.rows() ? r.String(0, 0) : "deleted";
		if (state == "cancelled") {
			log::Info("worker", "job cancelled while running", {{"job", id}, {"kind", kind}});
			metrics::Registry::Global().Add("agentgres_jobs_processed_total",
			                                {{"kind", kind}, {"outcome", "cancelled"}});
			return;
		}
		log::Warn("worker", "job lost: its lease ran out and it is no longer this worker's",
		          {{"job", id}, {"kind", kind}, {"state", state}, {"locked_by", r.rows() ? r.String(0, 1) : ""}});
		metrics::Registry::Global().Add("agentgres_jobs_processed_total", {{"kind", kind}, {"outcome", "lost"}});
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
	std::unique_ptr<db::Connection> lease_db_; // the lease keeper's
};

} // namespace

std::unique_ptr<Loop>
MakeWorkerLoop(std::string name)
{
	return std::make_unique<WorkerLoop>(std::move(name));
}

} // namespace agentgres::sidecar
