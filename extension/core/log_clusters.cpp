#include "log_clusters.hpp"

#include <algorithm>
#include <map>

#include "error_template.hpp"

namespace agentgres::core {
namespace {

constexpr std::string_view kWildcard = "<*>";
constexpr std::size_t kProgressEvery = 256;

void
Split(std::string_view s, std::vector<std::string_view> &tokens)
{
	tokens.clear();
	std::size_t i = 0;
	while (i < s.size()) {
		while (i < s.size() && s[i] == ' ')
			++i;
		const std::size_t start = i;
		while (i < s.size() && s[i] != ' ')
			++i;
		if (i > start)
			tokens.push_back(s.substr(start, i - start));
	}
}

struct Node {
	std::unordered_map<std::string, std::uint32_t, TransparentStringHash, std::equal_to<>> children;
	std::vector<std::uint32_t> clusters;
};

struct ClusterState {
	std::vector<std::string> tokens;
	std::uint64_t count = 0;
};

class Tree {
public:
	explicit Tree(const ClusterOptions &options) : options_(options), nodes_(1) {}

	// The leaf for tokens, created on the way.
	std::uint32_t
	Leaf(const std::vector<std::string_view> &tokens)
	{
		std::uint32_t node = Child(0, std::to_string(tokens.size()));
		for (std::size_t d = 0; d < Layers() && d < tokens.size(); ++d)
			node = Child(node, HasPlaceholder(tokens[d]) ? kWildcard : tokens[d]);
		return node;
	}

	// Existing leaves whose path matches tokens, each prefix token either
	// itself or <*>: a token that varies without a digit (a name) still
	// finds the clusters its variants started under <*>, and vice versa.
	void
	Candidates(const std::vector<std::string_view> &tokens, std::vector<std::uint32_t> &leaves) const
	{
		leaves.clear();
		const std::string length = std::to_string(tokens.size());
		auto it = nodes_[0].children.find(length);
		if (it != nodes_[0].children.end())
			Walk(it->second, tokens, 0, leaves);
	}

	Node &
	operator[](std::uint32_t id)
	{
		return nodes_[id];
	}

private:
	std::size_t
	Layers() const
	{
		return static_cast<std::size_t>(std::max(options_.depth - 2, 0));
	}

	void
	Walk(std::uint32_t node, const std::vector<std::string_view> &tokens, std::size_t d,
	     std::vector<std::uint32_t> &leaves) const
	{
		if (d >= Layers() || d >= tokens.size()) {
			leaves.push_back(node);
			return;
		}
		const auto &children = nodes_[node].children;
		if (!HasPlaceholder(tokens[d]))
			if (auto it = children.find(tokens[d]); it != children.end())
				Walk(it->second, tokens, d + 1, leaves);
		// Any token may be a variable that clusters began under <*>.
		if (auto it = children.find(kWildcard); it != children.end())
			Walk(it->second, tokens, d + 1, leaves);
	}

	std::uint32_t
	Child(std::uint32_t parent, std::string_view key)
	{
		auto &children = nodes_[parent].children;
		if (auto it = children.find(key); it != children.end())
			return it->second;
		if (children.size() >= options_.max_children && key != kWildcard)
			return Child(parent, kWildcard);
		const auto id = static_cast<std::uint32_t>(nodes_.size());
		nodes_.emplace_back();
		nodes_[parent].children.emplace(std::string(key), id);
		return id;
	}

