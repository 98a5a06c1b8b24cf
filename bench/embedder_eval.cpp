// Offline evaluation of embedder designs on a BEIR-format dataset (NFCorpus):
// nDCG@10 and Recall@100 of BM25 alone, the dense embedder alone, and their
// reciprocal rank fusion (core/rrf.hpp, k = 60, top 50 of each list), the way
// hybrid_search fuses them. Everything runs in this process, no database.
//
//   agentgres_eval_embedder DATASET_DIR SPLIT [--design NAME|all] [--dims N] [option overrides]
//
// Designs: signed feature hashing (core/embedder.hpp) with the presets below,
// and LSA (core/lsa.hpp: a truncated SVD of the collection's tf-idf matrix,
// trained on the corpus only). bench/README.md has the measured table.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/embedder.hpp"
#include "core/lsa.hpp"
#include "core/rrf.hpp"

namespace emb = agentgres::core::embedder;
namespace rrf = agentgres::core::rrf;

namespace {

constexpr std::size_t kCandidates = 50; // per list, as hybrid_search's default
constexpr std::size_t kRecallDepth = 100;
constexpr double kBm25K1 = 1.2;
constexpr double kBm25B = 0.75;

struct Dataset {
	std::vector<std::string> doc_ids;
	std::vector<std::string> docs; // title + " " + text
	std::vector<std::string> query_ids;
	std::vector<std::string> queries;
	std::vector<std::map<std::size_t, int>> qrels; // per query: doc index -> grade > 0
};

std::vector<nlohmann::json>
ReadJsonl(const std::string &path)
{
	std::ifstream in(path);
	if (!in)
		throw std::runtime_error("cannot open " + path);
	std::vector<nlohmann::json> rows;
	std::string line;
	while (std::getline(in, line))
		if (!line.empty())
			rows.push_back(nlohmann::json::parse(line));
	return rows;
}

Dataset
Load(const std::string &dir, const std::string &split)
{
	Dataset d;
	std::unordered_map<std::string, std::size_t> doc_index;
	for (const auto &row : ReadJsonl(dir + "/corpus.jsonl")) {
		doc_index.emplace(row.at("_id").get<std::string>(), d.docs.size());
		d.doc_ids.push_back(row.at("_id").get<std::string>());
		d.docs.push_back(row.value("title", std::string()) + " " + row.value("text", std::string()));
	}
	std::unordered_map<std::string, std::string> query_text;
	for (const auto &row : ReadJsonl(dir + "/queries.jsonl"))
		query_text.emplace(row.at("_id").get<std::string>(), row.at("text").get<std::string>());
	std::ifstream in(dir + "/qrels/" + split + ".tsv");
	if (!in)
		throw std::runtime_error("cannot open qrels for split " + split);
	std::string line;
	std::getline(in, line); // header
	std::unordered_map<std::string, std::size_t> query_index;
	while (std::getline(in, line)) {
		std::istringstream fields(line);
		std::string qid, did;
		int grade = 0;
		if (!(fields >> qid >> did >> grade) || grade <= 0)
			continue;
		const auto doc = doc_index.find(did);
		const auto text = query_text.find(qid);
		if (doc == doc_index.end() || text == query_text.end())
			continue;
		auto [it, inserted] = query_index.emplace(qid, d.queries.size());
		if (inserted) {
			d.query_ids.push_back(qid);
			d.queries.push_back(text->second);
			d.qrels.emplace_back();
		}
		d.qrels[it->second][doc->second] = grade;
	}
	return d;
}

// Harness tokens: the embedder's words, stopwords dropped, lightly stemmed.
// (The in-database BM25 uses PostgreSQL's 'english' configuration: the
// Snowball stemmer and the same stopword list.)
std::vector<std::string>
Tokens(std::string_view text)
{
	std::vector<std::string> out;
	emb::ForEachWord(text, [&](std::string_view w) {
		if (!emb::IsStopword(w))
			out.emplace_back(emb::LightStem(w));
	});
	return out;
}

struct Scored {
	std::size_t doc;
	double score;
};

std::vector<std::size_t>
TopK(std::vector<Scored> all, std::size_t k)
{
	auto better = [](const Scored &a, const Scored &b) {
		return a.score > b.score || (a.score == b.score && a.doc < b.doc);
	};
	k = std::min(k, all.size());
	std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k), all.end(), better);
	std::vector<std::size_t> ids;
	for (std::size_t i = 0; i < k; ++i)
		ids.push_back(all[i].doc);
	return ids;
}

