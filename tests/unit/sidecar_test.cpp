// The daemon's pieces that need no database: settings, the EWMA band,
// Prometheus rendering, routes, filters, the health verdict, the HTTP server
// with its database unreachable, listen addresses, DSN redaction.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include "agents/agents.hpp"
#include "agents/ewma.hpp"
#include "api/filters.hpp"
#include "config/config.hpp"
#include "coordinator/coordinator.hpp"
#include "db/pool.hpp"
#include "http/health.hpp"
#include "http/server.hpp"
#include "log/log.hpp"
#include "metrics/metrics.hpp"
#include "util/text.hpp"

namespace agentgres::sidecar {
namespace {

std::string
WriteFile(const std::string &text)
{
	// ctest runs tests in parallel processes: one file per process and call.
	static int counter = 0;
	const std::string path = ::testing::TempDir() + "/agentgresd_test_" + std::to_string(getpid()) + "_" +
	                         std::to_string(++counter) + ".toml";
	std::ofstream(path) << text;
	return path;
}

// Which of the warnings mention `needle`.
bool
Warned(const Config &c, const std::string &needle)
{
	for (const std::string &w : c.warnings())
		if (w.find(needle) != std::string::npos)
			return true;
	return false;
}

TEST(Config, DefaultsFileAndEnvironment)
{
	unsetenv("AGENTGRES_HTTP_LISTEN");
	unsetenv("AGENTGRES_AGENTS_WORKER_LEASE_S");
	const Config defaults = Config::Load("");
	EXPECT_EQ(defaults.http_listen, "127.0.0.1:7780");
	EXPECT_EQ(defaults.agents_worker_lease_s, 60);
	EXPECT_TRUE(defaults.agents_worker_enabled);
	EXPECT_EQ(defaults.agents_heartbeat_stale_after_s, 120); // system_health()'s 2 minutes
	EXPECT_EQ(defaults.http_db_pool_size, 4);
	EXPECT_EQ(defaults.file(), "");

	const std::string path = WriteFile("[http]\nlisten = \"127.0.0.1:9000\"\n[agents.worker]\nlease_s = 10\n"
	                                   "[agents.perfmon]\ninterval_s = 2\n");
	const Config file = Config::Load(path);
	EXPECT_EQ(file.http_listen, "127.0.0.1:9000");
	EXPECT_EQ(file.agents_worker_lease_s, 10);
	EXPECT_DOUBLE_EQ(file.agents_perfmon_interval_s, 2.0);
	EXPECT_EQ(file.file(), path);
	EXPECT_EQ(file.source(*FindSetting("agents.worker.lease_s")), Source::kFile);
	EXPECT_EQ(file.source(*FindSetting("agents.worker.poll_s")), Source::kDefault);

	setenv("AGENTGRES_AGENTS_WORKER_LEASE_S", "7", 1);
	setenv("AGENTGRES_DSN", "dbname=x password=hunter2", 1);
	const Config env = Config::Load(path);
	EXPECT_EQ(env.agents_worker_lease_s, 7);
	EXPECT_EQ(env.source(*FindSetting("agents.worker.lease_s")), Source::kEnvironment);
	EXPECT_EQ(env.database_dsn, "dbname=x password=hunter2");
	EXPECT_EQ(env.Describe("database.dsn"), "(set)"); // secrets are never shown
	unsetenv("AGENTGRES_AGENTS_WORKER_LEASE_S");
	unsetenv("AGENTGRES_DSN");
}

TEST(Config, RejectsUnknownSettingsBadValuesAndBadFiles)
{
	EXPECT_THROW(Config::Load(WriteFile("[http]\nlisen = \"x\"\n")), std::runtime_error);
	EXPECT_THROW(Config::Load(WriteFile("[agents.worker]\nlease_s = \"soon\"\n")), std::runtime_error);
	EXPECT_THROW(Config::Load(WriteFile("[agents.worker]\nlease_s = 0\n")), std::runtime_error);
	EXPECT_THROW(Config::Load(WriteFile("[log]\nformat = \"xml\"\n")), std::runtime_error);
	EXPECT_THROW(Config::Load(WriteFile("this is = not toml [")), std::runtime_error);
	EXPECT_THROW(Config::Load("/nonexistent/agentgresd.toml"), std::runtime_error);
	setenv("AGENTGRES_AGENTS_HEARTBEAT_ENABLED", "perhaps", 1);
	EXPECT_THROW(Config::Load(""), std::runtime_error);
	unsetenv("AGENTGRES_AGENTS_HEARTBEAT_ENABLED");
	EXPECT_EQ(EnvironmentName("agents.worker.lease_s"), "AGENTGRES_AGENTS_WORKER_LEASE_S");
}

TEST(Config, FromTomlIsLoadWithoutTheEnvironment)
{
	setenv("AGENTGRES_LOG_LEVEL", "error", 1);
	const Config c = Config::FromToml("[log]\nformat = \"json\"\n[agents.worker]\nconcurrency = 3\n", "text.toml");
	unsetenv("AGENTGRES_LOG_LEVEL");
	EXPECT_EQ(c.log_format, "json");
	EXPECT_EQ(c.log_level, "info");
	EXPECT_EQ(c.agents_worker_concurrency, 3);
	try {
		Config::FromToml("[log]\nlevl = 1\n", "text.toml");
		FAIL();
	} catch (const std::runtime_error &e) {
		EXPECT_NE(std::string(e.what()).find("unknown setting \"log.levl\" in \"text.toml\""), std::string::npos);
	}
	EXPECT_THROW(Config::FromToml("a = [", "text.toml"), std::runtime_error);
	// Validation runs as in Load.
	EXPECT_THROW(Config::FromToml("[agents.heartbeat]\nstale_after_s = 5\ninterval_s = 10\n", "t.toml"),
	             std::runtime_error);
}

TEST(Config, RangesComeFromTheTable)
{
	Config c = Config::Load("");
	const auto message = [&](const char *path, const char *value) {
		try {
			c.Set(path, value, Source::kOption);
		} catch (const std::runtime_error &e) {
			return std::string(e.what());
		}
		return std::string("accepted");
	};
	EXPECT_EQ(message("agents.worker.concurrency", "65"),
	          "invalid value \"65\" for setting \"agents.worker.concurrency\": must be between 1 and 64");
	EXPECT_EQ(message("agents.perfmon.cpu_alert_percent", "101"),
	          "invalid value \"101\" for setting \"agents.perfmon.cpu_alert_percent\": must be between 0 and 100");
	EXPECT_NE(message("agents.perfmon.anomaly_sigma", "nan").find("must be between"), std::string::npos);
	EXPECT_NE(message("http.db_pool_size", "4.5").find("expected an integer"), std::string::npos);
	EXPECT_NE(message("http.db_pool_size", "").find("expected an integer"), std::string::npos);
	EXPECT_NE(message("http.db_pool_size", "99999999999999999999").find("must be between 1 and 64"), std::string::npos);
	EXPECT_NE(message("log.level", "loud").find("expected one of debug,info,warning,error"), std::string::npos);
	EXPECT_NE(message("log.level", "info|debug").find("expected one of"), std::string::npos);
	EXPECT_EQ(message("log.level", "debug"), "accepted");
	EXPECT_EQ(c.log_level, "debug");
	EXPECT_EQ(message("agents.heartbeat.stale_aftr_s", "3"),
	          "unknown setting \"agents.heartbeat.stale_aftr_s\" (did you mean agents.heartbeat.stale_after_s?)");
	// Cross-setting rules.
	setenv("AGENTGRES_AGENTS_HEARTBEAT_STALE_AFTER_S", "5", 1);
	setenv("AGENTGRES_AGENTS_HEARTBEAT_INTERVAL_S", "5", 1);
	EXPECT_THROW(Config::Load(""), std::runtime_error);
	unsetenv("AGENTGRES_AGENTS_HEARTBEAT_STALE_AFTER_S");
	unsetenv("AGENTGRES_AGENTS_HEARTBEAT_INTERVAL_S");
	EXPECT_THROW(Config::Load(WriteFile("[coordinator]\nrestart_backoff_initial_s = 10\nrestart_backoff_max_s = 5\n")),
	             std::runtime_error);
}

TEST(Config, ValuesReadCleanly)
{
	setenv("AGENTGRES_AGENTS_HEARTBEAT_INTERVAL_S", "0.25", 1);
	const Config c = Config::Load(WriteFile("[agents.perfmon]\nanomaly_sigma = 4.0\ninterval_s = 0.1\n"));
	unsetenv("AGENTGRES_AGENTS_HEARTBEAT_INTERVAL_S");
	EXPECT_EQ(c.Describe("agents.heartbeat.interval_s"), "0.25");
	EXPECT_EQ(c.Describe("agents.perfmon.anomaly_sigma"), "4");
	EXPECT_EQ(c.Describe("agents.perfmon.interval_s"), "0.1"); // TOML float read exactly
	EXPECT_DOUBLE_EQ(c.agents_perfmon_interval_s, 0.1);
	EXPECT_EQ(c.Describe("agents.worker.concurrency"), "1");
	EXPECT_EQ(c.Describe("agents.chaos.enabled"), "false");
	EXPECT_EQ(FormatValue(FindSetting("coordinator.shutdown_grace_s")->default_value), "4");
	EXPECT_EQ(FormatValue(FindSetting("agents.chaos.interval_s")->default_value), "0.5");
	// Every row: a path, a help text, an environment name, a default in range.
	std::set<std::string> names;
	for (const SettingInfo &s : SettingsTable()) {
		EXPECT_TRUE(names.insert(EnvironmentName(s.path)).second) << s.path;
		EXPECT_GT(std::string(s.help).size(), 10u) << s.path;
		if (const auto *i = std::get_if<std::int64_t>(&s.default_value)) {
			EXPECT_TRUE(*i >= s.min && *i <= s.max) << s.path;
		}
		if (const auto *d = std::get_if<double>(&s.default_value)) {
			EXPECT_TRUE(*d >= s.min && *d <= s.max) << s.path;
		}
	}
}

TEST(Config, WarnsAboutUnknownEnvironmentVariables)
{
	setenv("AGENTGRES_HTTP_LISTN", "127.0.0.1:1", 1);
	setenv("AGENTGRES_COMPLETELY_DIFFERENT", "1", 1);
	setenv("AGENTGRES_ROOT", "/somewhere", 1); // the scripts' own
	const Config c = Config::Load("");
	EXPECT_EQ(c.http_listen, "127.0.0.1:7780");
	EXPECT_TRUE(Warned(c, "unknown environment variable AGENTGRES_HTTP_LISTN ignored (did you mean "
	                      "AGENTGRES_HTTP_LISTEN?)"));
	EXPECT_TRUE(Warned(c, "unknown environment variable AGENTGRES_COMPLETELY_DIFFERENT ignored"));
	EXPECT_FALSE(Warned(c, "AGENTGRES_COMPLETELY_DIFFERENT ignored (did you mean"));
	EXPECT_FALSE(Warned(c, "AGENTGRES_ROOT"));
	unsetenv("AGENTGRES_HTTP_LISTN");
	unsetenv("AGENTGRES_COMPLETELY_DIFFERENT");
	unsetenv("AGENTGRES_ROOT");
	EXPECT_FALSE(Warned(Config::Load(""), "AGENTGRES_HTTP_LISTN"));
}

TEST(Config, UnknownFileKeysSuggestTheNearest)
{
	try {
		Config::Load(WriteFile("[http]\nlisen = \"x\"\n"));
		FAIL() << "accepted an unknown key";
	} catch (const std::runtime_error &e) {
		EXPECT_NE(std::string(e.what()).find("unknown setting \"http.lisen\""), std::string::npos) << e.what();
		EXPECT_NE(std::string(e.what()).find("(did you mean http.listen?)"), std::string::npos) << e.what();
	}
}

TEST(Config, FindsTheEmbeddedDefaultsFile)
{
	namespace fs = std::filesystem;
	const fs::path root = fs::path(::testing::TempDir()) / ("agentgresd_find_" + std::to_string(getpid()));
	fs::remove_all(root);
	fs::create_directories(root / "project" / "src" / "deep");
	fs::create_directories(root / "project" / "build");
	fs::create_directories(root / "elsewhere");
	EXPECT_EQ(FindDefaultConfigFile((root / "project" / "src" / "deep").string(), ""), "");
	fs::create_directories(root / "project" / ".agentgres");
	std::ofstream(root / "project" / ".agentgres" / "agentgresd.toml") << "# embedded\n";
	const std::string expected = (root / "project" / ".agentgres" / "agentgresd.toml").string();
	// From a subdirectory: the parents are searched.
	EXPECT_EQ(FindDefaultConfigFile((root / "project" / "src" / "deep").string(), ""), expected);
	EXPECT_EQ(FindDefaultConfigFile((root / "project").string() + "/", ""), expected);
	// From elsewhere: beside the binary's project root.
	std::ofstream(root / "project" / "build" / "agentgresd") << "";
	EXPECT_EQ(FindDefaultConfigFile((root / "elsewhere").string(),
	                                (root / "project" / "build" / "agentgresd").string()),
	          expected);
	EXPECT_EQ(FindDefaultConfigFile((root / "elsewhere").string(), ""), "");
	const std::string words =
	    DefaultConfigSearchText((root / "elsewhere").string(), (root / "project" / "build" / "agentgresd").string());
	EXPECT_NE(words.find((root / "elsewhere").string() + " and its parents"), std::string::npos) << words;
	EXPECT_NE(words.find(expected), std::string::npos) << words;
	fs::remove_all(root);
}

TEST(Text, NumbersDurationsAndNearMisses)
{
	EXPECT_EQ(text::Number(4.0), "4");
	EXPECT_EQ(text::Number(0.25), "0.25");
	EXPECT_EQ(text::Number(0.0005), "0.0005");
	EXPECT_EQ(text::Number(300), "300");
	EXPECT_EQ(text::Number(1048576), "1048576"); // a KiB limit, not 1.048576e+06
	EXPECT_EQ(text::Number(2147483647), "2147483647");
	EXPECT_EQ(text::Number(1e15), "1e+15");
	EXPECT_EQ(text::Number(0.1), "0.1");
	EXPECT_EQ(text::Number(1e300), "1e+300");
	EXPECT_EQ(text::Number(1.0 / 0.0), "+Inf");
	EXPECT_EQ(text::Number(std::nan("")), "NaN");
	EXPECT_EQ(text::Rounded(97.3456, 1), "97.3");
	EXPECT_EQ(text::Rounded(95.0, 1), "95");
	EXPECT_EQ(text::Rounded(-0.0001, 1), "0");
	EXPECT_EQ(text::Duration(0), "0 s");
	EXPECT_EQ(text::Duration(45.4), "45 s");
	EXPECT_EQ(text::Duration(190), "3 min 10 s");
	EXPECT_EQ(text::Duration(180), "3 min");
	EXPECT_EQ(text::Duration(7500), "2 h 5 min");
	EXPECT_EQ(text::Duration(3 * 86400 + 4 * 3600 + 59), "3 d 4 h");
	EXPECT_EQ(text::Duration(-5), "0 s");
	EXPECT_EQ(text::EditDistance("kitten", "sitting"), 3u);
	EXPECT_EQ(text::Nearest("AGENTGRES_HTTP_LISTN", {"AGENTGRES_HTTP_LISTEN", "AGENTGRES_HTTP_TOKEN"}),
	          "AGENTGRES_HTTP_LISTEN");
	EXPECT_EQ(text::Nearest("ab", {"xy"}), "");
	EXPECT_EQ(text::Nearest("", {"a"}), "");
}

TEST(Heartbeat, StaleMessagesAreGrammatical)
{
	EXPECT_EQ(StaleMessage("janitor", 190), "agent janitor has sent no heartbeat for 3 min 10 s");
	EXPECT_EQ(StaleMessage("worker-2", 121.6), "agent worker-2 has sent no heartbeat for 2 min 2 s");
	EXPECT_EQ(StaleMessage("x", 1e9).find("ever"), std::string::npos);
}

TEST(Filters, StatesAndLimits)
{
	EXPECT_EQ(api::CheckState("job state", api::JobStates(), "dead"), "dead");
	try {
		api::CheckState("job state", api::JobStates(), "failed");
		FAIL();
	} catch (const api::BadRequest &e) {
		EXPECT_STREQ(e.what(), "unknown job state \"failed\"; valid states are queued, running, done, dead, cancelled");
	}
	try {
		api::CheckState("agent status", api::AgentStatuses(), "");
		FAIL();
	} catch (const api::BadRequest &e) {
		EXPECT_NE(std::string(e.what()).find("empty agent status; valid statuses are registered,"), std::string::npos);
	}
	EXPECT_THROW(api::CheckState("alert status", api::AlertStatuses(), std::string(10000, 'x')), api::BadRequest);
	EXPECT_EQ(api::ParseLimit("1"), 1);
	EXPECT_EQ(api::ParseLimit("1000"), 1000);
	for (const char *bad : {"", "0", "-1", "abc", "1001", "99999999999", "1e3", " 5", "5 ", "0x10"})
		EXPECT_THROW(api::ParseLimit(bad), api::BadRequest) << '"' << bad << '"';
	try {
		api::ParseLimit("-1");
	} catch (const api::BadRequest &e) {
		EXPECT_STREQ(e.what(), "limit must be an integer from 1 to 1000, not \"-1\"");
	}
}

TEST(Filters, ListQueries)
{
	const auto parse = [](const httplib::Params &params) {
		return api::ParseListQuery(params, "job state", api::JobStates());
	};
	EXPECT_EQ(parse({}).limit, 100);
	EXPECT_FALSE(parse({}).state);
	const api::ListQuery q = parse({{"state", "dead"}, {"limit", "7"}});
	EXPECT_EQ(q.state, "dead");
	EXPECT_EQ(q.limit, 7);
	EXPECT_THROW(parse({{"stat", "dead"}}), api::BadRequest);
	EXPECT_THROW(parse({{"state", "dead"}, {"state", "done"}}), api::BadRequest);
	EXPECT_THROW(parse({{"limit", "5"}, {"limit", "6"}}), api::BadRequest);
}

// A quoted parameter is cut on a character boundary, and bytes that are not
// UTF-8 do not make the error body throw (an invariant of
// fuzz/http_request.cpp: nlohmann's dump() threw type_error 316, and the
// client got 500 instead of 400).
TEST(Filters, ErrorBodiesAreValidJsonWhateverWasSent)
{
	for (const std::string &state : {std::string(63, 'a') + "é", std::string("\xff\xfe"), std::string(200, '\xc3')}) {
		std::string body;
		try {
			api::CheckState("job state", api::JobStates(), state);
			FAIL();
		} catch (const api::BadRequest &e) {
			EXPECT_NO_THROW(body = api::ErrorBody(e.what()));
		}
		const auto parsed = nlohmann::json::parse(body, nullptr, false);
		ASSERT_FALSE(parsed.is_discarded()) << body;
		EXPECT_NE(parsed["error"].get<std::string>().find("unknown job state"), std::string::npos);
	}
	EXPECT_EQ(api::ErrorBody("plain"), "{\"error\":\"plain\"}");
	try {
		api::CheckState("job state", api::JobStates(), std::string(63, 'a') + "é");
	} catch (const api::BadRequest &e) {
		// The 64-byte quote would end inside é: the character is left out.
		EXPECT_NE(std::string(e.what()).find("\"" + std::string(63, 'a') + "\""), std::string::npos) << e.what();
	}
}

TEST(Health, OneMeaningOfHealthy)
{
	const auto judge = [](const char *system, const std::string &db_error = "", std::vector<std::string> failed = {}) {
		return JudgeHealth(system ? nlohmann::json::parse(system) : nlohmann::json(nullptr), db_error, failed);
	};
	HealthVerdict v = judge(R"({"status": "ok", "reasons": []})");
	EXPECT_EQ(v.status, "ok");
	EXPECT_EQ(v.http_status, 200);
	EXPECT_TRUE(v.reasons.empty());
	// A busy host is a warning, answered 200, never "ok" beside it.
	v = judge(R"({"status": "warning", "reasons": ["1 open alert about the host"]})");
	EXPECT_EQ(v.status, "warning");
	EXPECT_EQ(v.http_status, 200);
	EXPECT_EQ(v.reasons, std::vector<std::string>{"1 open alert about the host"});
	v = judge(R"({"status": "failing", "reasons": ["agent janitor is stale"]})");
	EXPECT_EQ(v.status, "failing");
	EXPECT_EQ(v.http_status, 503);
	// This daemon's own troubles make it failing whatever the system says.
	v = judge(nullptr, "unreachable: could not connect");
	EXPECT_EQ(v.status, "failing");
	EXPECT_EQ(v.http_status, 503);
	EXPECT_EQ(v.reasons, std::vector<std::string>{"database unreachable: could not connect"});
	v = judge(R"({"status": "ok", "reasons": []})", "", {"chaos"});
	EXPECT_EQ(v.status, "failing");
	EXPECT_EQ(v.reasons, std::vector<std::string>{"loop chaos failed in this daemon"});
	// Unknown answers are not taken for health.
	EXPECT_EQ(judge(R"({"status": "splendid"})").status, "failing");
	EXPECT_EQ(judge(R"([])").status, "failing");
}

TEST(Routes, PatternsLabelsAndMethods)
{
	EXPECT_TRUE(PatternMatches("/api/jobs", "/api/jobs"));
	EXPECT_FALSE(PatternMatches("/api/jobs", "/api/jobs/"));
	EXPECT_FALSE(PatternMatches("/api/jobs", "/api/job"));
	EXPECT_TRUE(PatternMatches("/api/sessions/{id}", "/api/sessions/42"));
	EXPECT_TRUE(PatternMatches("/api/sessions/{id}/events", "/api/sessions/42/events"));
	EXPECT_FALSE(PatternMatches("/api/sessions/{id}", "/api/sessions/"));
	EXPECT_FALSE(PatternMatches("/api/sessions/{id}", "/api/sessions/42/x"));
	const std::vector<RouteSpec> routes = {{"/api/jobs", {"GET"}}, {"/api/jobs/{id}/cancel", {"POST"}}};
	RouteDecision d = DecideRoute(routes, "GET", "/api/jobs");
	EXPECT_EQ(d.label, "/api/jobs");
	EXPECT_EQ(d.status, 0);
	EXPECT_EQ(DecideRoute(routes, "HEAD", "/api/jobs").status, 0);
	d = DecideRoute(routes, "POST", "/api/jobs");
	EXPECT_EQ(d.status, 405);
	EXPECT_EQ(d.allow, "GET, HEAD");
	d = DecideRoute(routes, "GET", "/api/jobs/7/cancel"); // and vice versa
	EXPECT_EQ(d.status, 405);
	EXPECT_EQ(d.allow, "POST");
	EXPECT_EQ(d.label, "/api/jobs/{id}/cancel");
	d = DecideRoute(routes, "GET", "/api/nothing/here");
	EXPECT_EQ(d.status, 404);
	EXPECT_EQ(d.label, "unmatched");
}

TEST(Pool, AFailedConnectHandsItsSlotBack)
{
	db::Pool pool({"host=/nonexistent-agentgres-socket-dir port=1", "test", 1, 1, std::chrono::milliseconds(50), {}});
	for (int i = 0; i < 3; ++i) { // one slot, three attempts: the slot returns each time
		EXPECT_THROW(pool.Acquire(), db::DbError);
		EXPECT_EQ(pool.leased(), 0u);
	}
}

// The real server with its database unreachable: everything that must not
// need the database answers correctly, and /metrics stays bounded.
TEST(HttpServer, AnswersWithoutTheDatabase)
{
	Config config = Config::Load("");
	const int port = 20000 + static_cast<int>(getpid() % 20000);
	config.Set("http.listen", "127.0.0.1:" + std::to_string(port), Source::kOption);
	config.Set("database.dsn", "host=/nonexistent-agentgres-socket-dir port=1", Source::kOption);
	metrics::RegisterStandardMetrics();
	Coordinator coordinator(config);
	HttpServer server(config, coordinator);
	server.Start();
	httplib::Client client("127.0.0.1", port);
	const auto json = [](const httplib::Result &r) { return nlohmann::json::parse(r->body); };

	auto r = client.Get("/api/nope");
	ASSERT_TRUE(r);
	EXPECT_EQ(r->status, 404);
	EXPECT_TRUE(json(r).contains("error"));
	r = client.Post("/api/jobs", "{}", "application/json");
	ASSERT_TRUE(r);
	EXPECT_EQ(r->status, 405);
	EXPECT_EQ(r->get_header_value("Allow"), "GET, HEAD");
	EXPECT_TRUE(json(r).contains("error"));
	for (const char *query :
	     {"/api/jobs?state=bogus", "/api/jobs?state=", "/api/jobs?limit=", "/api/jobs?limit=abc",
	      "/api/jobs?limit=99999999999", "/api/jobs?limit=-1", "/api/agents?state=failing", "/api/alerts?state=closed",
	      "/api/jobs?stat=queued", "/api/jobs?state=%FF", "/api/jobs?state=queued&state=done"}) {
		r = client.Get(query);
		ASSERT_TRUE(r) << query;
		EXPECT_EQ(r->status, 400) << query;
		EXPECT_TRUE(json(r).contains("error")) << query;
	}
	r = client.Get("/api/jobs?state=bogus");
	EXPECT_NE(json(r)["error"].get<std::string>().find("valid states are queued, running, done, dead, cancelled"),
	          std::string::npos);
	r = client.Get("/api/jobs?state=queued");
	EXPECT_EQ(r->status, 503); // a valid request, an unreachable database
	r = client.Get("/health");
	ASSERT_TRUE(r);
	EXPECT_EQ(r->status, 503);
	EXPECT_EQ(json(r)["status"], "failing");
	EXPECT_NE(json(r)["reasons"][0].get<std::string>().find("database unreachable"), std::string::npos);

	// A client walking random paths adds no series.
	for (int i = 0; i < 50; ++i)
		client.Get(("/api/random-" + std::to_string(i)).c_str());
	r = client.Get("/metrics");
	ASSERT_TRUE(r);
	std::set<std::string> routes;
	const std::regex series(R"re(agentgres_http_requests_total\{code="\d+",route="([^"]*)"\})re");
	for (std::sregex_iterator it(r->body.begin(), r->body.end(), series), end; it != end; ++it)
		routes.insert((*it)[1]);
	const std::set<std::string> expected = {"unmatched", "/api/jobs", "/api/agents", "/api/alerts", "/health"};
	EXPECT_EQ(routes, expected);
	server.Stop();
}

namespace {

// A raw connection to 127.0.0.1:port that sends text; -1 if it cannot connect.
int
RawConnect(int port, const std::string &text)
{
	const int fd = socket(AF_INET, SOCK_STREAM, 0);
	sockaddr_in a{};
	a.sin_family = AF_INET;
	a.sin_port = htons(static_cast<std::uint16_t>(port));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0) {
		close(fd);
		return -1;
	}
	if (!text.empty() && send(fd, text.data(), text.size(), MSG_NOSIGNAL) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

// Everything the server sends until it closes (or 5 s pass).
std::string
ReadAll(int fd)
{
	timeval t{5, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &t, sizeof t);
	std::string out;
	char buffer[4096];
	for (ssize_t n; (n = recv(fd, buffer, sizeof buffer, 0)) > 0;)
		out.append(buffer, static_cast<std::size_t>(n));
	return out;
}

// Waits (up to 5 s) until the server counts no open connection: a closed
// connection still holds its slot while the server drains it.
bool
WaitForNoConnections()
{
	const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
	while (std::chrono::steady_clock::now() < until) {
		if (metrics::Registry::Global().Render().find("\nagentgres_http_connections 0\n") != std::string::npos)
			return true;
		std::this_thread::sleep_for(std::chrono::milliseconds(10));
	}
	return false;
}

} // namespace

// Slow clients, large bodies, a second server on the address: the server's
// guards, without a database.
TEST(HttpServer, GuardsItsConnections)
{
	Config config = Config::Load("");
	const int port = 20000 + static_cast<int>((getpid() + 7919) % 20000);
	config.Set("http.listen", "127.0.0.1:" + std::to_string(port), Source::kOption);
	config.Set("http.token", "s3cret", Source::kOption);
	config.Set("database.dsn", "host=/nonexistent-agentgres-socket-dir port=1", Source::kOption);
	config.Set("http.max_connections", "2", Source::kOption);
	config.Set("http.request_timeout_s", "1.5", Source::kOption);
	config.Set("http.max_body_kib", "1", Source::kOption);
	metrics::RegisterStandardMetrics();
	Coordinator coordinator(config);
	HttpServer server(config, coordinator);
	server.Start();

	// A body over the limit: 413 before authentication, and the connection closes.
	int fd = RawConnect(port, "POST /api/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 419430400\r\n\r\nabc");
	ASSERT_GE(fd, 0);
	std::string answer = ReadAll(fd);
	close(fd);
	EXPECT_EQ(answer.rfind("HTTP/1.1 413", 0), 0u) << answer;
	EXPECT_NE(answer.find("exceeds the limit of 1024 bytes (http.max_body_kib)"), std::string::npos) << answer;
	EXPECT_NE(answer.find("Connection: close"), std::string::npos) << answer;
	// A GET with a body: answered, then closed; the body is not a second request.
	fd = RawConnect(port,
	                "GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 25\r\n\r\nGET /api/nope HTTP/1.1\r\n\r\n");
	ASSERT_GE(fd, 0);
	answer = ReadAll(fd);
	close(fd);
	EXPECT_EQ(answer.rfind("HTTP/1.1 503", 0), 0u) << answer; // no database
	EXPECT_EQ(answer.find("HTTP/1.1 404"), std::string::npos) << answer;

	// Two slow clients hold both connections: a third is answered 503 at once.
	ASSERT_TRUE(WaitForNoConnections()) << metrics::Registry::Global().Render();
	const int slow1 = RawConnect(port, "GET /health HTTP/1.1\r\n");
	const int slow2 = RawConnect(port, "GET /health HTTP/1.1\r\n");
	ASSERT_GE(slow1, 0);
	ASSERT_GE(slow2, 0);
	const auto slow_since = std::chrono::steady_clock::now();
	std::this_thread::sleep_for(std::chrono::milliseconds(300));
	fd = RawConnect(port, "GET /api/nope HTTP/1.1\r\nHost: x\r\n\r\n");
	ASSERT_GE(fd, 0);
	answer = ReadAll(fd);
	close(fd);
	EXPECT_EQ(answer.rfind("HTTP/1.1 503", 0), 0u) << answer;
	EXPECT_NE(answer.find("too many connections"), std::string::npos) << answer;
	// ... until request_timeout_s cuts the slow ones off (400, then closed).
	EXPECT_EQ(ReadAll(slow1).rfind("HTTP/1.1 400", 0), 0u);
	EXPECT_EQ(ReadAll(slow2).rfind("HTTP/1.1 400", 0), 0u);
	const double held = std::chrono::duration<double>(std::chrono::steady_clock::now() - slow_since).count();
	EXPECT_GT(held, 1.2);
	EXPECT_LT(held, 4.0); // well before the 5 s idle timeout
	close(slow1);
	close(slow2);
	ASSERT_TRUE(WaitForNoConnections()) << metrics::Registry::Global().Render();
	fd = RawConnect(port,
	                "GET /api/nope HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret\r\nConnection: close\r\n\r\n");
	ASSERT_GE(fd, 0);
	answer = ReadAll(fd);
	close(fd);
	EXPECT_EQ(answer.rfind("HTTP/1.1 404", 0), 0u) << answer;

	// A second server on the same address refuses to start.
	Coordinator other_coordinator(config);
	HttpServer second(config, other_coordinator);
	try {
		second.Start();
		FAIL() << "a second server listened on the same address";
	} catch (const std::runtime_error &e) {
		EXPECT_NE(std::string(e.what()).find("address already in use"), std::string::npos) << e.what();
	}
	server.Stop();
}

TEST(EwmaBand, FlagsOutliersAfterWarmup)
{
	EwmaBand band;
	for (int i = 0; i < 50; ++i)
		EXPECT_FALSE(band.Add(10.0 + (i % 2 ? 0.5 : -0.5), 4.0, 20)) << i;
	EXPECT_TRUE(band.Add(30.0, 4.0, 20));
	EXPECT_FALSE(band.Add(10.2, 4.0, 20));
	EwmaBand young;
	EXPECT_FALSE(young.Add(1, 4.0, 20));
	EXPECT_FALSE(young.Add(1000, 4.0, 20)); // still warming up
	EwmaBand flat;
	for (int i = 0; i < 30; ++i)
		flat.Add(5.0, 4.0, 20);
	EXPECT_FALSE(flat.Add(5.0000001, 4.0, 20)); // the deviation floor
	EXPECT_TRUE(flat.Add(6.0, 4.0, 20));
}

TEST(Metrics, RendersThePrometheusTextFormat)
{
	metrics::Registry r;
	r.Describe("x_total", "counter", "things");
	r.Add("x_total", {{"path", "/a\"b"}}, 2);
	r.Describe("y_seconds", "histogram", "latency");
	r.Observe("y_seconds", {}, 0.003);
	r.Observe("y_seconds", {}, 1000);
	const std::string text = r.Render();
	EXPECT_NE(text.find("# TYPE x_total counter\n"), std::string::npos);
	EXPECT_NE(text.find("x_total{path=\"/a\\\"b\"} 2\n"), std::string::npos);
	EXPECT_NE(text.find("y_seconds_bucket{le=\"0.005\"} 1\n"), std::string::npos);
	EXPECT_NE(text.find("y_seconds_bucket{le=\"0.0005\"} 0\n"), std::string::npos);
	EXPECT_EQ(text.find("0.000500"), std::string::npos);
	EXPECT_NE(text.find("y_seconds_bucket{le=\"+Inf\"} 2\n"), std::string::npos);
	EXPECT_NE(text.find("y_seconds_count 2\n"), std::string::npos);
}

TEST(ListenAddress, ParsesAndClassifies)
{
	EXPECT_TRUE(ParseListenAddress("127.0.0.1:7780").loopback);
	EXPECT_TRUE(ParseListenAddress("localhost:1").loopback);
	EXPECT_TRUE(ParseListenAddress("[::1]:80").loopback);
	EXPECT_TRUE(ParseListenAddress("127.1:80").loopback); // inet_aton's short form is 127.0.0.1
	EXPECT_EQ(ParseListenAddress("127.1:80").addresses, std::vector<std::string>{"127.0.0.1"});
	EXPECT_TRUE(ParseListenAddress("[::ffff:127.0.0.1]:80").loopback);
	const ListenAddress any = ParseListenAddress("0.0.0.0:7780");
	EXPECT_FALSE(any.loopback);
	EXPECT_EQ(any.port, 7780);
	EXPECT_FALSE(ParseListenAddress("[::]:80").loopback);
	EXPECT_FALSE(ParseListenAddress("[::ffff:10.0.0.1]:80").loopback);
	EXPECT_FALSE(ParseListenAddress("128.0.0.1:80").loopback);
	EXPECT_FALSE(ParseListenAddress(":80").loopback);
	// Spelt like loopback, resolved as whatever DNS says: here nothing
	// (.invalid never resolves), so not loopback.
	const ListenAddress evil = ParseListenAddress("127.evil.invalid:80");
	EXPECT_FALSE(evil.loopback);
	EXPECT_FALSE(evil.resolve_error.empty());
	EXPECT_FALSE(ParseListenAddress("127.0.0.1.invalid:80").loopback);
	EXPECT_THROW(ParseListenAddress("7780"), std::runtime_error);
	EXPECT_THROW(ParseListenAddress("host:http"), std::runtime_error);
	EXPECT_THROW(ParseListenAddress("host:70000"), std::runtime_error);
	EXPECT_THROW(ParseListenAddress("[::1:80"), std::runtime_error);
}

TEST(HttpServer, RefusesANameThatOnlyLooksLoopbackWithoutAToken)
{
	Config config = Config::Load("");
	config.Set("http.listen", "127.evil.invalid:7780", Source::kOption);
	config.Set("database.dsn", "host=/nonexistent-agentgres-socket-dir port=1", Source::kOption);
	Coordinator coordinator(config);
	HttpServer server(config, coordinator);
	try {
		server.Start();
		ADD_FAILURE() << "started";
	} catch (const std::runtime_error &e) {
		EXPECT_NE(std::string(e.what()).find("refusing to listen on non-loopback address \"127.evil.invalid\""),
		          std::string::npos)
		    << e.what();
		EXPECT_NE(std::string(e.what()).find("does not resolve"), std::string::npos) << e.what();
	}
}

TEST(Config, HugeNumbersAreRejectedAtLoad)
{
	const auto load_error = [](const std::string &toml) {
		try {
			Config::Load(WriteFile(toml));
		} catch (const std::runtime_error &e) {
			return std::string(e.what());
		}
		return std::string("accepted");
	};
	EXPECT_NE(
	    load_error("[agents.worker]\nlease_s = 2147483648\n")
	        .find("invalid value \"2147483648\" for setting \"agents.worker.lease_s\": must be between 1 and 86400"),
	    std::string::npos);
	EXPECT_NE(load_error("[agents.janitor]\nretention_days = 99999999999\n")
	              .find("for setting \"agents.janitor.retention_days\": must be between 1 and 36500"),
	          std::string::npos);
	EXPECT_NE(load_error("[agents.worker]\nlease_s = 99999999999999999999\n"), "accepted"); // not TOML int64
	EXPECT_NE(load_error("[agents.worker]\nlease_s = -9223372036854775808\n").find("must be between"),
	          std::string::npos);
	EXPECT_NE(load_error("[agents.worker]\npoll_s = 1e308\n").find("must be between"), std::string::npos);
	EXPECT_NE(load_error("[agents.worker]\npoll_s = inf\n").find("must be between"), std::string::npos);
	setenv("AGENTGRES_AGENTS_WORKER_LEASE_S", "2147483648", 1);
	EXPECT_THROW(Config::Load(""), std::runtime_error);
	setenv("AGENTGRES_AGENTS_WORKER_LEASE_S", "99999999999999999999", 1);
	try {
		Config::Load("");
		ADD_FAILURE() << "accepted";
	} catch (const std::runtime_error &e) {
		EXPECT_NE(std::string(e.what()).find("must be between 1 and 86400"), std::string::npos) << e.what();
	}
	setenv("AGENTGRES_AGENTS_WORKER_LEASE_S", " 5", 1);
	EXPECT_THROW(Config::Load(""), std::runtime_error);
	unsetenv("AGENTGRES_AGENTS_WORKER_LEASE_S");
	setenv("AGENTGRES_AGENTS_WORKER_POLL_S", "1e400", 1);
	EXPECT_THROW(Config::Load(""), std::runtime_error);
	unsetenv("AGENTGRES_AGENTS_WORKER_POLL_S");
	// Every bound in the table, in milliseconds, fits a 32-bit int (also a
	// static_assert in config.cpp).
	for (const SettingInfo &info : SettingsTable())
		EXPECT_LE(info.max * 1000, 2147483647.0) << info.path;
}

TEST(Log, RedactsPasswordsWithLibpqsParser)
{
	using log::RedactConninfo;
	// The URI form with an empty user (the leak this replaced).
	EXPECT_EQ(RedactConninfo("postgresql://:hunter2@localhost:5450/t"),
	          "password=*** dbname='t' host='localhost' port='5450'");
	EXPECT_EQ(RedactConninfo("postgresql://me:hunter2@db:5432/x"),
	          "user='me' password=*** dbname='x' host='db' port='5432'");
	EXPECT_EQ(RedactConninfo("postgres://u@h/d"), "user='u' dbname='d' host='h'");
	// Percent-encoding: decoded by libpq, never shown.
	const std::string encoded = RedactConninfo("postgresql://u:hun%74er%402@h/d");
	EXPECT_EQ(encoded.find("hun"), std::string::npos) << encoded;
	EXPECT_NE(encoded.find("password=***"), std::string::npos);
	// Passwords as URI query parameters, sslpassword too.
	const std::string query = RedactConninfo("postgresql://h/d?password=hunter2&sslpassword=k3y&application_name=a");
	EXPECT_EQ(query.find("hunter2"), std::string::npos) << query;
	EXPECT_EQ(query.find("k3y"), std::string::npos) << query;
	EXPECT_NE(query.find("application_name='a'"), std::string::npos) << query;
	// Keyword form, quoted and escaped values.
	EXPECT_EQ(RedactConninfo("host=x password=hunter2 dbname=y"), "password=*** dbname='y' host='x'");
	EXPECT_EQ(RedactConninfo("password = 'a b\\'c' user=u"), "user='u' password=***");
	EXPECT_EQ(RedactConninfo("PASSWORD=x"), "(unparsable conninfo, hidden)"); // libpq's keywords are lower case
	// "password=" inside another value is that value, not a password.
	EXPECT_EQ(RedactConninfo("application_name='password=x' password=real"),
	          "password=*** application_name='password=x'");
	EXPECT_EQ(RedactConninfo("application_name='it\\'s' host=h"), "host='h' application_name='it\\'s'");
	// A conninfo given as dbname is expanded by libpq: redacted inside too.
	const std::string nested = RedactConninfo("dbname='host=h password=hunter2'");
	EXPECT_EQ(nested.find("hunter2"), std::string::npos) << nested;
	const std::string nested_uri = RedactConninfo("dbname=postgresql://:hunter2@h/d");
	EXPECT_EQ(nested_uri.find("hunter2"), std::string::npos) << nested_uri;
	// Unparsable input is hidden whole: it may be nothing but secrets.
	EXPECT_EQ(RedactConninfo("host=x password='unterminated"), "(unparsable conninfo, hidden)");
	EXPECT_EQ(RedactConninfo("postgresql://h/d?sslmode=bogus&password=x&nope=1"), "(unparsable conninfo, hidden)");
	EXPECT_EQ(RedactConninfo("postgresql://u:p@[::1/d"), "(unparsable conninfo, hidden)");
	// Exactly as libpq reads it: the rest of the path is the database name.
	EXPECT_EQ(RedactConninfo("postgres://u:p@h/d and x"), "user='u' password=*** dbname='d and x' host='h'");
	// No "=" and no URI: libpq's expand_dbname takes it for a database name.
	EXPECT_EQ(RedactConninfo("mydb"), "dbname='mydb'");
	EXPECT_EQ(RedactConninfo("dbname=x"), "dbname='x'");
	EXPECT_EQ(RedactConninfo("password="), "password=***");
	EXPECT_EQ(RedactConninfo(""), "");
}

TEST(Log, TextLinesCannotBeForged)
{
	using log::EscapeText;
	EXPECT_EQ(EscapeText("plain text, ünïcode"), "plain text, ünïcode");
	EXPECT_EQ(EscapeText("a\nb\rc\td\\e"), "a\\nb\\rc\\td\\\\e");
	EXPECT_EQ(EscapeText(std::string("x\0y\x1b[31m\x7f", 9)), "x\\x00y\\x1b[31m\\x7f");
	EXPECT_EQ(EscapeText("nel\xc2\x85 ls\xe2\x80\xa8 ps\xe2\x80\xa9"), "nel\\u0085 ls\\u2028 ps\\u2029");
	const std::string forged = "boom\n2026-01-01T00:00:00.000Z info [worker] job done job=1";
	const nlohmann::json fields = {{"error", forged}, {"k\ney", 1}, {"list", {"a\nb"}}};
	const std::string text = log::FormatLine(log::Level::kError, "work\ner", "job\rfailed", fields, false);
	EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
	EXPECT_EQ(text.back(), '\n');
	EXPECT_EQ(text.find('\r'), std::string::npos);
	EXPECT_NE(text.find("[work\\ner] job\\rfailed"), std::string::npos) << text;
	EXPECT_NE(text.find(" error=boom\\n2026-01-01T00:00:00.000Z info"), std::string::npos) << text;
	EXPECT_NE(text.find(" k\\ney=1"), std::string::npos) << text;
	EXPECT_NE(text.find(" list=[\"a\\\\nb\"]"), std::string::npos) << text; // JSON's \n, escaped again
	const std::string json =
	    log::FormatLine(log::Level::kError, "worker", "job failed", {{"error", forged + "\x7f\xe2\x80\xa8"}}, true);
	EXPECT_EQ(std::count(json.begin(), json.end(), '\n'), 1) << json;
	const nlohmann::json parsed = nlohmann::json::parse(json);
	EXPECT_EQ(parsed["error"], forged + "\x7f\xe2\x80\xa8");
	EXPECT_NE(json.find("\\u2028"), std::string::npos) << json;
	EXPECT_NE(json.find("\\u007f"), std::string::npos) << json;
}

} // namespace
} // namespace agentgres::sidecar
