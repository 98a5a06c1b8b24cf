// SQL-level benchmark of exact top-k, all sides in one run on the same table:
//
//   top_k      agentgres.top_k(rel, 'id', 'e', q, 10, 'cosine')
//   top_k_par  the same with max_parallel_workers_per_gather = --workers and
//              agentgres.top_k_parallel_min_size = 0 (top_k's parallel heap
//              scan, whatever the table's size)
//   operator   SELECT id FROM t ORDER BY e <=> q LIMIT 10   (agentgres operator)
//   plain_sql  SELECT id FROM t_arrays ORDER BY <cosine in SQL over real[]> LIMIT 10
//   seq_scan   SELECT count(*) FROM t   (page scan without touching the vectors)
//   read_bound bytes of all vectors / streaming read bandwidth of this process
//
// It loads N random vectors (fixed seed) with COPY BINARY, prewarms shared
// buffers, runs each side --repeat times with fresh random queries and prints
// medians and ratios. Parallel query is off (one worker, as the reference
// figures for pgvector were taken) but for top_k_par.
//
//   agentgres_bench_topk "host=... dbname=..." [--rows N] [--dims D] [--repeat R]
//                        [--plain-sql-repeat P] [--workers W] [--reuse]
#include <libpq-fe.h>

#include <algorithm>
#include <arpa/inet.h>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
	std::string conninfo;
	long rows = 100000;
	int dims = 384;
	int repeat = 15;
	int plain_sql_repeat = 3;
	int workers = 2; // top_k_par; 0 skips it
	bool reuse = false;
};

[[noreturn]] void
Fail(const std::string &what, PGconn *conn = nullptr)
{
	std::fprintf(stderr, "error: %s%s%s\n", what.c_str(), conn ? ": " : "", conn ? PQerrorMessage(conn) : "");
	std::exit(1);
}

void
Exec(PGconn *conn, const std::string &sql)
{
	PGresult *r = PQexec(conn, sql.c_str());
	const ExecStatusType s = PQresultStatus(r);
	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
		Fail(sql, conn);
	PQclear(r);
}

std::string
Scalar(PGconn *conn, const std::string &sql)
{
	PGresult *r = PQexec(conn, sql.c_str());
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1)
		Fail(sql, conn);
	std::string v = PQgetvalue(r, 0, 0);
	PQclear(r);
	return v;
}

std::vector<float>
RandomVector(std::mt19937 &rng, int dims)
{
	std::normal_distribution<float> normal(0.0f, 1.0f);
	std::vector<float> v(static_cast<std::size_t>(dims));
	for (float &x : v)
		x = normal(rng);
	return v;
}

std::string
VectorText(const std::vector<float> &v)
{
	std::string s = "[";
	char buffer[32];
	for (std::size_t i = 0; i < v.size(); ++i) {
		std::snprintf(buffer, sizeof buffer, "%s%.9g", i ? "," : "", v[i]);
		s += buffer;
	}
	return s + "]";
}

void
PutInt16(std::string &out, std::int16_t v)
{
	const std::uint16_t n = htons(static_cast<std::uint16_t>(v));
	out.append(reinterpret_cast<const char *>(&n), 2);
}

void
PutInt32(std::string &out, std::int32_t v)
{
	const std::uint32_t n = htonl(static_cast<std::uint32_t>(v));
	out.append(reinterpret_cast<const char *>(&n), 4);
}

void
PutInt64(std::string &out, std::int64_t v)
{
	PutInt32(out, static_cast<std::int32_t>(static_cast<std::uint64_t>(v) >> 32));
	PutInt32(out, static_cast<std::int32_t>(v & 0xffffffff));
}

void
PutFloat(std::string &out, float f)
{
	std::uint32_t bits;
	std::memcpy(&bits, &f, 4);
	PutInt32(out, static_cast<std::int32_t>(bits));
}

