// The index run: lists the sources' files, skips those whose SHA-256 equals
// the stored content_hash without sending them, sends new and changed files
// through agentgres.ingest_document (one short transaction each, symbols
// from universal-ctags or NULL for the database's own extractor), and
// deletes the documents of files gone from disk. A file that fails is
// logged and counted and the run goes on; a stop request is honoured
// between files. Used by the indexer loop, the knowledge.index job and
// `agentgresd ingest`.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "coordinator/loop.hpp"
#include "db/connection.hpp"
#include "knowledge/progress.hpp"
#include "knowledge/sources.hpp"

namespace agentgres::sidecar::knowledge {

struct IndexOptions {
	std::string collection;
	// What a collection the run creates embeds with: builtin, lsa (trained
	// by the knowledge.train job ingest_document queues), or an external
	// model of dims dimensions.
	std::string embedder = "builtin";
	std::int64_t dims = 0;
	std::vector<Unit> units;
	Filters filters;              // use_include is set per unit
	std::string ctags = "ctags";  // "" for none
	std::size_t batch_files = 64; // files per ctags run
};

struct IndexResult {
	IndexCounts counts;
	double seconds = 0;
	bool interrupted = false;
	std::vector<std::string> errors; // the first few, "uri: why"
};

using ProgressFn = std::function<void(const IndexCounts &)>;

// Options from the settings; paths (absolute or relative to the working
// directory) narrow the run to them, else the configured sources are run.
// Throws std::runtime_error for a path that does not exist.
IndexOptions OptionsFromConfig(const Config &config, const std::vector<std::string> &paths,
                               const std::string &collection);

// One run. Throws db::DbError when the connection is lost or the collection
// cannot be read or created; per-file errors are counted, not thrown.
IndexResult RunIndex(db::Connection &db, const IndexOptions &options, const std::atomic<bool> &stop,
                     const ProgressFn &progress = {});

// The knowledge.index job: payload {"paths": [...], "collection": "..."},
// both optional. Throws when a file failed (the queue retries the job).
nlohmann::json RunIndexJob(const nlohmann::json &payload, LoopContext &context);

// The indexer loop: RunIndex over knowledge.sources every agents.indexer.interval_s.
std::unique_ptr<Loop> MakeIndexerLoop();

// `agentgresd ingest [PATH...] [--collection NAME] [--queue]`: exit status 0
// (every file went in), 1 (some failed), 2 (usage or connection error).
int IngestCommand(const Config &config, const std::vector<std::string> &paths, const std::string &collection,
                  bool queue);

} // namespace agentgres::sidecar::knowledge
