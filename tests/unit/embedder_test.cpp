// The built-in hashing embedder and the LSA kernels: pinned values (a change
// of hash, seed or tokeniser must show here, as it changes every stored
// vector), normalisation, hostile bytes, huge input, interrupts.
#include <gtest/gtest.h>

#include <bit>
#include <chrono>
#include <cstdint>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/embedder.hpp"
#include "core/error.hpp"
#include "core/lsa.hpp"
#include "vector_helpers.hpp"

namespace agentgres::core::embedder {
namespace {

using agentgres::testing::Dot;

std::vector<float>
Embed(std::string_view text)
{
	std::vector<float> v(kBuiltinDimensions);
	EmbedBuiltin(text, v);
	return v;
}

double
Norm(const std::vector<float> &a)
{
	return std::sqrt(Dot(a, a));
}

bool
AllZero(const std::vector<float> &a)
{
	for (float x : a)
		if (x != 0.0f)
			return false;
	return true;
}

std::vector<std::string>
Words(std::string_view text)
{
	std::vector<std::string> words;
	ForEachWord(text, [&](std::string_view w) { words.emplace_back(w); });
	return words;
}

TEST(Embedder, PinnedValues)
{
	const auto v = Embed("Statin use and breast cancer survival: a nationwide cohort study from Finland");
	ASSERT_EQ(v.size(), 384u);
	double weighted = 0;
	std::size_t nonzero = 0;
	for (std::size_t i = 0; i < v.size(); ++i) {
		weighted += static_cast<double>(i + 1) * v[i];
		nonzero += v[i] != 0.0f;
	}
	// Pinned from this implementation; they must never move silently.
	EXPECT_EQ(nonzero, 89u);
	EXPECT_NEAR(weighted, -368.421127, 1e-4);
	EXPECT_NEAR(v[2], 0.1833397, 1e-6);
	EXPECT_NEAR(v[41], -0.1833397, 1e-6);
	// The same text gives the same bits, run after run.
	EXPECT_EQ(v, Embed("Statin use and breast cancer survival: a nationwide cohort study from Finland"));
}

TEST(Embedder, UnitLength)
{
	for (const char *text : {"x", "cancer", "Breast cancer cells feed on cholesterol",
	                         "x1 y2 z3 \xc3\xa9t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"}) {
		const auto v = Embed(text);
		EXPECT_NEAR(Norm(v), 1.0, 1e-5) << text;
	}
}

TEST(Embedder, ZeroVectorWithoutFeatures)
{
	using namespace std::string_literals;
	for (const std::string &text :
	     {""s, "   \n\t"s, "!!! ,,, --- ()[]{}"s, "\xe2\x80\x94 \xe2\x80\xa6 \xc2\xab\xc2\xbb"s, "\xff\xfe\xfd\x80"s,
	      "\0\0\0"s,
	      // Only stopwords: they carry no feature.
	      "the of and to"s}) {
		EXPECT_TRUE(AllZero(Embed(text))) << text;
	}
}

TEST(Embedder, CaseAndPunctuationDoNotMatter)
{
	using namespace std::string_literals;
	EXPECT_EQ(Embed("Breast CANCER, statins."), Embed("breast cancer statins"));
	EXPECT_EQ(Embed("abc\0def"s), Embed("abc def"));
	// Invalid bytes separate words like punctuation.
	EXPECT_EQ(Embed("vitamin\xff"
	                "d"),
	          Embed("vitamin d"));
}

TEST(Embedder, SimilarTextsAreCloser)
{
	const auto query = Embed("Do cholesterol statins cause breast cancer?");
	const auto related = Embed("Statin use and breast cancer survival in a nationwide cohort");
	const auto unrelated = Embed("Vitamin D supplementation and bone fractures in elderly women");
	EXPECT_GT(Dot(query, related), Dot(query, unrelated) + 0.1);
	// Morphology: character n-grams and the stemmer bring variants together.
	EXPECT_GT(Dot(Embed("diseases of the heart"), Embed("heart disease")),
	          Dot(Embed("diseases of the heart"), Embed("liver function")));
}

TEST(Embedder, Tokeniser)
{
	EXPECT_EQ(Words("Naïve RÉSUMÉ—x_y 3.5mg"), (std::vector<std::string>{"naïve", "rÉsumÉ", "x", "y", "3", "5mg"}));
	EXPECT_EQ(Words("\xe6\x97\xa5\xe6\x9c\xac\xe3\x80\x82\xe8\xaa\x9e"),
	          (std::vector<std::string>{"\xe6\x97\xa5\xe6\x9c\xac", "\xe8\xaa\x9e"})); // 。 separates
	// Truncated and overlong sequences, lone continuation bytes, surrogates.
	EXPECT_EQ(Words("ab\xe2\x82"), (std::vector<std::string>{"ab"}));
	EXPECT_EQ(Words("a\xc0\xaf"
	                "b\xed\xa0\x80"
	                "c\x80"),
	          (std::vector<std::string>{"a", "b", "c"}));
	// A long run is cut at kMaxWordBytes, never inside a character.
	std::string long_word(63, 'a');
	long_word += "\xc3\xa9\xc3\xa9";
	const auto cut = Words(long_word);
	ASSERT_EQ(cut.size(), 1u);
	EXPECT_EQ(cut[0], std::string(63, 'a'));
}

TEST(Embedder, StemmerAndStopwords)
{
	EXPECT_EQ(LightStem("studies"), LightStem("study"));
	EXPECT_EQ(LightStem("diseases"), LightStem("disease"));
	EXPECT_EQ(LightStem("treated"), LightStem("treating"));
	EXPECT_EQ(LightStem("cancers"), "cancer");
	EXPECT_EQ(LightStem("class"), "class");
	EXPECT_EQ(LightStem("é"), "é");
	EXPECT_TRUE(IsStopword("the"));
	EXPECT_TRUE(IsStopword("yourselves"));
	EXPECT_FALSE(IsStopword("cancer"));
	EXPECT_FALSE(IsStopword(""));
}

TEST(Embedder, WrongSizeIsAnError)
{
	std::vector<float> v(10);
	try {
		EmbedBuiltin("text", v);
		FAIL() << "no error";
	} catch (const Error &e) {
		EXPECT_EQ(e.code(), ErrorCode::kInvalidParameterValue);
	}
}

TEST(Embedder, HugeInputIsLinearAndInterruptible)
{
	std::string text;
	text.reserve(10u << 20);
	std::uint32_t x = 1;
	while (text.size() < (10u << 20)) {
		x = x * 1103515245u + 12345u;
		text += "w" + std::to_string(x % 50000) + (x % 7 == 0 ? ". " : " ");
	}
	int calls = 0;
	const auto start = std::chrono::steady_clock::now();
	std::vector<float> v(kBuiltinDimensions);
	EmbedBuiltin(text, v, [&] { ++calls; });
	const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
	EXPECT_NEAR(Norm(v), 1.0, 1e-5);
	EXPECT_GE(calls, 150);    // every 64 kB
	EXPECT_LT(seconds, 20.0); // about 1 s in a release build; sanitizers are slower
	// One 10 MB word.
	const std::string word(10u << 20, 'q');
	EmbedBuiltin(word, v);
	EXPECT_NEAR(Norm(v), 1.0, 1e-5);
	// An interrupt that throws stops the work.
	EXPECT_THROW(EmbedBuiltin(text, v, [] { throw std::runtime_error("cancel"); }), std::runtime_error);
}

// --- LSA ----------------------------------------------------------------------

std::vector<std::string>
TopicCorpus()
{
	const char *heart[] = {"cardiac", "artery", "cholesterol", "statin", "heart", "blood", "pressure"};
	const char *bone[] = {"bone", "fracture", "calcium", "vitamin", "osteoporosis", "density", "skeleton"};
	std::vector<std::string> docs;
	for (int d = 0; d < 40; ++d) {
		const auto &words = d % 2 == 0 ? heart : bone;
		std::string doc;
		for (int w = 0; w < 12; ++w)
			doc += std::string(words[(d * 3 + w * 5) % 7]) + " ";
		docs.push_back(doc + "study patients");
	}
	return docs;
}

LsaModel
TrainTopics(std::size_t dims)
{
	const auto docs = TopicCorpus();
	const std::vector<std::string_view> views(docs.begin(), docs.end());
	LsaOptions options;
	options.dimensions = dims;
	return LsaModel::Train(views, options);
}

std::vector<float>
Project(const LsaModel &model, std::string_view text)
{
	std::vector<float> v(model.dimensions());
	model.Project(text, v);
	return v;
}

TEST(Lsa, SeparatesTopicsAndIsDeterministic)
{
	const LsaModel model = TrainTopics(2);
	EXPECT_EQ(model.dimensions(), 2u);
	EXPECT_EQ(model.vocabulary_size(), 16u); // 14 topic words + "studi" + "patient"
	const auto q = Project(model, "statin and cholesterol");
	const auto near = Project(model, "blood pressure of the heart");
	const auto far = Project(model, "calcium for bone density");
	EXPECT_NEAR(Norm(q), 1.0, 1e-5);
	EXPECT_GT(Dot(q, near), Dot(q, far) + 0.5);
	EXPECT_TRUE(AllZero(Project(model, "unknown words only")));
	EXPECT_EQ(model.Serialize(), TrainTopics(2).Serialize());
}

TEST(Lsa, SerializeRoundTrip)
{
	const LsaModel model = TrainTopics(3);
	const std::string bytes = model.Serialize();
	const LsaModel back = LsaModel::Deserialize(bytes);
	EXPECT_EQ(back.Serialize(), bytes);
	EXPECT_EQ(Project(back, "heart and bone"), Project(model, "heart and bone"));
}

// A stored model with tiny weights (found by fuzz/lsa_model.cpp): the
// squares of the projection underflowed and the vector came out too short.
TEST(Lsa, TinyWeightsStillGiveUnitVectors)
{
	std::string bytes = "AGLSA001";
	auto u32 = [&](std::uint32_t v) {
		for (int i = 0; i < 4; ++i)
			bytes.push_back(static_cast<char>(v >> (8 * i)));
	};
	u32(2); // dimensions
	u32(1); // terms
	u32(3);
	bytes += "bom";
	const double idf = 1e-200;
	for (int i = 0; i < 8; ++i)
		bytes.push_back(static_cast<char>(std::bit_cast<std::uint64_t>(idf) >> (8 * i)));
	u32(std::bit_cast<std::uint32_t>(0.6f));
	u32(std::bit_cast<std::uint32_t>(-0.8f));
	const LsaModel model = LsaModel::Deserialize(bytes);
	const auto v = Project(model, "bom");
	EXPECT_NEAR(Norm(v), 1.0, 1e-6);
	EXPECT_NEAR(v[0], 0.6, 1e-6);
	EXPECT_NEAR(v[1], -0.8, 1e-6);
}

TEST(Lsa, BadInputIsAnError)
{
	const std::string bytes = TrainTopics(2).Serialize();
	auto code_of = [](auto &&f) {
		try {
			f();
		} catch (const Error &e) {
			return e.code();
		}
		return ErrorCode::kInternalError;
	};
	for (const std::string &bad :
	     {std::string(), bytes.substr(0, bytes.size() - 1), "X" + bytes.substr(1), bytes + "extra",
	      bytes.substr(0, 8) + std::string("\x01\x00\x00\x00\xff\xff\xff\x7f", 8)}) {
		EXPECT_EQ(code_of([&] { LsaModel::Deserialize(bad); }), ErrorCode::kInvalidTextRepresentation);
	}
	std::string nan_basis = bytes;
	nan_basis.replace(nan_basis.size() - 4, 4, std::string("\x00\x00\xc0\x7f", 4));
	EXPECT_EQ(code_of([&] { LsaModel::Deserialize(nan_basis); }), ErrorCode::kInvalidTextRepresentation);
	// More dimensions than terms, no documents, wrong output size.
	EXPECT_EQ(code_of([] { TrainTopics(17); }), ErrorCode::kInvalidParameterValue);
	EXPECT_EQ(code_of([] { LsaModel::Train({}, {}); }), ErrorCode::kInvalidParameterValue);
	const LsaModel model = TrainTopics(2);
	std::vector<float> wrong(3);
	EXPECT_EQ(code_of([&] { model.Project("heart", wrong); }), ErrorCode::kInvalidParameterValue);
}

} // namespace
} // namespace agentgres::core::embedder
