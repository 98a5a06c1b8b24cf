#include "http/server.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <map>

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

} // namespace

struct HttpServer::Impl {
	const Config &config;
	const Coordinator &coordinator;
	httplib::Server server;
	db::Pool pool;
	const std::string stale_after; // seconds, as passed to system_health()

	Impl(const Config &c, const Coordinator &co)
	    : config(c), coordinator(co),
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

	server.set_pre_routing_handler([token](const httplib::Request &req, httplib::Response &res) {
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
				return httplib::Server::HandlerResponse::Handled;
			}
		}
		const RouteDecision d = DecideRoute(HttpRoutes(), req.method, req.path);
		if (d.status == 404) {
			std::string known;
			for (const RouteSpec &r : HttpRoutes())
				known += (known.empty() ? "" : ", ") + r.pattern;
			JsonError(res, 404, "no such endpoint; endpoints: " + known);
			return httplib::Server::HandlerResponse::Handled;
		}
		if (d.status == 405) {
			res.set_header("Allow", d.allow);
			JsonError(res, 405, "method " + req.method + " is not allowed on " + d.label + "; allowed: " + d.allow);
			return httplib::Server::HandlerResponse::Handled;
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
		nlohmann::json body = {{"loops", Loops(&failed)}, {"failed_loops", failed}};
		nlohmann::json system = nullptr;
		std::string database_error;
		try {
			system = nlohmann::json::parse(
			    QueryJson("SELECT agentgres.system_health(make_interval(secs => $1::int))::text", {stale_after}));
			body["database"] = "ok";
		} catch (const db::PoolExhausted &e) {
			database_error = e.what();
			body["database"] = std::string("busy: ") + e.what();
		} catch (const std::exception &e) {
			database_error = e.what();
			body["database"] = std::string("unreachable: ") + e.what();
		}
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
			const auto jobs = nlohmann::json::parse(QueryJson(
			    "SELECT coalesce(json_agg(json_build_object('kind', kind, 'state', state, 'n', jobs)), '[]')::text "
			    "FROM agentgres.job_queue"));
			r.ResetGauge("agentgres_jobs");
			for (const auto &j : jobs)
				r.Set("agentgres_jobs", {{"kind", j["kind"]}, {"state", j["state"]}}, j["n"].get<double>());
			const auto alerts = nlohmann::json::parse(QueryJson(
			    "SELECT coalesce(json_object_agg(severity, n), '{}')::text FROM "
			    "(SELECT severity, count(*) AS n FROM agentgres.alerts WHERE status = 'open' GROUP BY severity) s"));
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
	handlers["/api/agents"] = api("agent status", api::AgentStatuses(),
	                              "SELECT coalesce(json_agg(a ORDER BY a.name), '[]')::text FROM "
	                              "(SELECT * FROM agentgres.agents WHERE $1::text IS NULL OR status = $1 "
	                              " ORDER BY name LIMIT $2::int) a");
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
	if (!impl_->server.bind_to_port(bind_host, address.port))
		throw std::runtime_error("could not listen on " + impl_->config.http_listen);
	log::Info("http", "listening",
	          {{"address", impl_->config.http_listen}, {"token", impl_->config.http_token.empty() ? "off" : "on"}});
	thread_ = std::thread([this] { impl_->server.listen_after_bind(); });
}

void
HttpServer::Stop()
{
	if (thread_.joinable()) {
		impl_->server.stop();
		thread_.join();
	}
}

} // namespace agentgres::sidecar
