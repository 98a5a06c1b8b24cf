#include "knowledge/embedder.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <limits>
#include <mutex>
#include <random>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "core/embedder.hpp"
#include "log/log.hpp"
#include "metrics/metrics.hpp"
#include "util/text.hpp"

namespace agentgres::sidecar::knowledge {
namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void
Permanent(const std::string &message)
{
	throw EmbedderError(EmbedderError::Kind::kPermanent, message);
}

// Text from a server, made safe for a message and a log line: printable
// ASCII only, whitespace folded, at most max bytes.
std::string
Snippet(std::string_view text, std::size_t max = 200)
{
	std::string out;
	for (const char ch : text) {
		const auto c = static_cast<unsigned char>(ch);
		if (out.size() >= max) {
			out += "...";
			break;
		}
		if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
			if (!out.empty() && out.back() != ' ')
				out.push_back(' ');
		} else
			out.push_back(c >= 0x21 && c < 0x7f ? ch : '?');
	}
	while (!out.empty() && out.back() == ' ')
		out.pop_back();
	return out;
}

std::string
ReplaceAll(std::string text, std::string_view what, std::string_view with)
{
	if (what.empty())
		return text;
	for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + with.size()))
		text.replace(at, what.size(), with);
	return text;
}

// Seconds to wait before attempt number `attempt` + 1 (0-based) without
// Retry-After: initial * 2^attempt capped, times a jitter in [0.5, 1).
double
Backoff(const EmbedderOptions &o, int attempt)
{
	thread_local std::mt19937_64 random{std::random_device{}()};
	const double base = std::min(o.backoff_max_s, o.backoff_initial_s * std::pow(2.0, std::min(attempt, 30)));
	return base * std::uniform_real_distribution<double>(0.5, 1.0)(random);
}

bool
DefaultSleep(double seconds, const std::atomic<bool> *stop)
{
	const auto until = Clock::now() + std::chrono::duration<double>(seconds);
	while (Clock::now() < until) {
		if (stop != nullptr && *stop)
			return false;
		std::this_thread::sleep_for(std::min<Clock::duration>(
		    std::chrono::milliseconds(50), std::chrono::duration_cast<Clock::duration>(until - Clock::now())));
	}
	return stop == nullptr || !*stop;
}

class BuiltinEmbedder : public Embedder {
public:
	explicit BuiltinEmbedder(int dims) : dims_(dims) {}
	std::string
	model() const override
	{
		return "builtin";
	}
	int
	dims() const override
	{
		return static_cast<int>(core::embedder::kBuiltinDimensions);
	}
	// The same vectors as the extension's embed(content, 'builtin').
	std::vector<std::vector<float>>
	Embed(const std::vector<std::string> &texts, const EmbedControl &control) override
	{
		if (dims_ != 0 && dims_ != dims())
			Permanent("the built-in embedder gives " + std::to_string(dims()) + " dimensions, not " +
			          std::to_string(dims_));
		std::vector<std::vector<float>> out;
		out.reserve(texts.size());
		for (const std::string &t : texts) {
			if (control.stop != nullptr && *control.stop)
				throw EmbedderError(EmbedderError::Kind::kInterrupted, "interrupted by shutdown");
			out.emplace_back(dims());
			core::embedder::EmbedBuiltin(t, out.back());
		}
		return out;
	}

private:
	int dims_;
};

class OpenAiEmbedder : public Embedder {
public:
	explicit OpenAiEmbedder(EmbedderOptions options)
	    : options_(std::move(options)), url_(ParseEndpointUrl(options_.url)), client_(url_.origin())
	{
		const auto timeout = std::chrono::duration_cast<std::chrono::microseconds>(
		    std::chrono::duration<double>(options_.timeout_s));
		client_.set_connection_timeout(timeout);
		client_.set_read_timeout(timeout);
		client_.set_write_timeout(timeout);
		client_.set_keep_alive(true);
		client_.set_follow_location(false);
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
		client_.enable_server_certificate_verification(true);
#endif
		endpoint_ = url_.origin() + url_.path + "/embeddings";
	}
	std::string
	model() const override
	{
		return options_.model;
	}
	int
	dims() const override
	{
		return options_.dims;
	}

