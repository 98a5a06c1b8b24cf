// Retrieval quality and speed of the knowledge API on a BEIR-format dataset,
// all sides in one run on the same collection:
//
//   bm25     agentgres.bm25_search(collection, query, 100)
//   vector   agentgres.top_k_filtered over the collection's chunks with
//            agentgres.embed(query) (the builtin embedder), 100 nearest
//   hybrid   agentgres.hybrid_search(collection, query) (defaults: k 10,
//            50 candidates per list, rrf_k 60) for nDCG@10; with k = 100 and
//            100 candidates for Recall@100
//   ts_rank  PostgreSQL's full-text search: ts_rank_cd over the chunks'
//            GIN-indexed tsvector, the query's lexemes OR-ed
//
// The corpus goes in through the SQL API (ingest_document, one document per
// call, 100 per transaction); chunk hits are mapped to their document (the
// uri is the corpus id), keeping a document's best rank. It prints nDCG@10
// (trec_eval's definition: gain = relevance grade, log2 discount) and
// Recall@100 per side, ingest throughput, query latency p50/p95, and the
// reliability table of hybrid_search's confidence (--fit-confidence also fits
// the logistic model behind it on this split).
//
//   agentgres_rag_eval CONNINFO DATASET_DIR [--split dev|test] [--collection NAME] [--reuse]
//                      [--queries N] [--k1 X --b Y] [--embedder builtin|lsa] [--copies N] [--fit-confidence]
//
// --copies N ingests the corpus N times (for speed at scale: NFCorpus x 6 is
// about 50,000 chunks); the quality figures then count copies as misses.
// --vector-index builds the collection's approximate vector index
// (build_vector_index) before the queries, and --probes N sets
// agentgres.ivf_probes: hybrid_search then takes its vector list from it.
#include <libpq-fe.h>

#include <Eigen/Dense>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
	std::string conninfo;
	std::string dataset;
	std::string split = "test";
	std::string collection = "rag_eval";
	std::string embedder = "builtin";
	bool reuse = false;
	bool fit_confidence = false;
	long max_queries = 0;
	int copies = 1;
	bool vector_index = false;
	int probes = 0; // 0: the server's agentgres.ivf_probes
	double k1 = -1, b = -1;
};

[[noreturn]] void
Fail(const std::string &what, PGconn *conn = nullptr)
{
	std::fprintf(stderr, "error: %s%s%s\n", what.c_str(), conn ? ": " : "", conn ? PQerrorMessage(conn) : "");
	std::exit(1);
}

// Runs a parameterised statement; the result must be freed with PQclear.
PGresult *
Query(PGconn *conn, const char *sql, const std::vector<std::string> &params)
{
	std::vector<const char *> values;
	for (const std::string &p : params)
		values.push_back(p.c_str());
	PGresult *r = PQexecParams(conn, sql, static_cast<int>(values.size()), nullptr, values.data(), nullptr, nullptr, 0);
	const ExecStatusType s = PQresultStatus(r);
	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
		Fail(sql, conn);
	return r;
}

void
Exec(PGconn *conn, const char *sql, const std::vector<std::string> &params = {})
{
	PQclear(Query(conn, sql, params));
}

double
Seconds(Clock::time_point since)
{
	return std::chrono::duration<double>(Clock::now() - since).count();
}

double
Percentile(std::vector<double> v, double p)
{
	if (v.empty())
		return 0;
	std::sort(v.begin(), v.end());
	const double rank = p * static_cast<double>(v.size() - 1);
	const std::size_t lo = static_cast<std::size_t>(rank);
	const std::size_t hi = std::min(lo + 1, v.size() - 1);
	return v[lo] + (v[hi] - v[lo]) * (rank - static_cast<double>(lo));
}

using Qrels = std::map<std::string, std::map<std::string, int>>; // query -> doc -> grade

Qrels
ReadQrels(const std::string &path)
{
	std::ifstream in(path);
	if (!in)
		Fail("cannot read " + path);
	Qrels qrels;
	std::string line;
	std::getline(in, line); // header
	while (std::getline(in, line)) {
		std::istringstream fields(line);
		std::string query, doc;
		int grade = 0;
		if (fields >> query >> doc >> grade && grade > 0)
			qrels[query][doc] = grade;
	}
	return qrels;
}