// BM25, Lucene's formula.
class Bm25 {
public:
	explicit Bm25(const std::vector<std::string> &docs)
	{
		lengths_.reserve(docs.size());
		double total = 0;
		for (std::size_t d = 0; d < docs.size(); ++d) {
			std::map<std::string, int> tf;
			const auto tokens = Tokens(docs[d]);
			for (const auto &t : tokens)
				++tf[t];
			for (const auto &[term, count] : tf)
				postings_[term].push_back({d, count});
			lengths_.push_back(static_cast<double>(tokens.size()));
			total += static_cast<double>(tokens.size());
		}
		avgdl_ = total / static_cast<double>(docs.size());
	}
	std::vector<std::size_t>
	Search(std::string_view query, std::size_t k) const
	{
		const double n = static_cast<double>(lengths_.size());
		std::vector<double> scores(lengths_.size(), 0.0);
		std::vector<bool> hit(lengths_.size(), false);
		for (const auto &term : Tokens(query)) { // a repeated query term counts again, as in Lucene
			const auto it = postings_.find(term);
			if (it == postings_.end())
				continue;
			const double df = static_cast<double>(it->second.size());
			const double idf = std::log(1.0 + (n - df + 0.5) / (df + 0.5));
			for (const auto &[doc, tf] : it->second) {
				const double norm = kBm25K1 * (1.0 - kBm25B + kBm25B * lengths_[doc] / avgdl_);
				scores[doc] += idf * tf / (tf + norm);
				hit[doc] = true;
			}
		}
		std::vector<Scored> all;
		for (std::size_t d = 0; d < scores.size(); ++d)
			if (hit[d])
				all.push_back({d, scores[d]});
		return TopK(std::move(all), k);
	}

private:
	struct Posting {
		std::size_t doc;
		int tf;
	};
	std::unordered_map<std::string, std::vector<Posting>> postings_;
	std::vector<double> lengths_;
	double avgdl_ = 0;
};

// Row-major, one L2-normalised row per text.
struct Vectors {
	std::size_t dims = 0;
	std::vector<float> data;
	const float *
	Row(std::size_t i) const
	{
		return data.data() + i * dims;
	}
};

std::vector<std::size_t>
DenseSearch(const Vectors &docs, const float *query, std::size_t k)
{
	std::vector<Scored> all;
	const std::size_t n = docs.data.size() / docs.dims;
	all.reserve(n);
	for (std::size_t d = 0; d < n; ++d) {
		const float *row = docs.Row(d);
		double dot = 0;
		for (std::size_t j = 0; j < docs.dims; ++j)
			dot += static_cast<double>(row[j]) * query[j];
		all.push_back({d, dot}); // rows are unit length (or zero): the dot is the cosine
	}
	return TopK(std::move(all), k);
}

double
NdcgAt10(const std::vector<std::size_t> &ranked, const std::map<std::size_t, int> &rel)
{
	double dcg = 0;
	for (std::size_t i = 0; i < std::min<std::size_t>(10, ranked.size()); ++i) {
		const auto it = rel.find(ranked[i]);
		if (it != rel.end())
			dcg += it->second / std::log2(static_cast<double>(i) + 2.0);
	}
	std::vector<int> grades;
	for (const auto &[doc, grade] : rel)
		grades.push_back(grade);
	std::sort(grades.rbegin(), grades.rend());
	double idcg = 0;
	for (std::size_t i = 0; i < std::min<std::size_t>(10, grades.size()); ++i)
		idcg += grades[i] / std::log2(static_cast<double>(i) + 2.0);
	return idcg > 0 ? dcg / idcg : 0.0;
}

