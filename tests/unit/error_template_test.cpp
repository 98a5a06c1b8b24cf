// Error templates (per message), their grouping across messages (LogClusters)
// and what the pattern aggregate makes of them.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/error_template.hpp"
#include "core/log_clusters.hpp"
#include "core/patterns.hpp"

namespace agentgres::core {
namespace {

TEST(ErrorTemplate, Placeholders)
{
	EXPECT_EQ(ErrorTemplate("deploy lock timeout after 42s on node 0x1f3a (job 123e4567-e89b-12d3-a456-426614174000)"),
	          "deploy lock timeout after <num> on node <hex> (job <uuid>)");
	EXPECT_EQ(ErrorTemplate("tool call failed: HTTP 503 from 'search'"), "tool call failed: HTTP <num> from <str>");
	EXPECT_EQ(ErrorTemplate("assertion failed at /src/agents/step_3.py:120"), "assertion failed at <path>:<num>");
	EXPECT_EQ(ErrorTemplate("file \"C:\\data\\x.csv\" not found"), "file <str> not found");
	EXPECT_EQ(ErrorTemplate("read ./cache/a.bin failed, code -2.5e3"), "read <path> failed, code <num>");
	EXPECT_EQ(ErrorTemplate("object deadbeef12345678 missing"), "object <hex> missing");
	EXPECT_EQ(ErrorTemplate("  spaced   out\ttext \n"), "spaced out text");
	EXPECT_EQ(ErrorTemplate("retry 3 of 5"), "retry <num> of <num>");
	EXPECT_EQ(ErrorTemplate("unterminated 'quote"), "unterminated 'quote");
	EXPECT_EQ(ErrorTemplate("it's 'x' and don't"), "it's <str> and don't");
	EXPECT_EQ(ErrorTemplate("‘foo’ was not declared in this scope"), "<str> was not declared in this scope");
	EXPECT_EQ(ErrorTemplate("GET https://api.example.com/v1/items?id=4 failed"), "GET <url> failed");
	EXPECT_EQ(ErrorTemplate("connect to 10.0.0.12:5432 failed"), "connect to <ip> failed");
	EXPECT_EQ(ErrorTemplate("bind [fe80::1%eth0]:80"), "bind [<ip>]:<num>");
	EXPECT_EQ(ErrorTemplate("at 2024-01-31T10:00:05.123Z and 10:00:05"), "at <time> and <time>");
	EXPECT_EQ(ErrorTemplate("disk 99% full, 12MB left after 100ms"), "disk <num> full, <num> left after <num>");
	EXPECT_EQ(ErrorTemplate("src/main.cpp:12:5: error: expected ';'"), "<path>:<num>:<num>: error: expected <str>");
	EXPECT_EQ(ErrorTemplate("main.cpp:12:5: error"), "<name>:<num>:<num>: error");
	EXPECT_EQ(ErrorTemplate("Input/output error and/or TCP/IP, e.g. this."),
	          "Input/output error and/or TCP/IP, e.g. this.");
	EXPECT_EQ(ErrorTemplate("setting up libc6:amd64 and bash:all"), "setting up <id> and bash:all");
	EXPECT_EQ(ErrorTemplate("a == b => c"), "a == b => c");
	EXPECT_EQ(ErrorTemplate("listen on port:5432 errno:98"), "listen on port:<num> errno:<num>");
	EXPECT_EQ(ErrorTemplate(":: : :x"), ":: : :x");
}

TEST(ErrorTemplate, IssueExamples)
{
	const std::string a = ErrorTemplate("dependency conflict: package lib123 requires v4.7 at /srv/build/12345");
	EXPECT_EQ(a, "dependency conflict: package <id> requires <id> at <path>");
	EXPECT_EQ(ErrorTemplate("dependency conflict: package lib9 requires v10.2.1 at /srv/build/7"), a);
	EXPECT_EQ(ErrorTemplate("worker-7f9c2a crashed"), "<id> crashed");
	EXPECT_EQ(ErrorTemplate("worker-1 crashed"), ErrorTemplate("worker-7f9c2a crashed"));
	EXPECT_EQ(ErrorTemplate("block blk_-123 lost"), ErrorTemplate("block blk_123 lost"));
	EXPECT_EQ(ErrorTemplate("block blk_-123 lost"), "block <id> lost");
}

TEST(ErrorTemplate, HostsAndUsers)
{
	EXPECT_EQ(ErrorTemplate("cannot reach db7.internal.example.com"), "cannot reach <name>");
	EXPECT_EQ(ErrorTemplate("cannot reach cache.example.org"), "cannot reach <name>");
	EXPECT_EQ(ErrorTemplate("login failed for alice@db.example.com"), "login failed for <user>@<host>");
	EXPECT_EQ(ErrorTemplate("login failed for bob@host7"), "login failed for <user>@<host>");
	EXPECT_EQ(ErrorTemplate("connection for user=alice database=app failed"),
	          "connection for user=<str> database=<str> failed");
	EXPECT_EQ(ErrorTemplate("connection for user=\"bob smith\" port=5432 failed"),
	          "connection for user=<str> port=<num> failed");
}

TEST(ErrorTemplate, ListsOfAnyLength)
{
	const std::string one = ErrorTemplate("jobs 17 failed");
	EXPECT_EQ(one, "jobs <num> failed");
	EXPECT_EQ(ErrorTemplate("jobs 17, 18, 19 failed"), one);
	EXPECT_EQ(ErrorTemplate("jobs 17,18 failed"), one);
	EXPECT_EQ(ErrorTemplate("ids [0x1, 0x2, 0x3] and [0xa]"), "ids [<hex>] and [<hex>]");
	EXPECT_EQ(ErrorTemplate("missing x1, y2; z3 | w4"), "missing <id>");
	// Different placeholders next to each other stay apart.
	EXPECT_EQ(ErrorTemplate("at 10:00:05 pid 42 10.0.0.1"), "at <time> pid <num> <ip>");
}

TEST(ErrorTemplate, LongAndHostileInput)
{
	EXPECT_EQ(ErrorTemplate(""), "");
	EXPECT_EQ(ErrorTemplate(" \t\n"), "");
	// 100 KB of words: cut at a token boundary below the cap, and marked.
	std::string words;
	while (words.size() < 100000)
		words += "word ";
	const std::string cut = ErrorTemplate(words);
	EXPECT_LE(cut.size(), kMaxTemplateBytes + 4);
	EXPECT_GT(cut.size(), kMaxTemplateBytes - 10);
	EXPECT_EQ(cut.substr(cut.size() - 8), "word ...");
	// Numbers far in are still masked (no cut at a small fixed length).
	std::string numbers;
	for (int i = 0; i < 600; ++i)
		numbers += "step " + std::to_string(i) + " ok ";
	EXPECT_EQ(ErrorTemplate(numbers).find_first_of("0123456789"), std::string::npos);
	// One giant token of multi-byte characters: cut on a character boundary.
	std::string accents;
	while (accents.size() < 100000)
		accents += "\xC3\xA9"; // é
	const std::string a = ErrorTemplate(accents);
	EXPECT_EQ(a.substr(a.size() - 4), " ...");
	EXPECT_EQ((a.size() - 4) % 2, 0u);
	// Invalid UTF-8 and control bytes pass through without harm.
	const std::string bad = "bad \xFF\xFE byte 42 \xC3 at \x01 /tmp/x";
	EXPECT_EQ(ErrorTemplate(bad), "bad \xFF\xFE byte <num> \xC3 at \x01 <path>");
	// Messages from an alphabet of delimiters, quotes and digits.
	const std::string alphabet = ":/.@ 0a'\"`=[](),;|-_x\\%~<>*\xE2\x80\x98\x99";
	std::mt19937 pick(11);
	for (int i = 0; i < 20000; ++i) {
		std::string m(pick() % 24, ' ');
		for (char &c : m)
			c = alphabet[pick() % alphabet.size()];
		const std::string t = ErrorTemplate(m);
		EXPECT_EQ(ErrorTemplate(m), t);
	}
	// Random bytes never crash (ASan build) and the result is bounded.
	std::mt19937 rng(7);
	for (int i = 0; i < 2000; ++i) {
		std::string junk(rng() % 300, '\0');
		for (char &c : junk)
			c = static_cast<char>(rng());
		EXPECT_LE(ErrorTemplate(junk).size(), junk.size() * 7 + 8);
	}
}

TEST(LogClusters, GroupsVariantsOfOneEvent)
{
	const std::vector<std::optional<std::string_view>> messages = {
	    "cannot open config for service alpha", "cannot open config for service beta", std::nullopt,
	    "cannot open config for service gamma", "permission denied for table orders",  "",
	    "permission denied for table users"};
	const auto t = ClusterMessages(messages);
	ASSERT_EQ(t.size(), messages.size());
	EXPECT_EQ(t[0], std::optional<std::string>("cannot open config for service <*>"));
	EXPECT_EQ(t[1], t[0]);
	EXPECT_EQ(t[2], std::nullopt);
	EXPECT_EQ(t[3], t[0]);
	EXPECT_EQ(t[4], std::optional<std::string>("permission denied for table <*>"));
	EXPECT_EQ(t[5], std::optional<std::string>(""));
	EXPECT_EQ(t[6], t[4]);
	// Different first words are different events.
	const auto u = ClusterMessages(
	    {"connection to alpha refused", "connection to beta refused", "timeout to alpha refused"});
	EXPECT_EQ(u[0], u[1]);
	EXPECT_NE(u[0], u[2]);
}

TEST(LogClusters, MergeOrderDoesNotMatter)
{
	std::mt19937 rng(3);
	const char *verbs[] = {"open", "read", "write", "close"};
	const char *things[] = {"alpha", "beta", "gamma", "delta", "eps", "zeta"};
	std::vector<std::string> lines;
	for (int i = 0; i < 3000; ++i)
		lines.push_back(std::string("cannot ") + verbs[rng() % 4] + " file of " + things[rng() % 6] + " for " +
		                things[rng() % 6] + " after " + std::to_string(rng() % 100) + " tries");
	LogClusters whole;
	for (const auto &l : lines)
		whole.Add(ErrorTemplate(l));
	const LogClusters::Result expected = whole.Cluster();
	for (int trial = 0; trial < 5; ++trial) {
		std::vector<std::string> shuffled = lines;
		std::shuffle(shuffled.begin(), shuffled.end(), rng);
		LogClusters parts[3];
		for (std::size_t i = 0; i < shuffled.size(); ++i)
			parts[rng() % 3].Add(ErrorTemplate(shuffled[i]));
		LogClusters merged;
		merged.Merge(parts[trial % 3]);
		merged.Merge(parts[(trial + 1) % 3]);
		merged.Merge(parts[(trial + 2) % 3]);
		const LogClusters::Result got = merged.Cluster();
		EXPECT_EQ(got.templates, expected.templates);
		EXPECT_EQ(got.counts, expected.counts);
		for (const auto &l : lines)
			EXPECT_EQ(got.TemplateOf(ErrorTemplate(l)), expected.TemplateOf(ErrorTemplate(l)));
	}
	EXPECT_EQ(expected.templates.size(), 4u);
}

TEST(LogClusters, AdversarialInputIsBounded)
{
	// Many distinct templates of one shape that never match: the leaf is
	// capped, so this stays fast, and every template still gets a cluster.
	LogClusters c;
	std::mt19937 rng(5);
	for (int i = 0; i < 20000; ++i) {
		std::string t = "x";
		for (int k = 0; k < 6; ++k)
			t += " " + std::string(1, static_cast<char>('a' + rng() % 26)) + static_cast<char>('a' + rng() % 26);
		c.Add(t);
	}
	int progress = 0;
	const auto r = c.Cluster({}, [&] { ++progress; });
	EXPECT_EQ(r.cluster_of.size(), c.size());
	EXPECT_GT(progress, 0);
}

using patterns::Accumulator;

TEST(PatternErrors, TopErrorIsTheClusteredGroup)
{
	Accumulator a;
	const std::vector<std::string_view> team{"a", "b"};
	a.Add("t", team, false, 1.0, std::string_view("cannot open config for service alpha"), 2);
	a.Add("t", team, false, 1.0, std::string_view("cannot open config for service beta"), 2);
	a.Add("t", team, false, 1.0, std::string_view("cannot open config for service gamma"), 2);
	a.Add("t", team, false, 1.0, std::string_view("quota exceeded"), 2);
	a.Add("t", team, false, 1.0, std::string_view("quota exceeded"), 2);
	const auto rows = a.Rows(1);
	ASSERT_FALSE(rows.empty());
	EXPECT_EQ(rows[0].top_error, std::optional<std::string>("cannot open config for service <*>"));
	EXPECT_EQ(rows[0].top_error_count, 3u);
	// The same after a round trip through the serialized state, and when
	// built in parts in either order.
	const auto again = Accumulator::Deserialize(a.Serialize()).Rows(1);
	EXPECT_EQ(again[0].top_error, rows[0].top_error);
	Accumulator x, y;
	x.Add("t", team, false, 1.0, std::string_view("cannot open config for service alpha"), 2);
	x.Add("t", team, false, 1.0, std::string_view("quota exceeded"), 2);
	y.Add("t", team, false, 1.0, std::string_view("cannot open config for service beta"), 2);
	y.Add("t", team, false, 1.0, std::string_view("cannot open config for service gamma"), 2);
	y.Add("t", team, false, 1.0, std::string_view("quota exceeded"), 2);
	Accumulator xy = x, yx = y;
	xy.Merge(y);
	yx.Merge(x);
	EXPECT_EQ(xy.Rows(1)[0].top_error, rows[0].top_error);
	EXPECT_EQ(yx.Rows(1)[0].top_error, rows[0].top_error);
	EXPECT_EQ(yx.Rows(1)[0].top_error_count, 3u);
}

TEST(PatternErrors, CorruptErrorCountsAreRejected)
{
	Accumulator a;
	const std::vector<std::string_view> team{"a"};
	a.Add("t", team, false, 1.0, std::string_view("boom 1"), 1);
	const std::string good = a.Serialize();
	// The last 12 bytes are the one error entry: template id, count.
	std::string bad = good;
	bad[bad.size() - 12] = 5; // template id 5 of 1
	EXPECT_THROW(Accumulator::Deserialize(bad), Error);
	EXPECT_THROW(Accumulator::Deserialize(good.substr(0, good.size() - 1)), Error);
	EXPECT_EQ(Accumulator::Deserialize(good).Rows(1)[0].top_error, std::optional<std::string>("boom <num>"));
}

} // namespace
} // namespace agentgres::core
