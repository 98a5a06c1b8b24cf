// In-process metrics rendered in the Prometheus text exposition format, used
// by the coordinator, every agent loop and the HTTP server. Label values must
// come from bounded sets (route patterns, loop names), never from a request.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace agentgres::sidecar::metrics {

using Labels = std::map<std::string, std::string>;

class Registry {
public:
	static Registry &Global();

	void Describe(const std::string &name, const std::string &type, const std::string &help);
	void Add(const std::string &name, const Labels &labels, double delta = 1.0); // counter
	void Set(const std::string &name, const Labels &labels, double value);       // gauge
	void Observe(const std::string &name, const Labels &labels, double value);   // histogram
	// Replaces every series of a gauge (for values read from the database).
	void ResetGauge(const std::string &name);

	std::string Render() const;

private:
	struct Histogram {
		std::vector<double> counts; // per bucket, cumulative at render time
		double sum = 0;
		double count = 0;
	};
	struct Family {
		std::string type;
		std::string help;
		std::vector<double> buckets;
		std::map<Labels, double> values;
		std::map<Labels, Histogram> histograms;
	};
	mutable std::mutex mutex_;
	std::map<std::string, Family> families_;
};

// Registers the daemon's metric families with their help texts.
void RegisterStandardMetrics();

} // namespace agentgres::sidecar::metrics
