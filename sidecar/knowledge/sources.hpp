// What the indexer reads: the files under a source directory that pass the
// include and exclude globs and the tree's .gitignore files, or a single file.
//
// Globs and .gitignore lines share one form (gitignore's): a pattern without
// a slash matches a name at any depth ("*.md", "node_modules"); one with a
// slash is anchored at its base directory ("/x", "docs/*.txt"); a trailing
// slash matches directories only ("build/"); "**" as a whole component
// matches any number of directories ("a/**/b", "**/tmp"); "*" and "?" never
// cross a slash; [a-z], [!x] classes and backslash escapes as in fnmatch.
// In a .gitignore a leading "!" re-includes, and the deepest file's last
// matching line decides. ".git" is always skipped; symbolic links are not
// followed (git stores them as links, and a linked directory can loop).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agentgres::sidecar::knowledge {

// glob against a relative '/'-separated path (see above).
bool GlobMatch(std::string_view glob, std::string_view path);

struct Pattern {
	std::string glob;
	bool negated = false;        // "!pattern" (.gitignore only)
	bool directory_only = false; // "pattern/"
	bool anchored = false;       // has a slash other than a trailing one
};

// One .gitignore line or one include/exclude glob; nullopt for blank lines
// and comments. A leading "!" negates only when allow_negation.
std::optional<Pattern> ParsePattern(std::string_view line, bool allow_negation);
std::vector<Pattern> ParsePatterns(const std::vector<std::string> &globs);
// rel: the path relative to the pattern's base directory.
bool Matches(const Pattern &pattern, std::string_view rel, bool is_dir);
// Whether the path or one of its parent directories matches one of the patterns.
bool MatchesPathOrParent(const std::vector<Pattern> &patterns, std::string_view rel, bool is_dir);

// The .gitignore files from the source root down to the current directory.
class IgnoreStack {
public:
	// Reads dir_abs/.gitignore (if any) as the rules of rel_dir ("" = root).
	void Push(const std::string &dir_abs, const std::string &rel_dir);
	// Adds rules given as text (tests; Push uses it).
	void PushText(std::string_view text, const std::string &rel_dir);
	void Pop();
	// rel: the path relative to the source root.
	bool Ignored(std::string_view rel, bool is_dir) const;
	std::size_t
	depth() const
	{
		return frames_.size();
	}

private:
	struct Frame {
		std::string base; // relative to the root, "" or "a/b"
		std::vector<Pattern> patterns;
	};
	std::vector<Frame> frames_;
};

struct Filters {
	std::vector<Pattern> include; // empty: every file
	std::vector<Pattern> exclude;
	bool use_include = true;
	std::uint64_t max_file_bytes = 2 << 20;
};

struct ListedFile {
	std::string path; // absolute
	std::string uri;  // relative to the source root
	std::uint64_t size = 0;
};

struct Listing {
	std::vector<ListedFile> files;
	std::int64_t too_big = 0;  // skipped for their size
	std::int64_t filtered = 0; // entries left out by the globs or .gitignore (a directory counts once)
	// Directories that could not be read (relative to the root): what the
	// index holds under them is kept, not deleted.
	std::vector<std::string> unreadable;
	// Set when the scope itself is missing or unreadable: nothing is listed
	// and nothing may be deleted.
	std::string error;
};

// Lists the files of root/scope (scope "" = the whole root; a file or a
// directory relative to root), sorted by uri. A scope that is a file is
// taken as it is when !filters.use_include (named explicitly outside any
// configured source), else it passes the same filters as a walked file.
Listing ListFiles(const std::string &root, const std::string &scope, const Filters &filters);

// What an index run covers: files of `root` under `scope`, whose documents
// carry metadata.source = `name`.
struct Unit {
	std::string root;        // absolute, normalised
	std::string name;        // metadata.source of its documents (the root)
	std::string scope;       // "" or a path relative to root
	bool configured = false; // inside a configured source: includes apply
};

// The units of paths (absolute or relative to the working directory): a path
// inside a configured root becomes a scope of that root (so its uris are the
// ones the indexer loop gives it), any other directory its own root, any
// other file a scope of its parent directory. An empty `paths` means every
// configured root. Throws std::runtime_error for a path that does not exist.
std::vector<Unit> ResolveUnits(const std::vector<std::string> &paths, const std::vector<std::string> &configured);

// Whether stored document `uri` of unit `unit` lies in its scope.
bool InScope(const Unit &unit, std::string_view uri);

// What a file's bytes are, by the chunker's test (core/chunker.hpp's
// LooksBinary, the one the extension uses): text; binary (a NUL byte, which
// PostgreSQL's text cannot hold either), skipped; or not UTF-8, a failure.
enum class ContentKind { kText, kBinary, kNotUtf8 };
// reason: for kNotUtf8, what was found and where.
ContentKind ClassifyContent(std::string_view content, std::string *reason = nullptr);

} // namespace agentgres::sidecar::knowledge
