// The agent loops of this issue: heartbeat, perfmon, janitor, worker, and a
// chaos loop for tests.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "coordinator/loop.hpp"

namespace agentgres::sidecar {

class Coordinator;

std::unique_ptr<Loop> MakeHeartbeatLoop(const Coordinator &coordinator);
std::unique_ptr<Loop> MakePerfmonLoop();
std::unique_ptr<Loop> MakeJanitorLoop();
// name: "worker", or "worker-N" when several run (agents.worker.concurrency).
std::unique_ptr<Loop> MakeWorkerLoop(std::string name);
std::unique_ptr<Loop> MakeChaosLoop();

// The stale_heartbeat alert's message: "agent janitor has sent no heartbeat
// for 3 min 10 s".
std::string StaleMessage(const std::string &agent, double silent_s);

} // namespace agentgres::sidecar
