// agentgresd's settings: ONE table (AGENTGRES_SETTINGS below) names every
// setting with its type, default, valid range and meaning. From it come the
// typed struct Settings (config.agents_heartbeat_stale_after_s is an
// std::int64_t), the run-time catalogue SettingsTable() (TOML keys,
// environment names, validation, `agentgresd settings`) and nothing else.
//
// Values come from the defaults, then the TOML file (--config,
// AGENTGRES_CONFIG, or the embedded default's .agentgres/agentgresd.toml),
// then the environment: the setting "a.b_c" is overridden by AGENTGRES_A_B_C,
// and the contract's short name AGENTGRES_DSN works too. With no DSN, libpq's
// PG* variables apply.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace agentgres::sidecar {

// Build output, dependencies, the embedded default's folder, and files that
// are binary by name.
#define AGENTGRES_KNOWLEDGE_EXCLUDE                                                                                    \
	"build/,build-*/,cmake-build-*/,.agentgres/,node_modules/,__pycache__/,.venv/,venv/,target/,dist/,"                \
	"*.o,*.a,*.so,*.so.*,*.dylib,*.dll,*.exe,*.bc,*.pyc,*.class,*.jar,*.zip,*.tar,*.gz,*.tgz,*.bz2,*.xz,*.zst,*.7z,"   \
	"*.png,*.jpg,*.jpeg,*.gif,*.ico,*.webp,*.pdf,*.woff,*.woff2,*.ttf,*.otf,*.mp3,*.mp4,*.wav,*.sqlite,*.db,*.lock"

