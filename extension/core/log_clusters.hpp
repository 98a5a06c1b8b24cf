// Groups error templates (ErrorTemplate's output) the way Drain groups log
// lines (He et al., "Drain: An Online Log Parsing Approach with Fixed Depth
// Tree", ICWS 2017): templates with the same number of tokens and the same
// first tokens share a leaf of a fixed-depth prefix tree; in a leaf a
// template joins the most similar cluster (share of positions with equal
// tokens) if the similarity reaches a threshold, and the positions where the
// cluster's members differ become <*>. Two changes to Drain: similarity is
// the share of agreeing constant tokens rather than of all tokens, and a
// template also looks for clusters under the <*> branch of the prefix tree,
// so a variable spelled without digits (a name) meets its variants.
//
// Unlike the online parser, the state is the multiset of distinct templates
// with their counts, and the tree is built only when Cluster() is called,
// visiting templates by descending count, then by text. So two states built
// in parallel merge exactly (counts add up), and the result does not depend
// on the order in which rows arrived or states were merged.
#include "cpp_only.hpp" // outside the guard: checked at every inclusion
#ifndef AGENTGRES_CORE_LOG_CLUSTERS_HPP
#define AGENTGRES_CORE_LOG_CLUSTERS_HPP

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dictionary.hpp"

namespace agentgres::core {

struct ClusterOptions {
	// A template joins a cluster when at least this share of the constant
	// (non-placeholder) tokens agree, counted over the cluster's or the
	// template's constants, whichever are more. 0.5 as in Drain.
	double similarity = 0.5;
	// Whether equal placeholders (<num> and <num>) count as equal tokens;
	// Drain counts only constant tokens.
	bool placeholders_match = false;
	// Depth of the prefix tree as in Drain: the token-count layer plus
	// depth - 2 layers of leading tokens.
	int depth = 4;
	// Children per tree node; further distinct tokens share a <*> child
	// (Drain's max_child).
	std::size_t max_children = 100;
	// Clusters compared per leaf; later templates that match none become
	// clusters of their own without joining the leaf. Bounds the work at
	// (templates x 2 x this) comparisons for adversarial input (300,000
	// distinct templates in one leaf: about 11 s, cancellable).
	std::size_t max_leaf_clusters = 256;
};

class LogClusters {
public:
	struct Result {
		std::vector<std::string> templates; // one per cluster, by descending count then text
		std::vector<std::uint64_t> counts;
		// The cluster index of every distinct template that was added.
		std::unordered_map<std::string, std::uint32_t, TransparentStringHash, std::equal_to<>> cluster_of;

		// The cluster template of an added template (itself if not added).
		std::string_view TemplateOf(std::string_view added) const;
	};

	void Add(std::string_view template_text, std::uint64_t count = 1);
	void Merge(const LogClusters &other);

	// progress, if set, is called every few hundred templates (the glue
	// checks for query cancellation there).
	Result Cluster(const ClusterOptions &options = {}, const std::function<void()> &progress = {}) const;

	std::size_t
	size() const noexcept
	{
		return counts_.size();
	}

private:
	std::unordered_map<std::string, std::uint64_t, TransparentStringHash, std::equal_to<>> counts_;
};

// One template per message (NULL stays NULL), grouped across the messages:
// ErrorTemplate of each, then LogClusters.
std::vector<std::optional<std::string>>
ClusterMessages(const std::vector<std::optional<std::string_view>> &messages, const ClusterOptions &options = {},
                const std::function<void()> &progress = {});

} // namespace agentgres::core

#endif // AGENTGRES_CORE_LOG_CLUSTERS_HPP
