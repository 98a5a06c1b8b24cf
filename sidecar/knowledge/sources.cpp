#include "knowledge/sources.hpp"

#include "core/chunker.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace agentgres::sidecar::knowledge {
namespace {

constexpr std::size_t kNpos = std::string_view::npos;

// A [...] class at g[start] against c. end: the index after ']'. valid is
// false when the class is not closed (then '[' is an ordinary character).
struct ClassMatch {
	bool valid = false;
	bool matched = false;
	std::size_t end = 0;
};

ClassMatch
MatchClass(std::string_view g, std::size_t start, char c)
{
	std::size_t i = start + 1;
	bool negate = false;
	if (i < g.size() && (g[i] == '!' || g[i] == '^')) {
		negate = true;
		++i;
	}
	bool matched = false;
	bool first = true;
	while (i < g.size()) {
		char lo = g[i];
		if (lo == ']' && !first)
			return {true, matched != negate, i + 1};
		first = false;
		if (lo == '\\' && i + 1 < g.size())
			lo = g[++i];
		char hi = lo;
		if (i + 2 < g.size() && g[i + 1] == '-' && g[i + 2] != ']') {
			hi = g[i + 2];
			if (hi == '\\' && i + 3 < g.size()) {
				hi = g[i + 3];
				++i;
			}
			i += 2;
		}
		const auto u = static_cast<unsigned char>(c);
		if (static_cast<unsigned char>(lo) <= u && u <= static_cast<unsigned char>(hi))
			matched = true;
		++i;
	}
	return {};
}

// fnmatch of one path component (no slashes on either side).
bool
MatchComponent(std::string_view g, std::string_view s)
{
	std::size_t gi = 0, si = 0, star_g = kNpos, star_s = 0;
	while (si < s.size()) {
		if (gi < g.size()) {
			const char gc = g[gi];
			if (gc == '*') {
				star_g = ++gi;
				star_s = si;
				continue;
			}
			bool ok = false;
			std::size_t next = gi + 1;
			if (gc == '?') {
				ok = true;
			} else if (gc == '[') {
				const ClassMatch m = MatchClass(g, gi, s[si]);
				if (m.valid) {
					ok = m.matched;
					next = m.end;
				} else {
					ok = s[si] == '[';
				}
			} else if (gc == '\\' && gi + 1 < g.size()) {
				ok = g[gi + 1] == s[si];
				next = gi + 2;
			} else {
				ok = gc == s[si];
			}
			if (ok) {
				gi = next;
				++si;
				continue;
			}
		}
		if (star_g == kNpos)
			return false;
		gi = star_g;
		si = ++star_s;
	}
	while (gi < g.size() && g[gi] == '*')
		++gi;
	return gi == g.size();
}

std::vector<std::string_view>
Split(std::string_view path)
{
	std::vector<std::string_view> parts;
	std::size_t start = 0;
	while (start <= path.size()) {
		const std::size_t slash = path.find('/', start);
		const std::size_t end = slash == kNpos ? path.size() : slash;
		if (end > start)
			parts.push_back(path.substr(start, end - start));
		if (slash == kNpos)
			break;
		start = slash + 1;
	}
	return parts;
}

std::string_view
Basename(std::string_view rel)
{
	const std::size_t slash = rel.rfind('/');
	return slash == kNpos ? rel : rel.substr(slash + 1);
}

std::string
Join(const std::string &dir, std::string_view name)
{
	return dir.empty() ? std::string(name) : dir + "/" + std::string(name);
}

} // namespace

bool
GlobMatch(std::string_view glob, std::string_view path)
{
	const std::vector<std::string_view> g = Split(glob), p = Split(path);
	// memo[gi * (p.size() + 1) + pi]: 0 unknown, 1 no, 2 yes. Bounded work
	// however many "**" a pattern has.
	std::vector<char> memo((g.size() + 1) * (p.size() + 1), 0);
	const auto match = [&](auto &self, std::size_t gi, std::size_t pi) -> bool {
		char &m = memo[gi * (p.size() + 1) + pi];
		if (m != 0)
			return m == 2;
		bool r = false;
		if (gi == g.size())
			r = pi == p.size();
		else if (g[gi] == "**")
			r = self(self, gi + 1, pi) || (pi < p.size() && self(self, gi, pi + 1));
		else
			r = pi < p.size() && MatchComponent(g[gi], p[pi]) && self(self, gi + 1, pi + 1);
		m = r ? 2 : 1;
		return r;
	};
	return match(match, 0, 0);
}

