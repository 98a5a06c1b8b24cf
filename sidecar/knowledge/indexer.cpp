#include "knowledge/indexer.hpp"

#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>

#include "knowledge/ctags.hpp"
#include "log/log.hpp"
#include "metrics/metrics.hpp"
#include "util/sha256.hpp"

namespace agentgres::sidecar::knowledge {

namespace {

constexpr std::size_t kMaxErrorsKept = 20;
constexpr std::size_t kBatchBytes = 16 << 20; // content held for one ctags batch

void
DescribeMetrics()
{
	static std::once_flag once;
	std::call_once(once, [] {
		auto &r = metrics::Registry::Global();
		r.Describe("agentgres_knowledge_files_total", "counter",
		           "files seen by index runs, by outcome (added, changed, unchanged, deleted, skipped, failed)");
		r.Describe("agentgres_knowledge_chunks_written_total", "counter", "chunks written by added and changed files");
		r.Describe("agentgres_knowledge_run_files", "gauge",
		           "the current (or last) index run's files: state=\"total\" listed, state=\"done\" finished");
		r.Describe("agentgres_knowledge_run_in_progress", "gauge", "1 while an index run is going on");
		r.Describe("agentgres_knowledge_last_run_duration_seconds", "gauge",
		           "wall time of the last finished index run");
		r.Describe("agentgres_knowledge_last_run_timestamp_seconds", "gauge",
		           "when the last index run finished (Unix time)");
		r.Describe("agentgres_knowledge_errors_total", "counter",
		           "index errors by kind (read, encoding, database, source, ctags, run)");
		for (const char *o : {"added", "changed", "unchanged", "deleted", "skipped", "failed"})
			r.Add("agentgres_knowledge_files_total", {{"outcome", o}}, 0);
		r.Add("agentgres_knowledge_chunks_written_total", {}, 0);
		r.Set("agentgres_knowledge_run_in_progress", {}, 0);
	});
}

void
CountMetric(const char *outcome, std::int64_t n = 1)
{
	metrics::Registry::Global().Add("agentgres_knowledge_files_total", {{"outcome", outcome}}, static_cast<double>(n));
}

void
ErrorMetric(const char *kind)
{
	metrics::Registry::Global().Add("agentgres_knowledge_errors_total", {{"kind", kind}});
}

struct Stored {
	std::string hash;
	std::string source;
};

struct Pending {
	const Unit *unit;
	ListedFile file;
	std::string content;
	bool is_new;
};

// Which symbol source a process uses, logged the first time it is known.
void
LogSymbolSource(bool ctags, const std::string &detail)
{
	static std::once_flag once;
	std::call_once(once, [&] {
		if (ctags)
			log::Info("indexer", "symbols from universal-ctags", {{"ctags", detail}});
		else
			log::Info("indexer", "symbols from the database's built-in extractor", {{"reason", detail}});
	});
}

class Run {
public:
	Run(db::Connection &db, const IndexOptions &options, const std::atomic<bool> &stop, const ProgressFn &progress)
	    : db_(db), options_(options), stop_(stop), progress_(progress), use_ctags_(!options.ctags.empty())
	{
	}

	IndexResult
	Go()
	{
		const auto started = std::chrono::steady_clock::now();
		auto &registry = metrics::Registry::Global();
		registry.Set("agentgres_knowledge_run_in_progress", {}, 1);
		try {
			EnsureCollection();
			LoadStored();
			ListAll();
			Report();
			ProcessAll();
			if (!result_.interrupted)
				DeleteGone();
		} catch (...) {
			registry.Set("agentgres_knowledge_run_in_progress", {}, 0);
			throw;
		}
		result_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
		registry.Set("agentgres_knowledge_run_in_progress", {}, 0);
		registry.Set("agentgres_knowledge_last_run_duration_seconds", {}, result_.seconds);
		registry.Set("agentgres_knowledge_last_run_timestamp_seconds", {}, static_cast<double>(std::time(nullptr)));
		if (!use_ctags_ && !ctags_reason_.empty())
			LogSymbolSource(false, ctags_reason_);
		return result_;
	}

private:
	void
	EnsureCollection()
	{
		const std::string &name = options_.collection;
		if (db_.Exec("SELECT 1 FROM agentgres.collections WHERE name = $1", {name}).rows() > 0)
			return;
		try {
			// dims: NULL (the embedder's own) for builtin and lsa.
			const bool external = options_.embedder != "builtin" && options_.embedder != "lsa";
			db_.Exec("SELECT agentgres.create_collection($1, $2, $3::integer)",
			         {name, options_.embedder,
			          external ? db::Param(std::to_string(options_.dims)) : db::Param(std::nullopt)});
			log::Info("indexer", "collection created", {{"collection", name}});
		} catch (const db::DbError &e) {
			// Another ingest created it meanwhile.
			if (e.connection_lost() || (e.sqlstate() != "23505" && e.sqlstate() != "42710") ||
			    db_.Exec("SELECT 1 FROM agentgres.collections WHERE name = $1", {name}).rows() == 0)
				throw;
		}
	}

