// heartbeat: writes each loop's heartbeat, raises an alert when an agent's
// heartbeat is stale and resolves it when it returns, resolves a loop's crash
// alert once it has run steadily for a minute, and exports heartbeat ages.
#include <set>

#include <nlohmann/json.hpp>

#include "agents/agents.hpp"
#include "coordinator/coordinator.hpp"
#include "metrics/metrics.hpp"
#include "log/log.hpp"
#include "util/text.hpp"

namespace agentgres::sidecar {

std::string
StaleMessage(const std::string &agent, double silent_s)
{
	return "agent " + agent + " has sent no heartbeat for " + text::Duration(silent_s);
}

namespace {

class HeartbeatLoop : public Loop {
public:
	explicit HeartbeatLoop(const Coordinator &coordinator) : coordinator_(coordinator) {}
	std::string
	name() const override
	{
		return "heartbeat";
	}

	void
	Run(LoopContext &c) override
	{
		const double interval = c.config.agents_heartbeat_interval_s;
		const std::string stale = std::to_string(c.config.agents_heartbeat_stale_after_s);
		// Records of this instance (bound exclusively: none other runs it) for
		// loops this process does not run are a killed predecessor's with
		// other settings (worker-1, worker-2 before a concurrency of 1):
		// stopped, not left to go stale.
		nlohmann::json mine = nlohmann::json::array();
		for (const auto &s : coordinator_.states())
			mine.push_back(s->name);
		// Batches lock agents in name order, so two daemons never deadlock.
		c.db.Exec("SELECT agentgres.set_loop_status(s.instance, s.agent, 'stopped') FROM ("
		          "SELECT i.instance, i.agent FROM agentgres.agent_instances i "
		          "WHERE i.instance = $1 AND i.status <> 'stopped' "
		          "AND i.agent NOT IN (SELECT jsonb_array_elements_text($2::jsonb)) ORDER BY i.agent) AS s",
		          {c.daemon_instance, mine.dump()});
		do {
			c.Progress();
			// One statement for every running loop's heartbeat (and for the
			// crash alerts of loops that have now run steadily for a minute).
			const std::int64_t now = SteadyMillis();
			nlohmann::json beats = nlohmann::json::array();
			nlohmann::json steady = nlohmann::json::array();
			for (const auto &s : coordinator_.states()) {
				if (s->status != LoopStatus::kRunning)
					continue;
				beats.push_back({{"agent", s->name},
				                 {"details",
				                  {{"restarts", s->restarts.load()},
				                   {"idle_s", (now - s->last_progress_ms) / 1000.0},
				                   {"instance", c.daemon_instance},
				                   {"process", c.instance}}}});
				if (now - s->running_since_ms > 60000 && s->restarts > 0)
					steady.push_back(s->name);
			}
			c.db.Exec("SELECT agentgres.loop_heartbeat($2, s.b ->> 'agent', s.b -> 'details') "
			          "FROM (SELECT b FROM jsonb_array_elements($1::jsonb) AS b ORDER BY b ->> 'agent') AS s",
			          {beats.dump(), c.daemon_instance});
			if (!steady.empty())
				c.db.Exec(
				    "SELECT agentgres.resolve_alert('loop_crashed', a) FROM jsonb_array_elements_text($1::jsonb) AS a",
				    {steady.dump()});
			// Stale agents (of any process) alert; the others resolve. One
			// definition of stale: the database's stale_agents(), given the
			// stale_after that system_health() gets too.
			const db::Result silent =
			    c.db.Exec("SELECT name, extract(epoch FROM silent_for)::float8 "
			              "FROM agentgres.stale_agents(make_interval(secs => $1::int)) ORDER BY name",
			              {stale});
			nlohmann::json stale_agents = nlohmann::json::array();
			std::set<std::string> names;
			for (int r = 0; r < silent.rows(); ++r) {
				stale_agents.push_back({{"agent", silent.String(r, 0)},
				                        {"message", StaleMessage(silent.String(r, 0), silent.Number(r, 1))}});
				names.insert(silent.String(r, 0));
			}
			c.db.Exec("SELECT agentgres.raise_alert('stale_heartbeat', s ->> 'agent', 'warning', s ->> 'message') "
			          "FROM jsonb_array_elements($1::jsonb) AS s",
			          {stale_agents.dump()});
			c.db.Exec("SELECT agentgres.resolve_alert(a.rule, a.subject) FROM agentgres.alerts a "
			          "WHERE a.rule = 'stale_heartbeat' AND a.status <> 'resolved' "
			          "AND a.subject NOT IN (SELECT jsonb_array_elements($1::jsonb) ->> 'agent')",
			          {stale_agents.dump()});
			// Log changes, not every cycle.
			for (const std::string &n : names)
				if (!stale_.count(n))
					log::Warn("heartbeat", "stale agent", {{"agent", n}});
			for (const std::string &n : stale_)
				if (!names.count(n))
					log::Info("heartbeat", "agent no longer stale", {{"agent", n}});
			stale_ = std::move(names);
			const db::Result ages = c.db.Exec(
			    "SELECT name, extract(epoch FROM now() - last_heartbeat_at) FROM agentgres.agents "
			    "WHERE last_heartbeat_at IS NOT NULL");
			auto &registry = metrics::Registry::Global();
			registry.ResetGauge("agentgres_heartbeat_age_seconds");
			for (int r = 0; r < ages.rows(); ++r)
				registry.Set("agentgres_heartbeat_age_seconds", {{"agent", ages.String(r, 0)}}, ages.Number(r, 1));
		} while (c.Sleep(interval));
	}

private:
	const Coordinator &coordinator_;
	std::set<std::string> stale_;
};

} // namespace

std::unique_ptr<Loop>
MakeHeartbeatLoop(const Coordinator &coordinator)
{
	return std::make_unique<HeartbeatLoop>(coordinator);
}

} // namespace agentgres::sidecar
