#include "http/server.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <set>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "api/filters.hpp"
#include "db/pool.hpp"
#include "http/health.hpp"
#include "log/log.hpp"
#include "metrics/metrics.hpp"
#include "util/text.hpp"

namespace agentgres::sidecar {

ListenAddress
ParseListenAddress(const std::string &text)
{
	std::string host;
	std::string port;
	if (!text.empty() && text.front() == '[') {
		const auto close = text.find(']');
		if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
			throw std::runtime_error("invalid listen address \"" + text + "\"");
		host = text.substr(1, close - 1);
		port = text.substr(close + 2);
	} else {
		const auto colon = text.rfind(':');
		if (colon == std::string::npos)
			throw std::runtime_error("invalid listen address \"" + text + "\" (expected host:port)");
		host = text.substr(0, colon);
		port = text.substr(colon + 1);
	}
	int number = 0;
	try {
		std::size_t used = 0;
		number = std::stoi(port, &used);
		if (used != port.size() || number < 0 || number > 65535)
			throw std::invalid_argument("");
	} catch (const std::logic_error &) {
		throw std::runtime_error("invalid port in listen address \"" + text + "\"");
	}
	ListenAddress address{host, number, false, {}, ""};
	// What the host resolves to, not how it is spelt: "127.evil.example"
	// is whatever its DNS says. Loopback only if every address is.
	addrinfo hints{};
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	addrinfo *found = nullptr;
	const int rc = host.empty() ? EAI_NONAME : getaddrinfo(host.c_str(), nullptr, &hints, &found);
	if (rc != 0) {
		address.resolve_error = host.empty() ? "empty host" : gai_strerror(rc);
		return address;
	}
	bool all_loopback = true;
	for (const addrinfo *a = found; a != nullptr; a = a->ai_next) {
		char numeric[INET6_ADDRSTRLEN] = "";
		bool loopback = false;
		if (a->ai_family == AF_INET) {
			const auto *in = reinterpret_cast<const sockaddr_in *>(a->ai_addr);
			loopback = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
			inet_ntop(AF_INET, &in->sin_addr, numeric, sizeof numeric);
		} else if (a->ai_family == AF_INET6) {
			const auto *in6 = reinterpret_cast<const sockaddr_in6 *>(a->ai_addr);
			loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) ||
			           (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127);
			inet_ntop(AF_INET6, &in6->sin6_addr, numeric, sizeof numeric);
		}
		all_loopback = all_loopback && loopback;
		if (*numeric != '\0' &&
		    std::find(address.addresses.begin(), address.addresses.end(), numeric) == address.addresses.end())
			address.addresses.emplace_back(numeric);
	}
	freeaddrinfo(found);
	address.loopback = all_loopback && !address.addresses.empty();
	return address;
}

const std::vector<RouteSpec> &
HttpRoutes()
{
	static const std::vector<RouteSpec> routes = {
	    {"/health", {"GET"}},     {"/metrics", {"GET"}},  {"/api/agents", {"GET"}},
	    {"/api/alerts", {"GET"}}, {"/api/jobs", {"GET"}},
	};
	return routes;
}

bool
PatternMatches(std::string_view pattern, std::string_view path)
{
	while (!pattern.empty() && !path.empty()) {
		if (pattern.front() == '{') {
			const auto close = pattern.find('}');
			const auto end = path.find('/');
			if (close == std::string_view::npos || end == 0)
				return false; // a parameter matches a non-empty segment
			pattern.remove_prefix(close + 1);
			path.remove_prefix(end == std::string_view::npos ? path.size() : end);
			continue;
		}
		if (pattern.front() != path.front())
			return false;
		pattern.remove_prefix(1);
		path.remove_prefix(1);
	}
	return pattern.empty() && path.empty();
}

