// Standard base64 (RFC 4648, with padding), as Tencent's API carries binary values.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cvm {

std::string Base64Encode(std::string_view data);
// Standard base64 with padding; nullopt when `text` is not that.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace cvm
