#include "util/sha256.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace agentgres::sidecar::text {

std::string
Sha256Hex(std::string_view bytes)
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int length = 0;
	if (EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr) != 1)
		throw std::runtime_error("SHA-256 failed (libcrypto)");
	static const char kHex[] = "0123456789abcdef";
	std::string out;
	out.reserve(2 * length);
	for (unsigned int i = 0; i < length; ++i) {
		out.push_back(kHex[digest[i] >> 4]);
		out.push_back(kHex[digest[i] & 15]);
	}
	return out;
}

} // namespace agentgres::sidecar::text
