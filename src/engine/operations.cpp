#include "engine/operations.h"

#include "common/error_codes.h"
#include "common/ids.h"
#include "common/time_format.h"

namespace cvm::engine {

Result<std::string> RecordOperation(store::Transaction& tx, const api::RequestContext& ctx,
                                    const std::string& action, const std::string& resource_id,
                                    const nlohmann::json& args) {
  std::string id = NewResourceId("op");
  int64_t now = NowUnix();
  CVM_RETURN_IF_ERROR(
      tx.Exec("INSERT INTO operations(operation_id, request_id, owner_uin, caller_uin, action, "
              "api_action, resource_id, args, state, created_at, updated_at) "
              "VALUES (?,?,?,?,?,?,?,?, 'PENDING', ?, ?)",
              {id, ctx.request_id, ctx.owner_uin, ctx.caller_uin, action, ctx.action, resource_id,
               args.dump(), now, now}));
  if (IsDiskOperation(action) || IsImageOperation(action)) return id;
  CVM_RETURN_IF_ERROR(
      tx.Exec("UPDATE instances SET latest_operation = ?, latest_operation_state = 'OPERATING', "
              "latest_operation_request_id = ?, latest_operation_error = '' WHERE instance_id = ?",
              {ctx.action, ctx.request_id, resource_id}));
  return id;
}

Status FinishOperation(store::Transaction& tx, const std::string& operation_id, const Status& st) {
  return tx.Exec(
      "UPDATE operations SET state=?, error_code=?, error_message=?, updated_at=? "
      "WHERE operation_id=?",
      {std::string(st.ok() ? "SUCCESS" : "FAILED"), std::string(err::WireCode(st.code())),
       st.message(), NowUnix(), operation_id});
}

Status RecordOperationStep(store::Database& db, const std::string& operation_id,
                           const std::string& step) {
  return store::WithTransaction(db, [&](store::Transaction& tx) {
    return tx.Exec("UPDATE operations SET step=?, updated_at=? WHERE operation_id=?",
                   {step, NowUnix(), operation_id});
  });
}

Result<bool> TargetClaimed(store::Transaction& tx, const std::string& action,
                           const std::string& target) {
  auto rows = tx.Query(
      "SELECT 1 FROM operations WHERE action = ? AND state IN ('PENDING','RUNNING') AND "
      "json_extract(args, '$.Target') = ? LIMIT 1",
      {action, target});
  if (!rows.ok()) return rows.status();
  return !rows->empty();
}

Result<OperationRecord> LoadOperation(store::Database& db, const std::string& operation_id) {
  auto rows = db.Query(
      "SELECT operation_id, request_id, owner_uin, caller_uin, action, api_action, resource_id, "
      "args, step, state, error_code, error_message FROM operations WHERE operation_id = ?",
      {operation_id});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return Status(err::kResourceNotFound, "no operation " + operation_id);
  const auto& r = rows->front();
  OperationRecord o{r.Str(0), r.Str(1), r.Str(2),  r.Str(3),
                    r.Str(4), r.Str(5), r.Str(6),  nlohmann::json::parse(r.Str(7), nullptr, false),
                    r.Str(8), r.Str(9), r.Str(10), r.Str(11)};
  if (o.args.is_discarded()) o.args = nlohmann::json::object();
  return o;
}

}  // namespace cvm::engine
