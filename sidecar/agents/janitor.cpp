// janitor: retention (heartbeats, raw metrics after their rollup, events and
// finished jobs older than retention_days) and hourly/daily metric rollups.
#include "agents/agents.hpp"
#include "log/log.hpp"

namespace agentgres::sidecar {
namespace {

class JanitorLoop : public Loop {
public:
	std::string
	name() const override
	{
		return "janitor";
	}

	void
	Run(LoopContext &c) override
	{
		const double interval = c.config.agents_janitor_interval_s;
		const std::string days = std::to_string(c.config.agents_janitor_retention_days);
		do {
			c.Progress();
			const db::Result r =
			    c.db.Exec("SELECT * FROM agentgres.purge_history(make_interval(days => $1::int))", {days});
			log::Info("janitor", "retention and rollups done",
			          {{"heartbeats", r.Int(0, 0)},
			           {"metrics", r.Int(0, 1)},
			           {"events", r.Int(0, 2)},
			           {"jobs", r.Int(0, 3)}});
		} while (c.Sleep(interval));
	}
};

} // namespace

std::unique_ptr<Loop>
MakeJanitorLoop()
{
	return std::make_unique<JanitorLoop>();
}

} // namespace agentgres::sidecar