// INT(member, path, default, min, max, help)
// NUM(member, path, default, min, max, help)
// BOOL(member, path, default, help)
// TEXT(member, path, default, choices ("a|b", or "" for any), secret, help)
// LIST(member, path, default (comma-separated), help): a list of strings; a
//   TOML array, or in the environment items separated by commas (a literal
//   comma or backslash in an item is escaped with a backslash)
#define AGENTGRES_SETTINGS(INT, NUM, BOOL, TEXT, LIST)                                                                 \
	TEXT(database_dsn, "database.dsn", "", "", true,                                                                   \
	     "libpq conninfo or URI; empty: libpq's PG* environment variables")                                            \
	INT(database_connect_timeout_s, "database.connect_timeout_s", 5, 1, 300, "seconds to wait for a connection")       \
	INT(database_reconnect_max_s, "database.reconnect_max_s", 30, 1, 3600,                                             \
	    "longest wait between reconnection attempts (exponential backoff)")                                            \
	TEXT(http_listen, "http.listen", "127.0.0.1:7780", "", false, "address:port of /health, /metrics and /api")        \
	TEXT(http_token, "http.token", "", "", true,                                                                       \
	     "bearer token required on everything but /health; needed off loopback")                                       \
	INT(http_db_pool_size, "http.db_pool_size", 4, 1, 64, "database connections the HTTP server may hold")             \
	NUM(http_db_wait_s, "http.db_wait_s", 0.5, 0.01, 60,                                                               \
	    "longest wait for a free pool connection before answering 503")                                                \
	NUM(http_statement_timeout_s, "http.statement_timeout_s", 5, 0.1, 3600,                                            \
	    "statement_timeout of the HTTP server's queries")                                                              \
	NUM(http_lock_timeout_s, "http.lock_timeout_s", 1, 0.1, 3600,                                                      \
	    "lock_timeout of the HTTP server's queries (a held lock answers 503, not a hang)")                             \
	INT(http_max_connections, "http.max_connections", 64, 1, 4096,                                                     \
	    "connections served at once (one thread each); more are answered 503 at once")                                 \
	NUM(http_request_timeout_s, "http.request_timeout_s", 10, 0.1, 3600,                                               \
	    "longest time to receive a request's headers and body (slow clients are cut off)")                             \
	NUM(http_write_timeout_s, "http.write_timeout_s", 10, 0.1, 3600, "longest time to send a response")                \
	NUM(http_idle_timeout_s, "http.idle_timeout_s", 5, 0.1, 3600, "how long an idle keep-alive connection is kept")    \
	INT(http_max_body_kib, "http.max_body_kib", 1024, 0, 1048576,                                                      \
	    "largest request body in KiB; a larger Content-Length is answered 413 before authentication")                  \
	TEXT(log_level, "log.level", "info", "debug|info|warning|error", false, "least severe level logged")               \
	TEXT(log_format, "log.format", "text", "text|json", false, "text, or json (one object per line)")                  \
	TEXT(knowledge_collection, "knowledge.collection", "project", "", false,                                           \
	     "collection the indexer writes the sources into (created when missing)")                                      \
	TEXT(knowledge_embedder, "knowledge.embedder", "builtin", "", false,                                               \
	     "embedder of the collection the indexer creates: builtin, lsa, or embedder.model")                            \
	LIST(knowledge_sources, "knowledge.sources", "",                                                                   \
	     "directories and files the indexer reads (a directory's files get uris relative to it)")                      \
	LIST(knowledge_include, "knowledge.include", "",                                                                   \
	     "globs of files to index under a source directory (empty: all); see README, Indexing sources")                \
	LIST(knowledge_exclude, "knowledge.exclude", AGENTGRES_KNOWLEDGE_EXCLUDE,                                          \
	     "globs of files and directories never indexed (.gitignore files are honoured as well)")                       \
	INT(knowledge_max_file_kib, "knowledge.max_file_kib", 2048, 1, 1048576, "larger files are skipped (KiB)")          \
	TEXT(knowledge_ctags, "knowledge.ctags", "ctags", "", false,                                                       \
	     "universal-ctags executable for symbols; empty or missing: the database's built-in extractor")                \
	NUM(coordinator_restart_backoff_initial_s, "coordinator.restart_backoff_initial_s", 1, 0.01, 3600,                 \
	    "first wait before restarting a crashed loop")                                                                 \
	NUM(coordinator_restart_backoff_max_s, "coordinator.restart_backoff_max_s", 60, 0.01, 86400,                       \
	    "longest wait before restarting a crashed loop")                                                               \
	INT(coordinator_max_crashes, "coordinator.max_crashes", 5, 1, 1000,                                                \
	    "crashes within crash_window_s that mark a loop failed (and alert)")                                           \
	INT(coordinator_crash_window_s, "coordinator.crash_window_s", 300, 1, 86400, "window for max_crashes")             \
	NUM(coordinator_shutdown_grace_s, "coordinator.shutdown_grace_s", 4, 0.1, 600,                                     \
	    "time loops get to stop on SIGTERM/SIGINT")                                                                    \
	BOOL(agents_heartbeat_enabled, "agents.heartbeat.enabled", true,                                                   \
	     "write each loop's heartbeat; alert on stale agents")                                                         \
	NUM(agents_heartbeat_interval_s, "agents.heartbeat.interval_s", 5, 0.05, 3600, "seconds between heartbeats")       \
	INT(agents_heartbeat_stale_after_s, "agents.heartbeat.stale_after_s", 120, 1, 86400,                               \
	    "a running agent silent this long is stale (alert; system health failing)")                                    \
	BOOL(agents_perfmon_enabled, "agents.perfmon.enabled", true,                                                       \
	     "collect host and database metrics; host.threshold and host.anomaly alerts")                                  \
	NUM(agents_perfmon_interval_s, "agents.perfmon.interval_s", 15, 0.05, 86400, "seconds between samples")            \
	NUM(agents_perfmon_cpu_alert_percent, "agents.perfmon.cpu_alert_percent", 95, 0, 100,                              \
	    "CPU use that raises an alert")                                                                                \
	NUM(agents_perfmon_memory_alert_percent, "agents.perfmon.memory_alert_percent", 95, 0, 100,                        \
	    "memory use that raises an alert")                                                                             \
	NUM(agents_perfmon_disk_alert_percent, "agents.perfmon.disk_alert_percent", 90, 0, 100,                            \
	    "disk use (of disk_path) that raises an alert")                                                                \
	TEXT(agents_perfmon_disk_path, "agents.perfmon.disk_path", "/", "", false, "file system whose use is watched")     \
	NUM(agents_perfmon_anomaly_sigma, "agents.perfmon.anomaly_sigma", 4, 0.5, 100,                                     \
	    "alert when a metric leaves its EWMA band by this many deviations")                                            \
	INT(agents_perfmon_anomaly_warmup, "agents.perfmon.anomaly_warmup", 20, 1, 1000000,                                \
	    "samples before anomaly alerts start")                                                                         \
	BOOL(agents_janitor_enabled, "agents.janitor.enabled", true, "retention and metric rollups")                       \
	NUM(agents_janitor_interval_s, "agents.janitor.interval_s", 300, 0.05, 604800, "seconds between runs")             \
	INT(agents_janitor_retention_days, "agents.janitor.retention_days", 30, 1, 36500,                                  \
	    "heartbeats, raw metrics, events and finished jobs kept this long")                                            \
	BOOL(agents_indexer_enabled, "agents.indexer.enabled", true,                                                       \
	     "re-index knowledge.sources every interval_s (no loop when there are none)")                                  \
	NUM(agents_indexer_interval_s, "agents.indexer.interval_s", 300, 0.05, 604800, "seconds between index runs")       \
	BOOL(agents_worker_enabled, "agents.worker.enabled", true, "run jobs from agentgres.jobs")                         \
	INT(agents_worker_concurrency, "agents.worker.concurrency", 1, 1, 64,                                              \
	    "worker loops (each with its own connection) running jobs in parallel")                                        \
	INT(agents_worker_lease_s, "agents.worker.lease_s", 60, 1, 86400,                                                  \
	    "lease of a claimed job; a dead worker's job returns after it")                                                \
	NUM(agents_worker_poll_s, "agents.worker.poll_s", 5, 0.05, 3600, "longest wait for work when no NOTIFY arrives")   \
	TEXT(embedder_provider, "embedder.provider", "builtin", "builtin|openai", false,                                   \
	     "who embeds chunks of external-embedder collections: builtin, or an OpenAI-compatible API (openai)")          \
	TEXT(embedder_url, "embedder.url", "", "", false,                                                                  \
	     "base URL of the OpenAI-compatible API (http://127.0.0.1:11434/v1); requests go to {url}/embeddings")         \
	TEXT(embedder_model, "embedder.model", "", "", false,                                                              \
	     "model name sent to the API; a collection's embedder must be this name")                                      \
	TEXT(embedder_api_key, "embedder.api_key", "", "", true, "sent as Authorization: Bearer; never logged")            \
	INT(embedder_dims, "embedder.dims", 0, 0, 16000,                                                                   \
	    "dimensions the model answers; 0: the collection's (another answer is an error)")                              \
	INT(embedder_batch_size, "embedder.batch_size", 64, 1, 2048, "texts per embeddings request")                       \
	NUM(embedder_timeout_s, "embedder.timeout_s", 30, 0.1, 3600, "connect and read timeout of one request")            \
	INT(embedder_max_retries, "embedder.max_retries", 5, 0, 100,                                                       \
	    "resends of a batch after 429, 5xx or a timeout before the job fails (and is retried later)")                  \
	BOOL(agents_chaos_enabled, "agents.chaos.enabled", false,                                                          \
	     "test aid: a loop that throws every interval (restart and alert paths)")                                      \
	NUM(agents_chaos_interval_s, "agents.chaos.interval_s", 0.5, 0.01, 3600, "seconds between the chaos loop's crashes")