	std::vector<std::vector<float>>
	Embed(const std::vector<std::string> &texts, const EmbedControl &control) override
	{
		std::vector<std::vector<float>> out;
		out.reserve(texts.size());
		std::size_t begin = 0;
		while (begin < texts.size()) {
			// A batch is batch_size texts, fewer when they would make the
			// request body too large.
			std::size_t end = begin, bytes = 0;
			while (end < texts.size() && end - begin < static_cast<std::size_t>(options_.batch_size)) {
				const std::size_t size = texts[end].size() + 16;
				if (end > begin && bytes + size > options_.max_request_bytes)
					break;
				bytes += size;
				++end;
			}
			std::vector<std::vector<float>> batch =
			    EmbedBatch(std::vector<std::string>(texts.begin() + begin, texts.begin() + end), control);
			for (auto &v : batch)
				out.push_back(std::move(v));
			begin = end;
		}
		return out;
	}

private:
	struct Attempt {
		bool transport_ok = false;
		int status = 0;
		std::string body;
		std::string error;        // transport failure, in words
		std::string retry_reason; // "429", "5xx", "timeout", "connection"; "" = do not retry
		std::optional<double> retry_after;
		bool interrupted = false;
	};

	std::string
	Redact(std::string text) const
	{
		return ReplaceAll(std::move(text), options_.api_key, "[redacted]");
	}

	std::vector<std::vector<float>>
	EmbedBatch(const std::vector<std::string> &texts, const EmbedControl &control)
	{
		// Invalid UTF-8 in a chunk becomes U+FFFD rather than an exception.
		const std::string body = nlohmann::json{{"model", options_.model}, {"input", texts}}.dump(
		    -1, ' ', false, nlohmann::json::error_handler_t::replace);
		if (body.size() > options_.max_request_bytes)
			Permanent("an embeddings request of " + std::to_string(body.size()) + " bytes exceeds the limit of " +
			          std::to_string(options_.max_request_bytes) + " bytes");
		auto &registry = metrics::Registry::Global();
		for (int attempt = 0;; ++attempt) {
			if (control.stop != nullptr && *control.stop)
				throw EmbedderError(EmbedderError::Kind::kInterrupted, "interrupted by shutdown");
			const auto started = Clock::now();
			Attempt a = Post(body, control);
			registry.Observe("agentgres_embedder_request_duration_seconds", {},
			                 std::chrono::duration<double>(Clock::now() - started).count());
			if (a.interrupted)
				throw EmbedderError(EmbedderError::Kind::kInterrupted, "interrupted by shutdown");
			std::string what;
			if (a.transport_ok && a.status >= 200 && a.status < 300) {
				try {
					auto vectors = ParseEmbeddingsResponse(a.body, texts.size(), options_.dims);
					registry.Add("agentgres_embedder_requests_total", {{"outcome", "ok"}});
					return vectors;
				} catch (const EmbedderError &e) {
					registry.Add("agentgres_embedder_requests_total", {{"outcome", "failed"}});
					Permanent(Redact("bad embeddings response from " + endpoint_ + ": " + e.what()));
				}
			}
			if (a.transport_ok) {
				what = "HTTP " + std::to_string(a.status);
				if (const std::string detail = Snippet(ErrorMessage(a.body)); !detail.empty())
					what += ": " + detail;
			} else
				what = a.error;
			what = Redact("embeddings request to " + endpoint_ + " failed: " + what);
			if (a.retry_reason.empty()) {
				registry.Add("agentgres_embedder_requests_total", {{"outcome", "failed"}});
				Permanent(what);
			}
			if (attempt >= options_.max_retries) {
				registry.Add("agentgres_embedder_requests_total", {{"outcome", "failed"}});
				throw EmbedderError(EmbedderError::Kind::kTransient,
				                    what + " (gave up after " + std::to_string(attempt + 1) + " attempts)");
			}
			registry.Add("agentgres_embedder_requests_total", {{"outcome", "retried"}});
			registry.Add("agentgres_embedder_retries_total", {{"reason", a.retry_reason}});
			const double wait = a.retry_after ? std::min(*a.retry_after, options_.retry_after_max_s)
			                                  : Backoff(options_, attempt);
			log::Warn("embedder", "embeddings request failed; the batch is sent again",
			          {{"error", what},
			           {"attempt", attempt + 1},
			           {"wait_s", wait},
			           {"retry_after", a.retry_after.has_value()}});
			const bool awake = control.sleep ? control.sleep(wait) : DefaultSleep(wait, control.stop);
			if (!awake)
				throw EmbedderError(EmbedderError::Kind::kInterrupted, "interrupted by shutdown");
		}
	}

