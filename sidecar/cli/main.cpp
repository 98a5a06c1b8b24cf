// agentgresd: the agentgres sidecar daemon and its command line.
//
//   agentgresd run                    the daemon (agent loops + HTTP)
//   agentgresd status                 health (ok/warning/failing), agents, alerts, queue
//   agentgresd enqueue KIND [PAYLOAD] queue a job
//   agentgresd jobs                   recent jobs
//   agentgresd alerts [ack ID]        unresolved alerts, or acknowledge one
//   agentgresd settings               every setting: value, source, default, meaning
//   agentgresd version
//
// Global options (--config, --dsn) go before or after the subcommand.
#include <pthread.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string_view>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "agents/agents.hpp"
#include "api/filters.hpp"
#include "config/config.hpp"
#include "coordinator/coordinator.hpp"
#include "db/connection.hpp"
#include "http/health.hpp"
#include "http/server.hpp"
#include "log/log.hpp"
#include "metrics/metrics.hpp"
#include "util/text.hpp"

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
	auto db = std::make_unique<ag::db::Connection>(config.database_dsn, "agentgresd/cli",
	                                               static_cast<int>(config.database_connect_timeout_s));
	db->Connect();
	return db;
}

// Which configuration file was used, and how it was chosen.
struct ConfigChoice {
	std::string path;   // "" for none
	std::string origin; // "--config", "AGENTGRES_CONFIG", "found", or what was searched
	std::string Text() const
	{
		if (path.empty())
			return "none (" + origin + "; pass --config or set AGENTGRES_CONFIG)";
		return path + (origin == "found" ? " (the embedded default's, found)" : " (from " + origin + ")");
	}
};

std::string
ExecutablePath()
{
	std::error_code error;
	const auto exe = std::filesystem::read_symlink("/proc/self/exe", error);
	return error ? std::string() : exe.string();
}

ConfigChoice
ChooseConfig(const CLI::Option *option, const std::string &given)
{
	if (option->count() > 0)
		return {given, "--config"};
	if (const char *env = std::getenv("AGENTGRES_CONFIG"))
		return {env, "AGENTGRES_CONFIG"}; // set but empty: no file, deliberately
	const std::string exe = ExecutablePath();
	const std::string found = ag::FindDefaultConfigFile(".", exe);
	if (!found.empty())
		return {found, "found"};
	return {"", ag::DefaultConfigSearchText(".", exe)};
}

// The subcommand a command line names, before CLI11 parses it: CLI11 would
// call a misspelt one "A subcommand is required" or an unexpected argument.
// Returns the first word that is not an option or an option's value.
std::string
FirstWord(int argc, char **argv)
{
	for (int i = 1; i < argc; ++i) {
		const std::string_view a = argv[i];
		if (a == "-c" || a == "--config" || a == "--dsn") {
			++i; // its value
			continue;
		}
		if (!a.empty() && a.front() == '-')
			continue;
		return std::string(a);
	}
	return "";
}

