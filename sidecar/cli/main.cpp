// agentgresd: the agentgres sidecar daemon and its command line.
//
//   agentgresd run                    the daemon (agent loops + HTTP)
//   agentgresd status                 agents, health, open alerts, queue depth
//   agentgresd enqueue KIND [PAYLOAD] queue a job
//   agentgresd jobs                   recent jobs
//   agentgresd alerts [ack ID]        unresolved alerts, or acknowledge one
//   agentgresd settings               every setting, its value and default
//   agentgresd version
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <pthread.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "agents/agents.hpp"
#include "config/config.hpp"
#include "coordinator/coordinator.hpp"
#include "db/connection.hpp"
#include "http/metrics.hpp"
#include "http/server.hpp"
#include "log/log.hpp"

#ifndef AGENTGRES_VERSION
#define AGENTGRES_VERSION "dev"
#endif

namespace ag = agentgres::sidecar;

namespace {

// Prints a query result as an aligned table.
void
PrintTable(const ag::db::Result &r)
{
	std::vector<std::size_t> width(static_cast<std::size_t>(r.columns()));
	for (int c = 0; c < r.columns(); ++c) {
		width[static_cast<std::size_t>(c)] = r.ColumnName(c).size();
		for (int row = 0; row < r.rows(); ++row)
			width[static_cast<std::size_t>(c)] =
			    std::max(width[static_cast<std::size_t>(c)], r.IsNull(row, c) ? 0 : r.String(row, c).size());
	}
	auto line = [&](auto cell) {
		std::string out;
		for (int c = 0; c < r.columns(); ++c) {
			std::string v = cell(c);
			v.resize(width[static_cast<std::size_t>(c)], ' ');
			out += (c ? " | " : " ") + v;
		}
		std::cout << out << '\n';
	};
	line([&](int c) { return r.ColumnName(c); });
	std::string rule;
	for (int c = 0; c < r.columns(); ++c)
		rule += (c ? "-+-" : "-") + std::string(width[static_cast<std::size_t>(c)], '-');
	std::cout << rule << '\n';
	for (int row = 0; row < r.rows(); ++row)
		line([&](int c) { return r.IsNull(row, c) ? std::string() : r.String(row, c); });
	std::cout << '(' << r.rows() << (r.rows() == 1 ? " row)\n" : " rows)\n");
}

std::unique_ptr<ag::db::Connection>
Connect(const ag::Config &config)
{
	auto db = std::make_unique<ag::db::Connection>(config.String("database.dsn"), "agentgresd/cli",
	                                               static_cast<int>(config.Int("database.connect_timeout_s")));
	db->Connect();
	return db;
}

int
Run(const ag::Config &config)
{
	// Only this thread takes SIGTERM/SIGINT/SIGHUP: block them before any
	// thread starts, and wait for them below.
	sigset_t signals;
	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &signals, nullptr);
	std::signal(SIGPIPE, SIG_IGN);

	ag::metrics::RegisterStandardMetrics();
	ag::metrics::Registry::Global().Set("agentgres_up", {}, 1);
	ag::db::Connection::SetRoundTripObserver(
	    [](double s) { ag::metrics::Registry::Global().Observe("agentgres_db_roundtrip_seconds", {}, s); });
	ag::log::Info("agentgresd", "starting",
	              {{"version", AGENTGRES_VERSION}, {"config", config.source()},
	               {"dsn", ag::log::RedactConninfo(config.String("database.dsn"))}});

	ag::Coordinator coordinator(config);
	if (config.Bool("agents.heartbeat.enabled"))
		coordinator.Add(ag::MakeHeartbeatLoop(coordinator));
	if (config.Bool("agents.perfmon.enabled"))
		coordinator.Add(ag::MakePerfmonLoop());
	if (config.Bool("agents.janitor.enabled"))
		coordinator.Add(ag::MakeJanitorLoop());
	if (config.Bool("agents.worker.enabled")) {
		const auto workers = config.Int("agents.worker.concurrency");
		for (std::int64_t i = 1; i <= workers; ++i)
			coordinator.Add(ag::MakeWorkerLoop(workers == 1 ? "worker" : "worker-" + std::to_string(i)));
	}
	if (config.Bool("agents.chaos.enabled"))
		coordinator.Add(ag::MakeChaosLoop());

	ag::HttpServer http(config, coordinator);
	http.Start(); // throws before any loop starts if the address is refused
	coordinator.Start();