	// Every stored (uri, content_hash) of the collection in one query.
	void
	LoadStored()
	{
		const db::Result r =
		    db_.Exec("SELECT d.uri, d.content_hash, coalesce(d.metadata ->> 'source', '') "
		             "FROM agentgres.documents d JOIN agentgres.collections c ON c.id = d.collection_id "
		             "WHERE c.name = $1",
		             {options_.collection});
		for (int i = 0; i < r.rows(); ++i)
			stored_[r.String(i, 0)] = {r.IsNull(i, 1) ? "" : r.String(i, 1), r.String(i, 2)};
	}

	void
	ListAll()
	{
		for (const Unit &unit : options_.units) {
			Filters filters = options_.filters;
			filters.use_include = unit.configured;
			Listing listing = ListFiles(unit.root, unit.scope, filters);
			if (!listing.error.empty()) {
				Fail(unit.scope.empty() ? unit.root : unit.scope, listing.error, "source");
				listing.files.clear();
			} else {
				for (const std::string &dir : listing.unreadable) {
					log::Warn("indexer", "directory not readable: what is indexed under it is kept",
					          {{"source", unit.name}, {"directory", dir}});
					ErrorMetric("read");
				}
			}
			// Files too big count as listed and done: the outcomes add up to the total.
			result_.counts.skipped += listing.too_big;
			CountMetric("skipped", listing.too_big);
			result_.counts.total += static_cast<std::int64_t>(listing.files.size()) + listing.too_big;
			result_.counts.done += listing.too_big;
			listings_.push_back(std::move(listing));
		}
	}

	void
	Report()
	{
		auto &registry = metrics::Registry::Global();
		registry.Set("agentgres_knowledge_run_files", {{"state", "total"}}, static_cast<double>(result_.counts.total));
		registry.Set("agentgres_knowledge_run_files", {{"state", "done"}}, static_cast<double>(result_.counts.done));
		if (progress_)
			progress_(result_.counts);
	}

	void
	Fail(const std::string &what, const std::string &why, const char *kind)
	{
		++result_.counts.failed;
		CountMetric("failed");
		ErrorMetric(kind);
		log::Warn("indexer", "not indexed", {{"file", what}, {"error", why}});
		if (result_.errors.size() < kMaxErrorsKept)
			result_.errors.push_back(what + ": " + why);
	}

	void
	Done()
	{
		++result_.counts.done;
		Report();
	}

	void
	ProcessAll()
	{
		for (std::size_t u = 0; u < options_.units.size(); ++u) {
			const Unit &unit = options_.units[u];
			for (const ListedFile &file : listings_[u].files) {
				if (stop_) {
					result_.interrupted = true;
					return;
				}
				Consider(unit, file);
			}
		}
		Flush();
	}

