#include "store/instance_records.h"

#include <nlohmann/json.hpp>

namespace cvm::store {

const char* const kInstanceColumns =
    "instance_id, uuid, owner_uin, name, host_name, instance_type, cpu, memory_mib, zone, "
    "region, image_id, state, key_ids, password_hash, user_data, mac, private_ip, ssh_port, "
    "state_reason, client_token, latest_operation, latest_operation_state, "
    "latest_operation_request_id, latest_operation_error, created_at, started_at, deleted, vpc_id, "
    "subnet_id, public_ip";

InstanceRecord InstanceFromRow(const Row& r) {
  InstanceRecord i;
  size_t c = 0;
  i.instance_id = r.Str(c++);
  i.uuid = r.Str(c++);
  i.owner_uin = r.Str(c++);
  i.name = r.Str(c++);
  i.host_name = r.Str(c++);
  i.instance_type = r.Str(c++);
  i.cpu = static_cast<int>(r.Int(c++));
  i.memory_mib = static_cast<int>(r.Int(c++));
  i.zone = r.Str(c++);
  i.region = r.Str(c++);
  i.image_id = r.Str(c++);
  i.state = r.Str(c++);
  auto keys = nlohmann::json::parse(r.Str(c++), nullptr, false);
  if (keys.is_array()) {
    for (const auto& k : keys) i.key_ids.push_back(k.get<std::string>());
  }
  i.password_hash = r.Str(c++);
  i.user_data = r.Str(c++);
  i.mac = r.Str(c++);
  i.private_ip = r.Str(c++);
  i.ssh_port = static_cast<int>(r.Int(c++));
  i.state_reason = r.Str(c++);
  i.client_token = r.Str(c++);
  i.latest_operation = r.Str(c++);
  i.latest_operation_state = r.Str(c++);
  i.latest_operation_request_id = r.Str(c++);
  i.latest_operation_error = r.Str(c++);
  i.created_at = r.Int(c++);
  i.started_at = r.Int(c++);
  i.deleted = r.Int(c++) != 0;
  i.vpc_id = r.Str(c++);
  i.subnet_id = r.Str(c++);
  i.public_ip = r.Str(c++);
  return i;
}

namespace {
template <typename Src>
Result<std::optional<InstanceRecord>> Load(Src& src, const std::string& id,
                                           const Scope* scope = nullptr) {
  auto rows = scope ? src.Query(std::string("SELECT ") + kInstanceColumns +
                                    " FROM instances WHERE instance_id = ? AND deleted = 0 AND "
                                    "owner_uin = ? AND region = ?",
                                {id, scope->owner_uin, scope->region})
                    : src.Query(std::string("SELECT ") + kInstanceColumns +
                                    " FROM instances WHERE instance_id = ? AND deleted = 0",
                                {id});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<InstanceRecord>();
  return std::optional<InstanceRecord>(InstanceFromRow(rows->front()));
}
}  // namespace

Result<std::optional<InstanceRecord>> LoadInstance(Database& db, const Scope& scope,
                                                   const std::string& id) {
  return Load(db, id, &scope);
}
Result<std::optional<InstanceRecord>> LoadInstance(Transaction& tx, const Scope& scope,
                                                   const std::string& id) {
  return Load(tx, id, &scope);
}
Result<std::optional<InstanceRecord>> LoadInstance(Database& db, const std::string& id) {
  return Load(db, id);
}
Result<std::optional<InstanceRecord>> LoadInstance(Transaction& tx, const std::string& id) {
  return Load(tx, id);
}

Status InsertInstance(Transaction& tx, const InstanceRecord& i) {
  return tx.Exec(std::string("INSERT INTO instances(") + kInstanceColumns +
                     ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                 {i.instance_id,
                  i.uuid,
                  i.owner_uin,
                  i.name,
                  i.host_name,
                  i.instance_type,
                  int64_t{i.cpu},
                  int64_t{i.memory_mib},
                  i.zone,
                  i.region,
                  i.image_id,
                  i.state,
                  nlohmann::json(i.key_ids).dump(),
                  i.password_hash.empty() ? Value(nullptr) : Value(i.password_hash),
                  i.user_data,
                  i.mac,
                  i.private_ip,
                  int64_t{i.ssh_port},
                  i.state_reason,
                  i.client_token.empty() ? Value(nullptr) : Value(i.client_token),
                  i.latest_operation,
                  i.latest_operation_state,
                  i.latest_operation_request_id,
                  i.latest_operation_error,
                  i.created_at,
                  i.started_at,
                  int64_t{i.deleted ? 1 : 0},
                  i.vpc_id,
                  i.subnet_id,
                  i.public_ip});
}

Result<std::vector<InstanceRecord>> ListLiveInstances(Database& db) {
  auto rows =
      db.Query(std::string("SELECT ") + kInstanceColumns + " FROM instances WHERE deleted = 0");
  if (!rows.ok()) return rows.status();
  std::vector<InstanceRecord> out;
  out.reserve(rows->size());
  for (const auto& r : *rows) out.push_back(InstanceFromRow(r));
  return out;
}

Status SetInstanceState(Transaction& tx, const std::string& instance_id, const std::string& state,
                        const std::string& reason) {
  return tx.Exec("UPDATE instances SET state = ?, state_reason = ? WHERE instance_id = ?",
                 {state, reason, instance_id});
}

Status MarkInstanceOperating(Transaction& tx, const std::string& instance_id,
                             const std::string& api_action, const std::string& request_id) {
  return tx.Exec(
      "UPDATE instances SET latest_operation = ?, latest_operation_state = 'OPERATING', "
      "latest_operation_request_id = ?, latest_operation_error = '' WHERE instance_id = ?",
      {api_action, request_id, instance_id});
}

Status RecordInstanceOutcome(Transaction& tx, const std::string& instance_id,
                             const std::string& request_id, const InstanceOutcome& o) {
  return tx.Exec(
      "UPDATE instances SET state = ?, state_reason = ?, ssh_port = ?, started_at = ?, "
      "latest_operation_state = ?, latest_operation_error = ? WHERE instance_id = ? "
      "AND latest_operation_request_id = ?",
      {o.state, o.reason, o.ssh_port, o.started_at, o.operation_state, o.operation_error,
       instance_id, request_id});
}

Status MarkInstanceOperationDone(Transaction& tx, const std::string& instance_id,
                                 const std::string& api_action, const std::string& request_id) {
  return tx.Exec(
      "UPDATE instances SET latest_operation = ?, latest_operation_state = 'SUCCESS', "
      "latest_operation_request_id = ?, latest_operation_error = '' WHERE instance_id = ?",
      {api_action, request_id, instance_id});
}

Status SetInstanceLogin(Transaction& tx, const std::string& instance_id,
                        const std::vector<std::string>& key_ids, const std::string& password_hash) {
  return tx.Exec("UPDATE instances SET key_ids = ?, password_hash = ? WHERE instance_id = ?",
                 {nlohmann::json(key_ids).dump(),
                  password_hash.empty() ? Value(nullptr) : Value(password_hash), instance_id});
}

Status MarkInstanceTerminated(Transaction& tx, const std::string& instance_id) {
  return tx.Exec("UPDATE instances SET deleted = 1, state = 'TERMINATED' WHERE instance_id = ?",
                 {instance_id});
}

Status SetInstanceBooted(Transaction& tx, const std::string& instance_id, int64_t ssh_port,
                         int64_t started_at) {
  return tx.Exec("UPDATE instances SET ssh_port = ?, started_at = ? WHERE instance_id = ?",
                 {ssh_port, started_at, instance_id});
}

Status SetInstanceAddress(Transaction& tx, const std::string& instance_id,
                          const std::string& vpc_id, const std::string& subnet_id,
                          const std::string& private_ip) {
  return tx.Exec(
      "UPDATE instances SET vpc_id = ?, subnet_id = ?, private_ip = ? WHERE instance_id = ?",
      {vpc_id, subnet_id, private_ip, instance_id});
}

const char* const kDiskColumns =
    "disk_id, owner_uin, name, usage, disk_type, size_gb, zone, state, instance_id, image_id, "
    "delete_with_instance, file_path, created_at, portable, attached_at, last_instance_id, "
    "error_prompt, source_snapshot_id, client_token, region";

DiskRecord DiskFromRow(const Row& r) {
  DiskRecord d;
  size_t c = 0;
  d.disk_id = r.Str(c++);
  d.owner_uin = r.Str(c++);
  d.name = r.Str(c++);
  d.usage = r.Str(c++);
  d.disk_type = r.Str(c++);
  d.size_gb = r.Int(c++);
  d.zone = r.Str(c++);
  d.state = r.Str(c++);
  d.instance_id = r.Str(c++);
  d.image_id = r.Str(c++);
  d.delete_with_instance = r.Int(c++) != 0;
  d.file_path = r.Str(c++);
  d.created_at = r.Int(c++);
  d.portable = r.Int(c++) != 0;
  d.attached_at = r.Int(c++);
  d.last_instance_id = r.Str(c++);
  d.error_prompt = r.Str(c++);
  d.source_snapshot_id = r.Str(c++);
  d.client_token = r.Str(c++);
  d.region = r.Str(c++);
  return d;
}

Status InsertDisk(Transaction& tx, const DiskRecord& d) {
  auto optional = [](const std::string& s) { return s.empty() ? Value(nullptr) : Value(s); };
  return tx.Exec(std::string("INSERT INTO disks(") + kDiskColumns +
                     ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                 {d.disk_id,
                  d.owner_uin,
                  d.name,
                  d.usage,
                  d.disk_type,
                  d.size_gb,
                  d.zone,
                  d.state,
                  optional(d.instance_id),
                  optional(d.image_id),
                  int64_t{d.delete_with_instance ? 1 : 0},
                  d.file_path,
                  d.created_at,
                  int64_t{d.portable ? 1 : 0},
                  d.attached_at,
                  d.last_instance_id,
                  d.error_prompt,
                  d.source_snapshot_id,
                  optional(d.client_token),
                  d.region});
}

namespace {
template <typename Source>
Result<std::optional<DiskRecord>> LoadDiskFrom(Source& src, const std::string& disk_id,
                                               const Scope* scope = nullptr) {
  auto rows =
      scope ? src.Query(std::string("SELECT ") + kDiskColumns +
                            " FROM disks WHERE disk_id = ? AND deleted = 0 AND owner_uin = ? AND "
                            "region = ? AND state != ?",
                        {disk_id, scope->owner_uin, scope->region, kDiskCreating})
            : src.Query(std::string("SELECT ") + kDiskColumns +
                            " FROM disks WHERE disk_id = ? AND deleted = 0",
                        {disk_id});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<DiskRecord>();
  return std::optional<DiskRecord>(DiskFromRow(rows->front()));
}
}  // namespace

Result<std::optional<DiskRecord>> LoadDisk(Transaction& tx, const Scope& scope,
                                           const std::string& disk_id) {
  return LoadDiskFrom(tx, disk_id, &scope);
}
Result<std::optional<DiskRecord>> LoadDisk(Database& db, const std::string& disk_id) {
  return LoadDiskFrom(db, disk_id);
}
Result<std::optional<DiskRecord>> LoadDisk(Transaction& tx, const std::string& disk_id) {
  return LoadDiskFrom(tx, disk_id);
}

}  // namespace cvm::store
