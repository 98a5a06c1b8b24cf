#include "embedder.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "error.hpp"
#include "hash.hpp"

namespace agentgres::core::embedder {
namespace {

constexpr std::size_t kInterruptBytes = 64 * 1024;
// Character n-grams of longer "words" (hashes, base64, minified code) are
// noise and cost; the word feature still counts.
constexpr std::size_t kMaxNgramWordBytes = 40;
// Distinct features held before they are added to the vector: bounds memory
// on huge input (sublinear tf then applies per block of this many features).
constexpr std::size_t kMaxTableEntries = std::size_t{1} << 17;

// Seeds of the feature families, so that a word, an n-gram and a bigram with
// the same bytes land in unrelated buckets. Changing any of them changes
// every stored vector.
constexpr std::uint64_t kWordSeed = 0x5745524457524f57ull;
constexpr std::uint64_t kNgramSeed = 0x4d4152474e524843ull;
constexpr std::uint64_t kBigramSeed = 0x4d41524749425752ull;
constexpr std::uint64_t kProbeStep = 0x9e3779b97f4a7c15ull;

// PostgreSQL's english.stop (the Snowball list), sorted for binary search.
constexpr std::string_view kStopwords[] = {
    "a",       "about",  "above",   "after",  "again",  "against",    "all",        "am",        "an",    "and",
    "any",     "are",    "as",      "at",     "be",     "because",    "been",       "before",    "being", "below",
    "between", "both",   "but",     "by",     "can",    "did",        "do",         "does",      "doing", "don",
    "down",    "during", "each",    "few",    "for",    "from",       "further",    "had",       "has",   "have",
    "having",  "he",     "her",     "here",   "hers",   "herself",    "him",        "himself",   "his",   "how",
    "i",       "if",     "in",      "into",   "is",     "it",         "its",        "itself",    "just",  "me",
    "more",    "most",   "my",      "myself", "no",     "nor",        "not",        "now",       "of",    "off",
    "on",      "once",   "only",    "or",     "other",  "our",        "ours",       "ourselves", "out",   "over",
    "own",     "s",      "same",    "she",    "should", "so",         "some",       "such",      "t",     "than",
    "that",    "the",    "their",   "theirs", "them",   "themselves", "then",       "there",     "these", "they",
    "this",    "those",  "through", "to",     "too",    "under",      "until",      "up",        "very",  "was",
    "we",      "were",   "what",    "when",   "where",  "which",      "while",      "who",       "whom",  "why",
    "will",    "with",   "you",     "your",   "yours",  "yourself",   "yourselves",
};
static_assert(std::is_sorted(std::begin(kStopwords), std::end(kStopwords)), "IsStopword searches a sorted list");

bool
EndsWith(std::string_view s, std::string_view suffix)
{
	return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Code points that separate words although they are not ASCII.
bool
IsSeparator(std::uint32_t cp)
{
	if (cp < 0xC0)
		return cp != 0xAA && cp != 0xB5 && cp != 0xBA;
	return cp == 0xD7 || cp == 0xF7 || (cp >= 0x2000 && cp <= 0x2BFF) || (cp >= 0x3000 && cp <= 0x303F) ||
	       (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF0F) || (cp >= 0xFF1A && cp <= 0xFF20) ||
	       (cp >= 0xFF3B && cp <= 0xFF40) || (cp >= 0xFF5B && cp <= 0xFF65) || cp == 0xFEFF;
}

// Decodes the UTF-8 character at text[i] (text[i] >= 0x80). Returns its
// length, or 0 when the bytes are not valid UTF-8 (overlong forms,
// surrogates and values above U+10FFFF included).
std::size_t
DecodeMultibyte(std::string_view text, std::size_t i, std::uint32_t *cp)
{
	const auto b0 = static_cast<unsigned char>(text[i]);
	std::size_t len;
	std::uint32_t value, min;
	if (b0 >= 0xC2 && b0 <= 0xDF) {
		len = 2, value = b0 & 0x1F, min = 0x80;
	} else if (b0 >= 0xE0 && b0 <= 0xEF) {
		len = 3, value = b0 & 0x0F, min = 0x800;
	} else if (b0 >= 0xF0 && b0 <= 0xF4) {
		len = 4, value = b0 & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (text.size() - i < len)
		return 0;
	for (std::size_t k = 1; k < len; ++k) {
		const auto b = static_cast<unsigned char>(text[i + k]);
		if ((b & 0xC0) != 0x80)
			return 0;
		value = (value << 6) | (b & 0x3F);
	}
	if (value < min || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF))
		return 0;
	*cp = value;
	return len;
}

// The scanner behind ForEachWord, inlined into the embedder's loop.
template <typename OnWord>
void
ScanWords(std::string_view text, OnWord &&on_word, const std::function<void()> &check_interrupt)
{
	char word[kMaxWordBytes];
	std::size_t len = 0;
	bool full = false; // a character did not fit: the rest of the run is cut
	std::size_t next_check = kInterruptBytes;
	std::size_t i = 0;
	while (i < text.size()) {
		if (i >= next_check) {
			if (check_interrupt)
				check_interrupt();
			next_check = i + kInterruptBytes;
		}
		const auto b = static_cast<unsigned char>(text[i]);
		std::size_t clen = 1;
		bool letter;
		if (b < 0x80) {
			letter = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9');
		} else {
			std::uint32_t cp = 0;
			clen = DecodeMultibyte(text, i, &cp);
			letter = clen != 0 && !IsSeparator(cp);
			if (clen == 0)
				clen = 1;
		}
		if (letter) {
			if (!full && len + clen <= kMaxWordBytes) {
				for (std::size_t k = 0; k < clen; ++k) {
					char c = text[i + k];
					if (c >= 'A' && c <= 'Z')
						c = static_cast<char>(c - 'A' + 'a');
					word[len++] = c;
				}
			} else {
				full = true;
			}
		} else if (len != 0) {
			on_word(std::string_view(word, len));
			len = 0;
			full = false;
		}
		i += clen;
	}
	if (len != 0)
		on_word(std::string_view(word, len));
}

// Distinct features of the text so far: open addressing on the 64-bit
// feature hash, kept in slot order so that the sum is computed in the same
// order on every run.
class FeatureTable {
public:
	FeatureTable() { Reset(1024); }
	void
	Add(std::uint64_t key, float weight)
	{
		key |= 1; // 0 marks an empty slot
		std::size_t slot = static_cast<std::size_t>(key) & mask_;
		while (keys_[slot] != 0 && keys_[slot] != key)
			slot = (slot + 1) & mask_;
		if (keys_[slot] == 0) {
			keys_[slot] = key;
			weights_[slot] = 0;
			counts_[slot] = 0;
			if (2 * ++entries_ > keys_.size())
				Grow();
		}
		// Grow() moved the entries: find the slot again.
		slot = static_cast<std::size_t>(key) & mask_;
		while (keys_[slot] != key)
			slot = (slot + 1) & mask_;
		weights_[slot] += weight;
		counts_[slot] += 1;
	}
	std::size_t
	entries() const
	{
		return entries_;
	}
	// Adds every feature to acc and empties the table.
	void
	Flush(std::vector<double> &acc, const HashingOptions &options)
	{
		const double probe_scale = 1.0 / std::sqrt(static_cast<double>(options.probes));
		const std::size_t dims = acc.size();
		for (std::size_t slot = 0; slot < keys_.size(); ++slot) {
			if (keys_[slot] == 0)
				continue;
			const double count = counts_[slot];
			// The mean weight of the occurrences, times the tf factor.
			const double tf = options.sublinear_tf ? 1.0 + std::log(count) : count;
			const double value = weights_[slot] / count * tf * probe_scale;
			std::uint64_t h = keys_[slot];
			for (int p = 0; p < options.probes; ++p) {
				h = Mix64(h + kProbeStep);
				const double signed_value = (h >> 63) != 0 ? -value : value;
				acc[static_cast<std::size_t>((h & 0x7fffffffffffffffull) % dims)] += signed_value;
			}
		}
		Reset(1024);
	}

private:
	void
	Reset(std::size_t capacity)
	{
		keys_.assign(capacity, 0);
		weights_.assign(capacity, 0);
		counts_.assign(capacity, 0);
		mask_ = capacity - 1;
		entries_ = 0;
	}
	void
	Grow()
	{
		std::vector<std::uint64_t> keys = std::move(keys_);
		std::vector<float> weights = std::move(weights_);
		std::vector<std::uint32_t> counts = std::move(counts_);
		const std::size_t entries = entries_;
		Reset(2 * keys.size());
		for (std::size_t s = 0; s < keys.size(); ++s) {
			if (keys[s] == 0)
				continue;
			std::size_t slot = static_cast<std::size_t>(keys[s]) & mask_;
			while (keys_[slot] != 0)
				slot = (slot + 1) & mask_;
			keys_[slot] = keys[s];
			weights_[slot] = weights[s];
			counts_[slot] = counts[s];
		}
		entries_ = entries;
	}
	std::vector<std::uint64_t> keys_;
	std::vector<float> weights_;
	std::vector<std::uint32_t> counts_;
	std::size_t mask_ = 0;
	std::size_t entries_ = 0;
};

bool
AllDigits(std::string_view word)
{
	return std::all_of(word.begin(), word.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::size_t
CodePoints(std::string_view word)
{
	return static_cast<std::size_t>(
	    std::count_if(word.begin(), word.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

} // namespace

HashingOptions
BuiltinOptions()
{
	// The best stateless design at 384 dimensions on NFCorpus dev (hybrid
	// nDCG@10, bench/README.md): stemmed words and character 4- and 5-grams at
	// half weight, stopwords dropped; bigrams and a length prior did not help.
	HashingOptions o;
	o.dimensions = kBuiltinDimensions;
	o.word_weight = 1.0f;
	o.stem = true;
	o.ngram_weight = 0.5f;
	o.ngram_min = 4;
	o.ngram_max = 5;
	o.bigram_weight = 0.0f;
	o.stopword_weight = 0.0f;
	o.sublinear_tf = true;
	o.probes = 1;
	return o;
}

std::string_view
LightStem(std::string_view w)
{
	if (std::any_of(w.begin(), w.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; }))
		return w;
	std::size_t n = w.size();
	auto ends = [&](std::string_view suffix) { return EndsWith(w.substr(0, n), suffix); };
	// Plurals.
	if (ends("sses"))
		n -= 2;
	else if (ends("ies") && n > 4)
		n -= 3;
	else if (ends("s") && !ends("ss") && !ends("us") && !ends("is") && n > 3)
		n -= 1;
	// Verb and adverb endings.
	if (ends("ing") && n > 5)
		n -= 3;
	else if (ends("ed") && n > 4)
		n -= 2;
	else if (ends("ly") && n > 4)
		n -= 2;
	// A final e or y, so that "disease"/"diseases" and "study"/"studies" meet.
	if ((ends("e") || ends("y")) && n > 3)
		n -= 1;
	return w.substr(0, n);
}

bool
IsStopword(std::string_view word)
{
	return std::binary_search(std::begin(kStopwords), std::end(kStopwords), word);
}

void
ForEachWord(std::string_view text, const std::function<void(std::string_view)> &on_word)
{
	ScanWords(text, on_word, {});
}

void
EmbedHashing(std::string_view text, std::span<float> out, const HashingOptions &options,
             const std::function<void()> &check_interrupt)
{
	if (options.dimensions == 0 || out.size() != options.dimensions)
		throw Error(ErrorCode::kInvalidParameterValue,
		            "embedding output has " + std::to_string(out.size()) + " dimensions, expected " +
		                std::to_string(options.dimensions));
	if (options.probes < 1 || options.ngram_min < 1 || options.ngram_max > 16)
		throw Error(ErrorCode::kInvalidParameterValue, "invalid hashing embedder options");
	std::vector<double> acc(options.dimensions, 0.0);
	FeatureTable table;
	std::uint64_t prev_key = 0;
	bool has_prev = false;
	char padded[kMaxNgramWordBytes + 2];
	std::size_t offsets[kMaxNgramWordBytes + 3];
	const bool need_stop_check = options.stopword_weight != 1.0f;

	ScanWords(
	    text,
	    [&](std::string_view w) {
		    float mult = 1.0f;
		    if (need_stop_check && IsStopword(w))
			    mult *= options.stopword_weight;
		    if (options.short_word_weight != 1.0f && CodePoints(w) <= 2)
			    mult *= options.short_word_weight;
		    if (options.number_weight != 1.0f && AllDigits(w))
			    mult *= options.number_weight;
		    if (options.length_power != 0.0f) {
			    const auto chars = static_cast<float>(std::min<std::size_t>(CodePoints(w), 10));
			    mult *= std::pow(chars / 10.0f, options.length_power);
		    }
		    if (mult == 0.0f)
			    return; // dropped words do not break bigrams either
		    const std::string_view term = options.stem ? LightStem(w) : w;
		    const std::uint64_t key = StableHash(term, kWordSeed);
		    if (options.word_weight > 0)
			    table.Add(key, options.word_weight * mult);
		    if (options.ngram_weight > 0 && w.size() <= kMaxNgramWordBytes) {
			    padded[0] = '<';
			    std::memcpy(padded + 1, w.data(), w.size());
			    padded[w.size() + 1] = '>';
			    const std::size_t bytes = w.size() + 2;
			    std::size_t cps = 0;
			    for (std::size_t b = 0; b < bytes; ++b)
				    if ((static_cast<unsigned char>(padded[b]) & 0xC0) != 0x80)
					    offsets[cps++] = b;
			    offsets[cps] = bytes;
			    const float weight = options.ngram_weight * mult;
			    for (int n = options.ngram_min; n <= options.ngram_max; ++n) {
				    const auto un = static_cast<std::size_t>(n);
				    for (std::size_t start = 0; start + un <= cps; ++start)
					    table.Add(StableHash(std::string_view(padded + offsets[start],
					                                          offsets[start + un] - offsets[start]),
					                         kNgramSeed),
					              weight);
			    }
		    }
		    if (options.bigram_weight > 0 && has_prev)
			    table.Add(HashCombine(HashCombine(kBigramSeed, prev_key), key), options.bigram_weight * mult);
		    prev_key = key;
		    has_prev = true;
		    if (table.entries() >= kMaxTableEntries)
			    table.Flush(acc, options);
	    },
	    check_interrupt);
	table.Flush(acc, options);

	double norm = 0;
	for (double v : acc)
		norm += v * v;
	norm = std::sqrt(norm);
	for (std::size_t d = 0; d < out.size(); ++d)
		out[d] = norm > 0 ? static_cast<float>(acc[d] / norm) : 0.0f;
}

void
EmbedBuiltin(std::string_view text, std::span<float> out, const std::function<void()> &check_interrupt)
{
	static const HashingOptions options = BuiltinOptions();
	EmbedHashing(text, out, options, check_interrupt);
}

} // namespace agentgres::core::embedder
