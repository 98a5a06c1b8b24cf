// The built-in text embedder: stateless signed feature hashing.
//
// Words (lowercased, lightly stemmed), character n-grams of words with
// boundary markers and word bigrams are hashed (core/hash.hpp, fixed seeds)
// into a few hundred signed buckets, weighted by family and by sublinear term
// frequency, and the vector is L2-normalised. No model, no training, no
// network: the extension and the daemon compute the same vector for the same
// text. The design and its dimensions were chosen by measurement on NFCorpus
// (bench/embedder_eval.cpp, bench/README.md).
#include "cpp_only.hpp" // outside the guard: checked at every inclusion
#ifndef AGENTGRES_CORE_EMBEDDER_HPP
#define AGENTGRES_CORE_EMBEDDER_HPP

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

namespace agentgres::core::embedder {

constexpr std::size_t kBuiltinDimensions = 384;

// The knobs of the hashing design; BuiltinOptions() is what 'builtin' means.
// The others exist for the evaluation harness (bench/embedder_eval.cpp).
struct HashingOptions {
	std::size_t dimensions = kBuiltinDimensions;
	float word_weight = 1.0f;  // the word itself (stemmed when stem is set)
	bool stem = true;          // LightStem the word feature
	float ngram_weight = 0.0f; // each character n-gram of "<word>"
	int ngram_min = 3;         // in code points, markers included
	int ngram_max = 5;
	float bigram_weight = 0.0f;     // adjacent (non-stop)words
	float stopword_weight = 1.0f;   // multiplier for stopwords; 0 drops them (also from bigrams)
	float short_word_weight = 1.0f; // multiplier for words of one or two characters
	float number_weight = 1.0f;     // multiplier for words made of digits only
	float length_power = 0.0f;      // a stateless IDF prior: multiplier (min(characters, 10) / 10) ^ power
	bool sublinear_tf = true;       // 1 + ln(tf) instead of tf
	int probes = 1;                 // buckets per feature (each gets weight / sqrt(probes))
};

// The options of the shipped 'builtin' embedder (dimensions = kBuiltinDimensions).
HashingOptions BuiltinOptions();

// Writes the embedding of text into out (out.size() == kBuiltinDimensions),
// L2-normalised; all zeros when the text has no features (empty, only
// punctuation). Deterministic (fixed hash, no locale), linear time; calls
// check_interrupt (may be empty) every 64 kB of input. Arbitrary bytes are
// accepted: invalid UTF-8 separates words like punctuation does. Throws
// Error (22023) when out has the wrong size.
void EmbedBuiltin(std::string_view text, std::span<float> out, const std::function<void()> &check_interrupt = {});

// The same with explicit options (out.size() == options.dimensions).
void EmbedHashing(std::string_view text, std::span<float> out, const HashingOptions &options,
                  const std::function<void()> &check_interrupt = {});

// The tokeniser the embedder uses: calls on_word with each word, lowercased
// (ASCII letters; other letters are kept as they are). A word is a run of
// ASCII letters and digits and other UTF-8 characters; ASCII punctuation,
// Latin-1 controls, spaces and signs (U+0080..U+00BF but for ª µ º, and × ÷),
// general punctuation, arrows, mathematical and technical symbols, box
// drawing, shapes and dingbats (U+2000..U+2BFF), CJK punctuation
// (U+3000..U+303F), full-width punctuation, the byte order mark, and
// invalid UTF-8 bytes separate words. Words longer than kMaxWordBytes are cut
// there (never inside a character).
inline constexpr std::size_t kMaxWordBytes = 64;
void ForEachWord(std::string_view text, const std::function<void(std::string_view)> &on_word);

// A light English suffix stripper (plurals, -ing, -ed, -ly and a few more):
// "studies" -> "studi", "cancers" -> "cancer". Not Porter; cheap and stable.
std::string_view LightStem(std::string_view word);

// True for the words of a fixed English stopword list (lowercase input).
bool IsStopword(std::string_view word);

} // namespace agentgres::core::embedder

#endif // AGENTGRES_CORE_EMBEDDER_HPP