// Loads the same vectors into t(id, e embedding) and t_arrays(id, a real[])
// with COPY BINARY.
void
Load(PGconn *conn, const Options &o)
{
	Exec(conn, "DROP TABLE IF EXISTS bench_vectors, bench_arrays");
	Exec(conn, "CREATE TABLE bench_vectors (id bigint, e agentgres.embedding(" + std::to_string(o.dims) + "))");
	Exec(conn, "CREATE TABLE bench_arrays (id bigint, a real[])");
	const Oid float4_oid = 700;
	std::vector<const char *> tables{"bench_vectors"};
	if (o.plain_sql_repeat > 0)
		tables.push_back("bench_arrays");
	for (const char *table : tables) {
		const bool arrays = std::strcmp(table, "bench_arrays") == 0;
		PGresult *r = PQexec(conn, ("COPY " + std::string(table) + " FROM STDIN (FORMAT binary)").c_str());
		if (PQresultStatus(r) != PGRES_COPY_IN)
			Fail("COPY", conn);
		PQclear(r);
		std::string buffer("PGCOPY\n\377\r\n\0", 11);
		PutInt32(buffer, 0);
		PutInt32(buffer, 0);
		std::mt19937 rng(42);
		for (long id = 1; id <= o.rows; ++id) {
			const auto v = RandomVector(rng, o.dims);
			PutInt16(buffer, 2);
			PutInt32(buffer, 8);
			PutInt64(buffer, id);
			if (arrays) { // array: ndim, hasnull, elemtype, dim, lbound, then (len, value) pairs
				PutInt32(buffer, 20 + 8 * o.dims);
				PutInt32(buffer, 1);
				PutInt32(buffer, 0);
				PutInt32(buffer, static_cast<std::int32_t>(float4_oid));
				PutInt32(buffer, o.dims);
				PutInt32(buffer, 1);
				for (float f : v) {
					PutInt32(buffer, 4);
					PutFloat(buffer, f);
				}
			} else { // embedding: int16 dims, int16 reserved, float4 values
				PutInt32(buffer, 4 + 4 * o.dims);
				PutInt16(buffer, static_cast<std::int16_t>(o.dims));
				PutInt16(buffer, 0);
				for (float f : v)
					PutFloat(buffer, f);
			}
			if (buffer.size() > (1 << 20)) {
				if (PQputCopyData(conn, buffer.data(), static_cast<int>(buffer.size())) != 1)
					Fail("COPY data", conn);
				buffer.clear();
			}
		}
		PutInt16(buffer, -1);
		if (PQputCopyData(conn, buffer.data(), static_cast<int>(buffer.size())) != 1 ||
		    PQputCopyEnd(conn, nullptr) != 1)
			Fail("COPY end", conn);
		r = PQgetResult(conn);
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			Fail("COPY result", conn);
		PQclear(r);
	}
	Exec(conn, "VACUUM (FREEZE, ANALYZE) bench_vectors");
	if (o.plain_sql_repeat > 0)
		Exec(conn, "VACUUM (FREEZE, ANALYZE) bench_arrays");
	// Write the dirty pages out now, not in the background while we measure.
	Exec(conn, "CHECKPOINT");
}

double
Median(std::vector<double> v)
{
	std::sort(v.begin(), v.end());
	const std::size_t n = v.size();
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Runs sql with $1 = a fresh random query vector per repetition; returns the
// median wall time in milliseconds and checks the row count.
double
TimeQuery(PGconn *conn, const std::string &sql, int repeat, int dims, std::uint32_t seed,
          std::vector<std::vector<std::string>> *answers = nullptr)
{
	std::mt19937 rng(seed);
	std::vector<double> times;
	for (int i = 0; i < repeat; ++i) {
		const std::string q = VectorText(RandomVector(rng, dims));
		const char *params[1] = {q.c_str()};
		const auto start = Clock::now();
		PGresult *r = PQexecParams(conn, sql.c_str(), 1, nullptr, params, nullptr, nullptr, 0);
		const auto end = Clock::now();
		if (PQresultStatus(r) != PGRES_TUPLES_OK)
			Fail(sql, conn);
		if (answers) {
			std::vector<std::string> ids;
			for (int row = 0; row < PQntuples(r); ++row)
				ids.emplace_back(PQgetvalue(r, row, 0));
			answers->push_back(std::move(ids));
		}
		PQclear(r);
		times.push_back(std::chrono::duration<double, std::milli>(end - start).count());
	}
	return Median(times);
}

// Streaming read bandwidth of this process over a buffer larger than the
// caches, in bytes per second (best of 5 passes).
double
StreamingReadBandwidth()
{
	const std::size_t n = (512u << 20) / sizeof(float);
	std::vector<float> data(n, 1.0f);
	double best = 0;
	volatile float sink = 0;
	for (int pass = 0; pass < 5; ++pass) {
		const auto start = Clock::now();
		float a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
		for (std::size_t i = 0; i < n; i += 8) {
			a0 += data[i];
			a1 += data[i + 1];
			a2 += data[i + 2];
			a3 += data[i + 3];
			a4 += data[i + 4];
			a5 += data[i + 5];
			a6 += data[i + 6];
			a7 += data[i + 7];
		}
		sink = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
		const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
		best = std::max(best, static_cast<double>(n * sizeof(float)) / seconds);
	}
	(void)sink;
	return best;
}

} // namespace

