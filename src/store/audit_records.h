// The audit log as the store keeps it: one row per account per writer batch, holding that
// batch's records of the account as a JSON array, oldest first. What a record holds and how it
// is encoded is iam::AuditLog's; the store only keeps the rows and their time span.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "store/database.h"

namespace cvm::store {

struct AuditBatch {
  std::string owner_uin;  // empty when the callers were not authenticated
  std::string records;    // a JSON array
  int64_t first_ms = 0, last_ms = 0;
  size_t count = 0;
};

Status InsertAuditBatch(Transaction& tx, const AuditBatch& batch);

// Where a stored batch lies in time, without its records.
struct AuditBatchSpan {
  int64_t id = 0, first_ms = 0, last_ms = 0, count = 0;
};
// The account's batches holding a record of [start_ms, end_ms], newest first.
Result<std::vector<AuditBatchSpan>> AuditBatchSpans(Database& db, const std::string& owner_uin,
                                                    int64_t start_ms, int64_t end_ms);
// A batch's records (nullopt when it is gone).
Result<std::optional<std::string>> AuditBatchRecords(Database& db, int64_t id);

}  // namespace cvm::store
