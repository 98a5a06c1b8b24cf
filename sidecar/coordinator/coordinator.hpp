// Supervises the agent loops: one thread and one connection per loop,
// lifecycle transitions recorded in agentgres.agents, restarts with
// exponential backoff, a failed state and an alert after repeated crashes,
// and a shutdown that stops everything within the grace period.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "coordinator/loop.hpp"

namespace agentgres::sidecar {

class Coordinator {
public:
	explicit Coordinator(const Config &config);
	~Coordinator();

	void Add(std::unique_ptr<Loop> loop);
	void Start();
	// Asks every loop to stop and waits up to the grace period; returns
	// false if some loop did not stop in time.
	bool Stop();

	const std::vector<std::unique_ptr<LoopState>> &
	states() const
	{
		return states_;
	}
	const std::atomic<bool> &
	stopping() const
	{
		return stop_;
	}
	// The daemon instance whose loop records these are: host and listen
	// address, the same after a restart, never shared by two daemons alive
	// at once (the address is bound exclusively).
	const std::string &
	instance() const
	{
		return instance_;
	}
	// This process: host:pid.
	const std::string &
	process() const
	{
		return process_;
	}

private:
	void Supervise(std::size_t index);

	const Config &config_;
	std::string instance_;
	std::string process_;
	std::atomic<bool> stop_{false};
	std::vector<std::unique_ptr<Loop>> loops_;
	std::vector<std::unique_ptr<LoopState>> states_;
	std::vector<std::thread> threads_;
	std::atomic<int> finished_{0};
};

} // namespace agentgres::sidecar
