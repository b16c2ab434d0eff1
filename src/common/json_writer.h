// A streaming JSON writer for large answers (DescribeInstances with 100 instances) and audit
// records: no document tree, one growing string. Commas are placed automatically; strings are
// escaped as nlohmann's dump does (invalid UTF-8 replaced by U+FFFD, non-ASCII kept as is).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace cvm {

class JsonWriter {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view s);
  JsonWriter& Int(int64_t v);
  JsonWriter& Bool(bool v);
  JsonWriter& Null();
  JsonWriter& Value(const nlohmann::json& v);  // any small value, through nlohmann
  // Shorthands for object members.
  JsonWriter& Member(std::string_view key, std::string_view s) { return Key(key).String(s); }
  JsonWriter& Member(std::string_view key, const char* s) { return Key(key).String(s); }
  JsonWriter& Member(std::string_view key, int64_t v) { return Key(key).Int(v); }
  JsonWriter& Member(std::string_view key, int v) { return Key(key).Int(v); }
  JsonWriter& Member(std::string_view key, bool v) { return Key(key).Bool(v); }

  void Reserve(size_t n) { out_.reserve(n); }
  // Empties the writer for reuse, keeping its memory.
  void Clear() {
    out_.clear();
    first_.clear();
    after_key_ = false;
  }
  const std::string& str() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  void Comma();
  std::string out_;
  std::vector<char> first_;  // per open container: nothing written yet (bytes, not bits: faster)
  bool after_key_ = false;
};

}  // namespace cvm