	// The message of an OpenAI-style error body ({"error": {"message"}} or
	// {"error": "..."}), else the body.
	static std::string
	ErrorMessage(const std::string &body)
	{
		const nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
		if (j.is_object() && j.contains("error")) {
			const nlohmann::json &e = j["error"];
			if (e.is_string())
				return e.get<std::string>();
			if (e.is_object() && e.contains("message") && e["message"].is_string())
				return e["message"].get<std::string>();
		}
		return body;
	}

	// One POST, its answer read whole (up to max_response_bytes and within
	// timeout_s), cut short when *control.stop becomes true.
	Attempt
	Post(const std::string &body, const EmbedControl &control)
	{
		Attempt a;
		enum class Cut { kNone, kTooLarge, kTimeout, kStop };
		std::atomic<Cut> cut{Cut::kNone}; // the watcher thread writes it too
		const auto deadline = Clock::now() + std::chrono::duration<double>(options_.timeout_s);

		httplib::Request req;
		req.method = "POST";
		req.path = url_.path + "/embeddings";
		req.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
		if (!options_.api_key.empty())
			req.headers.emplace("Authorization", "Bearer " + options_.api_key);
		req.body = body;
		req.content_receiver = [&](const char *data, std::size_t n, std::uint64_t, std::uint64_t) {
			if (a.body.size() + n > options_.max_response_bytes) {
				cut = Cut::kTooLarge;
				return false;
			}
			if (Clock::now() > deadline) {
				cut = Cut::kTimeout;
				return false;
			}
			a.body.append(data, n);
			return true;
		};

		// A watcher cuts the request when the daemon stops.
		std::mutex mutex;
		std::condition_variable done_cv;
		bool done = false;
		std::thread watcher;
		if (control.stop != nullptr)
			watcher = std::thread([&] {
				std::unique_lock<std::mutex> lock(mutex);
				while (!done) {
					if (*control.stop) {
						cut = Cut::kStop;
						client_.stop();
						return;
					}
					done_cv.wait_for(lock, std::chrono::milliseconds(50));
				}
			});
		httplib::Response res;
		httplib::Error error = httplib::Error::Success;
		const bool sent = client_.send(req, res, error);
		if (watcher.joinable()) {
			{
				std::lock_guard<std::mutex> lock(mutex);
				done = true;
			}
			done_cv.notify_all();
			watcher.join();
		}

		if (cut == Cut::kStop || (control.stop != nullptr && *control.stop && !sent)) {
			a.interrupted = true;
			return a;
		}
		if (cut == Cut::kTooLarge) {
			a.error = "the answer exceeds " + std::to_string(options_.max_response_bytes) + " bytes";
			return a; // permanent
		}
		if (cut == Cut::kTimeout) {
			a.error = "no complete answer within " + text::Number(options_.timeout_s) + " s";
			a.retry_reason = "timeout";
			return a;
		}
		if (!sent) {
			a.error = httplib::to_string(error);
			switch (error) {
			case httplib::Error::SSLLoadingCerts:
			case httplib::Error::SSLServerVerification:
			case httplib::Error::UnsupportedMultipartBoundaryChars:
				a.error += " (not retried)";
				break;
			case httplib::Error::Read:
			case httplib::Error::ConnectionTimeout:
				a.error += " (timeout or connection closed after " + text::Number(options_.timeout_s) + " s)";
				a.retry_reason = "timeout";
				break;
			default:
				a.retry_reason = "connection";
			}
			return a;
		}
		a.transport_ok = true;
		a.status = res.status;
		if (res.status == 429)
			a.retry_reason = "429";
		else if (res.status == 408)
			a.retry_reason = "timeout";
		else if (res.status >= 500 && res.status <= 599)
			a.retry_reason = "5xx";
		if (!a.retry_reason.empty() && res.has_header("Retry-After"))
			a.retry_after = ParseRetryAfter(res.get_header_value("Retry-After"), std::chrono::system_clock::now());
		return a;
	}

	EmbedderOptions options_;
	EndpointUrl url_;
	httplib::Client client_;
	std::string endpoint_; // for messages: no key, no credentials
};

} // namespace

void
DescribeEmbedderMetrics()
{
	static std::once_flag once;
	std::call_once(once, [] {
		auto &r = metrics::Registry::Global();
		r.Describe("agentgres_embedder_requests_total", "counter",
		           "embedding requests by outcome: ok, retried (429, 5xx or timeout: the batch is sent again), failed");
		r.Describe("agentgres_embedder_retries_total", "counter",
		           "embedding batches sent again, by reason (429, 5xx, timeout, connection)");
		r.Describe("agentgres_embedder_request_duration_seconds", "histogram", "wall time of one embedding request");
		r.Describe("agentgres_embedding_cache_lookups_total", "counter",
		           "chunks looked up in agentgres.embedding_cache by knowledge.embed jobs, by result (hit, miss)");
		r.Describe("agentgres_embeddings_written_total", "counter", "chunk embeddings written by knowledge.embed jobs");
	});
}