RouteDecision
DecideRoute(const std::vector<RouteSpec> &routes, std::string_view method, std::string_view path)
{
	for (const RouteSpec &r : routes) {
		if (!PatternMatches(r.pattern, path))
			continue;
		RouteDecision d{r.pattern, 0, ""};
		bool allowed = false;
		for (const std::string &m : r.methods) {
			// httplib answers HEAD with a GET handler.
			allowed = allowed || method == m || (method == "HEAD" && m == "GET");
			d.allow += (d.allow.empty() ? "" : ", ") + m + (m == "GET" ? ", HEAD" : "");
		}
		if (!allowed)
			d.status = 405;
		return d;
	}
	return {"unmatched", 404, ""};
}

namespace {

void
JsonError(httplib::Response &res, int status, const std::string &message)
{
	res.status = status;
	res.set_content(api::ErrorBody(message), "application/json");
}

using Clock = std::chrono::steady_clock;

int
MillisUntil(Clock::time_point deadline)
{
	const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
	return static_cast<int>(std::clamp<std::int64_t>(left, 0, 3600000));
}

Clock::time_point
After(double seconds)
{
	return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

bool
WaitFor(int fd, short events, Clock::time_point deadline)
{
	for (;;) {
		pollfd p{fd, events, 0};
		const int rc = poll(&p, 1, MillisUntil(deadline));
		if (rc > 0)
			return true;
		if (rc == 0 || errno != EINTR)
			return false;
	}
}

// Set by the pre-routing handler when the request's body stays unread (an
// early 401, 404, 405, 413, or a GET with a body): the connection must close
// after the answer, or the body would be parsed as the next request.
thread_local bool t_close_after = false;

// One connection's socket with deadlines instead of per-call timeouts: a
// request (headers and body) must arrive within request_timeout_s and at most
// max_request_bytes of it is read, however slowly the client sends it; a
// response must leave within write_timeout_s. httplib's own stream waits up
// to its read timeout per byte, which lets a slow client hold a thread forever.
class DeadlineStream : public httplib::Stream {
public:
	DeadlineStream(int fd, double write_timeout_s) : fd_(fd), write_timeout_s_(write_timeout_s) {}

	// Waits up to idle_timeout_s for the next request's first byte.
	bool
	WaitForRequest(double idle_timeout_s) const
	{
		return pos_ < len_ || WaitFor(fd_, POLLIN, After(idle_timeout_s));
	}
	void
	BeginRequest(double request_timeout_s, std::size_t max_bytes)
	{
		read_deadline_ = After(request_timeout_s);
		budget_ = max_bytes;
		write_started_ = false;
	}
	bool
	timed_out() const
	{
		return timed_out_;
	}

	bool
	is_readable() const override
	{
		return pos_ < len_ || WaitFor(fd_, POLLIN, read_deadline_);
	}
	bool
	is_writable() const override
	{
		return WaitFor(fd_, POLLOUT, write_started_ ? write_deadline_ : After(write_timeout_s_));
	}
	ssize_t
	read(char *ptr, std::size_t size) override
	{
		if (budget_ == 0)
			return -1; // more than any acceptable request
		if (pos_ == len_) {
			if (!WaitFor(fd_, POLLIN, read_deadline_)) {
				timed_out_ = true;
				return -1;
			}
			const ssize_t n = recv(fd_, buffer_, sizeof buffer_, 0);
			if (n <= 0)
				return n;
			pos_ = 0;
			len_ = static_cast<std::size_t>(n);
		}
		const std::size_t n = std::min({size, len_ - pos_, budget_});
		std::memcpy(ptr, buffer_ + pos_, n);
		pos_ += n;
		budget_ -= n;
		return static_cast<ssize_t>(n);
	}
	ssize_t
	write(const char *ptr, std::size_t size) override
	{
		if (!write_started_) {
			write_started_ = true;
			write_deadline_ = After(write_timeout_s_);
		}
		if (!WaitFor(fd_, POLLOUT, write_deadline_)) {
			timed_out_ = true;
			return -1;
		}
		return send(fd_, ptr, size, MSG_NOSIGNAL);
	}
	void
	get_remote_ip_and_port(std::string &ip, int &port) const override
	{
		Address(getpeername, ip, port);
	}
	void
	get_local_ip_and_port(std::string &ip, int &port) const override
	{
		Address(getsockname, ip, port);
	}
	socket_t
	socket() const override
	{
		return fd_;
	}

private:
	void
	Address(int (*get)(int, sockaddr *, socklen_t *), std::string &ip, int &port) const
	{
		sockaddr_storage a{};
		socklen_t length = sizeof a;
		char text[INET6_ADDRSTRLEN] = "";
		port = 0;
		if (get(fd_, reinterpret_cast<sockaddr *>(&a), &length) != 0)
			return;
		if (a.ss_family == AF_INET) {
			const auto *in = reinterpret_cast<const sockaddr_in *>(&a);
			inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
			port = ntohs(in->sin_port);
		} else if (a.ss_family == AF_INET6) {
			const auto *in6 = reinterpret_cast<const sockaddr_in6 *>(&a);
			inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
			port = ntohs(in6->sin6_port);
		}
		ip = text;
	}

	int fd_;
	double write_timeout_s_;
	Clock::time_point read_deadline_ = Clock::now();
	Clock::time_point write_deadline_ = Clock::now();
	bool write_started_ = false;
	bool timed_out_ = false;
	std::size_t budget_ = 0;
	char buffer_[4096];
	std::size_t pos_ = 0, len_ = 0;
};

// Threads started on demand up to a bound, kept for the next connections.
// httplib's ThreadPool has a fixed number of threads that slow clients can
// all occupy; here a connection over http.max_connections is answered 503 at
// once (GuardedServer), so a few threads beyond that bound keep rejecting
// promptly whatever the slow ones do.
class BoundedTaskQueue : public httplib::TaskQueue {
public:
	explicit BoundedTaskQueue(std::size_t max_threads) : max_threads_(max_threads) {}
	~BoundedTaskQueue() override { shutdown(); }

	void
	enqueue(std::function<void()> task) override
	{
		std::lock_guard<std::mutex> lock(mutex_);
		tasks_.push_back(std::move(task));
		if (tasks_.size() > idle_ && threads_.size() < max_threads_)
			threads_.emplace_back([this] { Work(); });
		else
			ready_.notify_one();
	}
	void
	shutdown() override
	{
		{
			std::lock_guard<std::mutex> lock(mutex_);
			stopping_ = true;
		}
		ready_.notify_all();
		for (std::thread &t : threads_)
			t.join();
		threads_.clear();
	}

private:
	void
	Work()
	{
		std::unique_lock<std::mutex> lock(mutex_);
		for (;;) {
			++idle_;
			ready_.wait(lock, [this] { return !tasks_.empty() || stopping_; });
			--idle_;
			if (tasks_.empty())
				return; // stopping, nothing left
			std::function<void()> task = std::move(tasks_.front());
			tasks_.pop_front();
			lock.unlock();
			task();
			lock.lock();
		}
	}

	const std::size_t max_threads_;
	std::mutex mutex_;
	std::condition_variable ready_;
	std::deque<std::function<void()>> tasks_;
	std::vector<std::thread> threads_;
	std::size_t idle_ = 0;
	bool stopping_ = false;
};

struct ConnectionLimits {
	std::size_t max_connections;
	double request_timeout_s;
	double write_timeout_s;
	double idle_timeout_s;
	std::size_t max_request_bytes; // headers and body
};

// httplib's server with its connection handling replaced: a cap on the
// connections served at once, deadlines per request (DeadlineStream) and a
// close after any answer that left a body unread.
class GuardedServer : public httplib::Server {
public:
	explicit GuardedServer(const ConnectionLimits &limits) : limits_(limits)
	{
		const std::size_t threads = limits.max_connections + kRejectThreads;
		new_task_queue = [threads] { return new BoundedTaskQueue(threads); };
		// What the Keep-Alive header announces; the loop below enforces it.
		set_keep_alive_max_count(kKeepAliveMax);
		set_keep_alive_timeout(static_cast<time_t>(std::max(1.0, limits.idle_timeout_s)));
		// SO_REUSEADDR only (httplib also sets SO_REUSEPORT, which lets a
		// second daemon listen on the same address beside the first).
		set_socket_options([](socket_t fd) {
			const int yes = 1;
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
		});
	}
	// httplib listens with a backlog of 5: a burst of connections (slow
	// clients, say) overflows it and a client's SYN waits a second for a retry.
	// Ends every connection being served (at shutdown): one waiting for a
	// slow client would otherwise hold stop() up to request_timeout_s.
	void
	CloseConnections()
	{
		std::lock_guard<std::mutex> lock(open_mutex_);
		for (const int fd : open_)
			shutdown(fd, SHUT_RDWR);
	}
	void
	WidenBacklog()
	{
		::listen(svr_sock_.load(), SOMAXCONN);
	}

private:
	static constexpr std::size_t kRejectThreads = 8;

	bool
	process_and_close_socket(socket_t fd) override
	{
		auto &registry = metrics::Registry::Global();
		if (!Admit(fd)) {
			registry.Add("agentgres_http_connections_rejected_total", {{"reason", "busy"}});
			static const std::string body =
			    R"({"error":"too many connections (http.max_connections); try again shortly"})";
			const std::string answer = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
			                           "Retry-After: 1\r\nConnection: close\r\nContent-Length: " +
			                           std::to_string(body.size()) + "\r\n\r\n" + body;
			// Non-blocking: a client that does not read gets nothing.
			[[maybe_unused]] const ssize_t sent = send(fd, answer.data(), answer.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
			Close(fd);
			return false;
		}
		DeadlineStream stream(fd, limits_.write_timeout_s);
		bool ok = true;
		for (std::size_t served = 0; served < kKeepAliveMax && svr_sock_ != INVALID_SOCKET; ++served) {
			if (!stream.WaitForRequest(limits_.idle_timeout_s))
				break;
			stream.BeginRequest(limits_.request_timeout_s, limits_.max_request_bytes);
			t_close_after = false;
			bool closed = false;
			ok = process_request(stream, served + 1 == kKeepAliveMax, closed, nullptr);
			if (stream.timed_out())
				registry.Add("agentgres_http_connections_rejected_total", {{"reason", "timeout"}});
			if (!ok || closed || t_close_after || stream.timed_out())
				break;
		}
		{
			// Before close: the descriptor must not be shut down once reused.
			std::lock_guard<std::mutex> lock(open_mutex_);
			open_.erase(fd);
		}
		Close(fd);
		Release();
		return ok;
	}

	// Counts a connection in, unless max_connections are being served. The
	// count and the gauge change under one lock: set outside it, two
	// connections ending together could leave the gauge at a stale value.
	bool
	Admit(int fd)
	{
		std::lock_guard<std::mutex> lock(open_mutex_);
		if (served_ >= limits_.max_connections)
			return false;
		++served_;
		open_.insert(fd);
		metrics::Registry::Global().Set("agentgres_http_connections", {}, static_cast<double>(served_));
		return true;
	}
	// After Close: a connection holds its slot until it is drained.
	void
	Release()
	{
		std::lock_guard<std::mutex> lock(open_mutex_);
		--served_;
		metrics::Registry::Global().Set("agentgres_http_connections", {}, static_cast<double>(served_));
	}

	// Half-closes, then discards what the client still sends for a moment,
	// so an answer sent before its body was read is not lost to a reset.
	static void
	Close(int fd)
	{
		shutdown(fd, SHUT_WR);
		const auto until = After(0.2);
		char sink[4096];
		for (std::size_t drained = 0; drained < (1u << 20) && WaitFor(fd, POLLIN, until);) {
			const ssize_t n = recv(fd, sink, sizeof sink, 0);
			if (n <= 0)
				break;
			drained += static_cast<std::size_t>(n);
		}
		close(fd);
	}

	static constexpr std::size_t kKeepAliveMax = 100;
	const ConnectionLimits limits_;
	std::mutex open_mutex_;
	std::set<int> open_;     // descriptors to shut down at stop
	std::size_t served_ = 0; // connections holding a slot
};

// A request's declared body size: -1 when it has none, or a chunked body of
// unknown size, -2 when Content-Length is not a number.
long long
DeclaredBody(const httplib::Request &req, bool &chunked)
{
	chunked = req.has_header("Transfer-Encoding");
	if (!req.has_header("Content-Length"))
		return -1;
	const std::string text = req.get_header_value("Content-Length");
	if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos)
		return -2;
	return std::stoll(text);
}

} // namespace

struct HttpServer::Impl {
	// Request line and headers: httplib refuses a URI over 8 KiB; headers are
	// bounded by this, with the body, in what a request may send.
	static constexpr std::size_t kMaxHeaderBytes = 64 * 1024;
	const Config &config;
	const Coordinator &coordinator;
	GuardedServer server;
	db::Pool pool;
	const std::string stale_after; // seconds, as passed to system_health()

