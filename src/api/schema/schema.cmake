# Embeds the generated API schema into cvm_core (see embedded_schema.cpp). Included from
# src/CMakeLists.txt so the source properties apply in the directory that defines cvm_core.
set(CVM_API_SCHEMA_JSON ${CMAKE_CURRENT_LIST_DIR}/tencent_api_schema.json)
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/embedded_schema.cpp PROPERTIES
  COMPILE_DEFINITIONS "CVM_SCHEMA_JSON_PATH=\"${CVM_API_SCHEMA_JSON}\""
  OBJECT_DEPENDS ${CVM_API_SCHEMA_JSON})