void
PrintSettings(const ag::Config &config, const ConfigChoice &choice)
{
	std::cout << "configuration file: " << choice.Text() << "\n";
	for (const std::string &w : config.warnings())
		std::cout << "warning: " << w << "\n";
	std::cout << '\n';
	for (const ag::SettingInfo &s : ag::SettingsTable()) {
		const bool text = std::holds_alternative<std::string>(s.default_value);
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
Run(const ag::Config &config, const ConfigChoice &choice)
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
	              {{"version", AGENTGRES_VERSION}, {"config", choice.Text()},
	               {"dsn", ag::log::RedactConninfo(config.database_dsn)}});
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
main(int argc, char **argv)
{
	CLI::App app{"agentgresd: the agentgres sidecar (agent loops, /health, /metrics, JSON API)"};
	// Global options are accepted after the subcommand too
	// (agentgresd status --config X).
	app.fallthrough();
	std::string config_path;
	std::string dsn;
	auto *config_option = app.add_option(
	    "-c,--config", config_path,
	    "TOML configuration file (else AGENTGRES_CONFIG, else .agentgres/agentgresd.toml found in the current "
	    "directory, its parents, or beside the binary's project root)");
	app.add_option("--dsn", dsn, "database conninfo (overrides the file and AGENTGRES_DSN)");

	auto *run = app.add_subcommand("run", "run the daemon until SIGTERM or SIGINT");
	auto *status = app.add_subcommand("status", "health (ok, warning, failing) with reasons, agents, open alerts, queue depth; exit 1 when failing");
	auto *enqueue = app.add_subcommand("enqueue", "queue a job");
	std::string kind, payload = "{}";
	int priority = 3, max_attempts = 3;
	enqueue->add_option("kind", kind, "job kind")->required();
	enqueue->add_option("payload", payload, "JSON payload")->capture_default_str();
	enqueue->add_option("-p,--priority", priority, "1 (first) to 5 (last)")->capture_default_str();
	enqueue->add_option("--max-attempts", max_attempts, "attempts before the job is dead")->capture_default_str();
	auto *jobs = app.add_subcommand("jobs", "recent jobs");
	std::string state;
	std::string limit = "20";
	auto *state_option = jobs->add_option("-s,--state", state, "queued, running, done, dead or cancelled");
	jobs->add_option("-n,--limit", limit, "how many, 1 to " + std::to_string(ag::api::kMaxLimit))->capture_default_str();
	auto *alerts = app.add_subcommand("alerts", "unresolved alerts");
	auto *ack = alerts->add_subcommand("ack", "acknowledge an alert");
	long long alert_id = 0;
	ack->add_option("id", alert_id, "alert id")->required();
	auto *settings = app.add_subcommand("settings", "every setting with its value, where it came from, its default and meaning");
	auto *version = app.add_subcommand("version", "print the version");

	std::string names;
	bool known = false;
	const std::string first = FirstWord(argc, argv);
	for (const CLI::App *sub : app.get_subcommands({})) {
		names += (names.empty() ? "" : ", ") + sub->get_name();
		known = known || sub->get_name() == first;
	}
	const bool help = std::any_of(argv + 1, argv + argc, [](const char *a) {
		return std::string_view(a) == "-h" || std::string_view(a) == "--help";
	});
	if (!help && first.empty()) {
		std::fprintf(stderr, "agentgresd: a subcommand is required (%s); see agentgresd --help\n", names.c_str());
		return 2;
	}
	if (!first.empty() && !known) {
		std::fprintf(stderr, "agentgresd: unknown subcommand '%s'; valid subcommands: %s\n", first.c_str(), names.c_str());
		return 2;
	}
	CLI11_PARSE(app, argc, argv);

	if (version->parsed()) {
		std::cout << "agentgresd " << AGENTGRES_VERSION << '\n';
		return 0;
	}
	const ConfigChoice choice = ChooseConfig(config_option, config_path);
	ag::Config config;
	std::optional<std::string> job_state;
	int job_limit = 0;
	try {
		config = ag::Config::Load(choice.path);
		if (!dsn.empty())
			config.Set("database.dsn", dsn, ag::Source::kOption);
		ag::log::Configure(ag::log::ParseLevel(config.log_level), config.log_format == "json");
		if (jobs->parsed()) {
			if (state_option->count() > 0)
				job_state = ag::api::CheckState("job state", ag::api::JobStates(), state);
			job_limit = ag::api::ParseLimit(limit);
		}
	} catch (const std::exception &e) {
		std::fprintf(stderr, "agentgresd: %s\n", e.what());
		return 2;
	}
	if (!settings->parsed() && !run->parsed())
		for (const std::string &w : config.warnings())
			std::fprintf(stderr, "agentgresd: warning: %s\n", w.c_str());

	try {
		if (settings->parsed()) {
			PrintSettings(config, choice);
			return 0;
		}
		if (run->parsed())
			return Run(config, choice);

		const auto db = Connect(config);
		if (status->parsed()) {
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
			PrintTable(db->Exec("SELECT id, severity, rule, subject, occurrences, message FROM agentgres.alerts "
			                    "WHERE status = 'open' ORDER BY opened_at DESC LIMIT 20"));
			std::cout << '\n';
			PrintTable(db->Exec("SELECT kind, state, jobs, round(oldest_age_s::numeric, 1) AS oldest_age_s "
			                    "FROM agentgres.job_queue ORDER BY kind, state"));
			// A busy host is a warning: only failing is an error.
			return verdict.status == "failing" ? 1 : 0;
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
			                    {job_state, std::to_string(job_limit)}));
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
		if (e.connection_lost()) {
			// Say where the connection settings came from: the usual cause
			// is the wrong (or no) configuration file.
			std::fprintf(stderr, "agentgresd: configuration file: %s\n", choice.Text().c_str());
			const std::string where = config.database_dsn.empty()
			                              ? "(empty: libpq's PGHOST, PGPORT, ... apply)"
			                              : ag::log::RedactConninfo(config.database_dsn);
			std::fprintf(stderr, "agentgresd: database.dsn (%s): %s\n", ag::SourceName(config.source(*ag::FindSetting("database.dsn"))),
			             where.c_str());
		}
		return 1;
	} catch (const std::exception &e) {
		std::fprintf(stderr, "agentgresd: %s\n", e.what());
		return 1;
	}
	return 0;
}
