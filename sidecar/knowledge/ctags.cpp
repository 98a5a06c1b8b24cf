#include "knowledge/ctags.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char **environ;

namespace agentgres::sidecar::knowledge {

std::map<std::string, nlohmann::json>
ParseCtagsJson(std::string_view output)
{
	std::map<std::string, nlohmann::json> symbols;
	std::size_t start = 0;
	while (start < output.size()) {
		std::size_t end = output.find('\n', start);
		if (end == std::string_view::npos)
			end = output.size();
		const std::string_view line = output.substr(start, end - start);
		start = end + 1;
		if (line.empty() || line.front() != '{')
			continue;
		const nlohmann::json tag = nlohmann::json::parse(line.begin(), line.end(), nullptr, false);
		if (!tag.is_object() || tag.value("_type", "") != "tag")
			continue;
		const auto name = tag.find("name"), kind = tag.find("kind"), path = tag.find("path"), at = tag.find("line");
		if (name == tag.end() || !name->is_string() || name->get_ref<const std::string &>().empty() ||
		    kind == tag.end() || !kind->is_string() || path == tag.end() || !path->is_string() || at == tag.end() ||
		    !at->is_number_integer() || at->get<std::int64_t>() < 1 || at->get<std::int64_t>() > 2147483647)
			continue;
		nlohmann::json &list = symbols[path->get<std::string>()];
		if (list.is_null())
			list = nlohmann::json::array();
		list.push_back({{"name", *name}, {"kind", *kind}, {"line", at->get<std::int64_t>()}});
	}
	return symbols;
}

namespace {

// Closes a descriptor once.
struct Fd {
	int fd = -1;
	~Fd() { Close(); }
	void
	Close()
	{
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
};

} // namespace

CtagsRun
RunCtags(const std::string &exe, const std::vector<std::string> &paths, const CtagsLimits &limits)
{
	CtagsRun run;
	if (exe.empty()) {
		run.missing = true;
		run.error = "knowledge.ctags is empty";
		return run;
	}
	if (paths.empty()) {
		run.ok = true;
		return run;
	}
	std::vector<std::string> args = {exe, "--options=NONE", "--output-format=json", "--fields=+nK", "--sort=no", "-f",
	                                 "-"};
	args.insert(args.end(), paths.begin(), paths.end());
	std::vector<char *> argv;
	for (std::string &a : args)
		argv.push_back(a.data());
	argv.push_back(nullptr);

	int pipe_fds[2];
	if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
		run.error = std::string("pipe: ") + std::strerror(errno);
		return run;
	}
	Fd out{pipe_fds[0]}, in{pipe_fds[1]};
	posix_spawn_file_actions_t actions;
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&actions, in.fd, 1);
	// Its notices and warnings (an unreadable file) are not ours to print.
	posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
	// The daemon blocks SIGTERM/SIGINT in its threads: ctags must not inherit that.
	posix_spawnattr_t attr;
	posix_spawnattr_init(&attr);
	sigset_t none;
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
	pid_t pid = 0;
	const int spawned = posix_spawnp(&pid, exe.c_str(), &actions, &attr, argv.data(), environ);
	posix_spawn_file_actions_destroy(&actions);
	posix_spawnattr_destroy(&attr);
	in.Close();
	if (spawned != 0) {
		run.missing = spawned == ENOENT || spawned == EACCES;
		run.error = "cannot run " + exe + ": " + std::strerror(spawned);
		return run;
	}

	std::string output;
	const auto deadline = std::chrono::steady_clock::now() + limits.timeout;
	bool killed = false;
	char buffer[65536];
	for (;;) {
		const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
		    deadline - std::chrono::steady_clock::now());
		if (left.count() <= 0) {
			run.error = exe + " took longer than " + std::to_string(limits.timeout.count()) + " ms";
			killed = true;
			break;
		}
		pollfd p{out.fd, POLLIN, 0};
		const int ready = poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 1000)));
		if (ready < 0 && errno != EINTR) {
			run.error = std::string("poll: ") + std::strerror(errno);
			killed = true;
			break;
		}
		if (ready <= 0)
			continue;
		const ssize_t n = read(out.fd, buffer, sizeof buffer);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break; // EOF (or an error: the exit status tells)
		output.append(buffer, static_cast<std::size_t>(n));
		if (output.size() > limits.max_output) {
			run.error = exe + " wrote more than " + std::to_string(limits.max_output) + " bytes";
			killed = true;
			break;
		}
	}
	out.Close();
	if (killed)
		kill(pid, SIGKILL);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
	}
	if (killed)
		return run;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		run.error = exe + (WIFEXITED(status) ? " exited with status " + std::to_string(WEXITSTATUS(status))
		                                     : " was killed by signal " + std::to_string(WTERMSIG(status)));
		// 127 from a shell wrapper, or an exuberant ctags without JSON output.
		return run;
	}
	run.symbols = ParseCtagsJson(output);
	run.ok = true;
	return run;
}

} // namespace agentgres::sidecar::knowledge
