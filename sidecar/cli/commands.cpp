#include "cli/commands.hpp"

#include <pthread.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "agents/agents.hpp"
#include "api/filters.hpp"
#include "coordinator/coordinator.hpp"
#include "db/connection.hpp"
#include "http/health.hpp"
#include "http/server.hpp"
#include "knowledge/indexer.hpp"
#include "log/log.hpp"
#include "metrics/metrics.hpp"
#include "util/text.hpp"

namespace agentgres::sidecar::cli {

namespace ag = agentgres::sidecar;

std::string
ConfigChoice::Text() const
{
	if (path.empty())
		return "none (" + origin + "; pass --config or set AGENTGRES_CONFIG)";
	return path + (origin == "found" ? " (the embedded default's, found)" : " (from " + origin + ")");
}

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
	auto db = std::make_unique<ag::db::Connection>(config.database_dsn, "agentgresd/cli",
	                                               static_cast<int>(config.database_connect_timeout_s));
	db->Connect();
	return db;
}

std::string
ExecutablePath()
{
	std::error_code error;
	const auto exe = std::filesystem::read_symlink("/proc/self/exe", error);
	return error ? std::string() : exe.string();
}

} // namespace

ConfigChoice
ChooseConfig(bool given_on_command_line, const std::string &given)
{
	if (given_on_command_line)
		return {given, "--config"};
	if (const char *env = std::getenv("AGENTGRES_CONFIG"))
		return {env, "AGENTGRES_CONFIG"}; // set but empty: no file, deliberately
	const std::string exe = ExecutablePath();
	const std::string found = ag::FindDefaultConfigFile(".", exe);
	if (!found.empty())
		return {found, "found"};
	return {"", ag::DefaultConfigSearchText(".", exe)};
}

namespace {

void
PrintSettings(const ag::Config &config, const ConfigChoice &choice)
{
	std::cout << "configuration file: " << choice.Text() << "\n";
	for (const std::string &w : config.warnings())
		std::cout << "warning: " << w << "\n";
	std::cout << '\n';
	for (const ag::SettingInfo &s : ag::SettingsTable()) {
		const bool text = std::holds_alternative<std::string>(s.default_value) ||
		                  std::holds_alternative<std::vector<std::string>>(s.default_value);
		const auto shown = [&](std::string v) { return text && !s.secret ? "\"" + v + "\"" : v; };
		std::string default_text = ag::FormatValue(s.default_value);
		if (s.secret)
			default_text = default_text.empty() ? "(unset)" : "(set)";
		const ag::Source source = config.source(s);
		std::cout << s.path << " = " << shown(config.Describe(s))
		          << (source == ag::Source::kDefault ? "    (default)"
		                                             : "    (from " + std::string(ag::SourceName(source)) +
		                                                   "; default " + shown(default_text) + ")")
		          << "\n";
		std::string detail = s.help;
		if (std::holds_alternative<std::int64_t>(s.default_value) || std::holds_alternative<double>(s.default_value))
			detail += "; " + ag::text::Number(s.min) + " to " + ag::text::Number(s.max);
		else if (*s.choices != '\0') {
			std::string choices = s.choices;
			std::replace(choices.begin(), choices.end(), '|', ',');
			detail += "; one of " + choices;
		}
		detail += "; env " + ag::EnvironmentName(s.path);
		if (std::string_view(s.path) == "database.dsn")
			detail += " or AGENTGRES_DSN";
		std::cout << "    " << detail << "\n";
	}
}

int
Run(const ag::Config &config, const ConfigChoice &choice, const char *version)
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
	ag::db::Connection::SetRoundTripObserver([](double s) {
		ag::metrics::Registry::Global().Observe("agentgres_db_roundtrip_seconds", {}, s);
	});
	ag::log::Info(
	    "agentgresd", "starting",
	    {{"version", version}, {"config", choice.Text()}, {"dsn", ag::log::RedactConninfo(config.database_dsn)}});
	for (const std::string &w : config.warnings())
		ag::log::Warn("agentgresd", w);