EmbedderOptions
EmbedderOptionsFrom(const Config &config)
{
	EmbedderOptions o;
	o.provider = config.embedder_provider;
	o.url = config.embedder_url;
	o.model = config.embedder_model;
	o.api_key = config.embedder_api_key;
	o.dims = static_cast<int>(config.embedder_dims);
	o.batch_size = static_cast<int>(config.embedder_batch_size);
	o.timeout_s = config.embedder_timeout_s;
	o.max_retries = static_cast<int>(config.embedder_max_retries);
	return o;
}

std::unique_ptr<Embedder>
MakeEmbedder(const EmbedderOptions &options)
{
	DescribeEmbedderMetrics();
	if (options.provider == "builtin")
		return std::make_unique<BuiltinEmbedder>(options.dims);
	if (options.provider == "openai") {
		if (options.model.empty())
			Permanent("setting \"embedder.model\" is empty: the OpenAI-compatible embedder needs a model name");
		if (options.batch_size < 1)
			Permanent("setting \"embedder.batch_size\" must be at least 1");
		return std::make_unique<OpenAiEmbedder>(options);
	}
	Permanent("unknown embedder provider \"" + Snippet(options.provider, 40) + "\" (builtin or openai)");
}

std::string
EndpointUrl::origin() const
{
	const bool v6 = host.find(':') != std::string::npos;
	return scheme + "://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

EndpointUrl
ParseEndpointUrl(const std::string &url)
{
	// Messages never quote the URL whole: it might hold a password.
	EndpointUrl u;
	const std::size_t colon = url.find("://");
	if (colon == std::string::npos)
		Permanent("setting \"embedder.url\" must start with http:// or https://");
	u.scheme = url.substr(0, colon);
	std::transform(u.scheme.begin(), u.scheme.end(), u.scheme.begin(),
	               [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
	if (u.scheme != "http" && u.scheme != "https")
		Permanent("setting \"embedder.url\" must start with http:// or https://");
	std::string rest = url.substr(colon + 3);
	if (rest.find_first_of("?#") != std::string::npos)
		Permanent("setting \"embedder.url\" must not have a query or fragment: give the base URL (…/v1)");
	const std::size_t slash = rest.find('/');
	std::string authority = rest.substr(0, slash);
	u.path = slash == std::string::npos ? "" : rest.substr(slash);
	while (!u.path.empty() && u.path.back() == '/')
		u.path.pop_back();
	if (authority.find('@') != std::string::npos)
		Permanent("setting \"embedder.url\" must not hold credentials: put the key in \"embedder.api_key\"");
	std::string port;
	if (!authority.empty() && authority[0] == '[') {
		const std::size_t close = authority.find(']');
		if (close == std::string::npos)
			Permanent("setting \"embedder.url\" has an unclosed IPv6 address");
		u.host = authority.substr(1, close - 1);
		const std::string after = authority.substr(close + 1);
		if (!after.empty() && after[0] != ':')
			Permanent("setting \"embedder.url\" has text after its IPv6 address");
		port = after.empty() ? "" : after.substr(1);
	} else {
		const std::size_t p = authority.rfind(':');
		u.host = authority.substr(0, p);
		port = p == std::string::npos ? "" : authority.substr(p + 1);
	}
	if (u.host.empty())
		Permanent("setting \"embedder.url\" has no host");
	if (u.host.find_first_of(" \t\r\n/\\") != std::string::npos)
		Permanent("setting \"embedder.url\" has a malformed host");
	if (port.empty())
		u.port = u.scheme == "https" ? 443 : 80;
	else {
		const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), u.port);
		if (ec != std::errc() || end != port.data() + port.size() || u.port < 1 || u.port > 65535)
			Permanent("setting \"embedder.url\" has a bad port");
	}
	if (u.path.find_first_of(" \t\r\n") != std::string::npos)
		Permanent("setting \"embedder.url\" has white space in its path");
	return u;
}

std::vector<std::vector<float>>
ParseEmbeddingsResponse(std::string_view body, std::size_t n, int dims)
{
	const nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
	if (j.is_discarded())
		Permanent("malformed JSON (" + Snippet(body, 80) + ")");
	if (!j.is_object() || !j.contains("data") || !j["data"].is_array())
		Permanent("no \"data\" array in the answer");
	const nlohmann::json &data = j["data"];
	if (data.size() != n)
		Permanent(std::to_string(data.size()) + " embeddings for " + std::to_string(n) + " inputs");
	std::vector<std::vector<float>> out(n);
	std::vector<bool> seen(n, false);
	const bool indexed = n > 0 && data[0].is_object() && data[0].contains("index");
	std::size_t expected = dims > 0 ? static_cast<std::size_t>(dims) : 0;
	for (std::size_t i = 0; i < data.size(); ++i) {
		const nlohmann::json &item = data[i];
		if (!item.is_object())
			Permanent("data[" + std::to_string(i) + "] is not an object");
		std::size_t index = i;
		if (indexed) {
			const nlohmann::json *ix = item.contains("index") ? &item["index"] : nullptr;
			// Non-negative JSON integers parse as unsigned.
			if (ix == nullptr || !ix->is_number_unsigned() || ix->get<std::uint64_t>() >= n)
				Permanent("data[" + std::to_string(i) + "] has no valid \"index\" (0 to " + std::to_string(n - 1) +
				          ")");
			index = item["index"].get<std::size_t>();
		} else if (item.contains("index"))
			Permanent("data[" + std::to_string(i) + "] has an \"index\" where data[0] has none");
		if (seen[index])
			Permanent("index " + std::to_string(index) + " appears twice");
		seen[index] = true;
		if (!item.contains("embedding") || !item["embedding"].is_array())
			Permanent("data[" + std::to_string(i) + "] has no \"embedding\" array");
		const nlohmann::json &e = item["embedding"];
		if (e.empty())
			Permanent("data[" + std::to_string(i) + "] has an empty embedding");
		if (expected == 0)
			expected = e.size();
		if (e.size() != expected)
			Permanent("the embedder returned a " + std::to_string(e.size()) + "-dimensional embedding, expected " +
			          std::to_string(expected) + " dimensions");
		std::vector<float> &v = out[index];
		v.reserve(e.size());
		for (const nlohmann::json &x : e) {
			if (!x.is_number())
				Permanent("data[" + std::to_string(i) + "].embedding holds a " + std::string(x.type_name()) +
				          ", not a number");
			const double d = x.get<double>();
			if (!std::isfinite(d) || std::fabs(d) > std::numeric_limits<float>::max())
				Permanent("data[" + std::to_string(i) + "].embedding holds a non-finite number (or one beyond float)");
			v.push_back(static_cast<float>(d));
		}
	}
	return out;
}

std::optional<double>
ParseRetryAfter(std::string_view value, std::chrono::system_clock::time_point now)
{
	while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
		value.remove_prefix(1);
	while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
		value.remove_suffix(1);
	if (value.empty())
		return std::nullopt;
	if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
		if (value.size() > 9)
			return 1e9; // capped by the caller
		double seconds = 0;
		for (const char c : value)
			seconds = seconds * 10 + (c - '0');
		return seconds;
	}
	// IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
	std::tm tm{};
	char weekday[4] = {}, month[4] = {}, zone[4] = {};
	int day = 0, year = 0, hour = 0, minute = 0, second = 0;
	const std::string text(value);
	if (std::sscanf(text.c_str(), "%3s, %d %3s %d %d:%d:%d %3s", weekday, &day, month, &year, &hour, &minute, &second,
	                zone) != 8 ||
	    std::string_view(zone) != "GMT")
		return std::nullopt;
	static const char *const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	int mon = -1;
	for (int m = 0; m < 12; ++m)
		if (std::string_view(month) == kMonths[m])
			mon = m;
	if (mon < 0 || day < 1 || day > 31 || year < 1970 || year > 9999 || hour > 23 || minute > 59 || second > 60 ||
	    hour < 0 || minute < 0 || second < 0)
		return std::nullopt;
	tm.tm_year = year - 1900;
	tm.tm_mon = mon;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = minute;
	tm.tm_sec = second;
	const std::time_t at = timegm(&tm);
	const double seconds = std::chrono::duration<double>(std::chrono::system_clock::from_time_t(at) - now).count();
	return std::max(0.0, seconds);
}

std::string
EmbeddingText(const std::vector<float> &vector)
{
	std::string out = "[";
	char buffer[32];
	for (std::size_t i = 0; i < vector.size(); ++i) {
		if (i)
			out.push_back(',');
		const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, vector[i]);
		out.append(buffer, end);
	}
	return out + "]";
}

} // namespace agentgres::sidecar::knowledge
