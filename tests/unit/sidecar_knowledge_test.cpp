// The indexer's pieces that need no database: globs and .gitignore
// semantics, the file listing of a source tree, text or binary, ctags's JSON
// and the real ctags when installed, SHA-256, progress formatting, list settings.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "util/sha256.hpp"
#include "config/config.hpp"
#include "knowledge/ctags.hpp"
#include "knowledge/indexer.hpp"
#include "knowledge/progress.hpp"
#include "knowledge/sources.hpp"

namespace agentgres::sidecar::knowledge {
namespace {

namespace fs = std::filesystem;

TEST(Glob, StarsQuestionMarksAndClasses)
{
	EXPECT_TRUE(GlobMatch("*.cpp", "a.cpp"));
	EXPECT_TRUE(GlobMatch("*.cpp", ".cpp"));
	EXPECT_FALSE(GlobMatch("*.cpp", "a.hpp"));
	EXPECT_FALSE(GlobMatch("*.cpp", "dir/a.cpp")); // * never crosses '/'
	EXPECT_TRUE(GlobMatch("a?c", "abc"));
	EXPECT_FALSE(GlobMatch("a?c", "a/c"));
	EXPECT_TRUE(GlobMatch("[abc]x", "bx"));
	EXPECT_FALSE(GlobMatch("[abc]x", "dx"));
	EXPECT_TRUE(GlobMatch("[a-c]x", "cx"));
	EXPECT_TRUE(GlobMatch("[!a-c]x", "dx"));
	EXPECT_FALSE(GlobMatch("[!a-c]x", "ax"));
	EXPECT_TRUE(GlobMatch("[]]", "]"));
	EXPECT_TRUE(GlobMatch("[x", "[x")); // an unclosed class is literal
	EXPECT_TRUE(GlobMatch("\\*", "*"));
	EXPECT_FALSE(GlobMatch("\\*", "a"));
	EXPECT_TRUE(GlobMatch("*a*b*c", "xxaxxbxxc"));
	EXPECT_FALSE(GlobMatch("*a*b*c", "xxaxxcxxb"));
	EXPECT_TRUE(GlobMatch("build-*", "build-x"));
	EXPECT_TRUE(GlobMatch("", ""));
	EXPECT_FALSE(GlobMatch("", "a"));
}

TEST(Glob, DoubleStarSpansDirectories)
{
	EXPECT_TRUE(GlobMatch("**/foo", "foo"));
	EXPECT_TRUE(GlobMatch("**/foo", "a/b/foo"));
	EXPECT_FALSE(GlobMatch("**/foo", "a/b/foox"));
	EXPECT_TRUE(GlobMatch("a/**/b", "a/b"));
	EXPECT_TRUE(GlobMatch("a/**/b", "a/x/y/b"));
	EXPECT_FALSE(GlobMatch("a/**/b", "x/a/b"));
	EXPECT_TRUE(GlobMatch("a/**", "a/x/y"));
	EXPECT_TRUE(GlobMatch("**/*.md", "docs/guide/intro.md"));
	EXPECT_TRUE(GlobMatch("src/**/*.cpp", "src/a/b.cpp"));
	EXPECT_FALSE(GlobMatch("src/**/*.cpp", "src/a/b.hpp"));
	// Many "**" stay cheap (memoised).
	std::string glob, path;
	for (int i = 0; i < 40; ++i) {
		glob += "**/";
		path += "d/";
	}
	EXPECT_FALSE(GlobMatch(glob + "x", path + "y"));
	EXPECT_TRUE(GlobMatch(glob + "y", path + "y"));
}

TEST(Patterns, GitignoreLineForms)
{
	EXPECT_FALSE(ParsePattern("", true));
	EXPECT_FALSE(ParsePattern("# comment", true));
	EXPECT_FALSE(ParsePattern("   ", true));
	EXPECT_FALSE(ParsePattern("/", true));
	auto p = ParsePattern("!/build/  ", true);
	ASSERT_TRUE(p);
	EXPECT_TRUE(p->negated);
	EXPECT_TRUE(p->anchored);
	EXPECT_TRUE(p->directory_only);
	EXPECT_EQ(p->glob, "build");
	p = ParsePattern("doc/*.txt\r", true);
	ASSERT_TRUE(p);
	EXPECT_TRUE(p->anchored); // a slash in the middle anchors
	EXPECT_EQ(p->glob, "doc/*.txt");
	p = ParsePattern("*.o", true);
	ASSERT_TRUE(p);
	EXPECT_FALSE(p->anchored);
	p = ParsePattern("!x", false); // include/exclude globs: "!" is a character
	ASSERT_TRUE(p);
	EXPECT_FALSE(p->negated);
	EXPECT_EQ(p->glob, "!x");
	p = ParsePattern("\\#file", true);
	ASSERT_TRUE(p);
	EXPECT_TRUE(Matches(*p, "#file", false));

	const Pattern name = *ParsePattern("node_modules", true);
	EXPECT_TRUE(Matches(name, "node_modules", true));
	EXPECT_TRUE(Matches(name, "a/b/node_modules", true));
	const Pattern dir = *ParsePattern("tmp/", true);
	EXPECT_TRUE(Matches(dir, "x/tmp", true));
	EXPECT_FALSE(Matches(dir, "x/tmp", false)); // a file named tmp stays
	const Pattern anchored = *ParsePattern("/x.txt", true);
	EXPECT_TRUE(Matches(anchored, "x.txt", false));
	EXPECT_FALSE(Matches(anchored, "sub/x.txt", false));
}

TEST(Patterns, IncludesMatchAFileOrADirectoryAboveIt)
{
	const std::vector<Pattern> include = ParsePatterns({"extension/", "*.md", "/CMakeLists.txt"});
	EXPECT_TRUE(MatchesPathOrParent(include, "extension/core/a.cpp", false));
	EXPECT_TRUE(MatchesPathOrParent(include, "docs/x/readme.md", false));
	EXPECT_TRUE(MatchesPathOrParent(include, "CMakeLists.txt", false));
	EXPECT_FALSE(MatchesPathOrParent(include, "sub/CMakeLists.txt", false));
	EXPECT_FALSE(MatchesPathOrParent(include, "other/a.cpp", false));
	EXPECT_FALSE(MatchesPathOrParent(include, "extension", false)); // a file named so is no directory
}

TEST(Gitignore, NestedFilesNegationAndPrecedence)
{
	IgnoreStack s;
	s.PushText("*.log\n/build/\nsecret*\n!secret.md\ndocs/private/\n**/cache\n", "");
	EXPECT_TRUE(s.Ignored("a.log", false));
	EXPECT_TRUE(s.Ignored("x/y/a.log", false));
	EXPECT_TRUE(s.Ignored("build", true));
	EXPECT_FALSE(s.Ignored("build", false));    // directory-only
	EXPECT_FALSE(s.Ignored("src/build", true)); // anchored at the root
	EXPECT_TRUE(s.Ignored("secret.txt", false));
	EXPECT_FALSE(s.Ignored("secret.md", false)); // the later "!" wins
	EXPECT_TRUE(s.Ignored("docs/private", true));
	EXPECT_FALSE(s.Ignored("x/docs/private", true));
	EXPECT_TRUE(s.Ignored("a/b/cache", true));
	EXPECT_FALSE(s.Ignored("main.cpp", false));
	// A nested .gitignore is relative to its directory and overrides.
	s.PushText("!keep.log\n/local.txt\n", "sub");
	EXPECT_FALSE(s.Ignored("sub/keep.log", false));
	EXPECT_TRUE(s.Ignored("sub/other.log", false));
	EXPECT_TRUE(s.Ignored("sub/local.txt", false));
	EXPECT_FALSE(s.Ignored("local.txt", false));
	EXPECT_FALSE(s.Ignored("subway/local.txt", false)); // "sub" is not a prefix of "subway"
	s.Pop();
	EXPECT_TRUE(s.Ignored("sub/keep.log", false));
}

class Tree : public ::testing::Test {
protected:
	void
	SetUp() override
	{
		char pattern[] = "/tmp/agentgres-knowledge-XXXXXX";
		ASSERT_NE(mkdtemp(pattern), nullptr);
		root_ = pattern;
	}
	void
	TearDown() override
	{
		std::error_code error;
		fs::permissions(root_ + "/locked", fs::perms::owner_all, error);
		fs::remove_all(root_, error);
	}
	void
	Write(const std::string &rel, const std::string &text)
	{
		const fs::path p = fs::path(root_) / rel;
		fs::create_directories(p.parent_path());
		std::ofstream(p, std::ios::binary) << text;
	}
	std::vector<std::string>
	Uris(const Listing &l)
	{
		std::vector<std::string> uris;
		for (const ListedFile &f : l.files)
			uris.push_back(f.uri);
		return uris;
	}
	std::string root_;
};

TEST_F(Tree, ListsWhatTheFiltersAndGitignoreLeave)
{
	Write("main.cpp", "int main() {}\n");
	Write("README.md", "# hi\n");
	Write(".gitignore", "*.tmp\n/generated/\n!keep.tmp\n");
	Write("a.tmp", "x");
	Write("keep.tmp", "x");
	Write("generated/out.cpp", "x");
	Write("src/deep/x.py", "def f(): pass\n");
	Write("src/.gitignore", "local.py\n");
	Write("src/local.py", "x");
	Write("src/deep/local.py", "x"); // a name pattern applies below its directory too
	Write("build/junk.cpp", "x");
	Write(".git/config", "x");
	Write("node_modules/m/index.js", "x");
	Write("big.txt", std::string(3000, 'a'));
	fs::create_symlink(root_ + "/main.cpp", root_ + "/link.cpp");
	Filters filters;
	filters.exclude = ParsePatterns(ParseList("build/,node_modules/"));
	filters.max_file_bytes = 2048;
	const Listing l = ListFiles(root_, "", filters);
	EXPECT_EQ(l.error, "");
	EXPECT_EQ(Uris(l), (std::vector<std::string>{".gitignore", "README.md", "keep.tmp", "main.cpp", "src/.gitignore",
	                                             "src/deep/x.py"}));
	EXPECT_EQ(l.too_big, 1);
	EXPECT_EQ(l.files[3].path, root_ + "/main.cpp");

	filters.include = ParsePatterns({"src/", "*.md"});
	EXPECT_EQ(Uris(ListFiles(root_, "", filters)),
	          (std::vector<std::string>{"README.md", "src/.gitignore", "src/deep/x.py"}));
	// A scope inside the root still honours the .gitignore files above it.
	EXPECT_EQ(Uris(ListFiles(root_, "src", filters)), (std::vector<std::string>{"src/.gitignore", "src/deep/x.py"}));
	EXPECT_TRUE(ListFiles(root_, "src/local.py", filters).files.empty());
	EXPECT_TRUE(ListFiles(root_, "generated", filters).files.empty());
	EXPECT_EQ(Uris(ListFiles(root_, "src/deep/x.py", filters)), (std::vector<std::string>{"src/deep/x.py"}));
	// Named explicitly outside a configured source: taken as it is.
	filters.use_include = false;
	EXPECT_EQ(Uris(ListFiles(root_, "a.tmp", filters)), (std::vector<std::string>{"a.tmp"}));
	EXPECT_NE(ListFiles(root_, "missing", filters).error, "");
}

TEST_F(Tree, AnUnreadableDirectoryIsReported)
{
	Write("locked/a.cpp", "x");
	Write("b.cpp", "x");
	fs::permissions(root_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
	                           fs::perms::others_read | fs::perms::others_exec);
	fs::permissions(root_ + "/b.cpp", fs::perms::owner_all | fs::perms::others_read);
	fs::permissions(root_ + "/locked", fs::perms::none);
	// Root reads every directory: list as nobody in a child process.
	const pid_t child = fork();
	ASSERT_GE(child, 0);
	if (child == 0) {
		if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
			_exit(3);
		const Listing l = ListFiles(root_, "", Filters{});
		const bool ok = l.error.empty() && l.files.size() == 1 && l.files[0].uri == "b.cpp" &&
		                l.unreadable == std::vector<std::string>{"locked"};
		_exit(ok ? 0 : 1);
	}
	int status = 0;
	ASSERT_EQ(waitpid(child, &status, 0), child);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(WEXITSTATUS(status), 0) << "3: could not become nobody; 1: wrong listing";
}

TEST_F(Tree, UnitsFollowTheConfiguredRoots)
{
	Write("proj/src/a.cpp", "x");
	Write("other/b.cpp", "x");
	const std::string proj = root_ + "/proj";
	std::vector<Unit> u = ResolveUnits({}, {proj});
	ASSERT_EQ(u.size(), 1u);
	EXPECT_EQ(u[0].root, proj);
	EXPECT_EQ(u[0].scope, "");
	EXPECT_TRUE(u[0].configured);
	u = ResolveUnits({proj + "/src/a.cpp", root_ + "/other", root_ + "/other/b.cpp"}, {proj + "/"});
	ASSERT_EQ(u.size(), 3u);
	EXPECT_EQ(u[0].root, proj); // the uri stays the one the loop gives it
	EXPECT_EQ(u[0].scope, "src/a.cpp");
	EXPECT_TRUE(u[0].configured);
	EXPECT_EQ(u[1].root, root_ + "/other");
	EXPECT_EQ(u[1].scope, "");
	EXPECT_FALSE(u[1].configured);
	EXPECT_EQ(u[2].root, root_ + "/other");
	EXPECT_EQ(u[2].scope, "b.cpp");
	EXPECT_THROW(ResolveUnits({root_ + "/nope"}, {}), std::runtime_error);
	// A configured file: a scope of its directory, however it is named.
	for (const std::vector<std::string> &paths : {std::vector<std::string>{}, {root_ + "/other/b.cpp"}}) {
		const std::vector<Unit> f = ResolveUnits(paths, {root_ + "/other/./b.cpp"});
		ASSERT_EQ(f.size(), 1u);
		EXPECT_EQ(f[0].root, root_ + "/other");
		EXPECT_EQ(f[0].scope, "b.cpp");
		EXPECT_FALSE(f[0].configured);
	}
	EXPECT_TRUE(InScope(u[0], "src/a.cpp"));
	Unit src{proj, proj, "src", true};
	EXPECT_TRUE(InScope(src, "src/x/y.cpp"));
	EXPECT_FALSE(InScope(src, "srcx/y.cpp"));
	EXPECT_FALSE(InScope(src, "README.md"));
}

TEST(Content, TextBinaryOrNotUtf8)
{
	std::string reason;
	EXPECT_EQ(ClassifyContent("plain text\n"), ContentKind::kText);
	EXPECT_EQ(ClassifyContent(""), ContentKind::kText);
	EXPECT_EQ(ClassifyContent("h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80"), ContentKind::kText);
	EXPECT_EQ(ClassifyContent(std::string("ab\0cd", 5)), ContentKind::kBinary);
	EXPECT_EQ(ClassifyContent(std::string(9000, 'a') + std::string(1, '\0')), ContentKind::kBinary);
	EXPECT_EQ(ClassifyContent(std::string("\xFF\0", 2)), ContentKind::kBinary); // UTF-16 and the like
	EXPECT_EQ(ClassifyContent("caf\xE9 au lait", &reason), ContentKind::kNotUtf8);
	EXPECT_NE(reason.find("offset 3"), std::string::npos) << reason;
	EXPECT_EQ(ClassifyContent("ab\xC3"), ContentKind::kNotUtf8);           // truncated
	EXPECT_EQ(ClassifyContent("\xC0\x80"), ContentKind::kNotUtf8);         // overlong NUL
	EXPECT_EQ(ClassifyContent("\xED\xA0\x80"), ContentKind::kNotUtf8);     // a surrogate
	EXPECT_EQ(ClassifyContent("\xF4\x90\x80\x80"), ContentKind::kNotUtf8); // beyond U+10FFFF
}

TEST(Content, Sha256IsTheDatabasesContentHash)
{
	// encode(sha256(convert_to('', 'UTF8')), 'hex') and of 'abc'.
	EXPECT_EQ(agentgres::sidecar::text::Sha256Hex(""),
	          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	EXPECT_EQ(agentgres::sidecar::text::Sha256Hex("abc"),
	          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Ctags, ParsesJsonLines)
{
	const std::string out =
	    "{\"_type\": \"ptag\", \"name\": \"JSON_OUTPUT_VERSION\", \"path\": \"0.0\"}\n"
	    "{\"_type\": \"tag\", \"name\": \"f\", \"path\": \"/p/a.c\", \"line\": 3, \"kind\": \"function\"}\n"
	    "ctags: Warning: something\n"
	    "{\"_type\": \"tag\", \"name\": \"S\", \"path\": \"/p/a.c\", \"line\": 9, \"kind\": \"struct\", \"scope\": "
	    "\"x\"}\n"
	    "{\"_type\": \"tag\", \"name\": \"g\", \"path\": \"/p/b.py\", \"line\": 1, \"kind\": \"function\"}\n"
	    "{\"_type\": \"tag\", \"name\": \"\", \"path\": \"/p/b.py\", \"line\": 2, \"kind\": \"function\"}\n"
	    "{\"_type\": \"tag\", \"name\": \"noline\", \"path\": \"/p/b.py\", \"kind\": \"function\"}\n"
	    "{\"_type\": \"tag\", \"name\": \"neg\", \"path\": \"/p/b.py\", \"line\": -1, \"kind\": \"function\"}\n"
	    "{\"_type\": \"tag\", \"name\": \"cut";
	const auto symbols = ParseCtagsJson(out);
	ASSERT_EQ(symbols.size(), 2u);
	EXPECT_EQ(symbols.at("/p/a.c").dump(),
	          R"([{"kind":"function","line":3,"name":"f"},{"kind":"struct","line":9,"name":"S"}])");
	EXPECT_EQ(symbols.at("/p/b.py").dump(), R"([{"kind":"function","line":1,"name":"g"}])");
	EXPECT_TRUE(ParseCtagsJson("").empty());
	EXPECT_TRUE(ParseCtagsJson("not json\n{]\n").empty());
}

TEST_F(Tree, RunsCtagsWithoutAShell)
{
	Write("a.c", "int twice(int x) { return 2 * x; }\nstruct Point { int x; };\n");
	Write("b; touch pwned", "def f():\n    pass\n"); // a shell would run this name
	const CtagsRun missing = RunCtags("/nonexistent/ctags", {root_ + "/a.c"});
	EXPECT_FALSE(missing.ok);
	EXPECT_TRUE(missing.missing);
	const CtagsRun failing = RunCtags("false", {root_ + "/a.c"});
	EXPECT_FALSE(failing.ok);
	EXPECT_FALSE(failing.missing);
	EXPECT_NE(failing.error.find("exited with status 1"), std::string::npos);
	Write("slow.sh", "#!/bin/sh\nsleep 5\n");
	fs::permissions(root_ + "/slow.sh", fs::perms::owner_all);
	const auto started = std::chrono::steady_clock::now();
	const CtagsRun slow = RunCtags(root_ + "/slow.sh", {root_ + "/a.c"}, {std::chrono::milliseconds(200), 1 << 20});
	EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3)); // killed, not waited for
	EXPECT_FALSE(slow.ok);
	EXPECT_NE(slow.error.find("took longer than 200 ms"), std::string::npos);
	if (system("ctags --version 2>/dev/null | grep -q 'Universal Ctags'") != 0)
		GTEST_SKIP() << "universal-ctags is not installed";
	const CtagsRun run = RunCtags("ctags", {root_ + "/a.c", root_ + "/b; touch pwned"});
	ASSERT_TRUE(run.ok) << run.error;
	EXPECT_FALSE(fs::exists(root_ + "/pwned"));
	const nlohmann::json &a = run.symbols.at(root_ + "/a.c");
	bool twice = false, point = false;
	for (const auto &s : a) {
		twice = twice || (s["name"] == "twice" && s["kind"] == "function" && s["line"] == 1);
		point = point || (s["name"] == "Point" && s["kind"] == "struct" && s["line"] == 2);
	}
	EXPECT_TRUE(twice && point) << a.dump();
	const CtagsRun capped = RunCtags("ctags", {root_ + "/a.c"}, {std::chrono::milliseconds(10000), 10});
	EXPECT_FALSE(capped.ok);
	EXPECT_NE(capped.error.find("wrote more than 10 bytes"), std::string::npos);
}

TEST(Progress, LinesAndEta)
{
	EXPECT_EQ(FormatEta(0), "0:00");
	EXPECT_EQ(FormatEta(65), "1:05");
	EXPECT_EQ(FormatEta(3723), "1:02:03");
	EXPECT_EQ(FormatEta(-1), "--:--");
	EXPECT_EQ(FormatEta(std::nan("")), "--:--");
	EXPECT_EQ(FormatEta(1e12), "--:--");
	IndexCounts c;
	c.total = 400;
	c.done = 100;
	c.chunks = 57;
	EXPECT_EQ(ProgressLine(c, 2, 100),
	          "[#######-----------------------]  100/400 files  25%  57 chunks  50 files/s  ETA 0:06");
	// Narrower: the bar shrinks, then goes.
	EXPECT_EQ(ProgressLine(c, 2, 70), "[###------------]  100/400 files  25%  57 chunks  50 files/s  ETA 0:06");
	EXPECT_EQ(ProgressLine(c, 2, 30), "100/400 files  25%  57 chunks ");
	c.failed = 2;
	c.done = 400;
	EXPECT_EQ(ProgressLine(c, 8, 200),
	          "[##############################]  400/400 files  100%  57 chunks  50 files/s  ETA 0:00  2 failed");
	c = {};
	EXPECT_EQ(ProgressLine(c, 0, 100),
	          "[##############################]  0/0 files  100%  0 chunks  0 files/s  ETA 0:00");
	c.total = 10;
	EXPECT_NE(ProgressLine(c, 1, 100).find("ETA --:--"), std::string::npos); // no rate yet
	c = {};
	c.total = 456;
	c.added = 3;
	c.changed = 1;
	c.unchanged = 450;
	c.skipped = 2;
	c.chunks = 57;
	c.done = 456;
	EXPECT_EQ(
	    SummaryLine(c, 1.234),
	    "456 files in 1.23 s: 3 added, 1 changed, 450 unchanged, 0 deleted, 2 skipped, 0 failed; 57 chunks written");
	EXPECT_EQ(SummaryLine(c, 12.34).substr(0, 19), "456 files in 12.3 s");
	c.done = 42; // stopped early
	EXPECT_EQ(SummaryLine(c, 1).substr(0, 16), "42/456 files in ");
}

TEST(ListSettings, TomlArraysAndCommaSeparatedText)
{
	EXPECT_EQ(ParseList(""), std::vector<std::string>{});
	EXPECT_EQ(ParseList(" a , b,,c "), (std::vector<std::string>{"a", "b", "c"}));
	EXPECT_EQ(ParseList("a\\,b,c\\\\"), (std::vector<std::string>{"a,b", "c\\"}));
	for (const std::vector<std::string> &items :
	     {std::vector<std::string>{}, {"a,b", "c\\", "d"}, {"x\\,y"}, {"\\"}, {"/p q/r"}})
		EXPECT_EQ(ParseList(FormatList(items)), items);
	const Config c = Config::FromToml("[knowledge]\nsources = [\"/a\", \"/b,c\"]\ninclude = \"x/, *.md\"\n", "t.toml");
	EXPECT_EQ(c.knowledge_sources, (std::vector<std::string>{"/a", "/b,c"}));
	EXPECT_EQ(c.knowledge_include, (std::vector<std::string>{"x/", "*.md"}));
	EXPECT_EQ(c.Describe("knowledge.sources"), "/a,/b\\,c");
	EXPECT_FALSE(Config().knowledge_exclude.empty());
	EXPECT_THROW(Config::FromToml("[knowledge]\nsources = [1, 2]\n", "t.toml"), std::runtime_error);
	EXPECT_THROW(Config::FromToml("[knowledge]\ncollection = [\"a\"]\n", "t.toml"), std::runtime_error);
	EXPECT_THROW(Config::FromToml("[knowledge]\nmax_file_kib = 0\n", "t.toml"), std::runtime_error);
}

} // namespace
} // namespace agentgres::sidecar::knowledge
