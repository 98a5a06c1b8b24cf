#include "db/connection.hpp"

#include <poll.h>

#include <algorithm>
#include <mutex>
#include <random>
#include <thread>

#include "log/log.hpp"

namespace agentgres::sidecar::db {
namespace {

std::mutex g_observer_mutex;
std::function<void(double)> g_observer;

void
Observe(double seconds)
{
	std::lock_guard<std::mutex> lock(g_observer_mutex);
	if (g_observer)
		g_observer(seconds);
}

// Server notices (RAISE NOTICE, ...) go to the log, not to stderr raw.
void
NoticeReceiver(void *, const PGresult *result)
{
	const char *message = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
	log::Debug("db", "server notice", {{"message", message ? message : ""}});
}

bool
IsConnectionSqlstate(const std::string &s)
{
	return s.rfind("08", 0) == 0 || s == "57P01" || s == "57P02" || s == "57P03";
}

} // namespace

void
Connection::SetRoundTripObserver(std::function<void(double)> observer)
{
	std::lock_guard<std::mutex> lock(g_observer_mutex);
	g_observer = std::move(observer);
}

Connection::Connection(std::string conninfo, std::string application_name, int connect_timeout_s,
                       SessionSettings session)
    : conninfo_(std::move(conninfo)), application_name_(std::move(application_name)),
      connect_timeout_s_(connect_timeout_s), session_(std::move(session))
{
	session_.insert(session_.begin(), {"search_path", "pg_catalog, agentgres"});
}

Connection::~Connection()
{
	if (conn_ != nullptr)
		PQfinish(conn_);
}

bool
Connection::Ok() const
{
	return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK;
}

void
Connection::Connect()
{
	if (conn_ != nullptr) {
		PQfinish(conn_);
		conn_ = nullptr;
	}
	// The conninfo (or libpq's PG* environment) first, then our own keywords.
	const std::string timeout = std::to_string(connect_timeout_s_);
	const char *keys[] = {"dbname", "application_name", "connect_timeout", nullptr};
	const char *values[] = {conninfo_.c_str(), application_name_.c_str(), timeout.c_str(), nullptr};
	conn_ = PQconnectdbParams(keys, values, 1);
	if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
		const std::string message = conn_ ? PQerrorMessage(conn_) : "out of memory";
		ThrowLost("could not connect to the database: " + message);
	}
	PQsetNoticeReceiver(conn_, NoticeReceiver, nullptr);
	// One round trip for every session setting.
	std::string sql = "SELECT";
	std::vector<Param> params;
	for (const auto &[name, value] : session_) {
		sql += (params.empty() ? " " : ", ") + std::string("pg_catalog.set_config($") +
		       std::to_string(params.size() + 1) + ", $" + std::to_string(params.size() + 2) + ", false)";
		params.emplace_back(name);
		params.emplace_back(value);
	}
	Exec(sql, params);
	for (const std::string &channel : std::vector<std::string>(listening_))
		Listen(channel);
}

bool
Connection::EnsureConnected(const std::atomic<bool> &stop, std::chrono::seconds max_wait)
{
	if (Ok())
		return true;
	std::mt19937 rng(std::random_device{}());
	double wait = 0.25;
	int attempt = 0;
	while (!stop) {
		++attempt;
		try {
			Connect();
			if (attempt > 1)
				log::Info("db", "reconnected", {{"attempts", attempt}, {"application", application_name_}});
			return true;
		} catch (const DbError &e) {
			// Decorrelated jitter: spreads many loops' retries apart.
			wait = std::min(static_cast<double>(max_wait.count()),
			                std::uniform_real_distribution<double>(0.25, wait * 3)(rng));
			if (attempt == 1 || attempt % 10 == 0)
				log::Warn("db", "database unavailable, retrying",
				          {{"application", application_name_},
				           {"attempt", attempt},
				           {"retry_in_s", wait},
				           {"error", e.what()}});
			const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(wait);
			while (!stop && std::chrono::steady_clock::now() < until)
				std::this_thread::sleep_for(std::chrono::milliseconds(50));
		}
	}
	return false;
}

void
Connection::ThrowLost(const std::string &what)
{
	std::string message = what;
	while (!message.empty() && (message.back() == '\n' || message.back() == ' '))
		message.pop_back();
	throw DbError(message, "08006", true);
}

Result
Connection::Exec(const std::string &sql, std::initializer_list<Param> params)
{
	return Exec(sql, std::vector<Param>(params));
}

Result
Connection::Exec(const std::string &sql, const std::vector<Param> &params)
{
	if (!Ok())
		ThrowLost("not connected to the database");
	std::vector<const char *> values;
	values.reserve(params.size());
	for (const Param &p : params)
		values.push_back(p ? p->c_str() : nullptr);
	const auto start = std::chrono::steady_clock::now();
	PGresult *raw =
	    PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr, nullptr, 0);
	Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
	Result result(raw);
	const ExecStatusType status = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
	if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
		return result;
	const char *state = raw ? PQresultErrorField(raw, PG_DIAG_SQLSTATE) : nullptr;
	const std::string sqlstate = state ? state : "";
	const bool lost = PQstatus(conn_) != CONNECTION_OK || sqlstate.empty() || IsConnectionSqlstate(sqlstate);
	const char *primary = raw ? PQresultErrorField(raw, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
	std::string message = primary ? primary : PQerrorMessage(conn_);
	while (!message.empty() && message.back() == '\n')
		message.pop_back();
	throw DbError(message, lost && sqlstate.empty() ? "08006" : sqlstate, lost);
}

void
Connection::Listen(const std::string &channel)
{
	if (std::find(listening_.begin(), listening_.end(), channel) == listening_.end())
		listening_.push_back(channel);
	if (Ok()) {
		char *quoted = PQescapeIdentifier(conn_, channel.c_str(), channel.size());
		const std::string statement = std::string("LISTEN ") + quoted;
		PQfreemem(quoted);
		Exec(statement);
	}
}

std::optional<std::string>
Connection::WaitForNotification(std::chrono::milliseconds timeout)
{
	if (!Ok())
		ThrowLost("not connected to the database");
	auto take = [&]() -> std::optional<std::string> {
		if (PQconsumeInput(conn_) == 0)
			ThrowLost(std::string("lost the database connection: ") + PQerrorMessage(conn_));
		if (PGnotify *n = PQnotifies(conn_)) {
			std::string payload = n->extra ? n->extra : "";
			PQfreemem(n);
			return payload;
		}
		return std::nullopt;
	};
	if (auto n = take())
		return n;
	pollfd fd{PQsocket(conn_), POLLIN, 0};
	const int ready = poll(&fd, 1, static_cast<int>(timeout.count()));
	if (ready > 0)
		return take();
	return std::nullopt;
}

} // namespace agentgres::sidecar::db