// A list setting's text form: items separated by commas, blanks around them
// dropped, empty items dropped; "\," is a comma and "\\" a backslash inside
// an item. FormatList writes what ParseList reads back to the same list.
std::vector<std::string> ParseList(std::string_view text);
std::string FormatList(const std::vector<std::string> &items);

// Every setting as a typed member, initialised to its default.
struct Settings {
#define AGENTGRES_INT_MEMBER(member, path, def, lo, hi, help) std::int64_t member = def;
#define AGENTGRES_NUM_MEMBER(member, path, def, lo, hi, help) double member = def;
#define AGENTGRES_BOOL_MEMBER(member, path, def, help) bool member = def;
#define AGENTGRES_TEXT_MEMBER(member, path, def, choices, secret, help) std::string member = def;
#define AGENTGRES_LIST_MEMBER(member, path, def, help) std::vector<std::string> member = ParseList(def);
	AGENTGRES_SETTINGS(AGENTGRES_INT_MEMBER, AGENTGRES_NUM_MEMBER, AGENTGRES_BOOL_MEMBER, AGENTGRES_TEXT_MEMBER,
	                   AGENTGRES_LIST_MEMBER)
#undef AGENTGRES_LIST_MEMBER
#undef AGENTGRES_INT_MEMBER
#undef AGENTGRES_NUM_MEMBER
#undef AGENTGRES_BOOL_MEMBER
#undef AGENTGRES_TEXT_MEMBER
};

