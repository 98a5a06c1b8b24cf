// Grouping accuracy of the error templates on the labelled corpus in
// tests/data/logs/corpus.tsv (source, event, message per line).
//
// Grouping accuracy as in Zhu et al., "Tools and Benchmarks for Automated Log
// Parsing" (ICSE-SEIP 2019): a line counts as correct iff the set of lines in
// its predicted group equals the set of lines of its true event. Groups are
// formed per source, as Loghub evaluates per system. Three methods:
//   old       the error_template of agentgres 0.3.0, grouped by equal template
//   template  ErrorTemplate, grouped by equal template
//   cluster   ErrorTemplate then LogClusters over the source's lines
// The sources are split into a tuning set (used while choosing the masking
// rules and the clustering threshold) and a held-out set (not looked at while
// tuning); both are reported.
//
// Usage: agentgres_eval_error_templates CORPUS [--min-template X] [--min-cluster Y]
//   [--similarity S] [--verbose SOURCE]
// With the --min options it exits 1 when the overall accuracy of that method
// falls below the bound (ctest runs it that way).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/error_template.hpp"
#include "core/log_clusters.hpp"

namespace agentgres::bench::legacy {
std::string ErrorTemplate(std::string_view message);
}

namespace {

namespace core = agentgres::core;

const std::set<std::string> kTuning = {"postgres", "dpkg", "gcc", "python"};

struct Line {
	std::string event;
	std::string message;
};

// Lines whose predicted group is exactly their true group.
std::size_t
Correct(const std::vector<Line> &lines, const std::vector<std::string> &predicted)
{
	std::map<std::string, std::size_t> event_size;
	for (const Line &l : lines)
		++event_size[l.event];
	std::map<std::string, std::vector<std::size_t>> groups;
	for (std::size_t i = 0; i < lines.size(); ++i)
		groups[predicted[i]].push_back(i);
	std::size_t correct = 0;
	for (const auto &[name, members] : groups) {
		const std::string &event = lines[members.front()].event;
		bool pure = event_size[event] == members.size();
		for (std::size_t i : members)
			pure = pure && lines[i].event == event;
		if (pure)
			correct += members.size();
	}
	return correct;
}

struct Score {
	std::size_t correct = 0, total = 0;
	void
	Add(std::size_t c, std::size_t t)
	{
		correct += c;
		total += t;
	}
	double
	Accuracy() const
	{
		return total ? static_cast<double>(correct) / static_cast<double>(total) : 0;
	}
};

} // namespace

