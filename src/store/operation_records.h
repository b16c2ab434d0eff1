// Operation records: one row per asynchronous action (what the engine does, for which request,
// on which resource, how far it got and how it ended).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "store/database.h"

namespace cvm::store {

struct OperationRecord {
  std::string operation_id, request_id, owner_uin, caller_uin, action, api_action, resource_id;
  nlohmann::json args;
  std::string step, state, error_code, error_message;
};

// Stores a new operation (its step empty, its error fields empty).
Status InsertOperation(Transaction& tx, const OperationRecord& op, int64_t now);
Result<std::optional<OperationRecord>> FindOperation(Database& db, const std::string& operation_id);
Status SetOperationState(Transaction& tx, const std::string& operation_id, const std::string& state,
                         int64_t now);
// The final state (SUCCESS | FAILED) and the error it ended with (empty on success).
Status SetOperationOutcome(Transaction& tx, const std::string& operation_id,
                           const std::string& state, const std::string& error_code,
                           const std::string& error_message, int64_t now);
Status SetOperationStep(Transaction& tx, const std::string& operation_id, const std::string& step,
                        int64_t now);
// The ids of every PENDING or RUNNING operation, oldest first.
Result<std::vector<std::string>> UnfinishedOperationIds(Database& db);
// Whether a PENDING or RUNNING `action` operation has `target` as its args' Target.
Result<bool> HasUnfinishedOperationWithTarget(Transaction& tx, const std::string& action,
                                              const std::string& target);
// The account's PENDING or RUNNING `action` operations: their resource and args.
struct UnfinishedOperation {
  std::string resource_id;
  nlohmann::json args;  // not an object when unreadable
};
Result<std::vector<UnfinishedOperation>> UnfinishedOperationsOf(Transaction& tx,
                                                                const std::string& action,
                                                                const std::string& owner_uin);

}  // namespace cvm::store