	Impl(const Config &c, const Coordinator &co)
	    : config(c), coordinator(co),
	      server(ConnectionLimits{static_cast<std::size_t>(c.http_max_connections), c.http_request_timeout_s,
	                              c.http_write_timeout_s, c.http_idle_timeout_s,
	                              static_cast<std::size_t>(c.http_max_body_kib) * 1024 + kMaxHeaderBytes}),
	      pool(db::Pool::Options{
	          c.database_dsn,
	          "agentgresd/http",
	          // A short connect timeout: /health must answer promptly while
	          // the database is down.
	          static_cast<int>(std::min<std::int64_t>(2, c.database_connect_timeout_s)),
	          static_cast<std::size_t>(c.http_db_pool_size),
	          std::chrono::milliseconds(static_cast<std::int64_t>(c.http_db_wait_s * 1000)),
	          {{"statement_timeout", std::to_string(static_cast<std::int64_t>(c.http_statement_timeout_s * 1000))},
	           {"lock_timeout", std::to_string(static_cast<std::int64_t>(c.http_lock_timeout_s * 1000))}}}),
	      stale_after(std::to_string(c.agents_heartbeat_stale_after_s))
	{
	}

	// Runs a query returning one JSON text. A pooled connection whose server
	// went away is noticed only when used: reconnect and retry once.
	std::string
	QueryJson(const std::string &sql, const std::vector<db::Param> &params = {})
	{
		db::Pool::Lease lease = pool.Acquire();
		const auto run = [&] {
			const db::Result r = lease->Exec(sql, params);
			return r.rows() > 0 && !r.IsNull(0, 0) ? r.String(0, 0) : "null";
		};
		try {
			return run();
		} catch (const db::DbError &e) {
			if (!e.connection_lost())
				throw;
		}
		lease->Connect();
		return run();
	}

