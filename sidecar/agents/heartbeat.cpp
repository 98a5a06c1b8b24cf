// heartbeat: writes each loop's heartbeat, raises an alert when an agent's
// heartbeat is stale and resolves it when it returns, resolves a loop's crash
// alert once it has run steadily for a minute, and exports heartbeat ages.
#include <nlohmann/json.hpp>

#include "agents/agents.hpp"
#include "coordinator/coordinator.hpp"
#include "http/metrics.hpp"
#include "log/log.hpp"

namespace agentgres::sidecar {
namespace {

class HeartbeatLoop : public Loop {
public:
	explicit HeartbeatLoop(const Coordinator &coordinator) : coordinator_(coordinator) {}
	std::string name() const override { return "heartbeat"; }

	void
	Run(LoopContext &c) override
	{
		const double interval = c.config.Number("agents.heartbeat.interval_s");
		const std::string stale = std::to_string(c.config.Int("agents.heartbeat.stale_after_s")) + " seconds";
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
				                   {"instance", c.instance}}}});
				if (now - s->running_since_ms > 60000 && s->restarts > 0)
					steady.push_back(s->name);
			}
			c.db.Exec("SELECT agentgres.heartbeat(b ->> 'agent', 'ok', b -> 'details') "
			          "FROM jsonb_array_elements($1::jsonb) AS b",
			          {beats.dump()});
			if (!steady.empty())
				c.db.Exec("SELECT agentgres.resolve_alert('loop_crashed', a) FROM jsonb_array_elements_text($1::jsonb) AS a",
				          {steady.dump()});
			// Stale agents (of any process) alert; fresh ones resolve.
			const db::Result raised = c.db.Exec(
			    "SELECT a.name, agentgres.raise_alert('stale_heartbeat', a.name, 'warning', "
			    "  format('no heartbeat from agent %s for %s', a.name, "
			    "         coalesce(date_trunc('second', now() - a.last_heartbeat_at)::text, 'ever'))) "
			    "FROM agentgres.agents a WHERE a.status IN ('running', 'degraded') "
			    "AND (a.last_heartbeat_at IS NULL OR a.last_heartbeat_at < now() - $1::interval)",
			    {stale});
			for (int r = 0; r < raised.rows(); ++r)
				log::Warn("heartbeat", "stale agent", {{"agent", raised.String(r, 0)}});
			c.db.Exec("SELECT agentgres.resolve_alert('stale_heartbeat', a.name) FROM agentgres.agents a "
			          "WHERE a.last_heartbeat_at >= now() - $1::interval OR a.status IN ('stopped', 'registered')",
			          {stale});
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
};

} // namespace

std::unique_ptr<Loop>
MakeHeartbeatLoop(const Coordinator &coordinator)
{
	return std::make_unique<HeartbeatLoop>(coordinator);
}

} // namespace agentgres::sidecar