double
RecallAt(const std::vector<std::size_t> &ranked, const std::map<std::size_t, int> &rel, std::size_t depth)
{
	std::size_t found = 0;
	for (std::size_t i = 0; i < std::min(depth, ranked.size()); ++i)
		found += rel.count(ranked[i]);
	return rel.empty() ? 0.0 : static_cast<double>(found) / static_cast<double>(rel.size());
}

// RRF weight of the dense list (hybrid_search's fusion is unweighted: 1).
double g_dense_weight = 1.0;

std::vector<std::size_t>
Fuse(const std::vector<std::size_t> &bm25, const std::vector<std::size_t> &dense)
{
	auto head = [](const std::vector<std::size_t> &list) {
		std::vector<std::int64_t> ids;
		for (std::size_t i = 0; i < std::min(kCandidates, list.size()); ++i)
			ids.push_back(static_cast<std::int64_t>(list[i]));
		return ids;
	};
	const auto a = head(bm25), b = head(dense);
	const rrf::RankedList lists[] = {{false, a, {}}, {false, b, {}}};
	const double weights[] = {1.0, g_dense_weight};
	const rrf::FusedRows fused = rrf::Fuse(lists, weights, rrf::kDefaultK);
	std::vector<std::size_t> out;
	for (std::int64_t id : fused.ids)
		out.push_back(static_cast<std::size_t>(id));
	return out;
}

// --- designs --------------------------------------------------------------------

struct Design {
	std::string name;
	std::string description;
	bool lsa = false;
	emb::HashingOptions hashing;
};

std::vector<Design>
Presets()
{
	std::vector<Design> designs;
	auto hashing = [&](std::string name, std::string description, auto configure) {
		Design d{std::move(name), std::move(description), false, {}};
		d.hashing.word_weight = 1.0f;
		d.hashing.stem = true;
		configure(d.hashing);
		designs.push_back(std::move(d));
	};
	hashing("words", "stemmed words", [](emb::HashingOptions &) {});
	hashing("words-nostem", "words, no stemming", [](emb::HashingOptions &o) { o.stem = false; });
	hashing("words-stop", "stemmed words, stopwords dropped", [](emb::HashingOptions &o) { o.stopword_weight = 0; });
	hashing("ngrams", "char 3-5-grams only, stopwords dropped", [](emb::HashingOptions &o) {
		o.word_weight = 0;
		o.ngram_weight = 1;
		o.stopword_weight = 0;
	});
	hashing("words+ngrams", "stemmed words + char 3-5-grams (0.5), stopwords dropped", [](emb::HashingOptions &o) {
		o.ngram_weight = 0.5f;
		o.stopword_weight = 0;
	});
	hashing("words+bigrams", "stemmed words + word bigrams (0.5), stopwords dropped", [](emb::HashingOptions &o) {
		o.bigram_weight = 0.5f;
		o.stopword_weight = 0;
	});
	hashing("words+ngrams+bigrams", "words + 3-5-grams (0.5) + bigrams (0.5), stopwords dropped",
	        [](emb::HashingOptions &o) {
		        o.ngram_weight = 0.5f;
		        o.bigram_weight = 0.5f;
		        o.stopword_weight = 0;
	        });
	hashing("builtin", "the shipped configuration (core BuiltinOptions)",
	        [](emb::HashingOptions &o) { o = emb::BuiltinOptions(); });
	designs.push_back({"lsa", "LSA (core/lsa.hpp): rank-k SVD of the corpus tf-idf matrix", true, {}});
	return designs;
}

