// Resource and request identifiers in Tencent's formats.
#pragma once

#include <string>
#include <string_view>

namespace cvm {

// "<prefix>-" followed by 8 characters of [a-z0-9], e.g. NewResourceId("ins") -> "ins-r8hr2upy".
std::string NewResourceId(std::string_view prefix);
bool IsWellFormedId(std::string_view prefix, std::string_view id);

// A random UUID (version 4), lower case: the RequestId of every response.
std::string NewUuid();

// Random alphanumeric string of the given length, from the OS CSPRNG (used for secrets).
std::string RandomAlnum(size_t length);

}  // namespace cvm
