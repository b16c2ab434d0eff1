#include "store/tat_records.h"

namespace cvm::store {
namespace {

constexpr const char* kCommandColumns =
    "command_id, owner_uin, region, name, description, content, command_type, "
    "working_directory, timeout, username, created_by, created_at, updated_at";
constexpr const char* kInvocationColumns =
    "invocation_id, owner_uin, region, command_id, content, command_type, working_directory, "
    "timeout, username, source, created_at";
constexpr const char* kTaskColumns =
    "task_id, invocation_id, owner_uin, region, instance_id, command_id, status, guest_pid, "
    "exit_code, output, dropped, error_info, start_time, end_time, created_at, updated_at";

TatCommand CommandFrom(const Row& r) {
  return {r.Str(0), r.Str(1), r.Str(2), r.Str(3),  r.Str(4),  r.Str(5), r.Str(6),
          r.Str(7), r.Int(8), r.Str(9), r.Str(10), r.Int(11), r.Int(12)};
}
TatInvocation InvocationFrom(const Row& r) {
  return {r.Str(0), r.Str(1), r.Str(2), r.Str(3), r.Str(4), r.Str(5),
          r.Str(6), r.Str(8), r.Int(7), r.Str(9), r.Int(10)};
}
TatTask TaskFrom(const Row& r) {
  return {r.Str(0), r.Str(1), r.Str(2),  r.Str(3),  r.Str(4),  r.Str(5),  r.Str(6),  r.Int(7),
          r.Int(8), r.Str(9), r.Int(10), r.Str(11), r.Int(12), r.Int(13), r.Int(14), r.Int(15)};
}

// Appends " AND column IN (?,...)" for a non-empty list.
void RestrictTo(std::string& sql, std::vector<Value>& args, const char* column,
                const std::vector<std::string>& values) {
  if (values.empty()) return;
  sql += std::string(" AND ") + column + " IN (";
  for (size_t i = 0; i < values.size(); ++i) sql += i ? ",?" : "?";
  sql += ")";
  args.insert(args.end(), values.begin(), values.end());
}

// The total of a WHERE clause and one page of its rows.
Result<std::pair<int64_t, Rows>> Page(Database& db, const std::string& table,
                                      const std::string& columns, const std::string& where,
                                      std::vector<Value> args, const std::string& order,
                                      int64_t offset, int64_t limit) {
  auto count = db.Query("SELECT COUNT(*) FROM " + table + " WHERE " + where, args);
  if (!count.ok()) return count.status();
  std::string sql =
      "SELECT " + columns + " FROM " + table + " WHERE " + where + " ORDER BY " + order;
  if (limit > 0) {
    sql += " LIMIT ? OFFSET ?";
    args.emplace_back(limit);
    args.emplace_back(offset);
  }
  auto rows = db.Query(sql, args);
  if (!rows.ok()) return rows.status();
  return std::make_pair(count->front().Int(0), std::move(*rows));
}

}  // namespace

bool TatTaskFinished(const std::string& status) {
  return status != kTatPending && status != kTatRunning && status != kTatCancelling;
}

Status InsertTatCommand(Transaction& tx, const TatCommand& c) {
  return tx.Exec(
      std::string("INSERT INTO tat_commands(") + kCommandColumns +
          ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
      {c.command_id, c.owner_uin, c.region, c.name, c.description, c.content, c.command_type,
       c.working_directory, c.timeout, c.username, c.created_by, c.created_at, c.updated_at});
}

Result<std::optional<TatCommand>> FindTatCommand(Transaction& tx, const Scope& scope,
                                                 const std::string& command_id) {
  auto rows =
      tx.Query(std::string("SELECT ") + kCommandColumns +
                   " FROM tat_commands WHERE command_id = ? AND owner_uin = ? AND region = ?",
               {command_id, scope.owner_uin, scope.region});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<TatCommand>();
  return std::optional<TatCommand>(CommandFrom(rows->front()));
}

Result<bool> DeleteTatCommand(Transaction& tx, const Scope& scope, const std::string& command_id) {
  CVM_RETURN_IF_ERROR(
      tx.Exec("DELETE FROM tat_commands WHERE command_id = ? AND owner_uin = ? AND region = ? "
              "AND created_by = 'USER'",
              {command_id, scope.owner_uin, scope.region}));
  return tx.ChangedRows() > 0;
}

Result<TatCommandPage> ListTatCommands(Database& db, const TatCommandQuery& q) {
  std::string where = "owner_uin = ? AND region = ?";
  std::vector<Value> args{q.scope.owner_uin, q.scope.region};
  RestrictTo(where, args, "command_id", q.command_ids);
  RestrictTo(where, args, "name", q.command_names);
  if (!q.created_by.empty()) {
    where += " AND created_by = ?";
    args.emplace_back(q.created_by);
  }
  auto page = Page(db, "tat_commands", kCommandColumns, where, args, "created_at DESC, command_id",
                   q.offset, q.limit);
  if (!page.ok()) return page.status();
  TatCommandPage out{page->first, {}};
  for (const auto& r : page->second) out.commands.push_back(CommandFrom(r));
  return out;
}

Status InsertTatInvocation(Transaction& tx, const TatInvocation& inv,
                           const std::vector<TatTask>& tasks) {
  CVM_RETURN_IF_ERROR(tx.Exec(
      std::string("INSERT INTO tat_invocations(") + kInvocationColumns +
          ") VALUES (?,?,?,?,?,?,?,?,?,?,?)",
      {inv.invocation_id, inv.owner_uin, inv.region, inv.command_id, inv.content, inv.command_type,
       inv.working_directory, inv.timeout, inv.username, inv.source, inv.created_at}));
  for (const auto& t : tasks) {
    CVM_RETURN_IF_ERROR(
        tx.Exec(std::string("INSERT INTO tat_tasks(") + kTaskColumns +
                    ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                {t.task_id, t.invocation_id, t.owner_uin, t.region, t.instance_id, t.command_id,
                 t.status, t.guest_pid, t.exit_code, t.output, t.dropped, t.error_info,
                 t.start_time, t.end_time, t.created_at, t.updated_at}));
  }
  return Status::Ok();
}

Result<TatInvocationPage> ListTatInvocations(Database& db, const TatInvocationQuery& q) {
  std::string where = "owner_uin = ? AND region = ?";
  std::vector<Value> args{q.scope.owner_uin, q.scope.region};
  RestrictTo(where, args, "invocation_id", q.invocation_ids);
  RestrictTo(where, args, "command_id", q.command_ids);
  auto page = Page(db, "tat_invocations", kInvocationColumns, where, args,
                   "created_at DESC, invocation_id", q.offset, q.limit);
  if (!page.ok()) return page.status();
  TatInvocationPage out{page->first, {}};
  for (const auto& r : page->second) out.invocations.push_back(InvocationFrom(r));
  return out;
}

Result<TatTaskPage> ListTatTasks(Database& db, const TatTaskQuery& q) {
  std::string where = "owner_uin = ? AND region = ?";
  std::vector<Value> args{q.scope.owner_uin, q.scope.region};
  RestrictTo(where, args, "task_id", q.task_ids);
  RestrictTo(where, args, "invocation_id", q.invocation_ids);
  RestrictTo(where, args, "instance_id", q.instance_ids);
  auto page = Page(db, "tat_tasks", kTaskColumns, where, args,
                   "created_at DESC, invocation_id, instance_id", q.offset, q.limit);
  if (!page.ok()) return page.status();
  TatTaskPage out{page->first, {}};
  for (const auto& r : page->second) out.tasks.push_back(TaskFrom(r));
  return out;
}

Result<std::vector<std::string>> RunningInstanceIds(Database& db) {
  auto rows = db.Query("SELECT instance_id FROM instances WHERE state = ? AND deleted = 0",
                       {std::string("RUNNING")});
  if (!rows.ok()) return rows.status();
  std::vector<std::string> out;
  for (const auto& r : *rows) out.push_back(r.Str(0));
  return out;
}

Result<std::vector<TatTask>> UnfinishedTatTasks(Database& db) {
  auto rows = db.Query(std::string("SELECT ") + kTaskColumns +
                           " FROM tat_tasks WHERE status IN (?,?,?) ORDER BY created_at, task_id",
                       {kTatPending, kTatRunning, kTatCancelling});
  if (!rows.ok()) return rows.status();
  std::vector<TatTask> out;
  for (const auto& r : *rows) out.push_back(TaskFrom(r));
  return out;
}

Result<bool> UpdateTatTask(Transaction& tx, const TatTask& t) {
  CVM_RETURN_IF_ERROR(tx.Exec(
      "UPDATE tat_tasks SET status = ?, guest_pid = ?, exit_code = ?, output = ?, dropped = ?, "
      "error_info = ?, start_time = ?, end_time = ?, updated_at = ? "
      "WHERE task_id = ? AND status IN (?,?,?) AND NOT (status = ? AND ? = ?)",
      {t.status, t.guest_pid, t.exit_code, t.output, t.dropped, t.error_info, t.start_time,
       t.end_time, t.updated_at, t.task_id, kTatPending, kTatRunning, kTatCancelling,
       kTatCancelling, t.status, kTatRunning}));
  return tx.ChangedRows() > 0;
}

Result<int64_t> CancelTatTasks(Transaction& tx, const Scope& scope,
                               const std::string& invocation_id, int64_t now) {
  CVM_RETURN_IF_ERROR(tx.Exec(
      "UPDATE tat_tasks SET status = ?, end_time = ?, updated_at = ? "
      "WHERE invocation_id = ? AND owner_uin = ? AND region = ? AND status = ?",
      {kTatCancelled, now, now, invocation_id, scope.owner_uin, scope.region, kTatPending}));
  int64_t n = tx.ChangedRows();
  CVM_RETURN_IF_ERROR(
      tx.Exec("UPDATE tat_tasks SET status = ?, updated_at = ? "
              "WHERE invocation_id = ? AND owner_uin = ? AND region = ? AND status = ?",
              {kTatCancelling, now, invocation_id, scope.owner_uin, scope.region, kTatRunning}));
  return n + tx.ChangedRows();
}

}  // namespace cvm::store