Vectors
EmbedAll(const std::vector<std::string> &texts, const emb::HashingOptions &options)
{
	Vectors v;
	v.dims = options.dimensions;
	v.data.assign(texts.size() * v.dims, 0.0f);
	for (std::size_t i = 0; i < texts.size(); ++i)
		emb::EmbedHashing(texts[i], std::span<float>(v.data.data() + i * v.dims, v.dims), options);
	return v;
}

Vectors
ProjectAll(const emb::LsaModel &model, const std::vector<std::string> &texts)
{
	Vectors v;
	v.dims = model.dimensions();
	v.data.assign(texts.size() * v.dims, 0.0f);
	for (std::size_t i = 0; i < texts.size(); ++i)
		model.Project(texts[i], std::span<float>(v.data.data() + i * v.dims, v.dims));
	return v;
}

struct Result {
	double dense_ndcg = 0, bm25_ndcg = 0, hybrid_ndcg = 0;
	double dense_recall = 0, bm25_recall = 0, hybrid_recall = 0;
};

Result
Evaluate(const Dataset &data, const std::vector<std::vector<std::size_t>> &bm25_runs, const Vectors &doc_vectors,
         const Vectors &query_vectors)
{
	Result r;
	const double n = static_cast<double>(data.queries.size());
	for (std::size_t q = 0; q < data.queries.size(); ++q) {
		const auto dense = DenseSearch(doc_vectors, query_vectors.Row(q), kRecallDepth);
		const auto &bm25 = bm25_runs[q];
		const auto hybrid = Fuse(bm25, dense);
		r.dense_ndcg += NdcgAt10(dense, data.qrels[q]) / n;
		r.bm25_ndcg += NdcgAt10(bm25, data.qrels[q]) / n;
		r.hybrid_ndcg += NdcgAt10(hybrid, data.qrels[q]) / n;
		r.dense_recall += RecallAt(dense, data.qrels[q], kRecallDepth) / n;
		r.bm25_recall += RecallAt(bm25, data.qrels[q], kRecallDepth) / n;
		r.hybrid_recall += RecallAt(hybrid, data.qrels[q], kRecallDepth) / n;
	}
	return r;
}

[[noreturn]] void
Usage()
{
	std::fprintf(
	    stderr,
	    "usage: agentgres_eval_embedder DATASET_DIR SPLIT [--design NAME|all] [--dims N[,N...]] [--dense-weight W]\n"
	    "       [--word W] [--ngram W] [--bigram W] [--stop W] [--short W] [--number W] [--length P] [--stem 0|1]\n"
	    "       [--nmin N] [--nmax N] [--probes N] [--tf log|raw]\n"
	    "designs:");
	for (const auto &d : Presets())
		std::fprintf(stderr, " %s", d.name.c_str());
	std::fprintf(stderr, "\n");
	std::exit(2);
}

} // namespace

