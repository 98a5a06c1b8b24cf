// perfmon: CPU, memory, disk and load from /proc and statvfs; database size,
// connections, cache hit ratio and the longest open transaction from the
// pg_stat views. Everything goes to agentgres.performance_metrics; fixed
// thresholds (rule host.threshold) and an EWMA band per metric (rule
// host.anomaly) raise and resolve alerts about the host.
#include <sys/statvfs.h>

#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "agents/agents.hpp"
#include "agents/ewma.hpp"
#include "log/log.hpp"
#include "util/text.hpp"

namespace agentgres::sidecar {
namespace {

struct CpuTimes {
	std::uint64_t busy = 0;
	std::uint64_t total = 0;
};

CpuTimes
ReadCpu()
{
	std::ifstream in("/proc/stat");
	std::string label;
	CpuTimes t;
	in >> label;
	std::uint64_t v[10] = {0};
	for (auto &x : v)
		in >> x;
	// user nice system idle iowait irq softirq steal
	const std::uint64_t idle = v[3] + v[4];
	for (int i = 0; i < 8; ++i)
		t.total += v[i];
	t.busy = t.total - idle;
	return t;
}

double
MemoryUsedPercent()
{
	std::ifstream in("/proc/meminfo");
	std::string key;
	double value = 0, total = 0, available = -1;
	std::string unit;
	while (in >> key >> value >> unit) {
		if (key == "MemTotal:")
			total = value;
		else if (key == "MemAvailable:")
			available = value;
	}
	return total > 0 && available >= 0 ? 100.0 * (1.0 - available / total) : 0.0;
}

double
DiskUsedPercent(const std::string &path)
{
	struct statvfs s {};
	if (statvfs(path.c_str(), &s) != 0 || s.f_blocks == 0)
		return 0.0;
	return 100.0 * (1.0 - static_cast<double>(s.f_bavail) / static_cast<double>(s.f_blocks));
}

double
LoadAverage()
{
	std::ifstream in("/proc/loadavg");
	double load = 0;
	in >> load;
	return load;
}

class PerfmonLoop : public Loop {
public:
	std::string
	name() const override
	{
		return "perfmon";
	}

	void
	Run(LoopContext &c) override
	{
		const double interval = c.config.agents_perfmon_interval_s;
		const double sigma = c.config.agents_perfmon_anomaly_sigma;
		const std::int64_t warmup = c.config.agents_perfmon_anomaly_warmup;
		// Alerts under the rule names before 0.4.0 ("threshold", "anomaly")
		// are nobody's now: resolve them.
		c.db.Exec("SELECT agentgres.resolve_alert(a.rule, a.subject) FROM agentgres.alerts a "
		          "WHERE a.rule IN ('threshold', 'anomaly') AND a.status <> 'resolved'");
		CpuTimes previous = ReadCpu();
		while (c.Sleep(interval)) {
			c.Progress();
			const CpuTimes now = ReadCpu();
			const double cpu = now.total > previous.total ? 100.0 * static_cast<double>(now.busy - previous.busy) /
			                                                    static_cast<double>(now.total - previous.total)
			                                              : 0.0;
			previous = now;
			std::map<std::string, double> sample = {
			    {"cpu_percent", cpu},
			    {"memory_percent", MemoryUsedPercent()},
			    {"disk_percent", DiskUsedPercent(c.config.agents_perfmon_disk_path)},
			    {"load_1m", LoadAverage()},
			};
			const db::Result d = c.db.Exec(
			    "SELECT pg_database_size(current_database())::float8, "
			    "(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::float8, "
			    "coalesce((SELECT sum(blks_hit)::float8 / nullif(sum(blks_hit) + sum(blks_read), 0) "
			    "          FROM pg_stat_database), 1), "
			    "coalesce((SELECT max(extract(epoch FROM now() - xact_start)) FROM pg_stat_activity "
			    "          WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid()), 0)::float8");
			sample["db_size_bytes"] = d.Number(0, 0);
			sample["db_connections"] = d.Number(0, 1);
			sample["db_cache_hit_ratio"] = d.Number(0, 2);
			sample["db_longest_transaction_s"] = d.Number(0, 3);

			c.db.Exec("INSERT INTO agentgres.performance_metrics (source, name, value) "
			          "SELECT 'perfmon', key, value::float8 FROM jsonb_each_text($1::jsonb)",
			          {nlohmann::json(sample).dump()});

			// Every threshold and anomaly decision of this sample, raised or
			// resolved in one statement. The rules say "host.": a busy host
			// is a warning about the machine, not agentgres failing.
			nlohmann::json alerts = nlohmann::json::array();
			const auto threshold = [&](const std::string &metric, double limit) {
				const double value = sample[metric];
				alerts.push_back(
				    {{"rule", "host.threshold"},
				     {"subject", metric},
				     {"raise", value >= limit},
				     {"severity", "critical"},
				     {"message",
				      metric + " is " + text::Rounded(value, 1) + ", at or over " + text::Rounded(limit, 1)}});
			};
			threshold("cpu_percent", c.config.agents_perfmon_cpu_alert_percent);
			threshold("memory_percent", c.config.agents_perfmon_memory_alert_percent);
			threshold("disk_percent", c.config.agents_perfmon_disk_alert_percent);
			for (const auto &[metric, value] : sample) {
				EwmaBand &band = bands_[metric];
				const double mean = band.mean(), deviation = band.deviation();
				const bool anomaly = band.Add(value, sigma, warmup);
				if (anomaly || band.samples() > warmup)
					alerts.push_back(
					    {{"rule", "host.anomaly"},
					     {"subject", metric},
					     {"raise", anomaly},
					     {"severity", "warning"},
					     {"message", metric + " is " + text::Rounded(value, 3) + ", outside its usual " +
					                     text::Rounded(mean, 3) + " +- " + text::Rounded(sigma * deviation, 3)}});
			}
			c.db.Exec("SELECT CASE WHEN (a ->> 'raise')::boolean "
			          "  THEN agentgres.raise_alert(a ->> 'rule', a ->> 'subject', a ->> 'severity', a ->> 'message') "
			          "  ELSE agentgres.resolve_alert(a ->> 'rule', a ->> 'subject') END "
			          "FROM jsonb_array_elements($1::jsonb) AS a",
			          {alerts.dump()});
		}
	}

private:
	std::map<std::string, EwmaBand> bands_;
};

} // namespace

std::unique_ptr<Loop>
MakePerfmonLoop()
{
	return std::make_unique<PerfmonLoop>();
}

} // namespace agentgres::sidecar
