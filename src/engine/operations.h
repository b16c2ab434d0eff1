// Operation records: one row per asynchronous action, written in the same transaction as the
// intent it carries out, so a crash at any point leaves a record the next start can finish.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "api/request_context.h"
#include "store/database.h"
#include "store/operation_records.h"

namespace cvm::engine {

// What the engine does to an instance.
namespace op {
inline constexpr const char* kLaunch = "LAUNCH";
inline constexpr const char* kStart = "START";
inline constexpr const char* kStop = "STOP";
inline constexpr const char* kReboot = "REBOOT";
inline constexpr const char* kTerminate = "TERMINATE";
inline constexpr const char* kReset = "RESET";
// ... and to a disk (the operation's resource is the disk; its instance is serialized with it).
inline constexpr const char* kCreateDisk = "CREATE_DISK";
inline constexpr const char* kAttachDisk = "ATTACH_DISK";
inline constexpr const char* kDetachDisk = "DETACH_DISK";
inline constexpr const char* kResizeDisk = "RESIZE_DISK";
inline constexpr const char* kCreateSnapshot = "CREATE_SNAPSHOT";
inline constexpr const char* kApplySnapshot = "APPLY_SNAPSHOT";
// ... and to an image (the resource is the image; a capture also takes its instance's lock).
inline constexpr const char* kCreateImage = "CREATE_IMAGE";
inline constexpr const char* kImportImage = "IMPORT_IMAGE";
inline constexpr const char* kExportImage = "EXPORT_IMAGE";
inline constexpr const char* kSyncImage = "SYNC_IMAGE";
// Forced off, seed rewritten, started again: login changes on a running instance.
inline constexpr const char* kRestart = "RESTART";
}  // namespace op

inline bool IsDiskOperation(const std::string& action) {
  return action == op::kCreateDisk || action == op::kAttachDisk || action == op::kDetachDisk ||
         action == op::kResizeDisk || action == op::kCreateSnapshot || action == op::kApplySnapshot;
}

inline bool IsImageOperation(const std::string& action) {
  return action == op::kCreateImage || action == op::kImportImage || action == op::kExportImage ||
         action == op::kSyncImage;
}

using OperationRecord = store::OperationRecord;

// Inserts a PENDING operation for `resource_id` and, when it is an instance, marks its
// LatestOperation* fields (OPERATING). Returns the operation id; the caller commits, then submits
// it.
Result<std::string> RecordOperation(store::Transaction& tx, const api::RequestContext& ctx,
                                    const std::string& action, const std::string& resource_id,
                                    const nlohmann::json& args = nlohmann::json::object());

// Records an operation's outcome: SUCCESS, or FAILED with the status's code and message.
Status FinishOperation(store::Transaction& tx, const std::string& operation_id, const Status& st);

// Records that an unfinished operation is past `step`, so a run after a crash skips it.
Status RecordOperationStep(store::Database& db, const std::string& operation_id,
                           const std::string& step);

// Whether an unfinished `action` operation already writes to `target` (its args' Target): the
// claim two exports to one file are refused by, in the transaction that records the next.
Result<bool> TargetClaimed(store::Transaction& tx, const std::string& action,
                           const std::string& target);

Result<OperationRecord> LoadOperation(store::Database& db, const std::string& operation_id);

}  // namespace cvm::engine
