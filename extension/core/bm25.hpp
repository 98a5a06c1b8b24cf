// BM25 ranking (Lucene's formula) and the text preparation that makes code
// searchable by its identifiers.
//
// The database tokenises with the collection's text search configuration
// (PostgreSQL's parser and dictionaries); what happens here is pure text and
// arithmetic, so the daemon and the tests use the same code.
#include "cpp_only.hpp" // outside the guard: checked at every inclusion
#ifndef AGENTGRES_CORE_BM25_HPP
#define AGENTGRES_CORE_BM25_HPP

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace agentgres::core::bm25 {

// Tokens longer than this many bytes are not indexed (Lucene's
// StandardAnalyzer default maxTokenLength is 255): base64 blobs and minified
// lines would otherwise fill the term dictionary with one-off terms.
constexpr std::size_t kMaxTokenBytes = 255;

// The text as the tokeniser should see it. Identifiers are indexed whole and
// by their parts: `parse_http_request` and `parseHttpRequest` both yield
// parse, http, request and the joined parsehttprequest, so a query for any
// of the spellings finds the others. PostgreSQL's default parser already
// splits on `_` and keeps camelCase whole, so this adds, right after each
// identifier, what the parser would not produce: the joined form of a
// snake_case name and the parts of a camelCase one. Runs of non-space bytes
// longer than kMaxTokenBytes become spaces. Queries and chunks go through
// the same function, which is what makes them match.
std::string PrepareForTokenizer(std::string_view text);

struct Parameters {
	double k1 = 1.2;
	double b = 0.75;
};

// Lucene's idf: ln(1 + (N - df + 0.5) / (df + 0.5)), never negative.
double Idf(double document_count, double document_frequency) noexcept;

// Lucene's (8+) term score for one document, without the query weight:
// idf * tf / (tf + k1 * (1 - b + b * dl / avgdl)).
double TermScore(double idf, double tf, double document_length, double average_length,
                 const Parameters &parameters) noexcept;

struct Posting {
	std::int64_t chunk_id;
	std::int32_t tf;
	std::int32_t document_length;
};

struct Scored {
	std::int64_t chunk_id;
	double score;
};

// Sums the term scores of a query over the postings of its terms. The
// caller feeds every posting of each query term (their count is the term's
// document frequency); the accumulator keeps one score per matching chunk,
// within a memory budget.
class Accumulator {
public:
	// document_count and total_length are the collection's statistics
	// (chunks, and tokens over all chunks) from the same snapshot as the
	// postings. budget_bytes bounds the score table (work_mem in the glue).
	Accumulator(const Parameters &parameters, std::int64_t document_count, std::int64_t total_length,
	            std::size_t budget_bytes);

	// Adds one query term: query_weight is how often it occurs in the query
	// (Lucene scores a repeated term once per occurrence). keep, when set,
	// says which chunks may be ranked (filters); the term's document
	// frequency is still all of its postings, as Lucene's filters leave the
	// collection statistics alone. Throws core::Error (54000) over budget.
	void AddTerm(double query_weight, std::span<const Posting> postings,
	             const std::function<bool(std::int64_t)> &keep = {});

	// The k best chunks: higher score first, then lower chunk id.
	std::vector<Scored> Top(std::size_t k) const;

	std::size_t
	size() const noexcept
	{
		return scores_.size();
	}

private:
	Parameters parameters_;
	double document_count_;
	double average_length_;
	std::size_t budget_bytes_;
	std::unordered_map<std::int64_t, double> scores_;
};

} // namespace agentgres::core::bm25

#endif // AGENTGRES_CORE_BM25_HPP
