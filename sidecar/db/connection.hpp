// A libpq connection owned by one thread: RAII, parameterised queries only,
// errors as exceptions carrying the SQLSTATE, reconnection with backoff, and
// LISTEN/NOTIFY waits.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <libpq-fe.h>

namespace agentgres::sidecar::db {

class DbError : public std::runtime_error {
public:
	DbError(const std::string &message, std::string sqlstate, bool connection_lost)
	    : std::runtime_error(message), sqlstate_(std::move(sqlstate)), connection_lost_(connection_lost)
	{
	}
	const std::string &
	sqlstate() const noexcept
	{
		return sqlstate_;
	}
	// The server is gone or the connection broke: reconnect and retry later.
	bool
	connection_lost() const noexcept
	{
		return connection_lost_;
	}

private:
	std::string sqlstate_;
	bool connection_lost_;
};

class Result {
public:
	explicit Result(PGresult *result) : result_(result, &PQclear) {}
	int
	rows() const
	{
		return PQntuples(result_.get());
	}
	int
	columns() const
	{
		return PQnfields(result_.get());
	}
	bool
	IsNull(int row, int column) const
	{
		return PQgetisnull(result_.get(), row, column) != 0;
	}
	std::string
	String(int row, int column) const
	{
		return PQgetvalue(result_.get(), row, column);
	}
	std::int64_t
	Int(int row, int column) const
	{
		return std::stoll(String(row, column));
	}
	double
	Number(int row, int column) const
	{
		return std::stod(String(row, column));
	}
	std::string
	ColumnName(int column) const
	{
		return PQfname(result_.get(), column);
	}

private:
	std::unique_ptr<PGresult, void (*)(PGresult *)> result_;
};

using Param = std::optional<std::string>;

// Session settings (name, value) applied at every connect.
using SessionSettings = std::vector<std::pair<std::string, std::string>>;

class Connection {
public:
	// Every connection pins search_path = pg_catalog, agentgres at connect
	// (then applies `session`): a user's search_path cannot redirect the
	// daemon's calls.
	Connection(std::string conninfo, std::string application_name, int connect_timeout_s = 5,
	           SessionSettings session = {});
	~Connection();
	Connection(const Connection &) = delete;
	Connection &operator=(const Connection &) = delete;

	// Connects once; throws DbError (connection_lost) on failure.
	void Connect();
	bool Ok() const;
	// Connects, retrying with exponential backoff and jitter (capped at
	// max_wait) until it works or stop becomes true. Returns false if stopped.
	bool EnsureConnected(const std::atomic<bool> &stop, std::chrono::seconds max_wait);

	// Runs one statement with text parameters ($1, $2, ...); NULL for nullopt.
	Result Exec(const std::string &sql, std::initializer_list<Param> params = {});
	Result Exec(const std::string &sql, const std::vector<Param> &params);

	void Listen(const std::string &channel);
	// The payload of the next notification, or nullopt after timeout.
	std::optional<std::string> WaitForNotification(std::chrono::milliseconds timeout);

	// Observes the wall time of every round trip (for the metrics).
	static void SetRoundTripObserver(std::function<void(double seconds)> observer);

private:
	[[noreturn]] void ThrowLost(const std::string &what);
	std::string conninfo_;
	std::string application_name_;
	int connect_timeout_s_;
	SessionSettings session_;
	PGconn *conn_ = nullptr;
	std::vector<std::string> listening_;
};

} // namespace agentgres::sidecar::db
