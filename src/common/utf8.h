// UTF-8 validation: every string the API accepts must be well-formed UTF-8.
#pragma once

#include <string_view>

namespace cvm {

bool IsValidUtf8(std::string_view s);

}  // namespace cvm
