#include "store/database.h"

namespace cvm::store {

namespace {

const char* TypeName(const Value& v) {
  switch (v.index()) {
    case 0:
      return "NULL";
    case 1:
      return "an integer";
    case 2:
      return "a real";
    default:
      return "text";
  }
}

}  // namespace

std::logic_error Row::TypeMismatch(size_t i, const char* wanted) const {
  return std::logic_error("database column " + std::to_string(i) + " holds " +
                          TypeName(columns.at(i)) + ", read as " + wanted);
}

std::string InList(size_t n) {
  if (n == 0) return "(NULL)";
  std::string s = "(?";
  for (size_t i = 1; i < n; ++i) s += ",?";
  return s + ")";
}

}  // namespace cvm::store
