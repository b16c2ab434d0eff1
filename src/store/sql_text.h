// Small pieces of SQL text the repositories share. Only portable syntax: plain '?' parameters.
#pragma once

#include <string>
#include <vector>

#include "store/database.h"

namespace cvm::store {

// "?,?,?" for `n` parameters (for "IN (...)").
inline std::string Placeholders(size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += i ? ",?" : "?";
  return out;
}

// The parameters of an "IN (...)" list.
template <typename Container>
std::vector<Value> Values(const Container& items) {
  return std::vector<Value>(items.begin(), items.end());
}

}  // namespace cvm::store
