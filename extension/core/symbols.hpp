// The built-in symbol extractor: definitions in source files and headings in
// Markdown, for when universal-ctags is not installed (the daemon prefers
// ctags) and for SQL ingestion, where nothing else runs.
//
// It is a scanner with a little state per language, not a parser: comments
// and string literals (raw strings, template literals, Python's triple
// quotes, SQL's dollar quoting, shell here-documents) are skipped, so what
// they contain is never taken for a definition. Linear in the input.
//   c, cpp, java, csharp  namespaces, classes/structs/unions/enums, functions
//                         and methods (a declarator followed by a body; not
//                         prototypes), #define macros
//   javascript, typescript  classes, interfaces, functions (function NAME, and
//                         const NAME = function / arrow), methods
//   go, rust, kotlin, swift, scala, php  func/fn/fun/def/function, types
//   python, ruby          class, def (method inside a class), module; Python
//                         module-level NAME = ... (variable)
//   shell, perl           functions (NAME() / function NAME / sub NAME), packages
//   sql                   CREATE TABLE/VIEW/FUNCTION/PROCEDURE/INDEX/TYPE/...
//                         (kind = the object type in lower case)
//   cmake, make           function()/macro(), make targets and defines
//   markdown              headings (kind "heading"; ATX and setext)
#include "cpp_only.hpp" // outside the guard: checked at every inclusion
#ifndef AGENTGRES_CORE_SYMBOLS_HPP
#define AGENTGRES_CORE_SYMBOLS_HPP

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace agentgres::core::symbols {

// Longest name kept, in bytes (cut on a UTF-8 boundary).
inline constexpr std::size_t kMaxNameBytes = 200;

struct Symbol {
	std::string name;
	std::string kind; // function, method, class, struct, union, enum, interface, trait, type, namespace,
	                  // module, macro, variable, heading, table, view, index, ... (SQL object types)
	std::size_t line; // 1-based
};

// language is a chunker::LanguageOf() name; languages without a scanner give
// no symbols. Symbols come in the order of their lines. check_interrupt (may
// be empty) is called every few hundred kilobytes.
std::vector<Symbol> Extract(std::string_view content, std::string_view language,
                            const std::function<void()> &check_interrupt = {});

} // namespace agentgres::core::symbols

#endif // AGENTGRES_CORE_SYMBOLS_HPP
