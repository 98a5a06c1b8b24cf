// The OpenAI-compatible embeddings client against a real in-process HTTP
// server on 127.0.0.1 speaking the protocol: batching and order by index,
// 429 with Retry-After, 500, a slow answer past the timeout, wrong
// dimensions, malformed JSON, NaN, 401 (the key never in the message), the
// Authorization header; and the pure helpers (Retry-After, URLs, SHA-256).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "core/embedder.hpp"
#include "knowledge/embedder.hpp"

namespace agentgres::sidecar::knowledge {
namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

// A deterministic vector per text: the client's answers can be checked.
std::vector<float>
VectorOf(const std::string &text, int dims)
{
	std::vector<float> v(dims);
	for (int j = 0; j < dims; ++j)
		v[j] = static_cast<float>(text.size()) + 0.25f * static_cast<float>(j);
	return v;
}

// The body of a correct answer, its items in reverse order (the client must
// match them by index).
std::string
Answer(const std::vector<std::string> &inputs, int dims)
{
	Json data = Json::array();
	for (std::size_t i = inputs.size(); i-- > 0;)
		data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", VectorOf(inputs[i], dims)}});
	return Json{{"object", "list"}, {"data", data}, {"model", "m"}}.dump();
}

struct Seen {
	std::string body;
	std::string authorization;
	Clock::time_point at;
};

// POST /v1/embeddings. Each request takes the next scripted reply; with
// none left it answers correctly with `dims` dimensions.
class FakeServer {
public:
	using Reply = std::function<void(const std::vector<std::string> &inputs, httplib::Response &res)>;