	void
	Consider(const Unit &unit, const ListedFile &file)
	{
		present_.insert(unit.name + '\n' + file.uri);
		std::string content;
		{
			std::ifstream in(file.path, std::ios::binary);
			if (!in) {
				Fail(file.uri, "cannot open " + file.path, "read");
				Done();
				return;
			}
			content.resize(static_cast<std::size_t>(options_.filters.max_file_bytes) + 1);
			in.read(content.data(), static_cast<std::streamsize>(content.size()));
			if (in.bad()) {
				Fail(file.uri, "cannot read " + file.path, "read");
				Done();
				return;
			}
			content.resize(static_cast<std::size_t>(in.gcount()));
		}
		std::string reason;
		const ContentKind kind = ClassifyContent(content, &reason);
		if (content.size() > options_.filters.max_file_bytes || kind == ContentKind::kBinary) {
			// Grew past the limit since it was listed, or binary: not indexed.
			present_.erase(unit.name + '\n' + file.uri);
			++result_.counts.skipped;
			CountMetric("skipped");
			Done();
			return;
		}
		if (kind == ContentKind::kNotUtf8) {
			Fail(file.uri, "not UTF-8 text: " + reason, "encoding");
			Done();
			return;
		}
		const auto stored = stored_.find(file.uri);
		// Unchanged: same content from the same source (a moved source root
		// is sent again, so its documents carry the new root and stay in its
		// deletion scope).
		if (stored != stored_.end() && stored->second.source == unit.name &&
		    stored->second.hash == text::Sha256Hex(content)) {
			++result_.counts.unchanged;
			CountMetric("unchanged");
			Done();
			return;
		}
		pending_bytes_ += content.size();
		pending_.push_back({&unit, file, std::move(content), stored == stored_.end()});
		if (pending_.size() >= options_.batch_files || pending_bytes_ >= kBatchBytes)
			Flush();
	}

	// Symbols of the pending files: ctags's, or none (NULL) when it is
	// missing or failed.
	std::map<std::string, nlohmann::json>
	Symbols()
	{
		if (!use_ctags_)
			return {};
		std::vector<std::string> paths;
		for (const Pending &p : pending_)
			paths.push_back(p.file.path);
		CtagsRun run = RunCtags(options_.ctags, paths);
		if (run.ok) {
			LogSymbolSource(true, options_.ctags);
			return std::move(run.symbols);
		}
		ErrorMetric("ctags");
		if (run.missing) {
			use_ctags_ = false; // not again in this run
			ctags_reason_ = run.error;
		} else {
			log::Warn("indexer", "ctags failed: this batch's symbols come from the built-in extractor",
			          {{"error", run.error}});
		}
		return {};
	}

	void
	Flush()
	{
		if (pending_.empty())
			return;
		const std::map<std::string, nlohmann::json> symbols = Symbols();
		for (Pending &p : pending_) {
			if (stop_) {
				result_.interrupted = true;
				break;
			}
			Ingest(p, symbols);
		}
		pending_.clear();
		pending_bytes_ = 0;
	}

	void
	Ingest(Pending &p, const std::map<std::string, nlohmann::json> &symbols)
	{
		const nlohmann::json metadata = {{"path", p.file.uri}, {"source", p.unit->name}};
		db::Param symbol_param;
		if (const auto s = symbols.find(p.file.path); s != symbols.end())
			symbol_param = s->second.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
		try {
			// Autocommit: each document in its own short transaction.
			const db::Result r =
			    db_.Exec("SELECT agentgres.ingest_document($1, $2, $3, $4::jsonb, $5::jsonb)",
			             {options_.collection, p.file.uri, p.content,
			              metadata.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), symbol_param});
			const std::string id = r.String(0, 0);
			const std::int64_t chunks =
			    db_.Exec("SELECT count(*) FROM agentgres.chunks WHERE document_id = $1::bigint", {id}).Int(0, 0);
			result_.counts.chunks += chunks;
			metrics::Registry::Global().Add("agentgres_knowledge_chunks_written_total", {},
			                                static_cast<double>(chunks));
			++(p.is_new ? result_.counts.added : result_.counts.changed);
			CountMetric(p.is_new ? "added" : "changed");
		} catch (const db::DbError &e) {
			if (e.connection_lost())
				throw;
			Fail(p.file.uri, std::string(e.what()) + " (SQLSTATE " + e.sqlstate() + ")", "database");
		}
		Done();
	}

	// Documents of the units' sources, in their scopes, whose files are gone
	// (or are now excluded, too big or binary).
	void
	DeleteGone()
	{
		for (std::size_t u = 0; u < options_.units.size(); ++u) {
			const Unit &unit = options_.units[u];
			const Listing &listing = listings_[u];
			if (!listing.error.empty())
				continue; // a missing root deletes nothing
			for (const auto &[uri, stored] : stored_) {
				if (stop_) {
					result_.interrupted = true;
					return;
				}
				if (stored.source != unit.name || !InScope(unit, uri) || present_.count(unit.name + '\n' + uri))
					continue;
				bool kept = false;
				for (const std::string &dir : listing.unreadable)
					kept = kept || dir.empty() || uri.rfind(dir + "/", 0) == 0;
				if (kept || !deleted_.insert(uri).second)
					continue;
				try {
					const db::Result r =
					    db_.Exec("SELECT agentgres.delete_document($1, $2)", {options_.collection, uri});
					if (r.String(0, 0) == "t") {
						++result_.counts.deleted;
						CountMetric("deleted");
					}
				} catch (const db::DbError &e) {
					if (e.connection_lost())
						throw;
					Fail(uri, std::string(e.what()) + " (SQLSTATE " + e.sqlstate() + ")", "database");
				}
			}
		}
	}

