// A collection-trained embedder: latent semantic analysis.
//
// Trained on a collection's own text (never on queries): the term-document
// matrix of (1 + ln tf) * idf weights, columns L2-normalised, over the
// embedder's words (core/embedder.hpp: stopwords dropped, LightStem), terms
// in at least min_document_frequency documents; its top left singular
// vectors U_k come from a randomized SVD (Halko, Martinsson and Tropp 2011)
// with a fixed-seed Rademacher test matrix, so training is deterministic. A
// text is projected as U_k^T x, x weighted like the documents, and
// L2-normalised. On NFCorpus dev it beats every stateless hashing design in
// hybrid nDCG@10 (bench/README.md); 'builtin' stays the stateless embedder,
// as LSA needs a trained model per collection.
#include "cpp_only.hpp" // outside the guard: checked at every inclusion
#ifndef AGENTGRES_CORE_LSA_HPP
#define AGENTGRES_CORE_LSA_HPP

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace agentgres::core::embedder {

struct LsaOptions {
	std::size_t dimensions = 256;
	std::size_t min_document_frequency = 2;
	int oversampling = 10;
	int power_iterations = 3;
	std::uint64_t seed = 42;
};

class LsaModel {
public:
	// Throws Error (22023) when options are out of range or when the
	// collection has fewer terms or documents than dimensions.
	// check_interrupt (may be empty) is called between documents and between
	// the SVD's steps.
	static LsaModel Train(std::span<const std::string_view> documents, const LsaOptions &options = {},
	                      const std::function<void()> &check_interrupt = {});

	std::size_t
	dimensions() const
	{
		return dimensions_;
	}
	std::size_t
	vocabulary_size() const
	{
		return terms_.size();
	}

	// Writes the L2-normalised projection of text into out (out.size() ==
	// dimensions()); all zeros when the text has no term of the model.
	// Throws Error (22023) when out has the wrong size.
	void Project(std::string_view text, std::span<float> out, const std::function<void()> &check_interrupt = {}) const;

	// A self-contained little-endian byte string (for a bytea column), and
	// back. Deserialize checks everything and throws Error (22P02) on bytes it
	// did not write.
	std::string Serialize() const;
	static LsaModel Deserialize(std::string_view bytes);

private:
	// The term's row, or -1.
	std::ptrdiff_t Find(std::string_view term) const;

	std::size_t dimensions_ = 0;
	std::vector<std::string> terms_; // sorted
	std::vector<double> idf_;        // per term
	std::vector<float> basis_;       // terms x dimensions, row-major: U_k
};

} // namespace agentgres::core::embedder

#endif // AGENTGRES_CORE_LSA_HPP
