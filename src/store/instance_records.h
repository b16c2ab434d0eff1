// Instance rows as a value type, shared by the handlers (which record intent) and the engine
// (which makes it real and records the outcome).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "store/database.h"

namespace cvm::store {

struct InstanceRecord {
  std::string instance_id, uuid, owner_uin, name, host_name, instance_type;
  int cpu = 1;
  int memory_mib = 128;
  std::string zone, region, image_id, state;
  std::vector<std::string> key_ids;
  std::string password_hash;  // SHA-512 crypt, empty when none
  std::string user_data;      // decoded
  std::string mac, private_ip;
  std::string vpc_id, subnet_id, public_ip;  // public_ip: "" unless PublicIpAssigned
  int ssh_port = 0;                          // loopback port of the management SSH path (cvm ssh)
  std::string state_reason, client_token;
  std::string latest_operation, latest_operation_state, latest_operation_request_id,
      latest_operation_error;
  int64_t created_at = 0, started_at = 0;
  bool deleted = false;
};

// Column list matching InstanceFromRow, for "SELECT <cols> FROM instances ...".
extern const char* const kInstanceColumns;
InstanceRecord InstanceFromRow(const Row& row);

// The live instance `instance_id` of `scope` (nullopt for another account's or region's).
Result<std::optional<InstanceRecord>> LoadInstance(Database& db, const Scope& scope,
                                                   const std::string& instance_id);
Result<std::optional<InstanceRecord>> LoadInstance(Transaction& tx, const Scope& scope,
                                                   const std::string& instance_id);
// Unscoped, for the engine and for ids a scoped lookup produced (a disk's instance).
Result<std::optional<InstanceRecord>> LoadInstance(Database& db, const std::string& instance_id);
Result<std::optional<InstanceRecord>> LoadInstance(Transaction& tx, const std::string& instance_id);
Status InsertInstance(Transaction& tx, const InstanceRecord& r);
// Every live instance, in no particular order.
Result<std::vector<InstanceRecord>> ListLiveInstances(Database& db);

// What the engine records of an instance.
Status SetInstanceState(Transaction& tx, const std::string& instance_id, const std::string& state,
                        const std::string& reason);
// An operation asked by request `request_id` (API action `api_action`) now owns the instance:
// LatestOperation* say so (OPERATING).
Status MarkInstanceOperating(Transaction& tx, const std::string& instance_id,
                             const std::string& api_action, const std::string& request_id);
// How an operation left the instance; written only while that operation's request is still the
// instance's latest.
struct InstanceOutcome {
  std::string state, reason;
  int64_t ssh_port = 0, started_at = 0;
  std::string operation_state, operation_error;  // SUCCESS | FAILED, and why
};
Status RecordInstanceOutcome(Transaction& tx, const std::string& instance_id,
                             const std::string& request_id, const InstanceOutcome& outcome);
// A change that needed no operation (a login recorded for the next start): LatestOperation*
// say `api_action` of request `request_id` succeeded.
Status MarkInstanceOperationDone(Transaction& tx, const std::string& instance_id,
                                 const std::string& api_action, const std::string& request_id);
// The login a start writes into the guest's seed: key pairs and password ('' for none).
Status SetInstanceLogin(Transaction& tx, const std::string& instance_id,
                        const std::vector<std::string>& key_ids, const std::string& password_hash);
Status MarkInstanceTerminated(Transaction& tx, const std::string& instance_id);
// A boot: the management SSH port and the start time.
Status SetInstanceBooted(Transaction& tx, const std::string& instance_id, int64_t ssh_port,
                         int64_t started_at);
Status SetInstanceAddress(Transaction& tx, const std::string& instance_id,
                          const std::string& vpc_id, const std::string& subnet_id,
                          const std::string& private_ip);

struct DiskRecord {
  std::string disk_id, owner_uin, name, usage, disk_type;
  int64_t size_gb = 0;
  std::string zone, region, state, instance_id, image_id;
  bool delete_with_instance = true;
  std::string file_path;
  int64_t created_at = 0;
  bool portable = true;  // an elastic data disk; system disks are not
  int64_t attached_at = 0;
  std::string last_instance_id, error_prompt, source_snapshot_id, client_token;
};
// The state of a disk CreateDisks recorded whose file a worker still makes. Not a Tencent state:
// no answer shows such a disk (a scoped lookup does not find it), as Tencent's disks appear
// once made.
inline constexpr const char* kDiskCreating = "CREATING";
extern const char* const kDiskColumns;
DiskRecord DiskFromRow(const Row& row);
Status InsertDisk(Transaction& tx, const DiskRecord& d);
Result<std::optional<DiskRecord>> LoadDisk(Transaction& tx, const Scope& scope,
                                           const std::string& disk_id);
// Unscoped, for the engine and for ids a scoped lookup produced.
Result<std::optional<DiskRecord>> LoadDisk(Database& db, const std::string& disk_id);
Result<std::optional<DiskRecord>> LoadDisk(Transaction& tx, const std::string& disk_id);

}  // namespace cvm::store
