// chaos: a test aid, off unless agents.chaos.enabled. It throws every
// interval, exercising the coordinator's restart, failed state and alert.
#include <stdexcept>

#include "agents/agents.hpp"

namespace agentgres::sidecar {
namespace {

class ChaosLoop : public Loop {
public:
	std::string
	name() const override
	{
		return "chaos";
	}
	void
	Run(LoopContext &c) override
	{
		c.Progress();
		if (c.Sleep(c.config.agents_chaos_interval_s))
			throw std::runtime_error("chaos: deliberate crash");
	}
};

} // namespace

std::unique_ptr<Loop>
MakeChaosLoop()
{
	return std::make_unique<ChaosLoop>();
}

} // namespace agentgres::sidecar
