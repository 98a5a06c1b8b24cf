// Normalises error messages into templates, so that errors that differ only
// in numbers, ids, quoted values or paths are counted together.
#include "cpp_only.hpp" // outside the guard: checked at every inclusion
#ifndef AGENTGRES_CORE_ERROR_TEMPLATE_HPP
#define AGENTGRES_CORE_ERROR_TEMPLATE_HPP

#include <string>
#include <string_view>

namespace agentgres::core {

// Replaces, in this order: UUIDs with <uuid>, hexadecimal ids (0x1f3a, or
// runs of 8+ hex digits containing a digit) with <hex>, 'single' and "double"
// quoted strings with <str>, paths (/a/b, C:\a, ./a) with <path>, numbers
// (with sign, decimals, exponents) with <num>; collapses whitespace and trims.
// Long messages are cut at 500 bytes first.
std::string ErrorTemplate(std::string_view message);

} // namespace agentgres::core

#endif // AGENTGRES_CORE_ERROR_TEMPLATE_HPP