int
main(int argc, char **argv)
{
	if (argc < 2) {
		std::fprintf(stderr,
		             "usage: %s CORPUS [--min-template X] [--min-cluster Y] [--similarity S] [--verbose SOURCE]\n",
		             argv[0]);
		return 2;
	}
	double min_template = -1, min_cluster = -1;
	core::ClusterOptions options;
	std::string verbose;
	for (int i = 2; i + 1 < argc; i += 2) {
		const std::string flag = argv[i];
		if (flag == "--min-template")
			min_template = std::atof(argv[i + 1]);
		else if (flag == "--min-cluster")
			min_cluster = std::atof(argv[i + 1]);
		else if (flag == "--similarity")
			options.similarity = std::atof(argv[i + 1]);
		else if (flag == "--placeholders-match")
			options.placeholders_match = std::atoi(argv[i + 1]) != 0;
		else if (flag == "--verbose")
			verbose = argv[i + 1];
		else {
			std::fprintf(stderr, "unknown option %s\n", flag.c_str());
			return 2;
		}
	}
	std::ifstream in(argv[1]);
	if (!in) {
		std::fprintf(stderr, "cannot read %s\n", argv[1]);
		return 2;
	}
	std::map<std::string, std::vector<Line>> sources;
	std::string row;
	std::getline(in, row); // header
	while (std::getline(in, row)) {
		const std::size_t a = row.find('\t'), b = row.find('\t', a + 1);
		if (a == std::string::npos || b == std::string::npos) {
			std::fprintf(stderr, "malformed line: %s\n", row.c_str());
			return 2;
		}
		sources[row.substr(0, a)].push_back({row.substr(a + 1, b - a - 1), row.substr(b + 1)});
	}

	Score totals[3], tuning[3], held_out[3];
	std::printf("%-14s %6s %7s %9s %9s %9s\n", "source", "lines", "events", "old", "template", "cluster");
	for (const auto &[source, lines] : sources) {
		std::vector<std::string> old_t, new_t, clustered;
		std::vector<std::optional<std::string_view>> messages;
		std::set<std::string> events;
		for (const Line &l : lines) {
			old_t.push_back(agentgres::bench::legacy::ErrorTemplate(l.message));
			new_t.push_back(core::ErrorTemplate(l.message));
			messages.emplace_back(l.message);
			events.insert(l.event);
		}
		for (auto &t : core::ClusterMessages(messages, options))
			clustered.push_back(*t);
		const std::size_t c[3] = {Correct(lines, old_t), Correct(lines, new_t), Correct(lines, clustered)};
		std::printf("%-14s %6zu %7zu %9.3f %9.3f %9.3f%s\n", source.c_str(), lines.size(), events.size(),
		            static_cast<double>(c[0]) / static_cast<double>(lines.size()),
		            static_cast<double>(c[1]) / static_cast<double>(lines.size()),
		            static_cast<double>(c[2]) / static_cast<double>(lines.size()),
		            kTuning.count(source) ? "  (tuning)" : "");
		for (int m = 0; m < 3; ++m) {
			totals[m].Add(c[m], lines.size());
			(kTuning.count(source) ? tuning : held_out)[m].Add(c[m], lines.size());
		}
		if (source == verbose) {
			// Each true event with the cluster templates its lines got.
			// Events grouped wrongly by the clustering are marked with *.
			std::map<std::string, std::map<std::string, int>> by_event;
			std::map<std::string, std::set<std::string>> clusters_of, events_of;
			for (std::size_t i = 0; i < lines.size(); ++i) {
				++by_event[lines[i].event][clustered[i] + "   ||   " + new_t[i]];
				clusters_of[lines[i].event].insert(clustered[i]);
				events_of[clustered[i]].insert(lines[i].event);
			}
			for (const auto &[event, ts] : by_event) {
				const auto &cs = clusters_of[event];
				const bool right = cs.size() == 1 && events_of[*cs.begin()].size() == 1;
				std::printf("%s %s\n", right ? " " : "*", event.c_str());
				for (const auto &[t, n] : ts)
					std::printf("      %4d  %s\n", n, t.c_str());
			}
		}
	}
	// Speed of the per-message template (it runs per row in the aggregate).
	{
		std::size_t n = 0, bytes = 0;
		const auto start = std::chrono::steady_clock::now();
		for (int round = 0; round < 20; ++round)
			for (const auto &[source, lines] : sources)
				for (const Line &l : lines) {
					bytes += core::ErrorTemplate(l.message).size();
					++n;
				}
		const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
		std::printf("ErrorTemplate: %.0f ns per message (%zu messages, %zu bytes out)\n", ns / static_cast<double>(n),
		            n, bytes);
	}
	const auto line = [](const char *name, const Score *s) {
		std::printf("%-14s %6zu %7s %9.3f %9.3f %9.3f\n", name, s[0].total, "", s[0].Accuracy(), s[1].Accuracy(),
		            s[2].Accuracy());
	};
	line("tuning", tuning);
	line("held-out", held_out);
	line("all", totals);
	int status = 0;
	if (min_template >= 0 && totals[1].Accuracy() < min_template) {
		std::printf("template accuracy %.3f is below %.3f\n", totals[1].Accuracy(), min_template);
		status = 1;
	}
	if (min_cluster >= 0 && totals[2].Accuracy() < min_cluster) {
		std::printf("cluster accuracy %.3f is below %.3f\n", totals[2].Accuracy(), min_cluster);
		status = 1;
	}
	return status;
}
