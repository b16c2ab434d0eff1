// UTF-8 validation: every string the API accepts must be well-formed UTF-8.
#pragma once

#include <cstddef>
#include <string_view>

namespace cvm {

bool IsValidUtf8(std::string_view s);
// Length of the well-formed multi-byte UTF-8 sequence starting at s[i], 0 when there is none
// (also for ASCII: callers handle bytes below 0x80 themselves).
size_t Utf8SequenceLength(std::string_view s, size_t i);

}  // namespace cvm
