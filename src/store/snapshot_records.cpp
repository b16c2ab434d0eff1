#include "store/snapshot_records.h"

namespace cvm::store {

Result<std::vector<std::string>> LiveSnapshotIds(Database& db) {
  auto rows = db.Query("SELECT snapshot_id FROM snapshots WHERE deleted = 0");
  if (!rows.ok()) return rows.status();
  std::vector<std::string> out;
  out.reserve(rows->size());
  for (const auto& r : *rows) out.push_back(r.Str(0));
  return out;
}

Status CompleteSnapshot(Transaction& tx, const std::string& snapshot_id) {
  return tx.Exec("UPDATE snapshots SET state = 'NORMAL', percent = 100 WHERE snapshot_id = ?",
                 {snapshot_id});
}

Status SetSnapshotState(Transaction& tx, const std::string& snapshot_id, const std::string& state) {
  return tx.Exec("UPDATE snapshots SET state = ? WHERE snapshot_id = ?", {state, snapshot_id});
}

Status DiscardSnapshot(Transaction& tx, const std::string& snapshot_id) {
  return tx.Exec("UPDATE snapshots SET deleted = 1 WHERE snapshot_id = ?", {snapshot_id});
}

namespace {
constexpr const char* kSnapshotColumns =
    "snapshot_id, owner_uin, name, disk_id, disk_usage, disk_size_gb, zone, region, state, "
    "percent, file_path, created_at";

SnapshotRecord SnapshotFromRow(const Row& r) {
  return SnapshotRecord{r.Str(0), r.Str(1), r.Str(2), r.Str(3), r.Str(4),  r.Int(5),
                        r.Str(6), r.Str(7), r.Str(8), r.Int(9), r.Str(10), r.Int(11)};
}

template <typename Src>
Result<std::optional<SnapshotRecord>> FindLive(Src& src, const Scope& scope,
                                               const std::string& snapshot_id) {
  auto rows = src.Query(std::string("SELECT ") + kSnapshotColumns +
                            " FROM snapshots WHERE snapshot_id = ? AND owner_uin = ? AND "
                            "region = ? AND deleted = 0",
                        {snapshot_id, scope.owner_uin, scope.region});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<SnapshotRecord>();
  return std::optional(SnapshotFromRow(rows->front()));
}
}  // namespace

Status InsertSnapshot(Transaction& tx, const SnapshotRecord& s) {
  return tx.Exec(std::string("INSERT INTO snapshots(") + kSnapshotColumns +
                     ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                 {s.snapshot_id, s.owner_uin, s.name, s.disk_id, s.disk_usage, s.disk_size_gb,
                  s.zone, s.region, s.state, s.percent, s.file_path, s.created_at});
}

Result<std::optional<SnapshotRecord>> FindSnapshot(Transaction& tx, const Scope& scope,
                                                   const std::string& snapshot_id) {
  return FindLive(tx, scope, snapshot_id);
}
Result<std::optional<SnapshotRecord>> FindSnapshot(Database& db, const Scope& scope,
                                                   const std::string& snapshot_id) {
  return FindLive(db, scope, snapshot_id);
}

Result<int64_t> CountCreatingSnapshots(Transaction& tx, const std::string& disk_id) {
  auto rows = tx.Query(
      "SELECT COUNT(*) FROM snapshots WHERE disk_id = ? AND state = 'CREATING' AND deleted = 0",
      {disk_id});
  if (!rows.ok()) return rows.status();
  return (*rows)[0].Int(0);
}

Result<std::vector<std::string>> DeleteNormalSnapshotsOfDisk(Transaction& tx,
                                                             const std::string& disk_id) {
  auto rows = tx.Query(
      "SELECT snapshot_id FROM snapshots WHERE disk_id = ? AND deleted = 0 AND state = 'NORMAL'",
      {disk_id});
  if (!rows.ok()) return rows.status();
  std::vector<std::string> out;
  for (const auto& r : *rows) out.push_back(r.Str(0));
  CVM_RETURN_IF_ERROR(tx.Exec(
      "UPDATE snapshots SET deleted = 1 WHERE disk_id = ? AND state = 'NORMAL'", {disk_id}));
  return out;
}

Result<std::map<std::string, SnapshotTotals>> SnapshotTotalsOfDisks(
    Database& db, const std::vector<std::string>& disk_ids) {
  std::map<std::string, SnapshotTotals> out;
  if (disk_ids.empty()) return out;
  auto rows =
      db.Query("SELECT disk_id, COUNT(*), SUM(disk_size_gb) FROM snapshots WHERE disk_id IN " +
                   InList(disk_ids.size()) + " AND deleted = 0 GROUP BY disk_id",
               Values(disk_ids));
  if (!rows.ok()) return rows.status();
  for (const auto& r : *rows) out[r.Str(0)] = {r.Int(1), r.Int(2)};
  return out;
}

Result<Page<SnapshotRecord>> ListSnapshots(Database& db, const Scope& scope,
                                           const SnapshotFilter& f, bool newest_first,
                                           const PageRequest& page) {
  ListQuery q("owner_uin = ? AND region = ? AND deleted = 0", {scope.owner_uin, scope.region});
  if (!f.ids.empty()) q.In("snapshot_id", f.ids);
  q.In("disk_id", f.disk_ids);
  q.In("disk_usage", f.disk_usages);
  q.In("snapshot_id", f.snapshot_ids);
  q.In("name", f.names);
  q.In("state", f.states);
  q.In("zone", f.zones);
  if (f.match_nothing) q.MatchNothing();
  q.Tagged("snapshot_id", f.tags);
  return TypedPage<SnapshotRecord>(
      q.List(db, "snapshots", "snapshot_id", kSnapshotColumns,
             std::string("created_at ") + (newest_first ? "DESC" : "ASC") + ", snapshot_id", page),
      SnapshotFromRow);
}

}  // namespace cvm::store
