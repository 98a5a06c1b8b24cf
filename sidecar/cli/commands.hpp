// The subcommands behind agentgresd's command line (cli/main.cpp parses it
// with CLI11 and hands over a Command): configuration choice and loading,
// the daemon itself, and the client commands.
#pragma once

#include <string>
#include <vector>

namespace agentgres::sidecar::cli {

struct Command {
	std::string name;          // run, status, enqueue, jobs, alerts, ack, settings, ingest
	bool config_given = false; // --config on the command line
	std::string config_path;
	std::string dsn;
	std::string kind;
	std::string payload = "{}";
	int priority = 3;
	int max_attempts = 3;
	bool state_given = false;
	std::string state;
	std::string limit = "20";
	long long alert_id = 0;
	std::vector<std::string> paths; // ingest
	std::string collection;         // ingest --collection
	bool queue = false;             // ingest --queue
};

// Which configuration file is used, and how it was chosen.
struct ConfigChoice {
	std::string path;   // "" for none
	std::string origin; // "--config", "AGENTGRES_CONFIG", "found", or what was searched
	std::string Text() const;
};

// --config, else AGENTGRES_CONFIG (set but empty: no file, deliberately),
// else the embedded default's .agentgres/agentgresd.toml if one is found.
ConfigChoice ChooseConfig(bool given_on_command_line, const std::string &given);

// Runs a parsed command; returns the exit status (2: bad usage or
// configuration, 1: failed or failing).
int Execute(const Command &command, const char *version);

} // namespace agentgres::sidecar::cli