	db::Connection &db_;
	const IndexOptions &options_;
	const std::atomic<bool> &stop_;
	const ProgressFn &progress_;
	bool use_ctags_;
	std::string ctags_reason_;
	IndexResult result_;
	std::map<std::string, Stored> stored_;
	std::vector<Listing> listings_;
	std::set<std::string> present_; // source + '\n' + uri
	std::set<std::string> deleted_;
	std::vector<Pending> pending_;
	std::size_t pending_bytes_ = 0;
};

nlohmann::json
CountsJson(const IndexResult &r)
{
	const IndexCounts &c = r.counts;
	return {{"files", c.total},     {"added", c.added},     {"changed", c.changed}, {"unchanged", c.unchanged},
	        {"deleted", c.deleted}, {"skipped", c.skipped}, {"failed", c.failed},   {"chunks", c.chunks},
	        {"seconds", r.seconds}, {"errors", r.errors}};
}

} // namespace

IndexOptions
OptionsFromConfig(const Config &config, const std::vector<std::string> &paths, const std::string &collection)
{
	IndexOptions o;
	o.collection = collection.empty() ? config.knowledge_collection : collection;
	if (o.collection.empty())
		throw std::runtime_error("the collection name is empty (knowledge.collection or --collection)");
	o.units = ResolveUnits(paths, config.knowledge_sources);
	o.filters.include = ParsePatterns(config.knowledge_include);
	o.filters.exclude = ParsePatterns(config.knowledge_exclude);
	o.filters.max_file_bytes = static_cast<std::uint64_t>(config.knowledge_max_file_kib) * 1024;
	o.ctags = config.knowledge_ctags;
	o.embedder = config.knowledge_embedder.empty() ? "builtin" : config.knowledge_embedder;
	o.dims = config.embedder_dims;
	return o;
}

IndexResult
RunIndex(db::Connection &db, const IndexOptions &options, const std::atomic<bool> &stop, const ProgressFn &progress)
{
	DescribeMetrics();
	return Run(db, options, stop, progress).Go();
}

nlohmann::json
RunIndexJob(const nlohmann::json &payload, LoopContext &c)
{
	if (!payload.is_object())
		throw std::runtime_error("knowledge.index: the payload must be a JSON object");
	std::vector<std::string> paths;
	if (const auto p = payload.find("paths"); p != payload.end() && !p->is_null()) {
		if (!p->is_array())
			throw std::runtime_error("knowledge.index: \"paths\" must be an array of strings");
		for (const nlohmann::json &path : *p) {
			if (!path.is_string() || path.get_ref<const std::string &>().empty())
				throw std::runtime_error("knowledge.index: \"paths\" must be an array of non-empty strings");
			paths.push_back(path.get<std::string>());
		}
	}
	std::string collection;
	if (const auto p = payload.find("collection"); p != payload.end() && !p->is_null()) {
		if (!p->is_string())
			throw std::runtime_error("knowledge.index: \"collection\" must be a string");
		collection = p->get<std::string>();
	}
	const IndexOptions options = OptionsFromConfig(c.config, paths, collection);
	if (options.units.empty())
		return {{"files", 0}, {"note", "no paths given and knowledge.sources is empty"}};
	const IndexResult r = RunIndex(c.db, options, c.stop, [&](const IndexCounts &) { c.Progress(); });
	if (!r.interrupted && r.counts.failed > 0)
		throw std::runtime_error(std::to_string(r.counts.failed) + " files failed, first: " + r.errors.front());
	return CountsJson(r);
}

namespace {

class IndexerLoop : public Loop {
public:
	std::string
	name() const override
	{
		return "indexer";
	}

