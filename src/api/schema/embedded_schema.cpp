// Embeds tencent_api_schema.json with the assembler's .incbin, so the daemon needs no file at
// run time and no generated source is checked in. api/schema/schema.cmake passes the absolute
// path and makes this object depend on the file (the compiler's depfile does not see .incbin).
#include "api/schema/embedded_schema.h"

#ifndef CVM_SCHEMA_JSON_PATH
#error "CVM_SCHEMA_JSON_PATH must name tencent_api_schema.json (see api/schema/schema.cmake)"
#endif

// The trailing NUL is not part of the view; it only makes the blob safe for C string readers.
asm(".pushsection .rodata.cvm_api_schema_json,\"a\"\n"
    ".balign 16\n"
    ".globl cvm_api_schema_json_begin\n"
    ".hidden cvm_api_schema_json_begin\n"
    "cvm_api_schema_json_begin:\n"
    ".incbin \"" CVM_SCHEMA_JSON_PATH
    "\"\n"
    ".globl cvm_api_schema_json_end\n"
    ".hidden cvm_api_schema_json_end\n"
    "cvm_api_schema_json_end:\n"
    ".byte 0\n"
    ".popsection\n");

extern "C" const char cvm_api_schema_json_begin[];
extern "C" const char cvm_api_schema_json_end[];

namespace cvm::api {

std::string_view EmbeddedSchemaJson() {
  return std::string_view(cvm_api_schema_json_begin,
                          static_cast<size_t>(cvm_api_schema_json_end - cvm_api_schema_json_begin));
}

}  // namespace cvm::api
