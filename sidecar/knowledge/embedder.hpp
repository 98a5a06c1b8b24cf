// Embedding providers of the daemon: the built-in embedder (the same C++ the
// extension runs, offline) and any OpenAI-compatible /v1/embeddings endpoint
// (OpenAI, Ollama, llama.cpp server, vLLM).
//
// The HTTP client sends POST {url}/embeddings {"model", "input": [texts]}
// and matches the answers {"data": [{"index", "embedding"}]} by index. A
// 429, a 408, a 5xx, a timeout or a broken connection is retried (the same
// batch, whole) with exponential backoff and jitter, or after the server's
// Retry-After (capped); after max_retries the error is transient (the job is
// retried later by the queue). Any other answer that is not a well-formed
// set of finite vectors of the expected dimensions is permanent. The API key
// goes only into the Authorization header: it is cut out of every message.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace agentgres::sidecar::knowledge {

class EmbedderError : public std::runtime_error {
public:
	enum class Kind {
		kTransient,   // retrying later may work (429, 5xx, timeouts after max_retries)
		kPermanent,   // it will not (400, 401, wrong dimensions, malformed answer)
		kInterrupted, // the daemon is stopping
	};
	EmbedderError(Kind kind, const std::string &message) : std::runtime_error(message), kind_(kind) {}
	Kind
	kind() const noexcept
	{
		return kind_;
	}
	bool
	permanent() const noexcept
	{
		return kind_ == Kind::kPermanent;
	}

private:
	Kind kind_;
};

struct EmbedderOptions {
	std::string provider = "builtin"; // builtin | openai
	std::string url;                  // base URL: requests go to url + "/embeddings"
	std::string model;
	std::string api_key;            // secret
	int dims = 0;                   // expected dimensions; 0: any, but all answers alike
	int batch_size = 64;            // texts per request
	double timeout_s = 30;          // connect, and read (whole answer)
	int max_retries = 5;            // resends of one batch
	double backoff_initial_s = 0.5; // first wait without Retry-After (doubles, jittered)
	double backoff_max_s = 30;
	double retry_after_max_s = 120; // a longer Retry-After is cut to this
	std::size_t max_request_bytes = 8u << 20;
	std::size_t max_response_bytes = 64u << 20;
};

// Registers the metric families of the embedders and knowledge.embed (once).
void DescribeEmbedderMetrics();

// The embedder.* settings.
EmbedderOptions EmbedderOptionsFrom(const Config &config);

// How waits and stops reach a provider. sleep(seconds) returns false when the
// daemon stops; a request in flight is cut when *stop becomes true.
struct EmbedControl {
	std::function<bool(double seconds)> sleep;
	const std::atomic<bool> *stop = nullptr;
};

class Embedder {
public:
	virtual ~Embedder() = default;
	// The name collections use for it ("builtin", or the configured model).
	virtual std::string model() const = 0;
	// Expected dimensions (0 when any).
	virtual int dims() const = 0;
	// One vector per text, in order (split into batches of batch_size).
	// Throws EmbedderError.
	virtual std::vector<std::vector<float>>
	Embed(const std::vector<std::string> &texts, const EmbedControl &control) = 0;
};

// The provider the options name; throws EmbedderError (permanent) on a bad
// URL or an unknown provider.
std::unique_ptr<Embedder> MakeEmbedder(const EmbedderOptions &options);

// Parts of the base URL. Refused (permanent EmbedderError): a scheme other
// than http/https, user:password@ (the key belongs in embedder.api_key), a
// query or fragment, a bad port.
struct EndpointUrl {
	std::string scheme; // http | https
	std::string host;   // as written (IPv6 without brackets)
	int port = 0;
	std::string path;           // "/v1", "" for none; no trailing slash
	std::string origin() const; // scheme://host:port
};
EndpointUrl ParseEndpointUrl(const std::string &url);

// The vectors of an embeddings answer for n inputs, by "index" (answers
// without any index are taken in order). Throws a permanent EmbedderError on
// malformed JSON, a wrong count, a repeated or missing index, a non-number or
// non-finite value (also beyond float's range), or dimensions other than dims
// (when dims > 0; else all must agree).
std::vector<std::vector<float>> ParseEmbeddingsResponse(std::string_view body, std::size_t n, int dims);

// Seconds to wait from a Retry-After value: delta-seconds, or an HTTP date
// (IMF-fixdate) relative to now; nullopt when unreadable. Never negative.
std::optional<double> ParseRetryAfter(std::string_view value, std::chrono::system_clock::time_point now);

// The text form of an agentgres.embedding: [0.5,-1,3.25e-07], each float in
// its shortest exact form.
std::string EmbeddingText(const std::vector<float> &vector);

} // namespace agentgres::sidecar::knowledge
