// Moving a deployment's whole state from one store to another (`cvmd store copy`), e.g. from
// the embedded SQLite file to PostgreSQL when a deployment outgrows one machine.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "store/database.h"

namespace cvm::store {

struct CopyReport {
  std::map<std::string, int64_t> rows;  // table -> rows copied
};

// Copies every table of `from` into `to`, in one transaction on `to`: either all of it lands or
// nothing does. Both are migrated to the same version first (opening does that). `to` must be
// empty (no account yet). Tables kept by triggers (instance_counts) are rebuilt by them, and
// identity sequences continue after the copied values.
Result<CopyReport> CopyStore(Database& from, Database& to);

}  // namespace cvm::store
