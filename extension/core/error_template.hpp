// Normalises error messages into templates, so that errors that differ only
// in numbers, ids, quoted values or paths are counted together.
#pragma once

#include <string>
#include <string_view>

#include "cpp_only.hpp"

namespace agentgres::core {

// Replaces, in this order: UUIDs with <uuid>, hexadecimal ids (0x1f3a, or
// runs of 8+ hex digits containing a digit) with <hex>, 'single' and "double"
// quoted strings with <str>, paths (/a/b, C:\a, ./a) with <path>, numbers
// (with sign, decimals, exponents) with <num>; collapses whitespace and trims.
// Long messages are cut at 500 bytes first.
std::string ErrorTemplate(std::string_view message);

} // namespace agentgres::core