std::optional<Pattern>
ParsePattern(std::string_view line, bool allow_negation)
{
	while (!line.empty() && (line.back() == '\r' || line.back() == '\n'))
		line.remove_suffix(1);
	if (line.empty() || line.front() == '#')
		return std::nullopt;
	// Trailing spaces go unless escaped ("a\ ").
	while (!line.empty() && line.back() == ' ' && !(line.size() >= 2 && line[line.size() - 2] == '\\'))
		line.remove_suffix(1);
	Pattern p;
	if (allow_negation && line.front() == '!') {
		p.negated = true;
		line.remove_prefix(1);
	}
	if (!line.empty() && line.back() == '/') {
		p.directory_only = true;
		while (!line.empty() && line.back() == '/')
			line.remove_suffix(1);
	}
	if (!line.empty() && line.front() == '/') {
		p.anchored = true;
		while (!line.empty() && line.front() == '/')
			line.remove_prefix(1);
	}
	if (line.find('/') != kNpos)
		p.anchored = true;
	if (line.empty())
		return std::nullopt;
	p.glob = std::string(line);
	return p;
}

std::vector<Pattern>
ParsePatterns(const std::vector<std::string> &globs)
{
	std::vector<Pattern> patterns;
	for (const std::string &g : globs)
		if (auto p = ParsePattern(g, false))
			patterns.push_back(std::move(*p));
	return patterns;
}

bool
Matches(const Pattern &pattern, std::string_view rel, bool is_dir)
{
	if (pattern.directory_only && !is_dir)
		return false;
	return GlobMatch(pattern.glob, pattern.anchored ? rel : Basename(rel));
}

bool
MatchesPathOrParent(const std::vector<Pattern> &patterns, std::string_view rel, bool is_dir)
{
	for (const Pattern &p : patterns) {
		if (Matches(p, rel, is_dir))
			return true;
		for (std::size_t slash = rel.find('/'); slash != kNpos; slash = rel.find('/', slash + 1))
			if (Matches(p, rel.substr(0, slash), true))
				return true;
	}
	return false;
}

void
IgnoreStack::PushText(std::string_view text, const std::string &rel_dir)
{
	Frame frame{rel_dir, {}};
	std::size_t start = 0;
	while (start < text.size()) {
		std::size_t end = text.find('\n', start);
		if (end == kNpos)
			end = text.size();
		if (auto p = ParsePattern(text.substr(start, end - start), true))
			frame.patterns.push_back(std::move(*p));
		start = end + 1;
	}
	frames_.push_back(std::move(frame));
}

void
IgnoreStack::Push(const std::string &dir_abs, const std::string &rel_dir)
{
	std::ifstream in(dir_abs + "/.gitignore", std::ios::binary);
	std::string text;
	if (in) {
		std::ostringstream all;
		all << in.rdbuf();
		text = all.str();
	}
	PushText(text, rel_dir);
}

void
IgnoreStack::Pop()
{
	if (!frames_.empty())
		frames_.pop_back();
}

bool
IgnoreStack::Ignored(std::string_view rel, bool is_dir) const
{
	// The deepest .gitignore first; within one, the last matching line.
	for (auto frame = frames_.rbegin(); frame != frames_.rend(); ++frame) {
		std::string_view local = rel;
		if (!frame->base.empty()) {
			if (rel.size() <= frame->base.size() || rel.compare(0, frame->base.size(), frame->base) != 0 ||
			    rel[frame->base.size()] != '/')
				continue;
			local = rel.substr(frame->base.size() + 1);
		}
		for (auto p = frame->patterns.rbegin(); p != frame->patterns.rend(); ++p)
			if (Matches(*p, local, is_dir))
				return !p->negated;
	}
	return false;
}

namespace {

class Walker {
public:
	Walker(const std::string &root, const Filters &filters, Listing &out) : root_(root), filters_(filters), out_(out) {}

	// Whether a walked entry is left out (excluded or ignored).
	bool
	Filtered(const std::string &rel, std::string_view name, bool is_dir) const
	{
		if (name == ".git")
			return true;
		for (const Pattern &p : filters_.exclude)
			if (Matches(p, rel, is_dir))
				return true;
		return ignore_.Ignored(rel, is_dir);
	}

	bool
	Included(const std::string &rel) const
	{
		return !filters_.use_include || filters_.include.empty() || MatchesPathOrParent(filters_.include, rel, false);
	}

	void
	AddFile(const std::string &rel, std::uint64_t size)
	{
		if (size > filters_.max_file_bytes) {
			++out_.too_big;
			return;
		}
		out_.files.push_back({root_ + "/" + rel, rel, size});
	}

	// Enters the directories on the way to scope (their .gitignore files
	// apply below them); false when one of them is itself left out.
	bool
	Descend(const std::vector<std::string_view> &parts, std::size_t count)
	{
		ignore_.Push(root_, "");
		std::string rel;
		for (std::size_t i = 0; i < count; ++i) {
			rel = Join(rel, parts[i]);
			if (Filtered(rel, parts[i], true))
				return false;
			ignore_.Push(root_ + "/" + rel, rel);
		}
		return true;
	}