	nlohmann::json
	Loops(std::vector<std::string> *failed = nullptr) const
	{
		nlohmann::json loops = nlohmann::json::object();
		for (const auto &s : coordinator.states()) {
			const LoopStatus status = s->status;
			loops[s->name] = {{"status", LoopStatusName(status)},
			                  {"restarts", s->restarts.load()},
			                  {"last_error", s->Error()}};
			if (failed && status == LoopStatus::kFailed)
				failed->push_back(s->name);
		}
		return loops;
	}

	void Routes();
};

void
HttpServer::Impl::Routes()
{
	const std::string token = config.http_token;
	auto &registry = metrics::Registry::Global();

	const long long max_body = config.http_max_body_kib * 1024;
	server.set_payload_max_length(static_cast<std::size_t>(max_body)); // a chunked body, as it is read
	const auto too_large = [max_body](const httplib::Request &req, httplib::Response &res) {
		bool chunked = false;
		const long long declared = DeclaredBody(req, chunked);
		if (declared == -2) {
			JsonError(res, 400, "invalid Content-Length");
			return true;
		}
		if (declared <= max_body)
			return false;
		JsonError(res, 413,
		          "request body of " + std::to_string(declared) + " bytes exceeds the limit of " +
		              std::to_string(max_body) + " bytes (http.max_body_kib)");
		return true;
	};
	// "Expect: 100-continue": refuse a body too large before the client sends it.
	server.set_expect_100_continue_handler([too_large](const httplib::Request &req, httplib::Response &res) {
		if (too_large(req, res)) {
			t_close_after = true;
			res.set_header("Connection", "close");
			return res.status;
		}
		return 100;
	});
	server.set_pre_routing_handler([token, too_large](const httplib::Request &req, httplib::Response &res) {
		bool chunked = false;
		const bool has_body = DeclaredBody(req, chunked) != -1 || chunked;
		// httplib reads no body for GET or HEAD, and none on any answer from
		// here: close after the answer rather than parse it as a request.
		if (has_body && (req.method == "GET" || req.method == "HEAD"))
			t_close_after = true;
		// The size first, before anything else looks at the request.
		if (too_large(req, res)) {
			t_close_after = true;
			res.set_header("Connection", "close");
			return httplib::Server::HandlerResponse::Handled;
		}
		const auto handled = [&] {
			t_close_after = t_close_after || has_body;
			if (t_close_after)
				res.set_header("Connection", "close");
			return httplib::Server::HandlerResponse::Handled;
		};
		if (!token.empty() && req.path != "/health") {
			const std::string expected = "Bearer " + token;
			const std::string given = req.get_header_value("Authorization");
			// Compare in constant time so the token cannot be guessed byte by byte.
			unsigned char diff = given.size() == expected.size() ? 0 : 1;
			for (std::size_t i = 0; i < given.size() && i < expected.size(); ++i)
				diff |= static_cast<unsigned char>(given[i] ^ expected[i]);
			if (diff != 0) {
				res.set_header("WWW-Authenticate", "Bearer");
				JsonError(res, 401, "a valid bearer token is required");
				return handled();
			}
		}
		const RouteDecision d = DecideRoute(HttpRoutes(), req.method, req.path);
		if (d.status == 404) {
			std::string known;
			for (const RouteSpec &r : HttpRoutes())
				known += (known.empty() ? "" : ", ") + r.pattern;
			JsonError(res, 404, "no such endpoint; endpoints: " + known);
			return handled();
		}
		if (d.status == 405) {
			res.set_header("Allow", d.allow);
			JsonError(res, 405, "method " + req.method + " is not allowed on " + d.label + "; allowed: " + d.allow);
			return handled();
		}
		return httplib::Server::HandlerResponse::Unhandled;
	});
	// Errors httplib raises itself (a malformed request, ...) get a JSON body too.
	server.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request &, httplib::Response &res) {
		if (!res.body.empty())
			return httplib::Server::HandlerResponse::Unhandled;
		const std::map<int, const char *> reasons = {{400, "bad request"},           {408, "request timeout"},
		                                             {413, "payload too large"},     {414, "uri too long"},
		                                             {416, "range not satisfiable"}, {500, "internal server error"}};
		const auto reason = reasons.find(res.status);
		JsonError(res, res.status,
		          reason != reasons.end() ? reason->second : "http error " + std::to_string(res.status));
		return httplib::Server::HandlerResponse::Handled;
	}));
	server.set_logger([&registry](const httplib::Request &req, const httplib::Response &res) {
		registry.Add("agentgres_http_requests_total", {{"route", DecideRoute(HttpRoutes(), "GET", req.path).label},
		                                               {"code", std::to_string(res.status)}});
	});

	std::map<std::string, httplib::Server::Handler> handlers;
	handlers["/health"] = [this](const httplib::Request &, httplib::Response &res) {
		std::vector<std::string> failed;
		nlohmann::json body = {{"instance", coordinator.instance()},
		                       {"process", coordinator.process()},
		                       {"loops", Loops(&failed)},
		                       {"failed_loops", failed}};
		nlohmann::json system = nullptr;
		std::string database_error;
		try {
			system = nlohmann::json::parse(
			    QueryJson("SELECT agentgres.system_health(make_interval(secs => $1::int))::text", {stale_after}));
			body["database"] = "ok";
		} catch (const db::PoolExhausted &e) {
			database_error = std::string("busy: ") + e.what();
		} catch (const db::DbError &e) {
			// A held lock or a slow query is not an unreachable database:
			// say which, promptly (http.lock_timeout_s, statement_timeout_s).
			if (e.sqlstate() == "55P03")
				database_error = "locked: " + std::string(e.what()) + " (a lock held for over http.lock_timeout_s)";
			else if (e.sqlstate() == "57014")
				database_error = "timed out: " + std::string(e.what()) + " (http.statement_timeout_s)";
			else
				database_error = std::string(e.connection_lost() ? "unreachable: " : "error: ") + e.what();
		} catch (const std::exception &e) {
			database_error = std::string("error: ") + e.what();
		}
		if (!database_error.empty())
			body["database"] = database_error;
		metrics::Registry::Global().Set("agentgres_database_up", {}, database_error.empty() ? 1 : 0);
		const HealthVerdict verdict = JudgeHealth(system, database_error, failed);
		body["status"] = verdict.status;
		body["reasons"] = verdict.reasons;
		body["system"] = system;
		res.status = verdict.http_status;
		res.set_content(body.dump(), "application/json");
	};

	handlers["/metrics"] = [this](const httplib::Request &, httplib::Response &res) {
		auto &r = metrics::Registry::Global();
		try {
			// One statement: one lock_timeout at most when a table is locked.
			const auto both = nlohmann::json::parse(QueryJson(
			    "SELECT json_build_array("
			    "(SELECT coalesce(json_agg(json_build_object('kind', kind, 'state', state, 'n', jobs)), '[]') "
			    " FROM agentgres.job_queue), "
			    "(SELECT coalesce(json_object_agg(severity, n), '{}') FROM "
			    " (SELECT severity, count(*) AS n FROM agentgres.alerts WHERE status = 'open' GROUP BY severity) s)"
			    ")::text"));
			const nlohmann::json &jobs = both.at(0);
			const nlohmann::json &alerts = both.at(1);
			r.ResetGauge("agentgres_jobs");
			for (const auto &j : jobs)
				r.Set("agentgres_jobs", {{"kind", j["kind"]}, {"state", j["state"]}}, j["n"].get<double>());
			r.ResetGauge("agentgres_alerts_open");
			for (const char *severity : {"info", "warning", "critical"})
				r.Set("agentgres_alerts_open", {{"severity", severity}}, alerts.value(severity, 0.0));
			r.Set("agentgres_database_up", {}, 1);
		} catch (const std::exception &) {
			r.Set("agentgres_database_up", {}, 0);
		}
		res.set_content(r.Render(), "text/plain; version=0.0.4; charset=utf-8");
	};

	// A list endpoint: ?state= (one of `states`) and ?limit= (1 to 1000),
	// both checked before any SQL runs; nothing else is accepted.
	auto api = [this](const char *noun, const std::vector<std::string> &states, const std::string &sql) {
		return [this, noun, &states, sql](const httplib::Request &req, httplib::Response &res) {
			try {
				const api::ListQuery query = api::ParseListQuery(req.params, noun, states);
				const db::Param state = query.state ? db::Param(*query.state) : db::Param();
				const int limit = query.limit;
				res.set_content(QueryJson(sql, {state, std::to_string(limit)}), "application/json");
			} catch (const api::BadRequest &e) {
				JsonError(res, 400, e.what());
			} catch (const db::PoolExhausted &e) {
				JsonError(res, 503, e.what());
			} catch (const db::DbError &e) {
				// Unreachable, timed out or locked: try again later. Anything
				// else is a bug here.
				const bool later = e.connection_lost() || e.sqlstate() == "57014" || e.sqlstate() == "55P03";
				if (!later)
					log::Warn("http", "query failed",
					          {{"path", req.path}, {"error", e.what()}, {"sqlstate", e.sqlstate()}});
				JsonError(res, later ? 503 : 500, e.what());
			} catch (const std::exception &e) {
				log::Warn("http", "request failed", {{"path", req.path}, {"error", e.what()}});
				JsonError(res, 500, e.what());
			}
		};
	};
	handlers["/api/agents"] =
	    api("agent status", api::AgentStatuses(),
	        "SELECT coalesce(json_agg(a ORDER BY a.name), '[]')::text FROM "
	        "(SELECT g.*, (SELECT coalesce(json_agg(i ORDER BY i.instance), '[]') FROM "
	        "  (SELECT instance, status, host, pid, restarts, last_error, last_heartbeat_at, "
	        "          started_at, updated_at FROM agentgres.agent_instances "
	        "   WHERE agent = g.name) i) AS instances "
	        " FROM agentgres.agents g WHERE $1::text IS NULL OR g.status = $1 "
	        " ORDER BY g.name LIMIT $2::int) a");
	handlers["/api/alerts"] =
	    api("alert status", api::AlertStatuses(),
	        "SELECT coalesce(json_agg(a ORDER BY a.opened_at DESC), '[]')::text FROM "
	        "(SELECT * FROM agentgres.alerts WHERE coalesce($1::text = status, status <> 'resolved') "
	        " ORDER BY opened_at DESC LIMIT $2::int) a");
	handlers["/api/jobs"] =
	    api("job state", api::JobStates(),
	        "SELECT coalesce(json_agg(j ORDER BY j.id DESC), '[]')::text FROM "
	        "(SELECT id, kind, payload, priority, state, attempts, max_attempts, run_at, locked_by, "
	        "        lease_until, last_error, result, created_at, finished_at "
	        " FROM agentgres.jobs WHERE $1::text IS NULL OR state = $1 "
	        " ORDER BY id DESC LIMIT $2::int) j");

	// Every route of the table has its handler; the pre-routing handler has
	// already answered 404 and 405.
	for (const RouteSpec &route : HttpRoutes()) {
		const auto h = handlers.find(route.pattern);
		if (h == handlers.end())
			throw std::logic_error("no handler for route " + route.pattern);
		std::string regex = route.pattern;
		for (std::size_t open; (open = regex.find('{')) != std::string::npos;)
			regex.replace(open, regex.find('}', open) - open + 1, "[^/]+");
		for (const std::string &method : route.methods) {
			if (method == "GET")
				server.Get(regex, h->second);
			else if (method == "POST")
				server.Post(regex, h->second);
			else if (method == "PUT")
				server.Put(regex, h->second);
			else if (method == "DELETE")
				server.Delete(regex, h->second);
			else
				throw std::logic_error("unsupported method " + method);
		}
	}
}

