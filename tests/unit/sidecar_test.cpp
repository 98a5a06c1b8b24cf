// The daemon's pieces that need no database: settings, the EWMA band,
// Prometheus rendering, listen addresses, DSN redaction.
#include <gtest/gtest.h>

#include <cstdlib>
#include <unistd.h>
#include <fstream>
#include <string>

#include "agents/ewma.hpp"
#include "config/config.hpp"
#include "http/metrics.hpp"
#include "http/server.hpp"
#include "log/log.hpp"

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

TEST(Config, DefaultsFileAndEnvironment)
{
	unsetenv("AGENTGRES_HTTP_LISTEN");
	unsetenv("AGENTGRES_AGENTS_WORKER_LEASE_S");
	const Config defaults = Config::Load("");
	EXPECT_EQ(defaults.String("http.listen"), "127.0.0.1:7780");
	EXPECT_EQ(defaults.Int("agents.worker.lease_s"), 60);
	EXPECT_TRUE(defaults.Bool("agents.worker.enabled"));

	const std::string path = WriteFile("[http]\nlisten = \"127.0.0.1:9000\"\n[agents.worker]\nlease_s = 10\n"
	                                   "[agents.perfmon]\ninterval_s = 2\n");
	const Config file = Config::Load(path);
	EXPECT_EQ(file.String("http.listen"), "127.0.0.1:9000");
	EXPECT_EQ(file.Int("agents.worker.lease_s"), 10);
	EXPECT_DOUBLE_EQ(file.Number("agents.perfmon.interval_s"), 2.0);

	setenv("AGENTGRES_AGENTS_WORKER_LEASE_S", "7", 1);
	setenv("AGENTGRES_DSN", "dbname=x password=hunter2", 1);
	const Config env = Config::Load(path);
	EXPECT_EQ(env.Int("agents.worker.lease_s"), 7);
	EXPECT_EQ(env.String("database.dsn"), "dbname=x password=hunter2");
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
	EXPECT_NE(text.find("y_seconds_bucket{le=\"0.0050000000000000001\"} 1\n"), std::string::npos);
	EXPECT_NE(text.find("y_seconds_bucket{le=\"+Inf\"} 2\n"), std::string::npos);
	EXPECT_NE(text.find("y_seconds_count 2\n"), std::string::npos);
}

TEST(ListenAddress, ParsesAndClassifies)
{
	EXPECT_TRUE(ParseListenAddress("127.0.0.1:7780").loopback);
	EXPECT_TRUE(ParseListenAddress("localhost:1").loopback);
	EXPECT_TRUE(ParseListenAddress("[::1]:80").loopback);
	const ListenAddress any = ParseListenAddress("0.0.0.0:7780");
	EXPECT_FALSE(any.loopback);
	EXPECT_EQ(any.port, 7780);
	EXPECT_THROW(ParseListenAddress("7780"), std::runtime_error);
	EXPECT_THROW(ParseListenAddress("host:http"), std::runtime_error);
	EXPECT_THROW(ParseListenAddress("host:70000"), std::runtime_error);
	EXPECT_THROW(ParseListenAddress("[::1:80"), std::runtime_error);
}

TEST(Log, RedactsPasswords)
{
	EXPECT_EQ(log::RedactConninfo("host=x password=hunter2 dbname=y"), "host=x password=*** dbname=y");
	EXPECT_EQ(log::RedactConninfo("password = 'a b\\'c' user=u"), "password = *** user=u");
	EXPECT_EQ(log::RedactConninfo("postgresql://me:hunter2@db:5432/x"), "postgresql://me:***@db:5432/x");
	EXPECT_EQ(log::RedactConninfo("dbname=x"), "dbname=x");
}

} // namespace
} // namespace agentgres::sidecar