using SettingValue = std::variant<std::int64_t, double, bool, std::string, std::vector<std::string>>;
using SettingMember = std::variant<std::int64_t Settings::*, double Settings::*, bool Settings::*,
                                   std::string Settings::*, std::vector<std::string> Settings::*>;

// One row of the table, for the code that treats settings generically.
struct SettingInfo {
	const char *path;
	const char *help;
	SettingMember member;
	SettingValue default_value;
	double min = 0, max = 0;  // INT and NUM
	const char *choices = ""; // TEXT: "a|b", or "" for any
	bool secret = false;      // never shown
};

const std::vector<SettingInfo> &SettingsTable();
// The row of a path; nullptr if there is none.
const SettingInfo *FindSetting(std::string_view path);

enum class Source { kDefault, kFile, kEnvironment, kOption };
const char *SourceName(Source source);

class Config : public Settings {
public:
	// Defaults, then the file (if path is non-empty), then the environment.
	// Throws std::runtime_error with a clear message on a bad file or value.
	// Unknown AGENTGRES_* variables are not errors but warnings().
	static Config Load(const std::string &path);
	// Defaults, then the TOML text (origin names it in messages), validated;
	// the environment is not read. Throws std::runtime_error like Load.
	static Config FromToml(std::string_view text, const std::string &origin);

	// Parses text as the setting's type and checks its range; throws.
	void Set(std::string_view path, std::string_view text, Source source);
	// The value as text in its clean form (4, 0.25, true), secrets hidden.
	std::string Describe(const SettingInfo &info) const;
	std::string Describe(std::string_view path) const;
	Source source(const SettingInfo &info) const;
	// The file read, or "" when none was.
	const std::string &
	file() const noexcept
	{
		return file_;
	}
	// Unknown AGENTGRES_* environment variables, with a did-you-mean.
	const std::vector<std::string> &
	warnings() const noexcept
	{
		return warnings_;
	}

private:
	void Validate() const;
	std::vector<Source> sources_ = std::vector<Source>(SettingsTable().size(), Source::kDefault);
	std::string file_;
	std::vector<std::string> warnings_;
};

// "AGENTGRES_" + path upper-cased with '.' -> '_'.
std::string EnvironmentName(std::string_view path);
// A value in its clean text form: 4, 0.25, true, "text", a,b (a list).
std::string FormatValue(const SettingValue &value);

// The embedded default's configuration (scripts/up.sh writes it) when neither
// --config nor AGENTGRES_CONFIG names one: .agentgres/agentgresd.toml in
// `start` or one of its parents, else beside the binary's project root
// (<directory of exe>/../.agentgres/agentgresd.toml). "" if there is none.
std::string FindDefaultConfigFile(const std::string &start, const std::string &exe);
// Where FindDefaultConfigFile looks, in words (for error messages).
std::string DefaultConfigSearchText(const std::string &start, const std::string &exe);

} // namespace agentgres::sidecar
