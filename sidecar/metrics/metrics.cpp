#include "metrics/metrics.hpp"

#include <sstream>

#include "util/text.hpp"

namespace agentgres::sidecar::metrics {
namespace {

const std::vector<double> kSecondsBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                             0.5,    1,     2.5,    5,     10,   30,    60,   300};

std::string
Escape(const std::string &value)
{
	std::string out;
	for (char c : value) {
		if (c == '\\' || c == '"')
			out.push_back('\\');
		if (c == '\n') {
			out += "\\n";
			continue;
		}
		out.push_back(c);
	}
	return out;
}

std::string
LabelText(const Labels &labels, const std::string &extra_key = {}, const std::string &extra_value = {})
{
	if (labels.empty() && extra_key.empty())
		return "";
	std::string out = "{";
	bool first = true;
	for (const auto &[k, v] : labels) {
		out += (first ? "" : ",") + k + "=\"" + Escape(v) + "\"";
		first = false;
	}
	if (!extra_key.empty())
		out += (first ? "" : ",") + extra_key + "=\"" + extra_value + "\"";
	return out + "}";
}

} // namespace

Registry &
Registry::Global()
{
	static Registry registry;
	return registry;
}

void
Registry::Describe(const std::string &name, const std::string &type, const std::string &help)
{
	std::lock_guard<std::mutex> lock(mutex_);
	Family &f = families_[name];
	f.type = type;
	f.help = help;
	if (type == "histogram")
		f.buckets = kSecondsBuckets;
}

void
Registry::Add(const std::string &name, const Labels &labels, double delta)
{
	std::lock_guard<std::mutex> lock(mutex_);
	families_[name].values[labels] += delta;
}

void
Registry::Set(const std::string &name, const Labels &labels, double value)
{
	std::lock_guard<std::mutex> lock(mutex_);
	families_[name].values[labels] = value;
}

void
Registry::ResetGauge(const std::string &name)
{
	std::lock_guard<std::mutex> lock(mutex_);
	families_[name].values.clear();
}

void
Registry::Observe(const std::string &name, const Labels &labels, double value)
{
	std::lock_guard<std::mutex> lock(mutex_);
	Family &f = families_[name];
	if (f.buckets.empty())
		f.buckets = kSecondsBuckets;
	Histogram &h = f.histograms[labels];
	if (h.counts.empty())
		h.counts.assign(f.buckets.size(), 0);
	for (std::size_t i = 0; i < f.buckets.size(); ++i)
		if (value <= f.buckets[i]) {
			h.counts[i] += 1;
			break;
		}
	h.sum += value;
	h.count += 1;
}

std::string
Registry::Render() const
{
	std::lock_guard<std::mutex> lock(mutex_);
	std::ostringstream out;
	for (const auto &[name, f] : families_) {
		out << "# HELP " << name << ' ' << f.help << '\n';
		out << "# TYPE " << name << ' ' << (f.type.empty() ? "untyped" : f.type) << '\n';
		if (f.type == "histogram") {
			for (const auto &[labels, h] : f.histograms) {
				double cumulative = 0;
				for (std::size_t i = 0; i < f.buckets.size(); ++i) {
					cumulative += h.counts[i];
					out << name << "_bucket" << LabelText(labels, "le", text::Number(f.buckets[i])) << ' '
					    << text::Number(cumulative) << '\n';
				}
				out << name << "_bucket" << LabelText(labels, "le", "+Inf") << ' ' << text::Number(h.count) << '\n';
				out << name << "_sum" << LabelText(labels) << ' ' << text::Number(h.sum) << '\n';
				out << name << "_count" << LabelText(labels) << ' ' << text::Number(h.count) << '\n';
			}
			continue;
		}
		for (const auto &[labels, value] : f.values)
			out << name << LabelText(labels) << ' ' << text::Number(value) << '\n';
	}
	return out.str();
}

void
RegisterStandardMetrics()
{
	Registry &r = Registry::Global();
	r.Describe("agentgres_up", "gauge", "1 while agentgresd runs");
	r.Describe("agentgres_database_up", "gauge", "1 when the last database check succeeded");
	r.Describe("agentgres_loop_up", "gauge", "1 while an agent loop runs, 0 when it is stopped, restarting or failed");
	r.Describe("agentgres_loop_restarts_total", "counter", "restarts of an agent loop after it threw");
	r.Describe("agentgres_heartbeat_age_seconds", "gauge", "seconds since each agent's last heartbeat");
	r.Describe("agentgres_jobs", "gauge", "jobs by kind and state");
	r.Describe("agentgres_jobs_processed_total", "counter", "jobs this daemon finished, by kind and outcome");
	r.Describe("agentgres_job_duration_seconds", "histogram", "time from claim to completion of a job");
	r.Describe("agentgres_http_requests_total", "counter",
	           "HTTP requests by route pattern (unknown paths: route=\"unmatched\") and status code");
	r.Describe("agentgres_db_roundtrip_seconds", "histogram", "wall time of one database round trip");
	r.Describe("agentgres_alerts_open", "gauge", "open alerts by severity");
	r.Describe("agentgres_http_connections", "gauge", "HTTP connections being served");
	r.Describe("agentgres_http_connections_rejected_total", "counter",
	           "HTTP connections refused (busy: over http.max_connections) or cut off (timeout: a slow request)");
}

} // namespace agentgres::sidecar::metrics