	ag::Coordinator coordinator(config);
	if (config.agents_heartbeat_enabled)
		coordinator.Add(ag::MakeHeartbeatLoop(coordinator));
	if (config.agents_perfmon_enabled)
		coordinator.Add(ag::MakePerfmonLoop());
	if (config.agents_janitor_enabled)
		coordinator.Add(ag::MakeJanitorLoop());
	if (config.agents_worker_enabled) {
		const auto workers = config.agents_worker_concurrency;
		for (std::int64_t i = 1; i <= workers; ++i)
			coordinator.Add(ag::MakeWorkerLoop(workers == 1 ? "worker" : "worker-" + std::to_string(i)));
	}
	// No loop without sources: nothing to keep fresh.
	if (config.agents_indexer_enabled && !config.knowledge_sources.empty())
		coordinator.Add(ag::knowledge::MakeIndexerLoop());
	if (config.agents_chaos_enabled)
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
Execute(const Command &command, const char *version)
{
	const ConfigChoice choice = ChooseConfig(command.config_given, command.config_path);
	ag::Config config;
	std::optional<std::string> job_state;
	int job_limit = 0;
	try {
		config = ag::Config::Load(choice.path);
		if (!command.dsn.empty())
			config.Set("database.dsn", command.dsn, ag::Source::kOption);
		ag::log::Configure(ag::log::ParseLevel(config.log_level), config.log_format == "json");
		if (command.name == "jobs") {
			if (command.state_given)
				job_state = ag::api::CheckState("job state", ag::api::JobStates(), command.state);
			job_limit = ag::api::ParseLimit(command.limit);
		}
	} catch (const std::exception &e) {
		std::fprintf(stderr, "agentgresd: %s\n", e.what());
		return 2;
	}
	if (command.name != "settings" && command.name != "run")
		for (const std::string &w : config.warnings())
			std::fprintf(stderr, "agentgresd: warning: %s\n", w.c_str());

	try {
		if (command.name == "settings") {
			PrintSettings(config, choice);
			return 0;
		}
		if (command.name == "run")
			return Run(config, choice, version);
		if (command.name == "ingest")
			return ag::knowledge::IngestCommand(config, command.paths, command.collection, command.queue);

		const auto db = Connect(config);
		if (command.name == "status") {
			const auto system = nlohmann::json::parse(
			    db->Exec("SELECT agentgres.system_health(make_interval(secs => $1::int))::text",
			             {std::to_string(config.agents_heartbeat_stale_after_s)})
			        .String(0, 0));
			const ag::HealthVerdict verdict = ag::JudgeHealth(system, "", {});
			std::cout << "health: " << verdict.status << '\n';
			for (const std::string &reason : verdict.reasons)
				std::cout << "  - " << reason << '\n';
			std::cout << "agents " << system.value("agents", nlohmann::json::object()).dump() << "  alerts "
			          << system.value("alerts", nlohmann::json::object()).dump() << "  jobs "
			          << system.value("jobs", nlohmann::json::object()).dump() << "\n\n";
			PrintTable(db->Exec("SELECT name, kind, status, version, restarts, "
			                    "date_trunc('second', now() - last_heartbeat_at) AS heartbeat_age, last_error "
			                    "FROM agentgres.agents ORDER BY name"));
			std::cout << '\n';
			// Each daemon instance's own view of its loops.
			PrintTable(db->Exec("SELECT instance, agent AS loop, status, pid, restarts, "
			                    "date_trunc('second', now() - last_heartbeat_at) AS heartbeat_age, last_error "
			                    "FROM agentgres.agent_instances ORDER BY instance, agent"));
			std::cout << '\n';
			PrintTable(db->Exec("SELECT id, severity, rule, subject, occurrences, message FROM agentgres.alerts "
			                    "WHERE status = 'open' ORDER BY opened_at DESC LIMIT 20"));
			std::cout << '\n';
			PrintTable(db->Exec("SELECT kind, state, jobs, round(oldest_age_s::numeric, 1) AS oldest_age_s "
			                    "FROM agentgres.job_queue ORDER BY kind, state"));
			// A busy host is a warning: only failing is an error.
			return verdict.status == "failing" ? 1 : 0;
		}
		if (command.name == "enqueue") {
			const auto r = db->Exec("SELECT agentgres.enqueue($1, $2::jsonb, $3::int, now(), $4::int)",
			                        {command.kind, command.payload, std::to_string(command.priority),
			                         std::to_string(command.max_attempts)});
			std::cout << r.String(0, 0) << '\n';
			return 0;
		}
		if (command.name == "jobs") {
			PrintTable(db->Exec("SELECT id, kind, state, priority, attempts, max_attempts, locked_by, "
			                    "date_trunc('second', created_at) AS created, last_error FROM agentgres.jobs "
			                    "WHERE $1::text IS NULL OR state = $1 ORDER BY id DESC LIMIT $2::int",
			                    {job_state, std::to_string(job_limit)}));
			return 0;
		}
		if (command.name == "ack") {
			const auto r = db->Exec("SELECT agentgres.ack_alert($1::bigint)", {std::to_string(command.alert_id)});
			std::cout << (r.String(0, 0) == "t" ? "acknowledged\n" : "was not open\n");
			return 0;
		}
		if (command.name == "alerts") {
			PrintTable(db->Exec("SELECT id, severity, status, rule, subject, occurrences, "
			                    "date_trunc('second', opened_at) AS opened, message FROM agentgres.alerts "
			                    "WHERE status <> 'resolved' ORDER BY opened_at DESC"));
			return 0;
		}
	} catch (const ag::db::DbError &e) {
		std::fprintf(stderr, "agentgresd: %s%s%s\n", e.what(), e.sqlstate().empty() ? "" : " (SQLSTATE ",
		             e.sqlstate().empty() ? "" : (e.sqlstate() + ")").c_str());
		if (e.connection_lost()) {
			// Say where the connection settings came from: the usual cause
			// is the wrong (or no) configuration file.
			std::fprintf(stderr, "agentgresd: configuration file: %s\n", choice.Text().c_str());
			const std::string where = config.database_dsn.empty() ? "(empty: libpq's PGHOST, PGPORT, ... apply)"
			                                                      : ag::log::RedactConninfo(config.database_dsn);
			std::fprintf(stderr, "agentgresd: database.dsn (%s): %s\n",
			             ag::SourceName(config.source(*ag::FindSetting("database.dsn"))), where.c_str());
		}
		return 1;
	} catch (const std::exception &e) {
		std::fprintf(stderr, "agentgresd: %s\n", e.what());
		return 1;
	}
	std::fprintf(stderr, "agentgresd: unknown command %s\n", command.name.c_str());
	return 2;
}

} // namespace agentgres::sidecar::cli