	const ClusterOptions &options_;
	std::vector<Node> nodes_;
};

// Similarity of a template to a cluster; positions where the cluster has a
// variable count as parameters (the tie-break, as in Drain).
std::pair<double, std::size_t>
Similarity(const ClusterState &c, const std::vector<std::string_view> &tokens, bool placeholders_match)
{
	std::size_t equal = 0, params = 0, constants = 0;
	for (std::size_t k = 0; k < tokens.size(); ++k) {
		if (!HasPlaceholder(tokens[k]))
			++constants;
		if (c.tokens[k] == kWildcard || (!placeholders_match && HasPlaceholder(c.tokens[k])))
			++params;
		else if (c.tokens[k] == tokens[k])
			++equal;
	}
	// Share of the constant tokens (the cluster's or the template's, whichever
	// has more) that agree: Drain divides by all tokens, which keeps apart
	// templates that differ only in variables spelled without digits.
	const std::size_t base = std::max<std::size_t>({tokens.size() - params, constants, 1});
	return {static_cast<double>(equal) / static_cast<double>(base), params};
}

} // namespace

std::string_view
LogClusters::Result::TemplateOf(std::string_view added) const
{
	auto it = cluster_of.find(added);
	return it == cluster_of.end() ? added : std::string_view(templates[it->second]);
}

void
LogClusters::Add(std::string_view template_text, std::uint64_t count)
{
	if (auto it = counts_.find(template_text); it != counts_.end())
		it->second += count;
	else
		counts_.emplace(std::string(template_text), count);
}

void
LogClusters::Merge(const LogClusters &other)
{
	for (const auto &[text, count] : other.counts_)
		Add(text, count);
}

LogClusters::Result
LogClusters::Cluster(const ClusterOptions &options, const std::function<void()> &progress) const
{
	// Canonical order: frequent templates seed the clusters; ties by text.
	std::vector<std::pair<const std::string *, std::uint64_t>> entries;
	entries.reserve(counts_.size());
	for (const auto &[text, count] : counts_)
		entries.emplace_back(&text, count);
	std::sort(entries.begin(), entries.end(), [](const auto &a, const auto &b) {
		return a.second != b.second ? a.second > b.second : *a.first < *b.first;
	});

	Tree tree(options);
	std::vector<ClusterState> clusters;
	std::vector<std::uint32_t> assigned(entries.size());
	std::vector<std::string_view> tokens;
	std::vector<std::uint32_t> leaves;
	for (std::size_t e = 0; e < entries.size(); ++e) {
		if (progress && e % kProgressEvery == kProgressEvery - 1)
			progress();
		Split(*entries[e].first, tokens);
		tree.Candidates(tokens, leaves);
		std::int64_t best = -1;
		double best_similarity = -1;
		std::size_t best_params = 0;
		for (std::uint32_t leaf : leaves)
			for (std::uint32_t id : tree[leaf].clusters) {
				const auto [similarity, params] = Similarity(clusters[id], tokens, options.placeholders_match);
				if (similarity > best_similarity || (similarity == best_similarity && params > best_params) ||
				    (similarity == best_similarity && params == best_params && id < best)) {
					best = id;
					best_similarity = similarity;
					best_params = params;
				}
			}
		if (best >= 0 && best_similarity >= options.similarity) {
			ClusterState &c = clusters[static_cast<std::size_t>(best)];
			for (std::size_t k = 0; k < tokens.size(); ++k)
				if (c.tokens[k] != tokens[k])
					c.tokens[k] = kWildcard;
			c.count += entries[e].second;
			assigned[e] = static_cast<std::uint32_t>(best);
			continue;
		}
		const auto id = static_cast<std::uint32_t>(clusters.size());
		clusters.push_back({std::vector<std::string>(tokens.begin(), tokens.end()), entries[e].second});
		Node &leaf = tree[tree.Leaf(tokens)];
		if (leaf.clusters.size() < options.max_leaf_clusters)
			leaf.clusters.push_back(id);
		assigned[e] = id;
	}

	// Clusters whose templates came out equal are one group.
	std::map<std::string, std::uint64_t> totals;
	std::vector<std::string> texts(clusters.size());
	for (std::size_t c = 0; c < clusters.size(); ++c) {
		for (const std::string &t : clusters[c].tokens) {
			if (!texts[c].empty())
				texts[c] += ' ';
			texts[c] += t;
		}
		totals[texts[c]] += clusters[c].count;
	}
	Result result;
	std::vector<std::pair<std::string, std::uint64_t>> order(totals.begin(), totals.end());
	std::sort(order.begin(), order.end(), [](const auto &a, const auto &b) {
		return a.second != b.second ? a.second > b.second : a.first < b.first;
	});
	std::unordered_map<std::string, std::uint32_t, TransparentStringHash, std::equal_to<>> index;
	for (auto &[text, count] : order) {
		index.emplace(text, static_cast<std::uint32_t>(result.templates.size()));
		result.templates.push_back(std::move(text));
		result.counts.push_back(count);
	}
	result.cluster_of.reserve(entries.size());
	for (std::size_t e = 0; e < entries.size(); ++e)
		result.cluster_of.emplace(*entries[e].first, index.find(texts[assigned[e]])->second);
	return result;
}

std::vector<std::optional<std::string>>
ClusterMessages(const std::vector<std::optional<std::string_view>> &messages, const ClusterOptions &options,
                const std::function<void()> &progress)
{
	std::vector<std::optional<std::string>> templates(messages.size());
	LogClusters clusters;
	for (std::size_t i = 0; i < messages.size(); ++i) {
		if (progress && i % kProgressEvery == kProgressEvery - 1)
			progress();
		if (messages[i]) {
			templates[i] = ErrorTemplate(*messages[i]);
			clusters.Add(*templates[i]);
		}
	}
	const LogClusters::Result result = clusters.Cluster(options, progress);
	for (auto &t : templates)
		if (t)
			t = std::string(result.TemplateOf(*t));
	return templates;
}

} // namespace agentgres::core