	void
	Walk(const std::string &rel)
	{
		const std::string abs = rel.empty() ? root_ : root_ + "/" + rel;
		DIR *dir = opendir(abs.c_str());
		if (dir == nullptr) {
			out_.unreadable.push_back(rel);
			return;
		}
		std::vector<std::string> names;
		while (const dirent *e = readdir(dir)) {
			const std::string_view name = e->d_name;
			if (name != "." && name != "..")
				names.emplace_back(name);
		}
		closedir(dir);
		std::sort(names.begin(), names.end());
		for (const std::string &name : names) {
			const std::string child = Join(rel, name);
			struct stat st;
			if (lstat((root_ + "/" + child).c_str(), &st) != 0)
				continue; // gone since readdir
			const bool is_dir = S_ISDIR(st.st_mode);
			if (!is_dir && !S_ISREG(st.st_mode))
				continue; // symbolic links, sockets, devices
			if (Filtered(child, name, is_dir)) {
				++out_.filtered;
				continue;
			}
			if (is_dir) {
				ignore_.Push(root_ + "/" + child, child);
				Walk(child);
				ignore_.Pop();
			} else if (Included(child)) {
				AddFile(child, static_cast<std::uint64_t>(st.st_size));
			} else {
				++out_.filtered;
			}
		}
	}

private:
	const std::string &root_;
	const Filters &filters_;
	Listing &out_;
	IgnoreStack ignore_;
};

} // namespace

Listing
ListFiles(const std::string &root, const std::string &scope, const Filters &filters)
{
	Listing out;
	Walker walker(root, filters, out);
	const std::string abs = scope.empty() ? root : root + "/" + scope;
	struct stat st;
	if (lstat(abs.c_str(), &st) != 0) {
		out.error = "cannot read " + abs + ": " + std::strerror(errno);
		return out;
	}
	const std::vector<std::string_view> parts = Split(scope);
	if (S_ISREG(st.st_mode)) {
		if (!filters.use_include) {
			walker.AddFile(scope, static_cast<std::uint64_t>(st.st_size)); // named explicitly
			return out;
		}
		if (!walker.Descend(parts, parts.size() - 1) || walker.Filtered(scope, parts.back(), false) ||
		    !walker.Included(scope))
			++out.filtered;
		else
			walker.AddFile(scope, static_cast<std::uint64_t>(st.st_size));
		return out;
	}
	if (!S_ISDIR(st.st_mode)) {
		out.error = abs + " is neither a regular file nor a directory";
		return out;
	}
	if (!walker.Descend(parts, parts.size())) {
		++out.filtered;
		return out;
	}
	walker.Walk(scope);
	if (!out.unreadable.empty() && out.unreadable.front() == scope)
		out.error = "cannot read directory " + abs;
	return out;
}

std::vector<Unit>
ResolveUnits(const std::vector<std::string> &paths, const std::vector<std::string> &configured)
{
	namespace fs = std::filesystem;
	const auto normal = [](const std::string &p) {
		std::error_code error;
		fs::path abs = fs::weakly_canonical(fs::absolute(p, error), error);
		if (error)
			abs = fs::absolute(p).lexically_normal();
		std::string s = abs.string();
		while (s.size() > 1 && s.back() == '/')
			s.pop_back();
		return s;
	};
	// A configured file is a scope of its directory; a configured directory
	// is a root of its own whose includes apply.
	const auto root_unit = [](const std::string &r) {
		std::error_code error;
		if (fs::is_regular_file(r, error)) {
			const fs::path p(r);
			return Unit{p.parent_path().string(), p.parent_path().string(), p.filename().string(), false};
		}
		return Unit{r, r, "", true};
	};
	std::vector<std::string> roots;
	for (const std::string &c : configured)
		roots.push_back(normal(c));
	std::vector<Unit> units;
	if (paths.empty()) {
		for (const std::string &r : roots)
			units.push_back(root_unit(r));
		return units;
	}
	for (const std::string &given : paths) {
		const std::string path = normal(given);
		std::error_code error;
		const fs::file_status status = fs::status(path, error);
		if (error || !fs::exists(status))
			throw std::runtime_error("no such file or directory: " + given);
		bool inside = false;
		for (const std::string &r : roots) {
			if (path == r) {
				units.push_back(root_unit(r));
			} else if (path.size() > r.size() && path.compare(0, r.size(), r) == 0 &&
			           (path[r.size()] == '/' || r == "/") && !fs::is_regular_file(r, error)) {
				units.push_back({r, r, path.substr(r == "/" ? 1 : r.size() + 1), true});
			} else {
				continue;
			}
			inside = true;
			break;
		}
		if (inside)
			continue;
		units.push_back(fs::is_directory(status) ? Unit{path, path, "", false} : root_unit(path));
	}
	return units;
}

bool
InScope(const Unit &unit, std::string_view uri)
{
	if (unit.scope.empty())
		return true;
	return uri == unit.scope || (uri.size() > unit.scope.size() && uri.compare(0, unit.scope.size(), unit.scope) == 0 &&
	                             uri[unit.scope.size()] == '/');
}

ContentKind
ClassifyContent(std::string_view content, std::string *reason)
{
	if (!core::chunker::LooksBinary(content, reason))
		return ContentKind::kText;
	return content.find('\0') != std::string_view::npos ? ContentKind::kBinary : ContentKind::kNotUtf8;
}

} // namespace agentgres::sidecar::knowledge
