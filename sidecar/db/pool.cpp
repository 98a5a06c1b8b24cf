#include "db/pool.hpp"

namespace agentgres::sidecar::db {

Pool::Pool(Options options) : options_(std::move(options))
{
	if (options_.size == 0)
		throw std::invalid_argument("a connection pool needs at least one connection");
}

Pool::Lease::~Lease()
{
	if (connection_ != nullptr)
		pool_->Return(std::move(connection_));
}

void
Pool::Return(std::unique_ptr<Connection> connection)
{
	{
		std::lock_guard<std::mutex> lock(mutex_);
		idle_.push_back(std::move(connection));
	}
	returned_.notify_one();
}

std::size_t
Pool::leased() const
{
	std::lock_guard<std::mutex> lock(mutex_);
	return created_ - idle_.size();
}

Pool::Lease
Pool::Acquire()
{
	std::unique_ptr<Connection> connection;
	{
		std::unique_lock<std::mutex> lock(mutex_);
		if (!returned_.wait_for(lock, options_.wait, [&] { return !idle_.empty() || created_ < options_.size; }))
			throw PoolExhausted(
			    "all " + std::to_string(options_.size) + " database connections are busy; try again shortly");
		if (!idle_.empty()) {
			// The most recently used connection: the likeliest to be warm.
			connection = std::move(idle_.back());
			idle_.pop_back();
		} else {
			++created_;
		}
	}
	if (connection == nullptr)
		connection = std::make_unique<Connection>(options_.conninfo, options_.application_name,
		                                          options_.connect_timeout_s, options_.session);
	// From here the lease owns the slot: a failed connect hands it back.
	Lease lease(this, std::move(connection));
	if (!lease->Ok())
		lease->Connect();
	return lease;
}

} // namespace agentgres::sidecar::db