	int signal = 0;
	while (sigwait(&signals, &signal) == 0) {
		if (signal == SIGHUP) {
			ag::log::Info("agentgresd", "SIGHUP ignored: restart the daemon to apply a new configuration");
			continue;
		}
		break;
	}
	ag::log::Info("agentgresd", "stopping", {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"}});
	const auto started = std::chrono::steady_clock::now();
	http.Stop();
	const bool clean = coordinator.Stop();
	ag::log::Info("agentgresd", "stopped",
	              {{"clean", clean},
	               {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()}});
	return 0;
}

} // namespace

int
main(int argc, char **argv)
{
	CLI::App app{"agentgresd: the agentgres sidecar (agent loops, /health, /metrics, JSON API)"};
	app.require_subcommand(1);
	std::string config_path;
	std::string dsn;
	app.add_option("-c,--config", config_path, "TOML configuration file")->envname("AGENTGRES_CONFIG");
	app.add_option("--dsn", dsn, "database conninfo (overrides the file and AGENTGRES_DSN)");

	auto *run = app.add_subcommand("run", "run the daemon until SIGTERM or SIGINT");
	auto *status = app.add_subcommand("status", "agents, health, open alerts and queue depth");
	auto *enqueue = app.add_subcommand("enqueue", "queue a job");
	std::string kind, payload = "{}";
	int priority = 3, max_attempts = 3;
	enqueue->add_option("kind", kind, "job kind")->required();
	enqueue->add_option("payload", payload, "JSON payload")->capture_default_str();
	enqueue->add_option("-p,--priority", priority, "1 (first) to 5 (last)")->capture_default_str();
	enqueue->add_option("--max-attempts", max_attempts, "attempts before the job is dead")->capture_default_str();
	auto *jobs = app.add_subcommand("jobs", "recent jobs");
	std::string state;
	int limit = 20;
	jobs->add_option("-s,--state", state, "queued, running, done, dead or cancelled");
	jobs->add_option("-n,--limit", limit, "how many")->capture_default_str();
	auto *alerts = app.add_subcommand("alerts", "unresolved alerts");
	auto *ack = alerts->add_subcommand("ack", "acknowledge an alert");
	long long alert_id = 0;
	ack->add_option("id", alert_id, "alert id")->required();
	auto *settings = app.add_subcommand("settings", "every setting with its value, default and meaning");
	auto *version = app.add_subcommand("version", "print the version");

	CLI11_PARSE(app, argc, argv);

	if (version->parsed()) {
		std::cout << "agentgresd " << AGENTGRES_VERSION << '\n';
		return 0;
	}
	ag::Config config;
	try {
		config = ag::Config::Load(config_path);
		if (!dsn.empty())
			config.Set("database.dsn", dsn);
		ag::log::Configure(ag::log::ParseLevel(config.String("log.level")), config.String("log.format") == "json");
	} catch (const std::exception &e) {
		std::fprintf(stderr, "agentgresd: %s\n", e.what());
		return 2;
	}

	try {
		if (settings->parsed()) {
			for (const ag::SettingInfo &s : ag::Settings())
				std::cout << s.path << " = " << config.Describe(s.path) << "\n    " << s.description << " (env "
				          << ag::EnvironmentName(s.path) << ")\n";
			return 0;
		}
		if (run->parsed())
			return Run(config);

		const auto db = Connect(config);
		if (status->parsed()) {
			const auto health = nlohmann::json::parse(db->Exec("SELECT agentgres.system_health()::text").String(0, 0));
			std::cout << "health: " << health["status"].get<std::string>() << "  agents " << health["agents"].dump()
			          << "  alerts " << health["alerts"].dump() << "  jobs " << health["jobs"].dump() << "\n\n";
			PrintTable(db->Exec("SELECT name, kind, status, version, restarts, "
			                    "date_trunc('second', now() - last_heartbeat_at) AS heartbeat_age, last_error "
			                    "FROM agentgres.agents ORDER BY name"));
			std::cout << '\n';
			PrintTable(db->Exec("SELECT id, severity, rule, subject, occurrences, message FROM agentgres.alerts "
			                    "WHERE status = 'open' ORDER BY opened_at DESC LIMIT 20"));
			std::cout << '\n';
			PrintTable(db->Exec("SELECT kind, state, jobs, round(oldest_age_s::numeric, 1) AS oldest_age_s "
			                    "FROM agentgres.job_queue ORDER BY kind, state"));
			return health["status"] == "failing" ? 1 : 0;
		}
		if (enqueue->parsed()) {
			const auto r = db->Exec("SELECT agentgres.enqueue($1, $2::jsonb, $3::int, now(), $4::int)",
			                        {kind, payload, std::to_string(priority), std::to_string(max_attempts)});
			std::cout << r.String(0, 0) << '\n';
			return 0;
		}
		if (jobs->parsed()) {
			PrintTable(db->Exec("SELECT id, kind, state, priority, attempts, max_attempts, locked_by, "
			                    "date_trunc('second', created_at) AS created, last_error FROM agentgres.jobs "
			                    "WHERE $1::text IS NULL OR state = $1 ORDER BY id DESC LIMIT $2::int",
			                    {state.empty() ? ag::db::Param() : ag::db::Param(state), std::to_string(limit)}));
			return 0;
		}
		if (ack->parsed()) {
			const auto r = db->Exec("SELECT agentgres.ack_alert($1::bigint)", {std::to_string(alert_id)});
			std::cout << (r.String(0, 0) == "t" ? "acknowledged\n" : "was not open\n");
			return 0;
		}
		if (alerts->parsed()) {
			PrintTable(db->Exec("SELECT id, severity, status, rule, subject, occurrences, "
			                    "date_trunc('second', opened_at) AS opened, message FROM agentgres.alerts "
			                    "WHERE status <> 'resolved' ORDER BY opened_at DESC"));
			return 0;
		}
	} catch (const ag::db::DbError &e) {
		std::fprintf(stderr, "agentgresd: %s%s%s\n", e.what(), e.sqlstate().empty() ? "" : " (SQLSTATE ",
		             e.sqlstate().empty() ? "" : (e.sqlstate() + ")").c_str());
		return 1;
	} catch (const std::exception &e) {
		std::fprintf(stderr, "agentgresd: %s\n", e.what());
		return 1;
	}
	return 0;
}
