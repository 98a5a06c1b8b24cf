#include "patterns.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <tuple>

#include "error.hpp"
#include "error_template.hpp"
#include "hash.hpp"
#include "log_clusters.hpp"

namespace agentgres::core::patterns {
namespace {

constexpr std::uint8_t kFormatVersion = 1;

// Byte writer/reader for the serialized state (host byte order: states only
// travel between processes of one server).
class Writer {
public:
	template <typename T>
	void
	Put(T value)
	{
		const auto *p = reinterpret_cast<const char *>(&value);
		out_.append(p, sizeof(T));
	}
	void
	PutString(const std::string &s)
	{
		Put<std::uint32_t>(static_cast<std::uint32_t>(s.size()));
		out_.append(s);
	}
	std::string
	Take()
	{
		return std::move(out_);
	}

private:
	std::string out_;
};

class Reader {
public:
	explicit Reader(std::string_view in) : in_(in) {}
	template <typename T>
	T
	Get()
	{
		Need(sizeof(T));
		T value;
		std::memcpy(&value, in_.data() + pos_, sizeof(T));
		pos_ += sizeof(T);
		return value;
	}
	std::string_view
	GetString()
	{
		const auto n = Get<std::uint32_t>();
		Need(n);
		std::string_view s = in_.substr(pos_, n);
		pos_ += n;
		return s;
	}
	bool
	AtEnd() const
	{
		return pos_ == in_.size();
	}
	[[noreturn]] static void
	Corrupt(const char *why)
	{
		throw Error(ErrorCode::kDataException, "pattern state is corrupted", why);
	}

private:
	void
	Need(std::size_t n) const
	{
		if (in_.size() - pos_ < n)
			Corrupt("It ends too early.");
	}
	std::string_view in_;
	std::size_t pos_ = 0;
};

void
WriteDictionary(Writer &w, const Dictionary &d)
{
	w.Put<std::uint32_t>(static_cast<std::uint32_t>(d.size()));
	for (std::size_t i = 0; i < d.size(); ++i)
		w.PutString(d.Name(static_cast<std::int32_t>(i)));
}

// Estimated heap bytes of the state's parts: libstdc++'s node layouts plus
// malloc's header and rounding. Estimates, but proportional to the truth.
constexpr std::size_t kMallocOverhead = 16;
constexpr std::size_t kBucketBytes = sizeof(std::pair<std::int32_t, std::uint64_t>); // a sketch bucket
constexpr std::size_t kHashNodeBytes = 8 + 16 + kMallocOverhead;                     // unordered_map<int32, uint64>
constexpr std::size_t kNameBytes = 2 * sizeof(std::string) + 8 + 16 + 2 * kMallocOverhead; // a Dictionary entry

std::size_t
NameBytes(std::string_view name)
{
	return kNameBytes + 2 * name.size();
}

std::size_t
ReadDictionary(Reader &r, Dictionary &d)
{
	std::size_t bytes = 0;
	const auto n = r.Get<std::uint32_t>();
	for (std::uint32_t i = 0; i < n; ++i) {
		const std::string_view name = r.GetString();
		if (d.Intern(name) != static_cast<std::int32_t>(i))
			Reader::Corrupt("A dictionary repeats a name.");
		bytes += NameBytes(name);
	}
	return bytes;
}

} // namespace

void
ThrowMemoryLimit(std::size_t memory_limit, std::size_t patterns)
{
	throw Error(ErrorCode::kProgramLimitExceeded, "agent patterns need more memory than work_mem allows",
	            "The statistics of " + std::to_string(patterns) +
	                " agent sets (every subset of up to max_size agents of each execution, per task type and "
	                "overall) passed the limit of " +
	                std::to_string(memory_limit / 1024) + " kB, which is work_mem * hash_mem_multiplier.",
	            "Lower max_size, aggregate fewer executions (since), or raise work_mem, for example "
	            "SET work_mem = '256MB'.");
}

void
Accumulator::SetLimits(std::size_t memory_limit, std::function<void()> check_interrupts)
{
	memory_limit_ = memory_limit;
	check_interrupts_ = std::move(check_interrupts);
}

void
Accumulator::Charge(std::size_t bytes)
{
	memory_ += bytes;
	if (memory_limit_ != 0 && memory_ > memory_limit_)
		ThrowMemoryLimit(memory_limit_, patterns_.size());
}

std::size_t
Accumulator::StatsBytes(const Stats &s) noexcept
{
	const std::size_t buckets = s.durations.buckets().capacity();
	std::size_t bytes = buckets == 0 ? 0 : buckets * kBucketBytes + kMallocOverhead;
	if (!s.errors.empty())
		bytes += s.errors.bucket_count() * sizeof(void *) + s.errors.size() * kHashNodeBytes;
	return bytes;
}

Accumulator::Stats &
Accumulator::Slot(const Key &key)
{
	// The node (key, statistics, next pointer, cached hash) and about two
	// bucket slots, since the table doubles when it grows.
	constexpr std::size_t kPatternBytes =
	    sizeof(std::pair<const Key, Stats>) + 2 * sizeof(void *) + kMallocOverhead + 2 * sizeof(void *);
	auto [it, inserted] = patterns_.try_emplace(key);
	if (inserted)
		Charge(kPatternBytes);
	return it->second;
}

std::int32_t
Accumulator::InternCharged(Dictionary &dictionary, std::string_view name)
{
	const std::size_t before = dictionary.size();
	const std::int32_t id = dictionary.Intern(name);
	if (dictionary.size() != before)
		Charge(NameBytes(name));
	return id;
}

// Insertion sort of the key's (at most kMaxSetSize) agent ids. std::sort
// would do, but GCC 12 warns about its 16-element fast path on this array.
void
Accumulator::SortAgents(Key &key)
{
	const int n = std::min<int>(key.size, kMaxSetSize);
	for (int i = 1; i < n; ++i) {
		const std::int32_t v = key.agents[static_cast<std::size_t>(i)];
		int j = i - 1;
		while (j >= 0 && key.agents[static_cast<std::size_t>(j)] > v) {
			key.agents[static_cast<std::size_t>(j + 1)] = key.agents[static_cast<std::size_t>(j)];
			--j;
		}
		key.agents[static_cast<std::size_t>(j + 1)] = v;
	}
}

int
Accumulator::ValidateMaxSize(std::int64_t max_size)
{
	if (max_size < 1 || max_size > kMaxSetSize)
		throw Error(ErrorCode::kInvalidParameterValue, "max_size must be between 1 and " + std::to_string(kMaxSetSize),
		            "max_size was " + std::to_string(max_size) + ".");
	return static_cast<int>(max_size);
}

std::size_t
Accumulator::KeyHash::operator()(const Key &k) const noexcept
{
	std::uint64_t h = Mix64(static_cast<std::uint64_t>(static_cast<std::uint32_t>(k.task_type)) << 8 | k.size);
	for (int i = 0; i < k.size; ++i)
		h = HashCombine(h, static_cast<std::uint32_t>(k.agents[static_cast<std::size_t>(i)]));
	return static_cast<std::size_t>(h);
}

void
Accumulator::Stats::AddError(std::int32_t template_id, std::uint64_t count)
{
	auto it = errors.find(template_id);
	if (it != errors.end())
		it->second += count;
	else if (errors.size() < kMaxErrorTemplates)
		errors.emplace(template_id, count);
	else
		other_errors += count;
}

void
Accumulator::Stats::Merge(const Stats &other, std::span<const std::int32_t> template_map)
{
	n += other.n;
	successes += other.successes;
	duration_sum += other.duration_sum;
	durations.Merge(other.durations);
	other_errors += other.other_errors;
	for (const auto &[id, count] : other.errors)
		AddError(template_map[static_cast<std::size_t>(id)], count);
}

void
Accumulator::Update(const Key &key, bool success, std::optional<double> duration_s, std::int32_t error_template)
{
	Tick();
	Stats &s = Slot(key);
	const std::size_t before = StatsBytes(s);
	++s.n;
	s.successes += success;
	if (duration_s && std::isfinite(*duration_s) && *duration_s >= 0) {
		s.duration_sum += *duration_s;
		s.durations.Add(*duration_s);
	}
	if (error_template >= 0)
		s.AddError(error_template, 1);
	Charge(StatsBytes(s) - before); // statistics only grow
}

void
Accumulator::Add(std::string_view task_type, std::span<const std::string_view> agents, bool success,
                 std::optional<double> duration_s, std::optional<std::string_view> error, int max_size)
{
	max_size = std::clamp(max_size, 1, kMaxSetSize);
	const std::int32_t type_id = InternCharged(task_types_, task_type);
	const std::int32_t error_id = error ? InternCharged(templates_, ErrorTemplate(*error)) : -1;

	// Distinct agents (first kMaxAgentsForSubsets), sorted by id.
	scratch_.clear();
	for (std::string_view a : agents) {
		const std::int32_t id = InternCharged(agents_, a);
		if (std::find(scratch_.begin(), scratch_.end(), id) == scratch_.end()) {
			scratch_.push_back(id);
			if (scratch_.size() == kMaxAgentsForSubsets)
				break;
		}
	}
	std::sort(scratch_.begin(), scratch_.end());
	const int n = static_cast<int>(scratch_.size());

	// Every subset of size 1..max_size, by its index combination.
	Key key{};
	std::array<int, kMaxSetSize> pick{};
	for (int size = 1; size <= std::min(max_size, n); ++size) {
		for (int i = 0; i < size; ++i)
			pick[static_cast<std::size_t>(i)] = i;
		for (;;) {
			key.size = static_cast<std::uint8_t>(size);
			key.agents.fill(-1);
			for (int i = 0; i < size; ++i)
				key.agents[static_cast<std::size_t>(i)] =
				    scratch_[static_cast<std::size_t>(pick[static_cast<std::size_t>(i)])];
			key.task_type = type_id;
			Update(key, success, duration_s, error_id);
			key.task_type = -1;
			Update(key, success, duration_s, error_id);
			// Next combination in lexicographic order.
			int i = size - 1;
			while (i >= 0 && pick[static_cast<std::size_t>(i)] == n - size + i)
				--i;
			if (i < 0)
				break;
			++pick[static_cast<std::size_t>(i)];
			for (int j = i + 1; j < size; ++j)
				pick[static_cast<std::size_t>(j)] = pick[static_cast<std::size_t>(j - 1)] + 1;
		}
	}
}

void
Accumulator::Merge(const Accumulator &other)
{
	std::vector<std::int32_t> type_map, agent_map, template_map;
	for (std::size_t i = 0; i < other.task_types_.size(); ++i)
		type_map.push_back(InternCharged(task_types_, other.task_types_.Name(static_cast<std::int32_t>(i))));
	for (std::size_t i = 0; i < other.agents_.size(); ++i)
		agent_map.push_back(InternCharged(agents_, other.agents_.Name(static_cast<std::int32_t>(i))));
	for (std::size_t i = 0; i < other.templates_.size(); ++i)
		template_map.push_back(InternCharged(templates_, other.templates_.Name(static_cast<std::int32_t>(i))));
	for (const auto &[other_key, other_stats] : other.patterns_) {
		Tick();
		Key key = other_key;
		if (key.task_type >= 0)
			key.task_type = type_map[static_cast<std::size_t>(key.task_type)];
		for (int i = 0; i < key.size; ++i)
			key.agents[static_cast<std::size_t>(i)] =
			    agent_map[static_cast<std::size_t>(key.agents[static_cast<std::size_t>(i)])];
		SortAgents(key);
		Stats &s = Slot(key);
		const std::size_t before = StatsBytes(s);
		s.Merge(other_stats, template_map);
		Charge(StatsBytes(s) - before);
	}
}

std::string
Accumulator::Serialize() const
{
	Writer w;
	w.Put<std::uint8_t>(kFormatVersion);
	WriteDictionary(w, task_types_);
	WriteDictionary(w, agents_);
	WriteDictionary(w, templates_);
	w.Put<std::uint64_t>(patterns_.size());
	for (const auto &[key, s] : patterns_) {
		Tick();
		w.Put<std::int32_t>(key.task_type);
		w.Put<std::uint8_t>(key.size);
		for (int i = 0; i < key.size; ++i)
			w.Put<std::int32_t>(key.agents[static_cast<std::size_t>(i)]);
		w.Put<std::uint64_t>(s.n);
		w.Put<std::uint64_t>(s.successes);
		w.Put<double>(s.duration_sum);
		w.Put<std::uint64_t>(s.durations.zeros());
		w.Put<std::uint32_t>(static_cast<std::uint32_t>(s.durations.buckets().size()));
		for (const auto &[index, count] : s.durations.buckets()) {
			w.Put<std::int32_t>(index);
			w.Put<std::uint64_t>(count);
		}
		w.Put<std::uint64_t>(s.other_errors);
		w.Put<std::uint32_t>(static_cast<std::uint32_t>(s.errors.size()));
		for (const auto &[id, count] : s.errors) {
			w.Put<std::int32_t>(id);
			w.Put<std::uint64_t>(count);
		}
	}
	return w.Take();
}

Accumulator
Accumulator::Deserialize(std::string_view bytes, std::size_t memory_limit,
                         const std::function<void()> &check_interrupts)
{
	Reader r(bytes);
	if (r.Get<std::uint8_t>() != kFormatVersion)
		Reader::Corrupt("Its format version is not one this library reads.");
	Accumulator a;
	a.SetLimits(memory_limit, check_interrupts);
	a.Charge(ReadDictionary(r, a.task_types_));
	a.Charge(ReadDictionary(r, a.agents_));
	a.Charge(ReadDictionary(r, a.templates_));
	const auto count = r.Get<std::uint64_t>();
	const auto types = static_cast<std::int32_t>(a.task_types_.size());
	const auto agents = static_cast<std::int32_t>(a.agents_.size());
	const auto templates = static_cast<std::int32_t>(a.templates_.size());
	for (std::uint64_t e = 0; e < count; ++e) {
		a.Tick();
		Key key{};
		key.agents.fill(-1);
		key.task_type = r.Get<std::int32_t>();
		key.size = r.Get<std::uint8_t>();
		if (key.task_type < -1 || key.task_type >= types || key.size < 1 || key.size > kMaxSetSize)
			Reader::Corrupt("A pattern key is out of range.");
		for (int i = 0; i < key.size; ++i) {
			const auto id = r.Get<std::int32_t>();
			if (id < 0 || id >= agents || (i > 0 && id <= key.agents[static_cast<std::size_t>(i - 1)]))
				Reader::Corrupt("A pattern's agents are out of range or not sorted.");
			key.agents[static_cast<std::size_t>(i)] = id;
		}
		Stats s;
		s.n = r.Get<std::uint64_t>();
		s.successes = r.Get<std::uint64_t>();
		s.duration_sum = r.Get<double>();
		if (s.successes > s.n)
			Reader::Corrupt("A pattern has more successes than executions.");
		const auto zeros = r.Get<std::uint64_t>();
		const auto buckets = r.Get<std::uint32_t>();
		std::map<std::int32_t, std::uint64_t> sketch;
		for (std::uint32_t b = 0; b < buckets; ++b) {
			const auto index = r.Get<std::int32_t>();
			sketch[index] += r.Get<std::uint64_t>();
		}
		s.durations.SetRaw(zeros, std::move(sketch));
		s.other_errors = r.Get<std::uint64_t>();
		const auto errors = r.Get<std::uint32_t>();
		if (errors > kMaxErrorTemplates)
			Reader::Corrupt("A pattern has too many error templates.");
		for (std::uint32_t t = 0; t < errors; ++t) {
			const auto id = r.Get<std::int32_t>();
			if (id < 0 || id >= templates)
				Reader::Corrupt("An error template id is out of range.");
			s.errors[id] += r.Get<std::uint64_t>();
		}
		const std::size_t stats_bytes = StatsBytes(s);
		const std::size_t patterns_before = a.patterns_.size();
		Stats &slot = a.Slot(key);
		if (a.patterns_.size() == patterns_before)
			Reader::Corrupt("A pattern appears twice.");
		slot = std::move(s);
		a.Charge(stats_bytes);
	}
	if (!r.AtEnd())
		Reader::Corrupt("There are bytes after the last pattern.");
	return a;
}

std::vector<std::int32_t>
Accumulator::ClusterTemplates(std::vector<std::string> &names, const std::function<void()> &progress) const
{
	// Weighted by how often each template was counted, over all patterns:
	// the same in a serial and a parallel plan.
	LogClusters clusters;
	std::vector<std::uint64_t> weight(templates_.size());
	for (const auto &[key, s] : patterns_)
		for (const auto &[id, count] : s.errors)
			weight[static_cast<std::size_t>(id)] += count;
	for (std::size_t id = 0; id < templates_.size(); ++id)
		if (weight[id] > 0)
			clusters.Add(templates_.Name(static_cast<std::int32_t>(id)), weight[id]);
	LogClusters::Result result = clusters.Cluster({}, progress);
	std::vector<std::int32_t> cluster_of(templates_.size(), -1);
	for (std::size_t id = 0; id < templates_.size(); ++id)
		if (weight[id] > 0)
			cluster_of[id] = static_cast<std::int32_t>(
			    result.cluster_of.find(templates_.Name(static_cast<std::int32_t>(id)))->second);
	names = std::move(result.templates);
	return cluster_of;
}

std::vector<PatternRow>
Accumulator::Rows(std::uint64_t min_support, int max_size, const std::function<void()> &progress) const
{
	std::vector<std::string> cluster_names;
	const std::vector<std::int32_t> cluster_of = ClusterTemplates(cluster_names, progress);
	std::vector<std::pair<std::int32_t, std::uint64_t>> groups;
	std::vector<PatternRow> rows;
	std::size_t rows_bytes = 0;
	std::size_t ticks = 0;
	for (const auto &[key, s] : patterns_) {
		if (progress && ++ticks % 4096 == 0)
			progress();
		if (s.n < std::max<std::uint64_t>(min_support, 1) || key.size > max_size)
			continue;
		// The row, its agent names and the vector's growth (about 2x).
		rows_bytes += 2 * sizeof(PatternRow) + key.size * (sizeof(std::string) + kMallocOverhead);
		if (memory_limit_ != 0 && rows_bytes > memory_limit_)
			ThrowMemoryLimit(memory_limit_, patterns_.size());
		PatternRow row;
		if (key.task_type >= 0)
			row.task_type = task_types_.Name(key.task_type);
		for (int i = 0; i < key.size; ++i)
			row.agents.push_back(agents_.Name(key.agents[static_cast<std::size_t>(i)]));
		std::sort(row.agents.begin(), row.agents.end());
		row.n = s.n;
		row.successes = s.successes;
		row.success_rate = static_cast<double>(s.successes) / static_cast<double>(s.n);
		const stats::Interval w = stats::Wilson(s.successes, s.n);
		row.wilson_low = w.low;
		row.wilson_high = w.high;
		const std::uint64_t timed = s.durations.count();
		row.mean_duration_s = timed ? s.duration_sum / static_cast<double>(timed) : std::nan("");
		row.p95_duration_s = s.durations.Quantile(0.95);
		// The most frequent cluster of this pattern's error templates; ties
		// go to the cluster that is more frequent overall (lower index).
		groups.clear();
		for (const auto &[id, count] : s.errors) {
			const std::int32_t cluster = cluster_of[static_cast<std::size_t>(id)];
			auto it = std::find_if(groups.begin(), groups.end(), [&](const auto &g) { return g.first == cluster; });
			if (it == groups.end())
				groups.emplace_back(cluster, count);
			else
				it->second += count;
		}
		std::int32_t best = -1;
		std::uint64_t best_count = 0;
		for (const auto &[cluster, count] : groups)
			if (count > best_count || (count == best_count && cluster < best)) {
				best = cluster;
				best_count = count;
			}
		if (best >= 0) {
			row.top_error = cluster_names[static_cast<std::size_t>(best)];
			row.top_error_count = best_count;
		}
		rows.push_back(std::move(row));
	}
	std::sort(rows.begin(), rows.end(), [](const PatternRow &a, const PatternRow &b) {
		// Task types by name, the all-types rows last; then smaller sets first.
		// Views, not copies: the comparison runs O(n log n) times.
		const auto rank = [](const PatternRow &r) {
			return std::make_tuple(!r.task_type.has_value(),
			                       r.task_type ? std::string_view(*r.task_type) : std::string_view(), r.agents.size());
		};
		return rank(a) != rank(b) ? rank(a) < rank(b) : a.agents < b.agents;
	});
	return rows;
}

} // namespace agentgres::core::patterns
