// core/symbols: definitions per language with exact lines, and nothing from
// comments, strings or bodies.
#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "core/symbols.hpp"

namespace agentgres::core::symbols {
namespace {

// "kind name@line" per symbol, in order.
std::vector<std::string>
Names(std::string_view content, std::string_view language)
{
	std::vector<std::string> out;
	for (const Symbol &s : Extract(content, language))
		out.push_back(s.kind + " " + s.name + "@" + std::to_string(s.line));
	return out;
}

using V = std::vector<std::string>;

TEST(SymbolsCpp, DefinitionsWithExactLines)
{
	const char *src = R"cpp(// A sample in the project's style.
#include "chunker.hpp"
#define AGENTGRES_MAX(a, b) ((a) > (b) ? (a) : (b))
#  define TRACE_ON 1

namespace agentgres::core {
namespace {

/* int commented_out(int x) { return x; }
class NotAClass { }; */
constexpr int kLimit = 10;
struct Forward;
int Prototype(int x);
const char *text = "void not_a_function() { }";
const char *raw = R"x(class Raw { void f() {} };)x";

struct Options {
	int size = 1000;
	bool Valid() const
	{
		return size > 0;
	}
};

enum class Color : int { kRed, kGreen };

template <typename T>
class Queue final : public Base<T> {
public:
	Queue() : head_(0) {}
	~Queue() { Clear(); }
	void Push(const T &v);
	bool operator==(const Queue &other) const { return head_ == other.head_; }

private:
	int head_;
};

} // namespace

std::size_t
Count(std::string_view text,
      char c)
{
	if (text.empty()) {
		return 0;
	}
	auto lambda = [](int x) { return x; };
	while (false) {
	}
	return 1;
}

template <typename T>
void
Queue<T>::Push(const T &v)
{
	items_.push_back(v);
}

Queue::~Queue()
{
}

Queue::Queue(int n) : head_(n), items_{n}
{
	if (n > 0) {
		Grow(n);
	}
	for_each_item(n) {
	}
}

int x[] = {1, 2, 3};
TEST(Suite, Name)
{
}

extern "C" {
void c_entry(void)
{
}
}

} // namespace agentgres::core
)cpp";
	EXPECT_EQ(Names(src, "cpp"),
	          (V{
	              "macro AGENTGRES_MAX@3",
	              "macro TRACE_ON@4",
	              "namespace agentgres::core@6",
	              "struct Options@17",
	              "method Valid@19",
	              "enum Color@25",
	              "class Queue@28",
	              "method Queue@30",
	              "method ~Queue@31",
	              "method operator==@33",
	              "function Count@42",
	              "method Push@56",
	              "method ~Queue@61",
	              "method Queue@65",
	              "function c_entry@80",
	          }));
}

TEST(SymbolsPython, ClassesFunctionsMethodsNotStrings)
{
	const char *src = R"py("""Module docstring.

def not_a_function():
    pass
class NotAClass:
"""
import os

LIMIT = 10
name: str = "x"
if LIMIT == 10:
    pass


@decorator
def top(a, b=(1,
              2)):
    s = '''
def inside_string():
'''
    # def in_comment():
    def nested():
        return "def nor_this():"
    return a


class Reader(Base):
    """Doc."""

    def __init__(self):
        self.x = [
def_not_here(),
        ]

    async def read(self):
        pass


async def main():
    pass
)py";
	EXPECT_EQ(Names(src, "python"),
	          (V{
	              "variable LIMIT@9",
	              "variable name@10",
	              "function top@16",
	              "function nested@22",
	              "class Reader@27",
	              "method __init__@30",
	              "method read@35",
	              "function main@39",
	          }));
}

TEST(SymbolsMarkdown, HeadingsNotInFences)
{
	const char *src = "---\ntitle: x\n---\n# Title\n\nText # not a heading.\n\n## Section *two* ##\n\n```sh\n# "
	                  "comment\n```\n\nSetext\n======\n\n    # indented code\n####### seven\n#no-space\n\nSub\n---\n";
	EXPECT_EQ(Names(src, "markdown"),
	          (V{
	              "heading Title@4",
	              "heading Section *two*@8",
	              "heading Setext@14",
	              "heading Sub@21",
	          }));
}

TEST(SymbolsJavaScript, FunctionsClassesMethodsArrows)
{
	const char *src = R"js(// function commented() {}
import x from 'y';
const re = /[{]/g;
const tpl = `function inTemplate() {
}`;
export function load(path) {
  if (path) {
    return 1;
  }
}
export const handler = async (event) => {
  return event;
};
class Store extends Base {
  constructor(opts) {
    super(opts);
  }
  async get(key) {
    return this.map[key];
  }
  onClick = (e) => {
  };
}
describe('x', () => {
  it('y', function () {});
});
const s = "class Nope {}";
)js";
	EXPECT_EQ(Names(src, "javascript"),
	          (V{
	              "function load@6",
	              "function handler@11",
	              "class Store@14",
	              "method constructor@15",
	              "method get@18",
	              "method onClick@21",
	          }));
	const char *ts = "export interface Options {\n  size: number;\n}\nexport type Id = string;\nexport abstract "
	                 "class Repo<T> implements R {\n  find(id: Id): Promise<T> {\n    return x;\n  }\n  abstract "
	                 "save(t: T): void;\n}\nnamespace NS {\n  export function f<T>(x: T): T { return x; }\n}\n";
	EXPECT_EQ(Names(ts, "typescript"), (V{"interface Options@1", "type Id@4", "class Repo@5", "method find@6",
	                                      "namespace NS@11", "function f@12"}));
}

TEST(SymbolsGoRustJava, Definitions)
{
	const char *go = "package main\n\n// func commented() {}\ntype Server struct {\n\taddr string\n}\n\ntype ID "
	                 "int\n\nfunc (s *Server) Start(ctx context.Context) error {\n\treturn nil\n}\n\nfunc main() "
	                 "{\n\ts := `func raw() {`\n\t_ = s\n}\n";
	EXPECT_EQ(Names(go, "go"), (V{"struct Server@4", "type ID@8", "method Start@10", "function main@14"}));
	const char *rust =
	    "/// fn doc_comment() {}\npub struct Point<T> {\n    x: T,\n}\nstruct Unit;\nimpl<T> Point<T> "
	    "{\n    pub fn new(x: T) -> Self {\n        Point { x }\n    }\n}\nfn longest<'a>(a: &'a str) -> "
	    "&'a str {\n    let s = r#\"fn raw() {}\"#;\n    a\n}\nmacro_rules! square {\n    ($x:expr) => "
	    "{ $x * $x };\n}\npub trait Shape {\n    fn area(&self) -> f64;\n}\nmod tests {\n}\n";
	EXPECT_EQ(Names(rust, "rust"), (V{"struct Point@2", "struct Unit@5", "method new@7", "function longest@11",
	                                  "macro square@15", "trait Shape@18", "module tests@21"}));
	const char *java = "package a.b;\n\n/** class Doc {} */\n@Entity\npublic class Account extends Base implements "
	                   "Serializable {\n    private int id;\n    @Override\n    public String toString() {\n        "
	                   "return \"void fake() {\";\n    }\n    public <T> List<T> items(Class<T> c) throws IOException "
	                   "{\n        Runnable r = new Runnable() {\n            public void run() {}\n        };\n    "
	                   "}\n    enum State { OPEN, CLOSED }\n    interface Listener {\n        void on();\n    }\n}\n";
	EXPECT_EQ(Names(java, "java"),
	          (V{"class Account@5", "method toString@8", "method items@11", "enum State@16", "interface Listener@17"}));
}

TEST(SymbolsShellPerlSql, Definitions)
{
	const char *sh =
	    "#!/bin/bash\n# fake() {\nlog() {\n  echo \"$@\"\n}\nfunction cleanup {\n  rm -f x\n}\nfunction "
	    "setup() {\n  cat <<'EOF'\nnot_a_function() {\nEOF\n}\necho 'quote() {'\ncluster_start ()\n{\n  :\n}\n";
	EXPECT_EQ(Names(sh, "shell"),
	          (V{"function log@3", "function cleanup@6", "function setup@9", "function cluster_start@15"}));
	const char *pl = "package Foo::Bar;\nuse strict;\n\n=pod\n\nsub in_pod { }\n\n=cut\n\nsub new {\n    return "
	                 "bless {}, shift;\n}\n# sub commented {}\nsub Foo::helper { 1 }\n__END__\nsub after_end {}\n";
	EXPECT_EQ(Names(pl, "perl"), (V{"package Foo::Bar@1", "function new@10", "function Foo::helper@14"}));
	const char *sql =
	    "-- CREATE TABLE commented (x int);\n/* CREATE VIEW c AS SELECT 1; /* nested */ still comment "
	    "*/\nCREATE SCHEMA IF NOT EXISTS agentgres;\nCREATE TABLE agentgres.documents (\n  id bigint\n);"
	    "\ncreate unique index documents_uri_idx on agentgres.documents (uri);\nCREATE INDEX ON "
	    "agentgres.documents (id);\nCREATE OR REPLACE FUNCTION agentgres.ingest(\n  doc "
	    "text)\nRETURNS bigint LANGUAGE plpgsql AS $fn$\nBEGIN\n  CREATE TEMP TABLE in_body (x "
	    "int);\nEND\n$fn$;\nSELECT 'CREATE TABLE in_string (x int)';\nCREATE MATERIALIZED VIEW "
	    "\"Stats\" AS SELECT 1;\nCREATE TYPE agentgres.kind AS ENUM ('a');\n";
	EXPECT_EQ(Names(sql, "sql"), (V{"schema agentgres@3", "table agentgres.documents@4", "index documents_uri_idx@7",
	                                "function agentgres.ingest@9", "view Stats@17", "type agentgres.kind@18"}));
}

TEST(SymbolsRubyCMakeMake, Definitions)
{
	const char *rb = "module Shop\n  class Cart < Base\n    # def commented\n    def add(item)\n      @items << "
	                 "item\n    end\n\n    def self.empty?\n    end\n  end\nend\n=begin\ndef in_doc\n=end\ndef "
	                 "helper\nend\n";
	EXPECT_EQ(Names(rb, "ruby"),
	          (V{"module Shop@1", "class Cart@2", "method add@4", "method empty?@8", "function helper@15"}));
	const char *cmake = "cmake_minimum_required(VERSION 3.20)\n# function(commented)\nfunction(agentgres_add_test "
	                    "name)\nendfunction()\nMACRO(legacy_macro)\nendmacro()\n";
	EXPECT_EQ(Names(cmake, "cmake"), (V{"function agentgres_add_test@3", "macro legacy_macro@5"}));
	const char *mk = "CC := gcc\nall: build test\n\t@echo done: yes\n.PHONY: all\ndefine HELP\nfake: target\nendef\n"
	                 "build/%.o: %.c\n";
	EXPECT_EQ(Names(mk, "make"), (V{"target all@2", "macro HELP@5", "target build/%.o@8"}));
}

TEST(SymbolsHostile, GarbageAndHugeInputStayLinear)
{
	EXPECT_TRUE(Extract("", "cpp").empty());
	EXPECT_TRUE(Extract("anything", "klingon").empty());
	// Unterminated comments, strings and blocks.
	for (const char *lang : {"cpp", "javascript", "python", "sql", "shell", "markdown", "rust", "go", "ruby"}) {
		EXPECT_NO_THROW(Extract("/* never closed", lang));
		EXPECT_NO_THROW(Extract("\"never closed", lang));
		EXPECT_NO_THROW(Extract("'''never closed", lang));
		EXPECT_NO_THROW(Extract("$$ never closed", lang));
		EXPECT_NO_THROW(Extract("}}}}}}{{{{ (((( ))))))) ]]]", lang));
		EXPECT_NO_THROW(Extract(std::string("a\0b\xff\xfe", 5), lang));
	}
	// Random bytes in every language, and a big input, in reasonable time.
	std::mt19937 rng(3);
	const std::string alphabet = "{}()[];:=<>\"'`/*#$\\\n \tabcdefR_-.@~!";
	for (int round = 0; round < 300; ++round) {
		std::string s;
		for (int i = 0; i < 500; ++i)
			s += alphabet[std::uniform_int_distribution<std::size_t>(0, alphabet.size() - 1)(rng)];
		for (const char *lang : {"cpp", "javascript", "python", "sql", "shell", "markdown", "rust", "go", "ruby",
		                         "perl", "java", "make", "cmake"})
			for (const Symbol &sym : Extract(s, lang)) {
				EXPECT_FALSE(sym.name.empty());
				EXPECT_LE(sym.name.size(), kMaxNameBytes);
				EXPECT_GE(sym.line, 1u);
			}
	}
	std::string big;
	while (big.size() < (8u << 20))
		big += "int f" + std::to_string(big.size()) + "(int x)\n{\n\treturn x; // {\n}\n";
	int calls = 0;
	const auto t0 = std::chrono::steady_clock::now();
	const std::vector<Symbol> syms = Extract(big, "cpp", [&] { ++calls; });
	const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
	EXPECT_GT(syms.size(), 200000u);
	EXPECT_GT(calls, 10);
	EXPECT_LT(seconds, 5.0);
	EXPECT_EQ(syms[1].line, 5u);
	// A name is cut on a character boundary.
	const std::string long_name(300, 'a');
	const std::vector<Symbol> cut = Extract("# " + long_name + "é\n", "markdown");
	ASSERT_EQ(cut.size(), 1u);
	EXPECT_EQ(cut[0].name.size(), kMaxNameBytes);
}

// Inputs built to make a careless scanner quadratic: each stays fast.
TEST(SymbolsHostile, PathologicalInputsAreLinear)
{
	const std::size_t mb = 1u << 20;
	const auto repeat = [&](std::string_view unit) {
		std::string s;
		while (s.size() < mb)
			s += unit;
		return s;
	};
	const std::string inputs[] = {repeat("{"),    repeat("R\""),   repeat("$a"),      repeat("'''"),     repeat("/*"),
	                              repeat("\"\n"), repeat("<<A\n"), repeat("CREATE "), repeat("f() {\n"), repeat("#"),
	                              repeat("`"),    repeat("'"),     repeat("```\n"),   repeat("(")};
	for (const char *lang : {"cpp", "javascript", "python", "sql", "shell", "markdown", "rust", "go", "ruby", "perl"}) {
		const auto t0 = std::chrono::steady_clock::now();
		for (const std::string &s : inputs)
			Extract(s, lang);
		const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
		EXPECT_LT(seconds, 3.0) << lang;
	}
}

} // namespace
} // namespace agentgres::core::symbols
