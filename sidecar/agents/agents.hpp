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

} // namespace agentgres::sidecar
