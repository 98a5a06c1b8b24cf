// agentgresd: the agentgres sidecar daemon and its command line.
//
//   agentgresd run                    the daemon (agent loops + HTTP)
//   agentgresd status                 health (ok/warning/failing), agents, alerts, queue
//   agentgresd enqueue KIND [PAYLOAD] queue a job
//   agentgresd jobs                   recent jobs
//   agentgresd alerts [ack ID]        unresolved alerts, or acknowledge one
//   agentgresd ingest [PATH...]       index files into the knowledge collection
//   agentgresd settings               every setting: value, source, default, meaning
//   agentgresd version
//
// Global options (--config, --dsn) go before or after the subcommand.
#include <algorithm>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "api/filters.hpp"
#include "cli/commands.hpp"

#ifndef AGENTGRES_VERSION
#define AGENTGRES_VERSION "dev"
#endif

namespace {

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
	auto *status = app.add_subcommand(
	    "status", "health (ok, warning, failing) with reasons, agents, open alerts, queue depth; exit 1 when failing");
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
	jobs->add_option("-n,--limit", limit, "how many, 1 to " + std::to_string(agentgres::sidecar::api::kMaxLimit))
	    ->capture_default_str();
	auto *alerts = app.add_subcommand("alerts", "unresolved alerts");
	auto *ack = alerts->add_subcommand("ack", "acknowledge an alert");
	long long alert_id = 0;
	ack->add_option("id", alert_id, "alert id")->required();
	auto *ingest = app.add_subcommand(
	    "ingest", "index files and directories (default: knowledge.sources) into the knowledge collection; exit 1 "
	              "when a file failed, 2 on a usage or connection error");
	std::vector<std::string> ingest_paths;
	std::string collection;
	bool queue = false;
	ingest->add_option("paths", ingest_paths, "files and directories (default: the configured knowledge.sources)");
	ingest->add_option("--collection", collection, "collection to write (default: knowledge.collection)");
	ingest->add_flag("--queue", queue, "enqueue a knowledge.index job for the daemon's worker instead");
	auto *settings =
	    app.add_subcommand("settings", "every setting with its value, where it came from, its default and meaning");
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
		std::fprintf(stderr, "agentgresd: unknown subcommand '%s'; valid subcommands: %s\n", first.c_str(),
		             names.c_str());
		return 2;
	}
	CLI11_PARSE(app, argc, argv);

	if (version->parsed()) {
		std::printf("agentgresd %s\n", AGENTGRES_VERSION);
		return 0;
	}
	namespace cli = agentgres::sidecar::cli;
	cli::Command command;
	for (const CLI::App *sub : {run, status, enqueue, jobs, alerts, ack, settings, ingest})
		if (sub->parsed())
			command.name = sub->get_name(); // ack after alerts: the innermost wins
	command.config_given = config_option->count() > 0;
	command.config_path = config_path;
	command.dsn = dsn;
	command.kind = kind;
	command.payload = payload;
	command.priority = priority;
	command.max_attempts = max_attempts;
	command.state_given = state_option->count() > 0;
	command.state = state;
	command.limit = limit;
	command.alert_id = alert_id;
	command.paths = ingest_paths;
	command.collection = collection;
	command.queue = queue;
	return cli::Execute(command, AGENTGRES_VERSION);
}
