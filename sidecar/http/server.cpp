#include "http/server.hpp"

#include <algorithm>
#include <mutex>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "db/connection.hpp"
#include "http/metrics.hpp"
#include "log/log.hpp"

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
	const bool loopback = host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
	return {host, number, loopback};
}

struct HttpServer::Impl {
	const Config &config;
	const Coordinator &coordinator;
	httplib::Server server;
	std::mutex db_mutex;
	db::Connection db;

	Impl(const Config &c, const Coordinator &co)
	    : config(c), coordinator(co),
	      // A short connect timeout: /health must answer promptly while the
	      // database is down.
	      db(c.String("database.dsn"), "agentgresd/http",
	         static_cast<int>(std::min<std::int64_t>(2, c.Int("database.connect_timeout_s"))))
	{
	}

	// Runs a query returning one JSON text, reconnecting once if needed.
	std::string
	QueryJson(const std::string &sql, std::initializer_list<db::Param> params = {})
	{
		std::lock_guard<std::mutex> lock(db_mutex);
		if (!db.Ok())
			db.Connect();
		const db::Result r = db.Exec(sql, params);
		return r.rows() > 0 && !r.IsNull(0, 0) ? r.String(0, 0) : "null";
	}

	nlohmann::json
	Loops(std::vector<std::string> *failed = nullptr) const
	{
		nlohmann::json loops = nlohmann::json::object();
		for (const auto &s : coordinator.states()) {
			const LoopStatus status = s->status;
			loops[s->name] = {{"status", LoopStatusName(status)}, {"restarts", s->restarts.load()},
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
	const std::string token = config.String("http.token");
	auto &registry = metrics::Registry::Global();

	server.set_pre_routing_handler([token](const httplib::Request &req, httplib::Response &res) {
		if (token.empty() || req.path == "/health")
			return httplib::Server::HandlerResponse::Unhandled;
		const std::string expected = "Bearer " + token;
		const std::string given = req.get_header_value("Authorization");
		// Compare in constant time so the token cannot be guessed byte by byte.
		unsigned char diff = given.size() == expected.size() ? 0 : 1;
		for (std::size_t i = 0; i < given.size() && i < expected.size(); ++i)
			diff |= static_cast<unsigned char>(given[i] ^ expected[i]);
		if (diff == 0)
			return httplib::Server::HandlerResponse::Unhandled;
		res.status = 401;
		res.set_header("WWW-Authenticate", "Bearer");
		res.set_content(R"({"error":"a valid bearer token is required"})", "application/json");
		return httplib::Server::HandlerResponse::Handled;
	});
	server.set_logger([&registry](const httplib::Request &req, const httplib::Response &res) {
		const std::string path = req.matches.empty() ? req.path : req.path;
		const bool known = path == "/health" || path == "/metrics" || path.rfind("/api/", 0) == 0;
		registry.Add("agentgres_http_requests_total",
		             {{"path", known ? path : "other"}, {"code", std::to_string(res.status)}});
	});

	server.Get("/health", [this](const httplib::Request &, httplib::Response &res) {
		std::vector<std::string> failed;
		nlohmann::json body = {{"loops", Loops(&failed)}, {"failed_loops", failed}};
		bool database_ok = false;
		try {
			body["system"] = nlohmann::json::parse(QueryJson("SELECT agentgres.system_health()::text"));
			body["database"] = "ok";
			database_ok = true;
		} catch (const std::exception &e) {
			body["database"] = std::string("unreachable: ") + e.what();
		}
		metrics::Registry::Global().Set("agentgres_database_up", {}, database_ok ? 1 : 0);
		const bool healthy = database_ok && failed.empty();
		body["status"] = healthy ? "ok" : "unhealthy";
		res.status = healthy ? 200 : 503;
		res.set_content(body.dump(), "application/json");
	});

	server.Get("/metrics", [this](const httplib::Request &, httplib::Response &res) {
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
	});

	auto api = [this](const std::string &sql) {
		return [this, sql](const httplib::Request &req, httplib::Response &res) {
			try {
				const std::string state = req.has_param("state") ? req.get_param_value("state") : "";
				const std::string limit = req.has_param("limit") ? req.get_param_value("limit") : "100";
				for (char ch : limit)
					if (ch < '0' || ch > '9')
						throw std::invalid_argument("limit must be a number");
				res.set_content(QueryJson(sql, {state.empty() ? db::Param() : db::Param(state), limit}),
				                "application/json");
			} catch (const std::invalid_argument &e) {
				res.status = 400;
				res.set_content(nlohmann::json({{"error", e.what()}}).dump(), "application/json");
			} catch (const std::exception &e) {
				res.status = 503;
				res.set_content(nlohmann::json({{"error", e.what()}}).dump(), "application/json");
			}
		};
	};
	server.Get("/api/agents", api("SELECT coalesce(json_agg(a ORDER BY a.name), '[]')::text FROM "
	                              "(SELECT * FROM agentgres.agents WHERE $1::text IS NULL OR status = $1 "
	                              " ORDER BY name LIMIT $2::int) a"));
	server.Get("/api/alerts", api("SELECT coalesce(json_agg(a ORDER BY a.opened_at DESC), '[]')::text FROM "
	                              "(SELECT * FROM agentgres.alerts WHERE coalesce($1::text = status, status <> 'resolved') "
	                              " ORDER BY opened_at DESC LIMIT $2::int) a"));
	server.Get("/api/jobs", api("SELECT coalesce(json_agg(j ORDER BY j.id DESC), '[]')::text FROM "
	                            "(SELECT id, kind, payload, priority, state, attempts, max_attempts, run_at, locked_by, "
	                            "        lease_until, last_error, result, created_at, finished_at "
	                            " FROM agentgres.jobs WHERE $1::text IS NULL OR state = $1 "
	                            " ORDER BY id DESC LIMIT $2::int) j"));
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
	const ListenAddress address = ParseListenAddress(impl_->config.String("http.listen"));
	if (!address.loopback && impl_->config.String("http.token").empty())
		throw std::runtime_error("refusing to listen on non-loopback address \"" + address.host +
		                         "\" without http.token (AGENTGRES_HTTP_TOKEN)");
	impl_->Routes();
	if (!impl_->server.bind_to_port(address.host, address.port))
		throw std::runtime_error("could not listen on " + impl_->config.String("http.listen"));
	log::Info("http", "listening", {{"address", impl_->config.String("http.listen")},
	                                {"token", impl_->config.String("http.token").empty() ? "off" : "on"}});
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
