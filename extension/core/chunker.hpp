// The one chunker of agentgres: the extension's ingest_document and the
// daemon's indexer both split documents with it, so that SQL ingestion and
// daemon ingestion give the same chunks for the same (content, language,
// options).
//
// Rules (README.md, "Chunking"):
// - A chunk has at most chunk_size characters (code points; CR, LF and tab
//   count one each; a byte that is not part of a well-formed UTF-8 sequence
//   counts as one character). Cuts fall on character boundaries, never
//   between the CR and LF of a CRLF. A lone CR is an ordinary character.
// - Chunks are in order (begin and end strictly increase), every
//   non-whitespace byte is in at least one chunk, and what lies between two
//   chunks is whitespace. Consecutive chunks share at most `overlap`
//   characters (none with overlap 0).
// - A chunk never starts or ends with whitespace, except that a chunk that
//   starts at a line start keeps that line's indentation (when shorter than a
//   quarter of chunk_size). Blank lines at either end are dropped, so no chunk
//   is whitespace only, and empty or whitespace-only input gives no chunk.
// - The cut is chosen in the last 35% of the window of chunk_size characters
//   (so chunks are not tiny), by preference:
//     code      the end of a top-level block (a `}` at column 0 or a dedent,
//               followed by a line at column 0), a blank line before a line
//               at column 0, the end of a nested block, a blank line, a line
//               end before a line no deeper; then any line end. Code is cut
//               only at line ends, and the overlap starts at a line start.
//     markdown  before a heading, at a blank line (paragraph end), at a line
//               end after a sentence, at a line end, at a sentence end, at a
//               space; never inside a line of a fenced code block.
//     text      the same without headings and fences.
//   A line longer than the window is cut at a space (in code also after ; ,
//   } or ) ) and, failing that, anywhere on a character boundary.
// - Time is linear in the size of the chunks produced (about the input's
//   size times chunk_size / (chunk_size - overlap)).
#include "cpp_only.hpp" // outside the guard: checked at every inclusion
#ifndef AGENTGRES_CORE_CHUNKER_HPP
#define AGENTGRES_CORE_CHUNKER_HPP

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace agentgres::core::chunker {

// Largest chunk_size accepted, in characters.
inline constexpr std::size_t kMaxChunkSize = 1000000;

struct Options {
	std::size_t chunk_size = 1000; // characters (code points)
	std::size_t overlap = 200;     // characters; < chunk_size
};

struct Chunk {
	std::size_t begin, end;           // byte offsets: content = input.substr(begin, end - begin)
	std::size_t line_start, line_end; // 1-based, inclusive lines of the input the chunk covers
};

// The language of a document from its uri's file name: "cpp", "c", "python",
// "javascript", "typescript", "go", "rust", "java", "sql", "shell", "perl",
// "ruby", "markdown", "text", "toml", "yaml", "json", "cmake", "make",
// "html", "css", ... ("text" when unknown). A trailing ".in" (Makefile.in,
// foo.sql.in) is looked through; a URL's query and fragment are ignored.
std::string LanguageOf(std::string_view uri);

// True for source code and configuration languages (split at line ends);
// false for "markdown", "text" and unknown names.
bool IsCode(std::string_view language);

// True when the bytes are not text: a NUL byte or invalid UTF-8 (overlong
// forms, surrogates and code points above U+10FFFF included). reason, when
// given, gets what was found and its byte offset.
bool LooksBinary(std::string_view content, std::string *reason = nullptr);

// Throws core::Error (kInvalidParameterValue) when options are out of range:
// chunk_size from 1 to kMaxChunkSize, overlap below chunk_size.
void CheckOptions(const Options &options);

// Options from SQL integers or configuration values, checked (negative
// values included) with the same errors: what the glue and the daemon use.
Options MakeOptions(std::int64_t chunk_size, std::int64_t overlap);

// Splits content (see the rules above). language is a LanguageOf() name:
// IsCode() languages split as code, "markdown" as Markdown, anything else as
// text. Throws what CheckOptions throws; calls check_interrupt (may be empty)
// every few hundred kilobytes of work.
std::vector<Chunk> Split(std::string_view content, std::string_view language, const Options &options,
                         const std::function<void()> &check_interrupt = {});

// The chunk a symbol defined at a 1-based line belongs to: the last chunk
// that starts at or before the line and includes it (with overlap, the one
// holding most of what follows the line; of the pieces of a long line, the
// first). chunks.size() when no chunk covers the line. O(log chunks).
std::size_t ChunkOfLine(const std::vector<Chunk> &chunks, std::size_t line);

} // namespace agentgres::core::chunker

#endif // AGENTGRES_CORE_CHUNKER_HPP
