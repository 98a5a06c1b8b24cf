// A small bounded pool of connections for threads that serve requests (the
// HTTP server): at most `size` connections, opened on first use, leased with
// RAII and handed back on scope exit. When every connection is leased,
// Acquire waits up to `wait` and then throws PoolExhausted (HTTP 503).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "db/connection.hpp"

namespace agentgres::sidecar::db {

class PoolExhausted : public std::runtime_error {
public:
	using std::runtime_error::runtime_error;
};

class Pool {
public:
	struct Options {
		std::string conninfo;
		std::string application_name;
		int connect_timeout_s = 5;
		std::size_t size = 4;
		std::chrono::milliseconds wait{2000};
		SessionSettings session; // set at every connect, after search_path
	};

	class Lease {
	public:
		Lease(Lease &&other) noexcept : pool_(other.pool_), connection_(std::move(other.connection_)) {}
		Lease &operator=(Lease &&) = delete;
		~Lease();
		Connection &
		operator*() const
		{
			return *connection_;
		}
		Connection *
		operator->() const
		{
			return connection_.get();
		}

	private:
		friend class Pool;
		Lease(Pool *pool, std::unique_ptr<Connection> connection) : pool_(pool), connection_(std::move(connection)) {}
		Pool *pool_;
		std::unique_ptr<Connection> connection_;
	};

	explicit Pool(Options options);
	Pool(const Pool &) = delete;
	Pool &operator=(const Pool &) = delete;

	// A connected connection. Throws PoolExhausted after waiting in vain, or
	// DbError if the database cannot be reached (the slot is kept for later).
	Lease Acquire();

	std::size_t
	size() const
	{
		return options_.size;
	}
	std::size_t leased() const;

private:
	void Return(std::unique_ptr<Connection> connection);

	Options options_;
	mutable std::mutex mutex_;
	std::condition_variable returned_;
	std::vector<std::unique_ptr<Connection>> idle_;
	std::size_t created_ = 0;
};

} // namespace agentgres::sidecar::db
