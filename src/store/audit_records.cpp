#include "store/audit_records.h"

namespace cvm::store {

Status InsertAuditBatch(Transaction& tx, const AuditBatch& b) {
  return tx.Exec(
      "INSERT INTO audit_batches(owner_uin, first_ms, last_ms, record_count, records) "
      "VALUES (?, ?, ?, ?, ?)",
      {b.owner_uin, b.first_ms, b.last_ms, static_cast<int64_t>(b.count), b.records});
}

Result<std::vector<AuditBatchSpan>> AuditBatchSpans(Database& db, const std::string& owner_uin,
                                                    int64_t start_ms, int64_t end_ms) {
  auto rows = db.Query(
      "SELECT id, first_ms, last_ms, record_count FROM audit_batches WHERE owner_uin = ? AND "
      "last_ms >= ? AND first_ms <= ? ORDER BY last_ms DESC, id DESC",
      {owner_uin, start_ms, end_ms});
  if (!rows.ok()) return rows.status();
  std::vector<AuditBatchSpan> out;
  out.reserve(rows->size());
  for (const auto& r : *rows) out.push_back({r.Int(0), r.Int(1), r.Int(2), r.Int(3)});
  return out;
}

Result<std::optional<std::string>> AuditBatchRecords(Database& db, int64_t id) {
  auto rows = db.Query("SELECT records FROM audit_batches WHERE id = ?", {id});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<std::string>();
  return std::optional<std::string>(rows->front().Str(0));
}

}  // namespace cvm::store
