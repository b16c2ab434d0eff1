// Standard base64 (RFC 4648, with padding), as Tencent's API carries binary values.
#pragma once

#include <string>
#include <string_view>

namespace cvm {

std::string Base64Encode(std::string_view data);

}  // namespace cvm