HttpServer::HttpServer(const Config &config, const Coordinator &coordinator)
    : impl_(std::make_unique<Impl>(config, coordinator))
{
}

HttpServer::~HttpServer()
{
	Stop();
}

void
HttpServer::Start()
{
	const ListenAddress address = ParseListenAddress(impl_->config.http_listen);
	std::string bind_host = address.host;
	if (impl_->config.http_token.empty()) {
		if (!address.loopback) {
			std::string resolved;
			for (const std::string &a : address.addresses)
				resolved += (resolved.empty() ? "" : ", ") + a;
			throw std::runtime_error("refusing to listen on non-loopback address \"" + address.host + "\" (" +
			                         (address.resolve_error.empty() ? "resolves to " + resolved
			                                                        : "does not resolve: " + address.resolve_error) +
			                         ") without http.token (AGENTGRES_HTTP_TOKEN)");
		}
		// Bind the address checked, not a second resolution of the name.
		bind_host = address.addresses.front();
	}
	impl_->Routes();
	errno = 0;
	if (!impl_->server.bind_to_port(bind_host, address.port)) {
		const int error = errno;
		throw std::runtime_error(
		    "could not listen on " + impl_->config.http_listen +
		    (error == EADDRINUSE ? ": address already in use (is another agentgresd running on it?)"
		     : error != 0        ? std::string(": ") + std::strerror(error)
		                         : std::string()));
	}
	impl_->server.WidenBacklog();
	log::Info("http", "listening",
	          {{"address", impl_->config.http_listen}, {"token", impl_->config.http_token.empty() ? "off" : "on"}});
	thread_ = std::thread([this] { impl_->server.listen_after_bind(); });
}

void
HttpServer::Stop()
{
	if (thread_.joinable()) {
		impl_->server.stop();
		impl_->server.CloseConnections();
		thread_.join();
	}
}

} // namespace agentgres::sidecar