	void
	Run(LoopContext &c) override
	{
		DescribeMetrics();
		const double interval = c.config.agents_indexer_interval_s;
		do {
			c.Progress();
			try {
				const IndexOptions options = OptionsFromConfig(c.config, {}, "");
				const IndexResult r = RunIndex(c.db, options, c.stop, [&](const IndexCounts &) { c.Progress(); });
				const IndexCounts &n = r.counts;
				// A run that changed nothing is the usual case: not worth a line.
				log::Write(n.added + n.changed + n.deleted + n.failed > 0 || r.interrupted
				               ? log::Level::kInfo
				               : log::Level::kDebug,
				           "indexer", r.interrupted ? "index run interrupted" : "index run done",
				           {{"collection", options.collection},
				            {"summary", SummaryLine(r.counts, r.seconds)},
				            {"failed", n.failed}});
			} catch (const db::DbError &e) {
				if (e.connection_lost())
					throw; // the coordinator reconnects
				ErrorMetric("run");
				log::Warn("indexer", "index run failed", {{"error", e.what()}, {"sqlstate", e.sqlstate()}});
			} catch (const std::runtime_error &e) {
				ErrorMetric("run");
				log::Warn("indexer", "index run failed", {{"error", e.what()}});
			}
		} while (c.Sleep(interval));
	}
};

std::atomic<bool> g_interrupted{false};

void
OnInterrupt(int)
{
	g_interrupted = true;
}

} // namespace

std::unique_ptr<Loop>
MakeIndexerLoop()
{
	return std::make_unique<IndexerLoop>();
}

int
IngestCommand(const Config &config, const std::vector<std::string> &paths, const std::string &collection, bool queue)
{
	IndexOptions options;
	try {
		options = OptionsFromConfig(config, paths, collection);
	} catch (const std::runtime_error &e) {
		std::fprintf(stderr, "agentgresd: ingest: %s\n", e.what());
		return 2;
	}
	if (options.units.empty()) {
		std::fprintf(stderr, "agentgresd: ingest: no PATH given and knowledge.sources is empty\n");
		return 2;
	}
	db::Connection db(config.database_dsn, "agentgresd/ingest", static_cast<int>(config.database_connect_timeout_s));
	try {
		db.Connect();
		if (queue) {
			nlohmann::json payload = nlohmann::json::object();
			if (!paths.empty()) {
				payload["paths"] = nlohmann::json::array();
				for (const std::string &p : paths)
					payload["paths"].push_back(std::filesystem::absolute(p).lexically_normal().string());
			}
			if (!collection.empty())
				payload["collection"] = collection;
			const db::Result r = db.Exec("SELECT agentgres.enqueue('knowledge.index', $1::jsonb)",
			                             {payload.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)});
			std::printf("%s\n", r.String(0, 0).c_str());
			return 0;
		}
		// Ctrl-C stops between files; what is done stays done.
		g_interrupted = false;
		struct sigaction action {};
		action.sa_handler = OnInterrupt;
		sigemptyset(&action.sa_mask);
		struct sigaction old_int {
		}, old_term{};
		sigaction(SIGINT, &action, &old_int);
		sigaction(SIGTERM, &action, &old_term);
		TerminalProgress bar(stderr);
		IndexResult r;
		try {
			r = RunIndex(db, options, g_interrupted, [&](const IndexCounts &c) { bar.Update(c); });
		} catch (...) {
			sigaction(SIGINT, &old_int, nullptr);
			sigaction(SIGTERM, &old_term, nullptr);
			throw;
		}
		sigaction(SIGINT, &old_int, nullptr);
		sigaction(SIGTERM, &old_term, nullptr);
		bar.Finish(r.counts);
		for (const std::string &e : r.errors)
			std::fprintf(stderr, "agentgresd: not indexed: %s\n", e.c_str());
		if (r.interrupted) {
			std::fprintf(stderr, "agentgresd: ingest interrupted\n");
			return 1;
		}
		return r.counts.failed > 0 ? 1 : 0;
	} catch (const db::DbError &e) {
		std::fprintf(stderr, "agentgresd: ingest: %s%s%s\n", e.what(), e.sqlstate().empty() ? "" : " (SQLSTATE ",
		             e.sqlstate().empty() ? "" : (e.sqlstate() + ")").c_str());
		return e.connection_lost() ? 2 : 1;
	}
}

} // namespace agentgres::sidecar::knowledge
