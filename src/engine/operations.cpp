#include "engine/operations.h"

#include "common/error_codes.h"
#include "common/ids.h"
#include "common/time_format.h"
#include "store/instance_records.h"

namespace cvm::engine {

Result<std::string> RecordOperation(store::Transaction& tx, const api::RequestContext& ctx,
                                    const std::string& action, const std::string& resource_id,
                                    const nlohmann::json& args) {
  OperationRecord op{.operation_id = NewResourceId("op"),
                     .request_id = ctx.request_id,
                     .owner_uin = ctx.owner_uin,
                     .caller_uin = ctx.caller_uin,
                     .action = action,
                     .api_action = ctx.action,
                     .resource_id = resource_id,
                     .args = args,
                     .state = "PENDING"};
  CVM_RETURN_IF_ERROR(store::InsertOperation(tx, op, NowUnix()));
  if (IsDiskOperation(action) || IsImageOperation(action)) return op.operation_id;
  CVM_RETURN_IF_ERROR(store::MarkInstanceOperating(tx, resource_id, ctx.action, ctx.request_id));
  return op.operation_id;
}

Status FinishOperation(store::Transaction& tx, const std::string& operation_id, const Status& st) {
  return store::SetOperationOutcome(tx, operation_id, st.ok() ? "SUCCESS" : "FAILED",
                                    std::string(err::WireCode(st.code())), st.message(), NowUnix());
}

Status RecordOperationStep(store::Database& db, const std::string& operation_id,
                           const std::string& step) {
  return store::WithTransaction(db, [&](store::Transaction& tx) {
    return store::SetOperationStep(tx, operation_id, step, NowUnix());
  });
}

Result<bool> TargetClaimed(store::Transaction& tx, const std::string& action,
                           const std::string& target) {
  return store::HasUnfinishedOperationWithTarget(tx, action, target);
}

Result<OperationRecord> LoadOperation(store::Database& db, const std::string& operation_id) {
  auto op = store::FindOperation(db, operation_id);
  if (!op.ok()) return op.status();
  if (!op->has_value()) return Status(err::kResourceNotFound, "no operation " + operation_id);
  return std::move(**op);
}

}  // namespace cvm::engine
