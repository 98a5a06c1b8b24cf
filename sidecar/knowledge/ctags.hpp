// Symbols from universal-ctags: `ctags --output-format=json --fields=+nK`
// over a batch of files, run without a shell (posix_spawn with an argv),
// with a time limit and an output limit. When ctags is missing or fails,
// the indexer passes NULL symbols and the database's built-in extractor
// finds them instead.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace agentgres::sidecar::knowledge {

// ctags's JSON lines: per "path", an array of {"name", "kind", "line"} in
// output order. Lines that are not tags (pseudo tags, warnings, bad JSON)
// and tags without a name, kind or positive line are skipped.
std::map<std::string, nlohmann::json> ParseCtagsJson(std::string_view output);

struct CtagsRun {
	bool ok = false;
	std::string error;    // when !ok: why (missing, exit status, timeout, too much output)
	bool missing = false; // the executable was not found
	std::map<std::string, nlohmann::json> symbols;
};

struct CtagsLimits {
	std::chrono::milliseconds timeout{30000};
	std::size_t max_output = 64 << 20;
};

// Runs `exe` over paths (absolute: none can pass for an option).
CtagsRun RunCtags(const std::string &exe, const std::vector<std::string> &paths, const CtagsLimits &limits = {});

} // namespace agentgres::sidecar::knowledge
