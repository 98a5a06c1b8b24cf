// What a job handler (sidecar/agents/worker.cpp) may throw to say how its
// attempt ended, besides returning a result. Any other exception is a failed
// attempt, retried with the queue's backoff until max_attempts.
#pragma once

#include <stdexcept>
#include <string>

namespace agentgres::sidecar {

// The daemon is stopping: the job is released (its attempt not counted).
struct JobInterrupted : std::runtime_error {
	JobInterrupted() : std::runtime_error("interrupted by shutdown") {}
};

// Retrying cannot help (bad payload, a refused request, a misconfiguration):
// the job goes dead at once, with this message in jobs.last_error. The
// message must hold no secret.
struct PermanentJobError : std::runtime_error {
	using std::runtime_error::runtime_error;
};

} // namespace agentgres::sidecar