int
main(int argc, char **argv)
{
	if (argc < 3)
		Usage();
	const std::string dir = argv[1], split = argv[2];
	std::string design_name = "builtin";
	std::vector<std::size_t> dims_list;
	std::map<std::string, std::string> overrides;
	for (int i = 3; i < argc; ++i) {
		const std::string arg = argv[i];
		if (i + 1 >= argc || arg.rfind("--", 0) != 0)
			Usage();
		const std::string value = argv[++i];
		if (arg == "--design") {
			design_name = value;
		} else if (arg == "--dense-weight") {
			g_dense_weight = std::stod(value);
		} else if (arg == "--dims") {
			std::stringstream list(value);
			std::string item;
			while (std::getline(list, item, ','))
				dims_list.push_back(static_cast<std::size_t>(std::stoul(item)));
		} else {
			overrides[arg.substr(2)] = value;
		}
	}
	if (dims_list.empty())
		dims_list.push_back(design_name == "lsa" ? 256 : emb::kBuiltinDimensions);

	try {
		const auto t0 = std::chrono::steady_clock::now();
		const Dataset data = Load(dir, split);
		const Bm25 bm25(data.docs);
		std::vector<std::vector<std::size_t>> bm25_runs;
		for (const auto &q : data.queries)
			bm25_runs.push_back(bm25.Search(q, kRecallDepth));
		const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
		std::printf(
		    "# %s split %s: %zu documents, %zu queries, %zu judgments > 0 (load + BM25 %.1f s)\n", dir.c_str(),
		    split.c_str(), data.docs.size(), data.queries.size(),
		    [&] {
			    std::size_t n = 0;
			    for (const auto &q : data.qrels)
				    n += q.size();
			    return n;
		    }(),
		    load_s);
		std::printf("# hybrid = RRF (k = %d, dense weight %g) of the top %zu of BM25 and of dense; Recall@100 of "
		            "hybrid is over the fused list (at most %zu)\n",
		            rrf::kDefaultK, g_dense_weight, kCandidates, 2 * kCandidates);
		std::printf("%-22s %5s %12s %12s %12s %9s %9s %9s %10s\n", "design", "dims", "dense@10", "bm25@10", "hybrid@10",
		            "dR@100", "bR@100", "hR@100", "us/doc");
		std::vector<Design> designs;
		for (auto &d : Presets())
			if (design_name == "all" || d.name == design_name)
				designs.push_back(d);
		if (designs.empty())
			Usage();
		for (auto design : designs) {
			for (const auto &[key, value] : overrides) {
				auto &o = design.hashing;
				if (key == "word")
					o.word_weight = std::stof(value);
				else if (key == "ngram")
					o.ngram_weight = std::stof(value);
				else if (key == "bigram")
					o.bigram_weight = std::stof(value);
				else if (key == "stop")
					o.stopword_weight = std::stof(value);
				else if (key == "short")
					o.short_word_weight = std::stof(value);
				else if (key == "number")
					o.number_weight = std::stof(value);
				else if (key == "length")
					o.length_power = std::stof(value);
				else if (key == "stem")
					o.stem = value != "0";
				else if (key == "nmin")
					o.ngram_min = std::stoi(value);
				else if (key == "nmax")
					o.ngram_max = std::stoi(value);
				else if (key == "probes")
					o.probes = std::stoi(value);
				else if (key == "tf")
					o.sublinear_tf = value == "log";
				else
					Usage();
			}
			for (std::size_t dims : dims_list) {
				const auto start = std::chrono::steady_clock::now();
				Vectors doc_vectors, query_vectors;
				if (design.lsa) {
					// Trained on the corpus only: never on queries or qrels.
					const std::vector<std::string_view> corpus(data.docs.begin(), data.docs.end());
					emb::LsaOptions options;
					options.dimensions = dims;
					const auto model = emb::LsaModel::Train(corpus, options);
					std::printf("# lsa %zu: %zu terms, trained in %.1f s, model %zu bytes serialized\n", dims,
					            model.vocabulary_size(),
					            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
					            model.Serialize().size());
					doc_vectors = ProjectAll(model, data.docs);
					query_vectors = ProjectAll(model, data.queries);
				} else {
					design.hashing.dimensions = dims;
					doc_vectors = EmbedAll(data.docs, design.hashing);
					query_vectors = EmbedAll(data.queries, design.hashing);
				}
				const double us =
				    std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() /
				    static_cast<double>(data.docs.size() + data.queries.size());
				const Result r = Evaluate(data, bm25_runs, doc_vectors, query_vectors);
				std::printf("%-22s %5zu %12.4f %12.4f %12.4f %9.4f %9.4f %9.4f %10.1f\n", design.name.c_str(), dims,
				            r.dense_ndcg, r.bm25_ndcg, r.hybrid_ndcg, r.dense_recall, r.bm25_recall, r.hybrid_recall,
				            us);
				std::fflush(stdout);
			}
		}
	} catch (const std::exception &e) {
		std::fprintf(stderr, "agentgres_eval_embedder: %s\n", e.what());
		return 1;
	}
	return 0;
}