// nDCG@k as trec_eval computes it: gains are the grades, discount log2(rank + 1).
double
Ndcg(const std::vector<std::string> &ranked, const std::map<std::string, int> &relevant, std::size_t k)
{
	double dcg = 0;
	for (std::size_t i = 0; i < std::min(k, ranked.size()); ++i) {
		auto it = relevant.find(ranked[i]);
		if (it != relevant.end())
			dcg += it->second / std::log2(static_cast<double>(i) + 2.0);
	}
	std::vector<int> grades;
	for (const auto &[doc, grade] : relevant)
		grades.push_back(grade);
	std::sort(grades.rbegin(), grades.rend());
	double ideal = 0;
	for (std::size_t i = 0; i < std::min(k, grades.size()); ++i)
		ideal += grades[i] / std::log2(static_cast<double>(i) + 2.0);
	return ideal > 0 ? dcg / ideal : 0;
}

double
Recall(const std::vector<std::string> &ranked, const std::map<std::string, int> &relevant, std::size_t k)
{
	std::size_t found = 0;
	for (std::size_t i = 0; i < std::min(k, ranked.size()); ++i)
		found += relevant.count(ranked[i]);
	return relevant.empty() ? 0 : static_cast<double>(found) / static_cast<double>(relevant.size());
}

// The documents of a result, first column = uri, in order, each once.
std::vector<std::string>
Documents(PGresult *r, int column)
{
	std::vector<std::string> docs;
	std::set<std::string> seen;
	for (int i = 0; i < PQntuples(r); ++i) {
		std::string uri = PQgetvalue(r, i, column);
		if (seen.insert(uri).second)
			docs.push_back(std::move(uri));
	}
	return docs;
}

void
Load(PGconn *conn, const Options &o)
{
	Exec(conn, "DELETE FROM agentgres.collections WHERE name = $1", {o.collection});
	Exec(conn, "SELECT agentgres.create_collection($1, $2)", {o.collection, o.embedder});
	std::ifstream in(o.dataset + "/corpus.jsonl");
	if (!in)
		Fail("cannot read " + o.dataset + "/corpus.jsonl");
	const auto start = Clock::now();
	long documents = 0;
	std::vector<std::pair<std::string, std::string>> corpus;
	for (std::string line; std::getline(in, line);) {
		const nlohmann::json doc = nlohmann::json::parse(line);
		const std::string title = doc.value("title", "");
		const std::string text = doc.value("text", "");
		corpus.emplace_back(doc.at("_id").get<std::string>(), title.empty() ? text : title + "\n\n" + text);
	}
	Exec(conn, "BEGIN");
	for (int copy = 0; copy < o.copies; ++copy)
		for (const auto &[id, content] : corpus) {
			// Copies (--copies, for speed at scale) get uris of their own.
			Exec(conn, "SELECT agentgres.ingest_document($1, $2, $3)",
			     {o.collection, copy == 0 ? id : id + "#" + std::to_string(copy), content});
			if (++documents % 100 == 0) {
				Exec(conn, "COMMIT");
				Exec(conn, "BEGIN");
			}
		}
	Exec(conn, "COMMIT");
	const double seconds = Seconds(start);
	PGresult *r = Query(conn, "SELECT count(*) FROM agentgres.chunks WHERE collection_id = agentgres.collection_id($1)",
	                    {o.collection});
	const long chunks = std::atol(PQgetvalue(r, 0, 0));
	PQclear(r);
	std::printf("ingest: %ld documents, %ld chunks in %.1f s: %.0f chunks/s, %.0f documents/s\n", documents, chunks,
	            seconds, chunks / seconds, documents / seconds);
	if (o.embedder == "lsa") {
		// The worker of agentgresd would run the knowledge.train job; here
		// the training runs at once, timed.
		// The training holds the chunks' text and the SVD's matrices in memory.
		Exec(conn, "SET maintenance_work_mem = '2GB'");
		const auto train_start = Clock::now();
		PGresult *t = Query(conn, "SELECT agentgres.train_embedder($1)::text", {o.collection});
		std::printf("train_embedder: %s (%.1f s)\n", PQgetvalue(t, 0, 0), Seconds(train_start));
		PQclear(t);
		Exec(conn, "DELETE FROM agentgres.jobs WHERE kind = 'knowledge.train'");
	}
	Exec(conn, "VACUUM ANALYZE agentgres.chunks");
	Exec(conn, "VACUUM ANALYZE agentgres.bm25_postings");
}