int
main(int argc, char **argv)
{
	Options o;
	for (int i = 1; i < argc; ++i) {
		const std::string a = argv[i];
		auto next = [&] {
			if (i + 1 >= argc)
				Fail("missing value for " + a);
			return std::string(argv[++i]);
		};
		if (a == "--rows")
			o.rows = std::stol(next());
		else if (a == "--dims")
			o.dims = std::stoi(next());
		else if (a == "--repeat")
			o.repeat = std::stoi(next());
		else if (a == "--plain-sql-repeat")
			o.plain_sql_repeat = std::stoi(next());
		else if (a == "--workers")
			o.workers = std::stoi(next());
		else if (a == "--reuse")
			o.reuse = true;
		else if (o.conninfo.empty())
			o.conninfo = a;
		else
			Fail("unrecognized argument " + a);
	}
	PGconn *conn = PQconnectdb(o.conninfo.c_str());
	if (PQstatus(conn) != CONNECTION_OK)
		Fail("connect", conn);
	Exec(conn, "SET client_min_messages = warning");
	Exec(conn, "CREATE EXTENSION IF NOT EXISTS agentgres");
	Exec(conn, "CREATE EXTENSION IF NOT EXISTS pg_prewarm");
	const int tables_needed = o.plain_sql_repeat > 0 ? 2 : 1;
	const bool have =
	    std::stoi(
	        Scalar(conn, "SELECT count(*) FROM pg_tables WHERE tablename IN ('bench_vectors', 'bench_arrays')")) >=
	        tables_needed &&
	    Scalar(conn, "SELECT count(*) FROM bench_vectors") == std::to_string(o.rows);
	if (!o.reuse || !have) {
		std::printf("loading %ld x %d random vectors...\n", o.rows, o.dims);
		std::fflush(stdout);
		const auto start = Clock::now();
		Load(conn, o);
		std::printf("loaded in %.1f s\n", std::chrono::duration<double>(Clock::now() - start).count());
	}
	Exec(conn, "SET max_parallel_workers_per_gather = 0");
	Exec(conn, "SET jit = off");
	Exec(conn, "SELECT pg_prewarm('bench_vectors')");
	if (o.plain_sql_repeat > 0)
		Exec(conn, "SELECT pg_prewarm('bench_arrays')");
	const std::string isa = Scalar(conn, "SELECT agentgres.kernel_isa()");
	const double table_mb = std::stod(Scalar(conn, "SELECT pg_relation_size('bench_vectors')")) / 1e6;
	const double shared_buffers_mb =
	    std::stod(Scalar(conn, "SELECT setting::bigint * 8192 FROM pg_settings WHERE name = 'shared_buffers'")) / 1e6;
	if (shared_buffers_mb < table_mb * 1.05)
		std::printf("warning: shared_buffers (%.0f MB) is smaller than the table (%.0f MB); reads hit the OS cache\n",
		            shared_buffers_mb, table_mb);

	const std::string type = "::agentgres.embedding";
	const std::string top_k_sql = "SELECT id FROM agentgres.top_k('bench_vectors', 'id', 'e', $1" + type +
	                              ", 10, 'cosine')";
	const std::string operator_sql =
	    "SELECT id FROM bench_vectors ORDER BY e OPERATOR(agentgres.<=>) $1" + type + " LIMIT 10";
	const std::string plain_sql =
	    "SELECT id FROM bench_arrays ORDER BY (SELECT 1 - sum(x * y) / sqrt(sum(x * x) * sum(y * y)) "
	    "FROM unnest(a, ($1" +
	    type + ")::real[]) AS u(x, y)) LIMIT 10";

	// Warm up, and check that all sides agree on the answer.
	std::vector<std::vector<std::string>> a_top_k, a_operator, a_plain;
	TimeQuery(conn, top_k_sql, 3, o.dims, 7, &a_top_k);
	TimeQuery(conn, operator_sql, 3, o.dims, 7, &a_operator);
	const bool agree = a_top_k == a_operator;

	const double bandwidth = StreamingReadBandwidth();
	const double vector_bytes = static_cast<double>(o.rows) * (8.0 + 4.0 * o.dims);
	const double read_bound_ms = vector_bytes / bandwidth * 1e3;

	const double t_top_k = TimeQuery(conn, top_k_sql, o.repeat, o.dims, 1);
	double t_top_k_parallel = 0;
	bool parallel_agrees = true;
	if (o.workers > 0) {
		Exec(conn, "SET max_parallel_workers_per_gather = " + std::to_string(o.workers));
		Exec(conn, "SET agentgres.top_k_parallel_min_size = 0"); // parallel at every size: measure, not decide
		std::vector<std::vector<std::string>> a_parallel;
		TimeQuery(conn, top_k_sql, 3, o.dims, 7, &a_parallel);
		parallel_agrees = a_parallel == a_top_k;
		t_top_k_parallel = TimeQuery(conn, top_k_sql, o.repeat, o.dims, 1);
		Exec(conn, "SET max_parallel_workers_per_gather = 0");
	}
	const double t_operator = TimeQuery(conn, operator_sql, o.repeat, o.dims, 1);
	const double t_seq =
	    TimeQuery(conn, "SELECT count(*) FROM bench_vectors WHERE $1::text IS NOT NULL", o.repeat, o.dims, 1);
	double t_plain = 0;
	bool plain_agrees = true;
	if (o.plain_sql_repeat > 0) {
		t_plain = TimeQuery(conn, plain_sql, o.plain_sql_repeat, o.dims, 7, &a_plain);
		for (std::size_t i = 0; i < a_plain.size(); ++i)
			plain_agrees = plain_agrees && a_plain[i] == a_top_k[i];
	}

	std::printf("\nexact top-10 cosine over %ld x %d (table %.0f MB in shared buffers, kernels %s, one worker)\n",
	            o.rows, o.dims, table_mb, isa.c_str());
	std::printf("medians of %d queries (plain SQL: %d)\n\n", o.repeat, o.plain_sql_repeat);
	std::printf("  %-44s %10.2f ms\n", "agentgres.top_k", t_top_k);
	if (o.workers > 0)
		std::printf("  %-44s %10.2f ms   %6.2fx top_k\n",
		            ("agentgres.top_k, parallel (up to " + std::to_string(o.workers) + " workers)").c_str(),
		            t_top_k_parallel, t_top_k_parallel / t_top_k);
	std::printf("  %-44s %10.2f ms   %6.2fx top_k\n", "ORDER BY e <=> q LIMIT 10 (agentgres operator)", t_operator,
	            t_operator / t_top_k);
	if (o.plain_sql_repeat > 0)
		std::printf("  %-44s %10.2f ms   %6.1fx top_k\n", "plain SQL cosine over real[]", t_plain, t_plain / t_top_k);
	std::printf("  %-44s %10.2f ms   %6.2fx of top_k\n", "SELECT count(*) (heap scan only)", t_seq, t_seq / t_top_k);
	std::printf("  %-44s %10.2f ms   top_k is %.2fx this bound\n", "read bound: vector bytes / stream bandwidth",
	            read_bound_ms, t_top_k / read_bound_ms);
	std::printf("\n  streaming read bandwidth of one core: %.1f GB/s; top_k scans %.1f GB/s of vectors\n",
	            bandwidth / 1e9, vector_bytes / (t_top_k / 1e3) / 1e9);
	std::printf("  answers: top_k %s ORDER BY <=>%s%s\n", agree ? "==" : "!=",
	            o.plain_sql_repeat > 0 ? (plain_agrees ? "; plain SQL agrees" : "; plain SQL DISAGREES") : "",
	            o.workers > 0 ? (parallel_agrees ? "; parallel top_k agrees" : "; parallel top_k DISAGREES") : "");
	PQfinish(conn);
	return agree && plain_agrees && parallel_agrees ? 0 : 2;
}
