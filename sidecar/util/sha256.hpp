// SHA-256 in lower-case hex (OpenSSL's libcrypto): the documents'
// content_hash (encode(sha256(convert_to(content, 'UTF8')), 'hex') in the
// database) and the embedding cache's key.
#pragma once

#include <string>
#include <string_view>

namespace agentgres::sidecar::text {

std::string Sha256Hex(std::string_view bytes);

} // namespace agentgres::sidecar::text