struct Side {
	const char *name;
	double ndcg = 0, recall = 0;
	std::vector<double> latency_ms;
};

// A hybrid result with what the confidence sees, and whether it was relevant.
struct Observation {
	double text_rank, vector_rank, similarity, confidence;
	bool relevant;
};

// Logistic regression by Newton's method (few features, a few thousand rows).
Eigen::VectorXd
FitLogistic(const Eigen::MatrixXd &x, const Eigen::VectorXd &y)
{
	Eigen::VectorXd w = Eigen::VectorXd::Zero(x.cols());
	for (int iteration = 0; iteration < 50; ++iteration) {
		Eigen::VectorXd prob(x.rows());
		for (Eigen::Index i = 0; i < x.rows(); ++i)
			prob(i) = 1.0 / (1.0 + std::exp(-x.row(i).dot(w)));
		const Eigen::VectorXd gradient = x.transpose() * (y - prob);
		Eigen::MatrixXd hessian = Eigen::MatrixXd::Identity(x.cols(), x.cols()) * 1e-6;
		for (Eigen::Index i = 0; i < x.rows(); ++i)
			hessian += prob(i) * (1 - prob(i)) * x.row(i).transpose() * x.row(i);
		const Eigen::VectorXd step = hessian.ldlt().solve(gradient);
		w += step;
		if (step.norm() < 1e-9)
			break;
	}
	return w;
}

} // namespace

