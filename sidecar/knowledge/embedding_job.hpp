// The knowledge.embed job (payload {"document_id": n}): fills the NULL
// embeddings of a document's chunks with the collection's embedder.
//
// Read what is missing (committed at once), look each chunk text up in
// agentgres.embedding_cache by (model, SHA-256), ask the provider for the
// rest batch by batch, and write each batch (its embeddings and cache rows)
// in a new short transaction: no transaction is open during an HTTP call,
// and a batch written stays written if a later one fails. The collection's
// embedder must be the configured model and its dimensions the configured
// ones, else the job is dead at once with a message that says which.
#pragma once

#include <nlohmann/json.hpp>

#include "coordinator/loop.hpp"

namespace agentgres::sidecar::knowledge {

// Throws PermanentJobError (no retry), JobInterrupted (the daemon stops), or
// another exception (a transient failure: the queue retries the job).
nlohmann::json RunEmbedJob(const nlohmann::json &payload, LoopContext &context);

} // namespace agentgres::sidecar::knowledge
