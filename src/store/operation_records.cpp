#include "store/operation_records.h"

namespace cvm::store {
namespace {

constexpr const char* kUnfinished = "state IN ('PENDING','RUNNING')";

}  // namespace

Status InsertOperation(Transaction& tx, const OperationRecord& op, int64_t now) {
  return tx.Exec(
      "INSERT INTO operations(operation_id, request_id, owner_uin, caller_uin, action, "
      "api_action, resource_id, args, state, created_at, updated_at) "
      "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
      {op.operation_id, op.request_id, op.owner_uin, op.caller_uin, op.action, op.api_action,
       op.resource_id, op.args.dump(), op.state, now, now});
}

Result<std::optional<OperationRecord>> FindOperation(Database& db,
                                                     const std::string& operation_id) {
  auto rows = db.Query(
      "SELECT operation_id, request_id, owner_uin, caller_uin, action, api_action, resource_id, "
      "args, step, state, error_code, error_message FROM operations WHERE operation_id = ?",
      {operation_id});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<OperationRecord>();
  const auto& r = rows->front();
  OperationRecord o{r.Str(0), r.Str(1), r.Str(2),  r.Str(3),
                    r.Str(4), r.Str(5), r.Str(6),  nlohmann::json::parse(r.Str(7), nullptr, false),
                    r.Str(8), r.Str(9), r.Str(10), r.Str(11)};
  if (o.args.is_discarded()) o.args = nlohmann::json::object();
  return std::optional<OperationRecord>(std::move(o));
}

Status SetOperationState(Transaction& tx, const std::string& operation_id, const std::string& state,
                         int64_t now) {
  return tx.Exec("UPDATE operations SET state = ?, updated_at = ? WHERE operation_id = ?",
                 {state, now, operation_id});
}

Status SetOperationOutcome(Transaction& tx, const std::string& operation_id,
                           const std::string& state, const std::string& error_code,
                           const std::string& error_message, int64_t now) {
  return tx.Exec(
      "UPDATE operations SET state = ?, error_code = ?, error_message = ?, updated_at = ? "
      "WHERE operation_id = ?",
      {state, error_code, error_message, now, operation_id});
}

Status SetOperationStep(Transaction& tx, const std::string& operation_id, const std::string& step,
                        int64_t now) {
  return tx.Exec("UPDATE operations SET step = ?, updated_at = ? WHERE operation_id = ?",
                 {step, now, operation_id});
}

Result<std::vector<std::string>> UnfinishedOperationIds(Database& db) {
  auto rows = db.Query(std::string("SELECT operation_id FROM operations WHERE ") + kUnfinished +
                       " ORDER BY created_at, operation_id");
  if (!rows.ok()) return rows.status();
  std::vector<std::string> out;
  out.reserve(rows->size());
  for (const auto& r : *rows) out.push_back(r.Str(0));
  return out;
}

Result<bool> HasUnfinishedOperationWithTarget(Transaction& tx, const std::string& action,
                                              const std::string& target) {
  // The args are decoded here rather than by the database (JSON functions differ between
  // engines); unfinished operations of one action are few.
  auto rows = tx.Query(
      std::string("SELECT args FROM operations WHERE action = ? AND ") + kUnfinished, {action});
  if (!rows.ok()) return rows.status();
  for (const auto& r : *rows) {
    auto args = nlohmann::json::parse(r.Str(0), nullptr, false);
    if (!args.is_object()) continue;
    auto it = args.find("Target");
    if (it != args.end() && it->is_string() && it->get<std::string>() == target) return true;
  }
  return false;
}

Result<std::vector<UnfinishedOperation>> UnfinishedOperationsOf(Transaction& tx,
                                                                const std::string& action,
                                                                const std::string& owner_uin) {
  auto rows = tx.Query(std::string("SELECT resource_id, args FROM operations WHERE action = ? AND "
                                   "owner_uin = ? AND ") +
                           kUnfinished,
                       {action, owner_uin});
  if (!rows.ok()) return rows.status();
  std::vector<UnfinishedOperation> out;
  for (const auto& r : *rows) {
    out.push_back({r.Str(0), nlohmann::json::parse(r.Str(1), nullptr, false)});
  }
  return out;
}

}  // namespace cvm::store