int
main(int argc, char **argv)
{
	Options o;
	if (argc < 3) {
		std::fprintf(stderr,
		             "usage: %s CONNINFO DATASET_DIR [--split dev|test] [--collection NAME] [--reuse] "
		             "[--queries N] [--k1 X --b Y] [--embedder builtin|lsa] [--copies N] [--fit-confidence]\n"
		             "       [--vector-index] [--probes N]\n",
		             argv[0]);
		return 2;
	}
	o.conninfo = argv[1];
	o.dataset = argv[2];
	for (int i = 3; i < argc; ++i) {
		const std::string a = argv[i];
		auto next = [&]() -> std::string {
			if (i + 1 >= argc)
				Fail(a + " needs a value");
			return argv[++i];
		};
		if (a == "--split")
			o.split = next();
		else if (a == "--collection")
			o.collection = next();
		else if (a == "--copies")
			o.copies = std::max(1, std::atoi(next().c_str()));
		else if (a == "--vector-index")
			o.vector_index = true;
		else if (a == "--probes")
			o.probes = std::max(1, std::atoi(next().c_str()));
		else if (a == "--embedder")
			o.embedder = next();
		else if (a == "--reuse")
			o.reuse = true;
		else if (a == "--queries")
			o.max_queries = std::atol(next().c_str());
		else if (a == "--k1")
			o.k1 = std::atof(next().c_str());
		else if (a == "--b")
			o.b = std::atof(next().c_str());
		else if (a == "--fit-confidence")
			o.fit_confidence = true;
		else
			Fail("unknown option " + a);
	}

	PGconn *conn = PQconnectdb(o.conninfo.c_str());
	if (PQstatus(conn) != CONNECTION_OK)
		Fail("cannot connect", conn);
	Exec(conn, "SET client_min_messages = warning");
	if (!o.reuse)
		Load(conn, o);
	if (o.k1 >= 0 && o.b >= 0)
		Exec(conn, "SELECT agentgres.set_bm25_parameters($1, $2, $3)",
		     {o.collection, std::to_string(o.k1), std::to_string(o.b)});

	if (o.vector_index) {
		const auto t = Clock::now();
		Exec(conn, "SELECT agentgres.build_vector_index($1)", {o.collection});
		std::printf("vector index built in %.1f s\n", Seconds(t));
	}
	if (o.probes > 0)
		Exec(conn, ("SET agentgres.ivf_probes = " + std::to_string(o.probes)).c_str());
	const Qrels qrels = ReadQrels(o.dataset + "/qrels/" + o.split + ".tsv");
	std::map<std::string, std::string> queries;
	{
		std::ifstream in(o.dataset + "/queries.jsonl");
		std::string line;
		while (std::getline(in, line)) {
			const nlohmann::json q = nlohmann::json::parse(line);
			const std::string id = q.at("_id").get<std::string>();
			if (qrels.count(id))
				queries[id] = q.at("text").get<std::string>();
		}
	}
	const std::string cid = [&] {
		PGresult *r = Query(conn, "SELECT agentgres.collection_id($1)", {o.collection});
		std::string id = PQgetvalue(r, 0, 0);
		PQclear(r);
		return id;
	}();

	Side bm25{"bm25"}, vector{"vector"}, hybrid{"hybrid"}, ts_rank{"ts_rank_cd"};
	double hybrid_recall = 0;
	std::vector<Observation> observations;
	long n = 0;
	for (const auto &[id, text] : queries) {
		if (o.max_queries > 0 && n >= o.max_queries)
			break;
		++n;
		const auto &relevant = qrels.at(id);

		auto t = Clock::now();
		PGresult *r = Query(conn, "SELECT uri FROM agentgres.bm25_search($1, $2, 100)", {o.collection, text});
		bm25.latency_ms.push_back(Seconds(t) * 1000);
		auto docs = Documents(r, 0);
		PQclear(r);
		bm25.ndcg += Ndcg(docs, relevant, 10);
		bm25.recall += Recall(docs, relevant, 100);

		t = Clock::now();
		r = Query(conn,
		          "SELECT d.uri FROM agentgres.top_k_filtered('agentgres.chunks', 'id', 'embedding', "
		          "agentgres.embed_for($3, $2), 100, 'cosine', 'collection_id', $1::bigint) WITH ORDINALITY t "
		          "JOIN agentgres.chunks c ON c.id = t.id JOIN agentgres.documents d ON d.id = c.document_id "
		          "ORDER BY t.ordinality",
		          {cid, text, o.collection});
		vector.latency_ms.push_back(Seconds(t) * 1000);
		docs = Documents(r, 0);
		PQclear(r);
		vector.ndcg += Ndcg(docs, relevant, 10);
		vector.recall += Recall(docs, relevant, 100);

		// Latency: the default call (10 chunks). Quality: the same defaults
		// (50 candidates per list) but 40 chunks, so that 10 documents
		// remain once a document's later chunks are dropped, as for the
		// other sides.
		t = Clock::now();
		PQclear(Query(conn, "SELECT uri FROM agentgres.hybrid_search($1, $2)", {o.collection, text}));
		hybrid.latency_ms.push_back(Seconds(t) * 1000);
		r = Query(conn,
		          "SELECT uri, text_rank, vector_rank, similarity, confidence "
		          "FROM agentgres.hybrid_search($1, $2, k => 40)",
		          {o.collection, text});
		docs = Documents(r, 0);
		for (int i = 0; i < std::min(PQntuples(r), 10); ++i)
			observations.push_back({PQgetisnull(r, i, 1) ? 0.0 : std::atof(PQgetvalue(r, i, 1)),
			                        PQgetisnull(r, i, 2) ? 0.0 : std::atof(PQgetvalue(r, i, 2)),
			                        PQgetisnull(r, i, 3) ? 0.0 : std::atof(PQgetvalue(r, i, 3)),
			                        std::atof(PQgetvalue(r, i, 4)), relevant.count(PQgetvalue(r, i, 0)) > 0});
		PQclear(r);
		hybrid.ndcg += Ndcg(docs, relevant, 10);
		r = Query(conn, "SELECT uri FROM agentgres.hybrid_search($1, $2, NULL, 100, 100)", {o.collection, text});
		hybrid_recall += Recall(Documents(r, 0), relevant, 100);
		PQclear(r);

		t = Clock::now();
		r = Query(conn,
		          "WITH q AS (SELECT pg_catalog.replace(pg_catalog.plainto_tsquery('english', $2)::text, '&', '|')"
		          "::tsquery AS q) "
		          "SELECT d.uri FROM q, agentgres.chunks c JOIN agentgres.documents d ON d.id = c.document_id "
		          "WHERE c.collection_id = $1::bigint AND c.tsv @@ q.q ORDER BY ts_rank_cd(c.tsv, q.q) DESC, c.id "
		          "LIMIT 100",
		          {cid, text});
		ts_rank.latency_ms.push_back(Seconds(t) * 1000);
		docs = Documents(r, 0);
		PQclear(r);
		ts_rank.ndcg += Ndcg(docs, relevant, 10);
		ts_rank.recall += Recall(docs, relevant, 100);
	}
	hybrid.recall = hybrid_recall;

	std::printf("%s split, %ld queries\n", o.split.c_str(), n);
	std::printf("%-11s %8s %10s %9s %9s\n", "side", "nDCG@10", "Recall@100", "p50 ms", "p95 ms");
	for (Side *s : {&bm25, &vector, &hybrid, &ts_rank})
		std::printf("%-11s %8.4f %10.4f %9.2f %9.2f\n", s->name, s->ndcg / n, s->recall / n,
		            Percentile(s->latency_ms, 0.5), Percentile(s->latency_ms, 0.95));
	std::printf("bm25 - ts_rank_cd: %+.4f nDCG@10; hybrid - bm25: %+.4f\n", (bm25.ndcg - ts_rank.ndcg) / n,
	            (hybrid.ndcg - bm25.ndcg) / n);

	// Reliability of the confidence: per bin, how many results and how many relevant.
	std::printf("\nconfidence reliability (hybrid_search top 10, %zu results)\n", observations.size());
	std::printf("%-11s %8s %10s\n", "confidence", "results", "relevant");
	for (int bin = 0; bin < 10; ++bin) {
		long count = 0, hits = 0;
		for (const Observation &ob : observations)
			if (std::min(9, static_cast<int>(ob.confidence * 10)) == bin) {
				++count;
				hits += ob.relevant;
			}
		if (count > 0)
			std::printf("[%.1f, %.1f) %8ld %9.1f%%\n", bin / 10.0, (bin + 1) / 10.0, count, 100.0 * hits / count);
	}
	long high = 0, high_hits = 0;
	for (const Observation &ob : observations)
		if (ob.confidence >= 0.8) {
			++high;
			high_hits += ob.relevant;
		}
	std::printf("confidence >= 0.8: %ld results, %.1f%% relevant\n", high, high ? 100.0 * high_hits / high : 0.0);

	if (o.fit_confidence) {
		// Features as agentgres.hybrid_confidence uses them.
		Eigen::MatrixXd x(static_cast<Eigen::Index>(observations.size()), 5);
		Eigen::VectorXd y(static_cast<Eigen::Index>(observations.size()));
		for (std::size_t i = 0; i < observations.size(); ++i) {
			const Observation &ob = observations[i];
			const auto row = static_cast<Eigen::Index>(i);
			x(row, 0) = 1;
			x(row, 1) = ob.text_rank > 0 ? 1 / ob.text_rank : 0;
			x(row, 2) = ob.vector_rank > 0 ? 1 / ob.vector_rank : 0;
			x(row, 3) = ob.text_rank > 0 && ob.vector_rank > 0 ? 1 : 0;
			x(row, 4) = std::max(ob.similarity, 0.0);
			y(row) = ob.relevant ? 1 : 0;
		}
		const Eigen::VectorXd w = FitLogistic(x, y);
		std::printf("\nfitted confidence: intercept %.4f, 1/text_rank %.4f, 1/vector_rank %.4f, in both %.4f, "
		            "similarity %.4f\n",
		            w(0), w(1), w(2), w(3), w(4));
		// Without the similarity: for embedders whose cosine scale is unknown.
		const Eigen::VectorXd r = FitLogistic(x.leftCols(4), y);
		std::printf("fitted confidence from ranks only: intercept %.4f, 1/text_rank %.4f, 1/vector_rank %.4f, "
		            "in both %.4f\n",
		            r(0), r(1), r(2), r(3));
	}
	PQfinish(conn);
	return 0;
}