	FakeServer()
	{
		server_.Post("/v1/embeddings", [this](const httplib::Request &req, httplib::Response &res) {
			Reply reply;
			{
				std::lock_guard<std::mutex> lock(mutex_);
				seen_.push_back({req.body, req.get_header_value("Authorization"), Clock::now()});
				if (!script_.empty()) {
					reply = std::move(script_.front());
					script_.pop_front();
				}
			}
			const Json j = Json::parse(req.body);
			const auto inputs = j.at("input").get<std::vector<std::string>>();
			if (reply)
				reply(inputs, res);
			else
				res.set_content(Answer(inputs, dims), "application/json");
		});
		port_ = server_.bind_to_any_port("127.0.0.1");
		thread_ = std::thread([this] { server_.listen_after_bind(); });
		// stop() before the accept loop runs would not stop it.
		while (!server_.is_running())
			std::this_thread::sleep_for(std::chrono::milliseconds(1));
	}
	~FakeServer()
	{
		server_.stop();
		thread_.join();
	}
	void
	Then(Reply reply)
	{
		std::lock_guard<std::mutex> lock(mutex_);
		script_.push_back(std::move(reply));
	}
	std::vector<Seen>
	seen()
	{
		std::lock_guard<std::mutex> lock(mutex_);
		return seen_;
	}
	std::string
	url() const
	{
		return "http://127.0.0.1:" + std::to_string(port_) + "/v1/";
	}
	int dims = 4;

private:
	httplib::Server server_;
	int port_ = 0;
	std::thread thread_;
	std::mutex mutex_;
	std::deque<Reply> script_;
	std::vector<Seen> seen_;
};

FakeServer::Reply
Status(int status, std::string body = "{}", std::string retry_after = "")
{
	return [=](const std::vector<std::string> &, httplib::Response &res) {
		res.status = status;
		if (!retry_after.empty())
			res.set_header("Retry-After", retry_after);
		res.set_content(body, "application/json");
	};
}

FakeServer::Reply
Body(std::string body)
{
	return [=](const std::vector<std::string> &, httplib::Response &res) { res.set_content(body, "application/json"); };
}

EmbedderOptions
Options(const FakeServer &server)
{
	EmbedderOptions o;
	o.provider = "openai";
	o.url = server.url();
	o.model = "fake-model";
	o.api_key = "sk-test-SECRET-0123456789";
	o.dims = 4;
	o.batch_size = 3;
	o.timeout_s = 5;
	o.max_retries = 3;
	o.backoff_initial_s = 0.05;
	o.backoff_max_s = 0.2;
	return o;
}

std::vector<std::string>
Texts(int n)
{
	std::vector<std::string> texts;
	for (int i = 0; i < n; ++i)
		texts.push_back(std::string(static_cast<std::size_t>(i + 1), 'a' + i % 26) + " chunk");
	return texts;
}

// The error an Embed call throws (failing the test if none).
EmbedderError
ErrorOf(Embedder &embedder, const std::vector<std::string> &texts, const EmbedControl &control = {})
{
	try {
		embedder.Embed(texts, control);
	} catch (const EmbedderError &e) {
		return e;
	}
	ADD_FAILURE() << "Embed did not throw";
	return EmbedderError(EmbedderError::Kind::kTransient, "");
}

TEST(Embedder, BatchesInOrderWithTheKeyAndModel)
{
	FakeServer server;
	auto embedder = MakeEmbedder(Options(server));
	const auto texts = Texts(7);
	const auto vectors = embedder->Embed(texts, {});
	ASSERT_EQ(vectors.size(), texts.size());
	for (std::size_t i = 0; i < texts.size(); ++i)
		EXPECT_EQ(vectors[i], VectorOf(texts[i], 4)) << i;
	const auto seen = server.seen();
	ASSERT_EQ(seen.size(), 3u); // 3 + 3 + 1
	std::vector<std::string> sent;
	for (const Seen &s : seen) {
		const Json j = Json::parse(s.body);
		EXPECT_EQ(j.at("model"), "fake-model");
		EXPECT_LE(j.at("input").size(), 3u);
		for (const auto &t : j.at("input"))
			sent.push_back(t.get<std::string>());
		EXPECT_EQ(s.authorization, "Bearer sk-test-SECRET-0123456789");
	}
	EXPECT_EQ(sent, texts);
	EXPECT_EQ(embedder->model(), "fake-model");
	EXPECT_EQ(embedder->dims(), 4);
}

TEST(Embedder, NoKeyNoAuthorizationHeader)
{
	FakeServer server;
	EmbedderOptions o = Options(server);
	o.api_key.clear();
	MakeEmbedder(o)->Embed(Texts(1), {});
	ASSERT_EQ(server.seen().size(), 1u);
	EXPECT_EQ(server.seen()[0].authorization, "");
}

TEST(Embedder, RetryAfterIsHonouredAndTheBatchResentWhole)
{
	FakeServer server;
	server.Then(Status(429, R"({"error": {"message": "rate limited"}})", "1"));
	auto embedder = MakeEmbedder(Options(server));
	const auto texts = Texts(3);
	const auto started = Clock::now();
	const auto vectors = embedder->Embed(texts, {});
	const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
	ASSERT_EQ(vectors.size(), 3u);
	EXPECT_EQ(vectors[2], VectorOf(texts[2], 4));
	const auto seen = server.seen();
	ASSERT_EQ(seen.size(), 2u);
	EXPECT_EQ(seen[0].body, seen[1].body); // the same batch, not a part of it
	EXPECT_GE(std::chrono::duration<double>(seen[1].at - seen[0].at).count(), 0.95);
	EXPECT_GE(elapsed, 0.95);
	EXPECT_LT(elapsed, 4.0);
}

TEST(Embedder, RetryAfterAsAnHttpDate)
{
	FakeServer server;
	// A date in the past: no wait at all (but a retry).
	server.Then(Status(503, "busy", "Sun, 06 Nov 1994 08:49:37 GMT"));
	const auto vectors = MakeEmbedder(Options(server))->Embed(Texts(2), {});
	EXPECT_EQ(vectors.size(), 2u);
	EXPECT_EQ(server.seen().size(), 2u);
}

TEST(Embedder, ServerErrorIsRetriedWithBackoff)
{
	FakeServer server;
	server.Then(Status(500, "oops"));
	server.Then(Status(502, "bad gateway"));
	const auto texts = Texts(2);
	const auto vectors = MakeEmbedder(Options(server))->Embed(texts, {});
	EXPECT_EQ(vectors[0], VectorOf(texts[0], 4));
	const auto seen = server.seen();
	ASSERT_EQ(seen.size(), 3u);
	EXPECT_EQ(seen[0].body, seen[2].body);
	// Backoff 0.05 s then 0.1 s, jittered by [0.5, 1).
	EXPECT_GE(std::chrono::duration<double>(seen[1].at - seen[0].at).count(), 0.02);
}

TEST(Embedder, ServerErrorsPastMaxRetriesAreTransient)
{
	FakeServer server;
	for (int i = 0; i < 10; ++i)
		server.Then(Status(503, R"({"error": "overloaded"})"));
	EmbedderOptions o = Options(server);
	o.max_retries = 2;
	auto embedder = MakeEmbedder(o);
	const EmbedderError e = ErrorOf(*embedder, Texts(1));
	EXPECT_EQ(e.kind(), EmbedderError::Kind::kTransient);
	EXPECT_NE(std::string(e.what()).find("HTTP 503: overloaded"), std::string::npos) << e.what();
	EXPECT_NE(std::string(e.what()).find("3 attempts"), std::string::npos) << e.what();
	EXPECT_EQ(server.seen().size(), 3u);
}

TEST(Embedder, SlowAnswerPastTheTimeoutIsRetriedThenTransient)
{
	FakeServer server;
	for (int i = 0; i < 2; ++i)
		server.Then([&server](const std::vector<std::string> &inputs, httplib::Response &res) {
			std::this_thread::sleep_for(std::chrono::milliseconds(1200));
			res.set_content(Answer(inputs, server.dims), "application/json");
		});
	EmbedderOptions o = Options(server);
	o.timeout_s = 0.4;
	o.max_retries = 1;
	auto embedder = MakeEmbedder(o);
	const auto started = Clock::now();
	const EmbedderError e = ErrorOf(*embedder, Texts(2));
	const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
	EXPECT_EQ(e.kind(), EmbedderError::Kind::kTransient) << e.what();
	EXPECT_NE(std::string(e.what()).find("timeout"), std::string::npos) << e.what();
	EXPECT_EQ(server.seen().size(), 2u);
	EXPECT_GE(elapsed, 0.75);
	EXPECT_LT(elapsed, 2.0); // the client did not wait for the slow answers
}

TEST(Embedder, SlowAnswerThenSuccess)
{
	FakeServer server;
	server.Then([&server](const std::vector<std::string> &inputs, httplib::Response &res) {
		std::this_thread::sleep_for(std::chrono::milliseconds(1000));
		res.set_content(Answer(inputs, server.dims), "application/json");
	});
	EmbedderOptions o = Options(server);
	o.timeout_s = 0.3;
	const auto texts = Texts(3);
	const auto vectors = MakeEmbedder(o)->Embed(texts, {});
	EXPECT_EQ(vectors[1], VectorOf(texts[1], 4));
	EXPECT_EQ(server.seen().size(), 2u);
}

TEST(Embedder, WrongDimensionsArePermanentAndNameBothNumbers)
{
	FakeServer server;
	server.dims = 3;
	auto embedder = MakeEmbedder(Options(server));
	const EmbedderError e = ErrorOf(*embedder, Texts(2));
	EXPECT_EQ(e.kind(), EmbedderError::Kind::kPermanent);
	EXPECT_NE(std::string(e.what()).find("3-dimensional"), std::string::npos) << e.what();
	EXPECT_NE(std::string(e.what()).find("expected 4"), std::string::npos) << e.what();
	EXPECT_EQ(server.seen().size(), 1u); // not retried
}

TEST(Embedder, MalformedAnswersArePermanent)
{
	const std::vector<std::pair<std::string, std::string>> cases = {
	    {"not json at all", "malformed JSON"},
	    {R"({"data": [{"index": 0, "embedding": [1, 2, 3, 4]})", "malformed JSON"}, // cut short
	    {R"({"data": [{"index": 0, "embedding": [NaN, 2, 3, 4]}]})", "malformed JSON"},
	    {R"({"data": [{"index": 0, "embedding": [1e999, 2, 3, 4]}]})", "malformed JSON"}, // overflows a double
	    {R"({"data": [{"index": 0, "embedding": [1e39, 2, 3, 4]}]})", "non-finite"},
	    {R"({"data": [{"index": 0, "embedding": [null, 2, 3, 4]}]})", "not a number"},
	    {R"({"data": [{"index": 0, "embedding": ["1", 2, 3, 4]}]})", "not a number"},
	    {R"({"data": []})", "0 embeddings for 1 inputs"},
	    {R"({"data": [{"index": 0, "embedding": [1, 2, 3, 4]}, {"index": 1, "embedding": [1, 2, 3, 4]}]})",
	     "2 embeddings for 1 inputs"},
	    {R"({"data": [{"index": 7, "embedding": [1, 2, 3, 4]}]})", "valid \"index\""},
	    {R"({"data": [{"index": -1, "embedding": [1, 2, 3, 4]}]})", "valid \"index\""},
	    {R"({"object": "list"})", "no \"data\" array"},
	    {R"([1, 2])", "no \"data\" array"},
	    {R"({"data": [{"index": 0}]})", "no \"embedding\" array"},
	};
	for (const auto &[body, expected] : cases) {
		FakeServer server;
		server.Then(Body(body));
		auto embedder = MakeEmbedder(Options(server));
		const EmbedderError e = ErrorOf(*embedder, Texts(1));
		EXPECT_EQ(e.kind(), EmbedderError::Kind::kPermanent) << body;
		EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << body << " -> " << e.what();
		EXPECT_EQ(server.seen().size(), 1u) << body;
	}
}

TEST(Embedder, RepeatedIndexIsPermanent)
{
	FakeServer server;
	server.Then(
	    Body(R"({"data": [{"index": 1, "embedding": [1, 2, 3, 4]}, {"index": 1, "embedding": [1, 2, 3, 4]}]})"));
	auto embedder = MakeEmbedder(Options(server));
	const EmbedderError e = ErrorOf(*embedder, Texts(2));
	EXPECT_EQ(e.kind(), EmbedderError::Kind::kPermanent);
	EXPECT_NE(std::string(e.what()).find("index 1 appears twice"), std::string::npos) << e.what();
}

TEST(Embedder, UnauthorizedIsPermanentAndNeverShowsTheKey)
{
	FakeServer server;
	// A server that echoes the key it was given.
	server.Then(Status(401, R"({"error": {"message": "Incorrect API key provided: sk-test-SECRET-0123456789"}})"));
	auto embedder = MakeEmbedder(Options(server));
	const EmbedderError e = ErrorOf(*embedder, Texts(1));
	EXPECT_EQ(e.kind(), EmbedderError::Kind::kPermanent);
	EXPECT_NE(std::string(e.what()).find("HTTP 401"), std::string::npos) << e.what();
	EXPECT_EQ(std::string(e.what()).find("SECRET"), std::string::npos) << e.what();
	EXPECT_NE(std::string(e.what()).find("[redacted]"), std::string::npos) << e.what();
	EXPECT_EQ(server.seen().size(), 1u);
	EXPECT_EQ(server.seen()[0].authorization, "Bearer sk-test-SECRET-0123456789");
}

TEST(Embedder, ClientErrorsArePermanent)
{
	for (const int status : {400, 403, 404, 413, 422}) {
		FakeServer server;
		server.Then(Status(status, R"({"error": "no"})"));
		auto embedder = MakeEmbedder(Options(server));
		const EmbedderError e = ErrorOf(*embedder, Texts(1));
		EXPECT_EQ(e.kind(), EmbedderError::Kind::kPermanent) << status;
		EXPECT_NE(std::string(e.what()).find("HTTP " + std::to_string(status)), std::string::npos) << e.what();
		EXPECT_EQ(server.seen().size(), 1u) << status;
	}
}

TEST(Embedder, OversizedAnswerIsRefused)
{
	FakeServer server;
	server.Then(Body(std::string(4096, ' ') + Answer(Texts(1), 4)));
	EmbedderOptions o = Options(server);
	o.max_response_bytes = 1024;
	auto embedder = MakeEmbedder(o);
	const EmbedderError e = ErrorOf(*embedder, Texts(1));
	EXPECT_EQ(e.kind(), EmbedderError::Kind::kPermanent) << e.what();
	EXPECT_NE(std::string(e.what()).find("exceeds 1024 bytes"), std::string::npos) << e.what();
}

TEST(Embedder, ConnectionRefusedIsTransient)
{
	int port = 0;
	{
		FakeServer closed; // a port that was just free
		port = std::stoi(closed.url().substr(std::string("http://127.0.0.1:").size()));
	}
	EmbedderOptions o;
	o.provider = "openai";
	o.url = "http://127.0.0.1:" + std::to_string(port) + "/v1";
	o.model = "m";
	o.max_retries = 1;
	o.backoff_initial_s = 0.01;
	auto embedder = MakeEmbedder(o);
	const EmbedderError e = ErrorOf(*embedder, Texts(1));
	EXPECT_EQ(e.kind(), EmbedderError::Kind::kTransient) << e.what();
}

TEST(Embedder, StopCutsARequestInFlight)
{
	FakeServer server;
	server.Then([](const std::vector<std::string> &, httplib::Response &res) {
		std::this_thread::sleep_for(std::chrono::milliseconds(1500));
		res.status = 500;
	});
	EmbedderOptions o = Options(server);
	o.timeout_s = 30;
	auto embedder = MakeEmbedder(o);
	std::atomic<bool> stop{false};
	std::thread stopper([&] {
		std::this_thread::sleep_for(std::chrono::milliseconds(200));
		stop = true;
	});
	const auto started = Clock::now();
	const EmbedderError e = ErrorOf(*embedder, Texts(1), EmbedControl{{}, &stop});
	stopper.join();
	EXPECT_EQ(e.kind(), EmbedderError::Kind::kInterrupted) << e.what();
	EXPECT_LT(std::chrono::duration<double>(Clock::now() - started).count(), 1.0);
}

TEST(Embedder, ParsesEmbeddingsWithoutIndexInOrder)
{
	const auto v = ParseEmbeddingsResponse(R"({"data": [{"embedding": [1, 2]}, {"embedding": [3, 4.5]}]})", 2, 0);
	ASSERT_EQ(v.size(), 2u);
	EXPECT_EQ(v[1], (std::vector<float>{3, 4.5f}));
	EXPECT_THROW(ParseEmbeddingsResponse(R"({"data": [{"embedding": [1, 2]}, {"embedding": [3]}]})", 2, 0),
	             EmbedderError); // dimensions must agree
}

TEST(Embedder, RetryAfterValues)
{
	const auto now = std::chrono::system_clock::from_time_t(784111777); // Sun, 06 Nov 1994 08:49:37 GMT
	EXPECT_EQ(ParseRetryAfter("1", now), 1.0);
	EXPECT_EQ(ParseRetryAfter(" 120 ", now), 120.0);
	EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:47 GMT", now), 10.0);
	EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:27 GMT", now), 0.0); // past: no wait
	EXPECT_GE(*ParseRetryAfter("99999999999999999999", now), 1e9);         // huge: capped by the caller
	EXPECT_FALSE(ParseRetryAfter("", now));
	EXPECT_FALSE(ParseRetryAfter("-1", now));
	EXPECT_FALSE(ParseRetryAfter("soon", now));
	EXPECT_FALSE(ParseRetryAfter("Sun, 06 Foo 1994 08:49:47 GMT", now));
}

TEST(Embedder, EndpointUrls)
{
	EndpointUrl u = ParseEndpointUrl("http://127.0.0.1:11434/v1/");
	EXPECT_EQ(u.origin(), "http://127.0.0.1:11434");
	EXPECT_EQ(u.path, "/v1");
	u = ParseEndpointUrl("https://api.openai.com/v1");
	EXPECT_EQ(u.origin(), "https://api.openai.com:443");
	u = ParseEndpointUrl("HTTP://[::1]:8080");
	EXPECT_EQ(u.origin(), "http://[::1]:8080");
	EXPECT_EQ(u.path, "");
	for (const std::string bad :
	     {"", "127.0.0.1:11434/v1", "ftp://host/v1", "http://user:pw@host/v1", "http://host:99999/v1",
	      "http://host:x/v1", "http:///v1", "http://host/v1?key=1", "http://[::1/v1"}) {
		try {
			ParseEndpointUrl(bad);
			ADD_FAILURE() << bad << " was accepted";
		} catch (const EmbedderError &e) {
			EXPECT_TRUE(e.permanent());
			EXPECT_EQ(std::string(e.what()).find("pw@"), std::string::npos);
		}
	}
}

TEST(Embedder, EmbeddingText)
{
	EXPECT_EQ(EmbeddingText({0.5f, -1.0f, 0.1f}), "[0.5,-1,0.1]");
}

TEST(Embedder, BuiltinIsTheKernelsEmbedder)
{
	EmbedderOptions o;
	auto embedder = MakeEmbedder(o);
	EXPECT_EQ(embedder->model(), "builtin");
	EXPECT_EQ(embedder->dims(), static_cast<int>(core::embedder::kBuiltinDimensions));
	const std::vector<std::string> texts = {"PostgreSQL stores vectors", "", "chunk two"};
	const auto vectors = embedder->Embed(texts, {});
	ASSERT_EQ(vectors.size(), 3u);
	for (std::size_t i = 0; i < texts.size(); ++i) {
		std::vector<float> expected(core::embedder::kBuiltinDimensions);
		core::embedder::EmbedBuiltin(texts[i], expected);
		EXPECT_EQ(vectors[i], expected) << i;
	}
	o.dims = 8; // a collection of 8 dimensions cannot use it
	const EmbedderError e = ErrorOf(*MakeEmbedder(o), texts);
	EXPECT_TRUE(e.permanent());
	EXPECT_NE(std::string(e.what()).find("not 8"), std::string::npos) << e.what();
}

TEST(Embedder, SettingsAndTheSecretKey)
{
	const SettingInfo *key = FindSetting("embedder.api_key");
	ASSERT_NE(key, nullptr);
	EXPECT_TRUE(key->secret);
	Config config = Config::FromToml("[embedder]\nprovider = \"openai\"\nurl = \"http://127.0.0.1:1/v1\"\n"
	                                 "model = \"m\"\napi_key = \"sk-hidden\"\n",
	                                 "test");
	EXPECT_EQ(config.Describe("embedder.api_key").find("sk-hidden"), std::string::npos);
	const EmbedderOptions o = EmbedderOptionsFrom(config);
	EXPECT_EQ(o.api_key, "sk-hidden");
	EXPECT_EQ(o.batch_size, 64);
	EXPECT_EQ(o.max_retries, 5);
	EXPECT_EQ(o.timeout_s, 30);
	EXPECT_THROW(Config::FromToml("[embedder]\nprovider = \"openai\"\n", "test"), std::runtime_error);
	EXPECT_THROW(Config::FromToml("[embedder]\nprovider = \"cohere\"\n", "test"), std::runtime_error);
}

} // namespace
} // namespace agentgres::sidecar::knowledge
