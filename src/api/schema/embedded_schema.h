// The bytes of tencent_api_schema.json, compiled into the binary by embedded_schema.cpp.
#pragma once

#include <string_view>

namespace cvm::api {

std::string_view EmbeddedSchemaJson();

}  // namespace cvm::api
