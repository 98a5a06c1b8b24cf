#include "knowledge/embedding_job.hpp"

#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "agents/job_errors.hpp"
#include "knowledge/embedder.hpp"
#include "metrics/metrics.hpp"
#include "util/sha256.hpp"

namespace agentgres::sidecar::knowledge {
namespace {

[[noreturn]] void
Rethrow(const EmbedderError &e)
{
	switch (e.kind()) {
	case EmbedderError::Kind::kPermanent:
		throw PermanentJobError(e.what());
	case EmbedderError::Kind::kInterrupted:
		throw JobInterrupted();
	case EmbedderError::Kind::kTransient:
		break;
	}
	throw std::runtime_error(e.what());
}

// {a,b,c}: the elements need no quoting (numbers, hex digests).
std::string
PlainArray(const std::vector<std::string> &items)
{
	std::string out = "{";
	for (std::size_t i = 0; i < items.size(); ++i)
		out += (i ? "," : "") + items[i];
	return out + "}";
}

// {"[1,2]","[3,4]"}: embedding texts hold commas, so each is quoted.
std::string
EmbeddingArray(const std::vector<std::string> &embeddings)
{
	std::string out = "{";
	for (std::size_t i = 0; i < embeddings.size(); ++i)
		out += (i ? ",\"" : "\"") + embeddings[i] + "\"";
	return out + "}";
}

std::string
Quoted(const std::string &text)
{
	return "\"" + text + "\"";
}

// Writes embeddings (and cache rows, when model is not empty) in one short
// transaction; returns the chunks set.
std::int64_t
Write(db::Connection &db, const std::vector<std::string> &ids, const std::vector<std::string> &embeddings,
      const std::string &model, const std::vector<std::string> &hashes, const std::vector<std::string> &hash_embeddings)
{
	db.Exec("BEGIN");
	try {
		const db::Result r = db.Exec("SELECT agentgres.set_chunk_embeddings($1::bigint[], $2::agentgres.embedding[])",
		                             {PlainArray(ids), EmbeddingArray(embeddings)});
		// unnest of two arrays is FROM-clause syntax: it takes no schema.
		if (!model.empty() && !hashes.empty())
			db.Exec("INSERT INTO agentgres.embedding_cache (model, content_hash, embedding) "
			        "SELECT $1, u.h, u.e FROM unnest($2::text[], $3::agentgres.embedding[]) AS u(h, e) "
			        "ON CONFLICT DO NOTHING",
			        {model, PlainArray(hashes), EmbeddingArray(hash_embeddings)});
		db.Exec("COMMIT");
		return r.IsNull(0, 0) ? 0 : r.Int(0, 0);
	} catch (const db::DbError &e) {
		if (!e.connection_lost()) {
			try {
				db.Exec("ROLLBACK");
			} catch (const db::DbError &) {
			}
		}
		// A data exception (22xxx: dimensions the column refuses) does not
		// go away by retrying.
		if (e.sqlstate().rfind("22", 0) == 0)
			throw PermanentJobError(std::string("could not store the embeddings: ") + e.what());
		throw;
	}
}

} // namespace

nlohmann::json
RunEmbedJob(const nlohmann::json &payload, LoopContext &c)
{
	DescribeEmbedderMetrics();
	auto &registry = metrics::Registry::Global();
	if (!payload.is_object() || !payload.contains("document_id") || !payload["document_id"].is_number_integer())
		throw PermanentJobError("the payload of a knowledge.embed job needs an integer \"document_id\"");
	const std::int64_t document_id = payload["document_id"].get<std::int64_t>();
	const std::string doc = std::to_string(document_id);

	const db::Result info = c.db.Exec("SELECT c.name, c.embedder, c.dims FROM agentgres.documents d "
	                                  "JOIN agentgres.collections c ON c.id = d.collection_id WHERE d.id = $1::bigint",
	                                  {doc});
	if (info.rows() == 0) // deleted since: nothing to do
		return {{"document_id", document_id}, {"embedded", 0}, {"note", "the document no longer exists"}};
	const std::string collection = info.String(0, 0);
	const std::string model = info.String(0, 1);
	const int dims = static_cast<int>(info.Int(0, 2));

	// 'lsa' models live in the database (train_embedder()), which embeds
	// those chunks itself.
	if (model == "lsa")
		throw PermanentJobError(
		    "collection " + Quoted(collection) +
		    " uses the in-database embedder \"lsa\": train_embedder() embeds its chunks, not agentgresd");
	EmbedderOptions options = EmbedderOptionsFrom(c.config);
	const bool external = model != "builtin";
	if (!external)
		options.provider = "builtin";
	else if (options.provider != "openai")
		throw PermanentJobError("collection " + Quoted(collection) + " uses the external embedder " + Quoted(model) +
		                        ", but agentgresd's embedder.provider is " + Quoted(options.provider) +
		                        ": set embedder.provider = \"openai\" and embedder.model = " + Quoted(model));
	else if (options.model != model)
		throw PermanentJobError("collection " + Quoted(collection) + " uses the embedder " + Quoted(model) +
		                        ", but agentgresd's embedder.model is " + Quoted(options.model));
	if (external && options.dims != 0 && options.dims != dims)
		throw PermanentJobError("collection " + Quoted(collection) + " has " + std::to_string(dims) +
		                        " dimensions, but agentgresd's embedder.dims is " + std::to_string(options.dims));
	options.dims = dims;
	std::unique_ptr<Embedder> embedder;
	try {
		embedder = MakeEmbedder(options);
	} catch (const EmbedderError &e) {
		Rethrow(e);
	}

	// What is missing, committed at once (autocommit).
	const db::Result chunks = c.db.Exec("SELECT id, content FROM agentgres.chunks "
	                                    "WHERE document_id = $1::bigint AND embedding IS NULL ORDER BY ordinal, id",
	                                    {doc});
	// Chunks by the hash of their text: equal texts are embedded once.
	std::map<std::string, std::vector<std::string>> ids_by_hash;
	std::vector<std::string> hashes; // first appearance order
	std::map<std::string, std::string> text_by_hash;
	for (int i = 0; i < chunks.rows(); ++i) {
		const std::string text = chunks.String(i, 1);
		const std::string hash = text::Sha256Hex(text);
		auto &ids = ids_by_hash[hash];
		if (ids.empty()) {
			hashes.push_back(hash);
			text_by_hash[hash] = text;
		}
		ids.push_back(chunks.String(i, 0));
	}

	std::int64_t written = 0, hits = 0;
	std::set<std::string> cached;
	if (external && !hashes.empty()) {
		const db::Result found =
		    c.db.Exec("SELECT content_hash, embedding::text FROM agentgres.embedding_cache "
		              "WHERE model = $1 AND content_hash = ANY ($2::text[]) AND agentgres.dims(embedding) = $3::int",
		              {model, PlainArray(hashes), std::to_string(dims)});
		std::vector<std::string> ids, embeddings;
		for (int i = 0; i < found.rows(); ++i) {
			const std::string hash = found.String(i, 0);
			cached.insert(hash);
			for (const std::string &id : ids_by_hash[hash]) {
				ids.push_back(id);
				embeddings.push_back(found.String(i, 1));
			}
		}
		hits = static_cast<std::int64_t>(ids.size());
		if (!ids.empty())
			written += Write(c.db, ids, embeddings, "", {}, {});
		registry.Add("agentgres_embedding_cache_lookups_total", {{"result", "hit"}}, static_cast<double>(hits));
		registry.Add("agentgres_embedding_cache_lookups_total", {{"result", "miss"}},
		             static_cast<double>(chunks.rows() - hits));
	}

	std::vector<std::string> missing;
	for (const std::string &hash : hashes)
		if (!cached.count(hash))
			missing.push_back(hash);
	const EmbedControl control{[&c](double seconds) { return c.Sleep(seconds); }, &c.stop};
	const std::size_t batch = static_cast<std::size_t>(std::max<std::int64_t>(1, c.config.embedder_batch_size));
	std::int64_t batches = 0;
	for (std::size_t begin = 0; begin < missing.size(); begin += batch) {
		if (c.stop)
			throw JobInterrupted(); // what is written stays written
		const std::vector<std::string> part(missing.begin() + static_cast<std::ptrdiff_t>(begin),
		                                    missing.begin() +
		                                        static_cast<std::ptrdiff_t>(std::min(missing.size(), begin + batch)));
		std::vector<std::string> texts;
		for (const std::string &hash : part)
			texts.push_back(text_by_hash[hash]);
		std::vector<std::vector<float>> vectors;
		try {
			vectors = embedder->Embed(texts, control); // no transaction open
		} catch (const EmbedderError &e) {
			Rethrow(e);
		}
		++batches;
		std::vector<std::string> ids, embeddings, vector_texts;
		for (std::size_t i = 0; i < part.size(); ++i) {
			vector_texts.push_back(EmbeddingText(vectors[i]));
			for (const std::string &id : ids_by_hash[part[i]]) {
				ids.push_back(id);
				embeddings.push_back(vector_texts.back());
			}
		}
		written += Write(c.db, ids, embeddings, external ? model : "", part, vector_texts);
	}
	registry.Add("agentgres_embeddings_written_total", {}, static_cast<double>(written));
	return {{"document_id", document_id}, {"collection", collection}, {"chunks", chunks.rows()},
	        {"cache_hits", hits},         {"batches", batches},       {"embedded", written}};
}

} // namespace agentgres::sidecar::knowledge
