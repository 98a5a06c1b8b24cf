#include "lsa.hpp"

#include <Eigen/Dense>
#include <Eigen/QR>
#include <Eigen/SVD>
#include <Eigen/Sparse>
#include <algorithm>
#include <bit>
#include <cmath>
#include <map>
#include <utility>

#include "embedder.hpp"
#include "error.hpp"
#include "hash.hpp"

namespace agentgres::core::embedder {
namespace {

constexpr std::string_view kMagic = "AGLSA001";
constexpr std::size_t kMaxDimensions = 16000; // the embedding type's limit

// The model's terms of a text: the embedder's words, stopwords dropped, stemmed.
template <typename OnTerm>
void
ForEachTerm(std::string_view text, OnTerm &&on_term)
{
	ForEachWord(text, [&](std::string_view w) {
		if (!IsStopword(w))
			on_term(LightStem(w));
	});
}

double
TfWeight(std::uint32_t tf)
{
	return 1.0 + std::log(static_cast<double>(tf));
}

Eigen::MatrixXd
Orthonormal(const Eigen::MatrixXd &m)
{
	Eigen::HouseholderQR<Eigen::MatrixXd> qr(m);
	return qr.householderQ() * Eigen::MatrixXd::Identity(m.rows(), m.cols());
}

void
PutU32(std::string &out, std::uint32_t v)
{
	for (int i = 0; i < 4; ++i)
		out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

void
PutU64(std::string &out, std::uint64_t v)
{
	for (int i = 0; i < 8; ++i)
		out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

class Reader {
public:
	explicit Reader(std::string_view bytes) : bytes_(bytes) {}
	std::string_view
	Take(std::size_t n)
	{
		if (bytes_.size() - pos_ < n)
			Fail("truncated");
		const std::string_view s = bytes_.substr(pos_, n);
		pos_ += n;
		return s;
	}
	std::uint64_t
	Uint(int bytes)
	{
		const std::string_view s = Take(static_cast<std::size_t>(bytes));
		std::uint64_t v = 0;
		for (int i = bytes - 1; i >= 0; --i)
			v = (v << 8) | static_cast<unsigned char>(s[static_cast<std::size_t>(i)]);
		return v;
	}
	std::size_t
	remaining() const
	{
		return bytes_.size() - pos_;
	}
	[[noreturn]] static void
	Fail(const std::string &why)
	{
		throw Error(ErrorCode::kInvalidTextRepresentation, "invalid lsa model: " + why);
	}

private:
	std::string_view bytes_;
	std::size_t pos_ = 0;
};

} // namespace

LsaModel
LsaModel::Train(std::span<const std::string_view> documents, const LsaOptions &options,
                const std::function<void()> &check_interrupt)
{
	auto interrupt = [&] {
		if (check_interrupt)
			check_interrupt();
	};
	if (options.dimensions < 1 || options.dimensions > kMaxDimensions)
		throw Error(ErrorCode::kInvalidParameterValue,
		            "lsa dimensions must be between 1 and " + std::to_string(kMaxDimensions));
	if (options.oversampling < 0 || options.oversampling > 1000 || options.power_iterations < 0 ||
	    options.power_iterations > 20)
		throw Error(ErrorCode::kInvalidParameterValue,
		            "lsa oversampling must be in 0..1000 and power iterations in 0..20");

	// Term frequencies per document, and document frequencies.
	std::map<std::string, std::uint32_t, std::less<>> df;
	std::vector<std::map<std::string, std::uint32_t, std::less<>>> tfs(documents.size());
	for (std::size_t d = 0; d < documents.size(); ++d) {
		interrupt();
		ForEachTerm(documents[d], [&](std::string_view term) {
			auto [it, inserted] = tfs[d].try_emplace(std::string(term), 0);
			if (it->second++ == 0)
				++df[it->first];
		});
	}
	LsaModel model;
	const double n = static_cast<double>(documents.size());
	std::map<std::string_view, std::uint32_t> row_of;
	for (const auto &[term, count] : df) {
		if (count < std::max<std::size_t>(options.min_document_frequency, 1))
			continue;
		row_of.emplace(term, static_cast<std::uint32_t>(model.terms_.size()));
		model.terms_.push_back(term); // df is ordered: terms_ comes out sorted
		model.idf_.push_back(std::log(n / static_cast<double>(count)));
	}
	const std::size_t rank_limit = std::min(model.terms_.size(), documents.size());
	if (options.dimensions > rank_limit)
		throw Error(ErrorCode::kInvalidParameterValue, "lsa needs at least as many terms and documents as dimensions",
		            "The collection has " + std::to_string(documents.size()) + " documents and " +
		                std::to_string(model.terms_.size()) + " terms in at least " +
		                std::to_string(options.min_document_frequency) + " documents; " +
		                std::to_string(options.dimensions) + " dimensions were asked for.");

	std::vector<Eigen::Triplet<double>> triplets;
	for (std::size_t d = 0; d < documents.size(); ++d) {
		const std::size_t first = triplets.size();
		double norm = 0;
		for (const auto &[term, tf] : tfs[d]) {
			const auto row = row_of.find(term);
			if (row == row_of.end())
				continue;
			const double w = TfWeight(tf) * model.idf_[row->second];
			triplets.emplace_back(static_cast<int>(row->second), static_cast<int>(d), w);
			norm += w * w;
		}
		norm = std::sqrt(norm);
		for (std::size_t i = first; i < triplets.size(); ++i)
			if (norm > 0)
				triplets[i] = Eigen::Triplet<double>(triplets[i].row(), triplets[i].col(), triplets[i].value() / norm);
	}
	tfs.clear();
	Eigen::SparseMatrix<double> a(static_cast<Eigen::Index>(model.terms_.size()),
	                              static_cast<Eigen::Index>(documents.size()));
	a.setFromTriplets(triplets.begin(), triplets.end());
	triplets.clear();

	// Rademacher test matrix from the stable hash: the same on every platform
	// (std::normal_distribution is not).
	const auto l = static_cast<Eigen::Index>(
	    std::min(options.dimensions + static_cast<std::size_t>(options.oversampling), rank_limit));
	Eigen::MatrixXd omega(a.cols(), l);
	for (Eigen::Index j = 0; j < l; ++j)
		for (Eigen::Index i = 0; i < a.cols(); ++i)
			omega(i,
			      j) = (Mix64(options.seed ^ Mix64(static_cast<std::uint64_t>(j * a.cols() + i))) >> 63) ? 1.0 : -1.0;
	Eigen::MatrixXd q = Orthonormal(a * omega);
	for (int it = 0; it < options.power_iterations; ++it) {
		interrupt();
		const Eigen::MatrixXd z = Orthonormal(a.transpose() * q);
		q = Orthonormal(a * z);
	}
	interrupt();
	const Eigen::MatrixXd b = q.transpose() * a;
	Eigen::BDCSVD<Eigen::MatrixXd> svd(b, Eigen::ComputeThinU);
	Eigen::MatrixXd u = q * svd.matrixU().leftCols(static_cast<Eigen::Index>(options.dimensions));
	// Singular vectors have an arbitrary sign: fix it (largest entry of each
	// column positive) so that equal input gives equal models.
	for (Eigen::Index c = 0; c < u.cols(); ++c) {
		Eigen::Index at = 0;
		u.col(c).cwiseAbs().maxCoeff(&at);
		if (u(at, c) < 0)
			u.col(c) = -u.col(c);
	}
	model.dimensions_ = options.dimensions;
	model.basis_.resize(model.terms_.size() * model.dimensions_);
	for (Eigen::Index r = 0; r < u.rows(); ++r)
		for (Eigen::Index c = 0; c < u.cols(); ++c)
			model.basis_[static_cast<std::size_t>(r) * model.dimensions_ + static_cast<std::size_t>(c)] =
			    static_cast<float>(u(r, c));
	return model;
}

std::ptrdiff_t
LsaModel::Find(std::string_view term) const
{
	const auto it = std::lower_bound(terms_.begin(), terms_.end(), term, [](const std::string &a, std::string_view b) {
		return a < b;
	});
	return it != terms_.end() && *it == term ? it - terms_.begin() : -1;
}

void
LsaModel::Project(std::string_view text, std::span<float> out, const std::function<void()> &check_interrupt) const
{
	if (out.size() != dimensions_ || dimensions_ == 0)
		throw Error(ErrorCode::kInvalidParameterValue, "lsa projection has " + std::to_string(out.size()) +
		                                                   " dimensions, expected " + std::to_string(dimensions_));
	std::map<std::size_t, std::uint32_t> tf; // ordered: the sum below runs in a fixed order
	std::size_t seen = 0;
	ForEachTerm(text, [&](std::string_view term) {
		if (++seen % 8192 == 0 && check_interrupt)
			check_interrupt();
		const std::ptrdiff_t row = Find(term);
		if (row >= 0)
			++tf[static_cast<std::size_t>(row)];
	});
	std::vector<double> acc(dimensions_, 0.0);
	for (const auto &[row, count] : tf) {
		const double w = TfWeight(count) * idf_[row];
		const float *basis = basis_.data() + row * dimensions_;
		for (std::size_t c = 0; c < dimensions_; ++c)
			acc[c] += w * basis[c];
	}
	// Scaled by the largest entry first: a model with tiny weights must not
	// underflow the squares (and end up not of unit length).
	double largest = 0;
	for (double v : acc)
		largest = std::max(largest, std::fabs(v));
	double norm = 0;
	if (largest > 0) {
		for (double &v : acc)
			v /= largest;
		for (double v : acc)
			norm += v * v;
		norm = std::sqrt(norm);
	}
	for (std::size_t c = 0; c < dimensions_; ++c)
		out[c] = norm > 0 ? static_cast<float>(acc[c] / norm) : 0.0f;
}

std::string
LsaModel::Serialize() const
{
	std::string out(kMagic);
	PutU32(out, static_cast<std::uint32_t>(dimensions_));
	PutU32(out, static_cast<std::uint32_t>(terms_.size()));
	for (std::size_t t = 0; t < terms_.size(); ++t) {
		PutU32(out, static_cast<std::uint32_t>(terms_[t].size()));
		out += terms_[t];
		PutU64(out, std::bit_cast<std::uint64_t>(idf_[t]));
	}
	for (float v : basis_)
		PutU32(out, std::bit_cast<std::uint32_t>(v));
	return out;
}

LsaModel
LsaModel::Deserialize(std::string_view bytes)
{
	Reader in(bytes);
	if (in.Take(kMagic.size()) != kMagic)
		Reader::Fail("bad header");
	LsaModel model;
	model.dimensions_ = in.Uint(4);
	const std::size_t terms = in.Uint(4);
	if (model.dimensions_ < 1 || model.dimensions_ > kMaxDimensions)
		Reader::Fail("dimensions out of range");
	// Each term takes at least 12 bytes and its basis row 4 per dimension:
	// refuse counts the bytes cannot hold before allocating for them.
	if (terms == 0 || terms > in.remaining() / (12 + 4 * model.dimensions_))
		Reader::Fail("term count does not match the size");
	model.terms_.reserve(terms);
	model.idf_.reserve(terms);
	for (std::size_t t = 0; t < terms; ++t) {
		const std::size_t len = in.Uint(4);
		model.terms_.emplace_back(in.Take(len));
		if (t > 0 && !(model.terms_[t - 1] < model.terms_[t]))
			Reader::Fail("terms not sorted");
		const double idf = std::bit_cast<double>(in.Uint(8));
		// ln(documents / df): a count of documents bounds it.
		if (!(idf >= 0 && idf <= 64))
			Reader::Fail("idf out of range");
		model.idf_.push_back(idf);
	}
	if (in.remaining() != terms * model.dimensions_ * 4)
		Reader::Fail("basis size does not match");
	model.basis_.resize(terms * model.dimensions_);
	for (float &v : model.basis_) {
		v = std::bit_cast<float>(static_cast<std::uint32_t>(in.Uint(4)));
		// Columns of U are unit vectors: no entry exceeds 1 (the bound keeps
		// every projection finite).
		if (!(std::fabs(v) <= 1.001f))
			Reader::Fail("basis entry out of range");
	}
	return model;
}

} // namespace agentgres::core::embedder
