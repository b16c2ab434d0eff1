// The instance lifecycle actions. Each write handler validates everything, then records the new
// state and an operation in one transaction and answers; the engine does the work.
#include <map>

#include "api/envelope.h"
#include "common/error_codes.h"
#include "common/ids.h"
#include "common/json_writer.h"
#include "common/time_format.h"
#include "drivers/guest/nocloud_seed.h"
#include "engine/engine.h"
#include "engine/operations.h"
#include "services/cvm/instance_network.h"
#include "services/cvm/instance_rules.h"
#include "services/filters.h"
#include "services/resource_tags.h"
#include "services/service_deps.h"
#include "services/storage_rules.h"
#include "services/vpc/vpc_common.h"
#include "store/client_tokens.h"
#include "store/datapath_records.h"
#include "store/instance_records.h"
#include "store/key_pair_records.h"
#include "store/snapshot_records.h"
#include "store/tag_records.h"

namespace cvm::services {
namespace {

using nlohmann::json;
using store::InstanceRecord;

int MemoryGiB(int mib) { return (mib + 1023) / 1024; }

// States that hold host resources (a stopped instance gives its CPU and memory back).
constexpr const char* kConsumingStates =
    "('PENDING','RUNNING','STARTING','STOPPING','REBOOTING','TERMINATING')";

Status CheckCapacity(store::Transaction& tx, const engine::Engine& engine, int add_cpu,
                     int add_mem) {
  auto used = tx.Query(std::string("SELECT COALESCE(SUM(cpu),0), COALESCE(SUM(memory_mib),0) "
                                   "FROM instances WHERE deleted = 0 AND state IN ") +
                       kConsumingStates);
  if (!used.ok()) return used.status();
  double cpu = static_cast<double>((*used)[0].Int(0) + add_cpu);
  double mem = static_cast<double>((*used)[0].Int(1) + add_mem);
  const auto& cap = engine.capacity();
  if (cpu > cap.cpus || mem > cap.memory_mib) {
    return Status(err::kResourceInsufficientSpecifiedInstanceType,
                  "This host cannot fit the requested instances: " + std::to_string(add_cpu) +
                      " vCPUs / " + std::to_string(add_mem) + " MiB more would exceed " +
                      std::to_string(static_cast<int>(cap.cpus)) + " vCPUs / " +
                      std::to_string(static_cast<int>(cap.memory_mib)) +
                      " MiB (after overcommit).");
  }
  return Status::Ok();
}

struct ImageRow {
  std::string image_id, os_name, state, default_user, image_type;
  int64_t size_gb = 0;
  int64_t min_memory_mib = 0;
};

Status CheckImageFitsType(const ImageRow& image, int memory_mib) {
  if (memory_mib < image.min_memory_mib) {
    return Status(
        err::kInvalidParameterValueInvalidImageForGivenInstanceType,
        "Image " + image.image_id + " needs at least " + std::to_string(image.min_memory_mib) +
            " MiB of memory; the instance type has " + std::to_string(memory_mib) + " MiB.");
  }
  return Status::Ok();
}

// RunInstances' DataDisks as records to insert per instance (ids, zone and owner filled later).
Result<std::vector<store::DiskRecord>> ParseDataDisks(const json& p, const Config& config) {
  std::vector<store::DiskRecord> out;
  if (!p.contains("DataDisks")) return out;
  if (p["DataDisks"].size() > static_cast<size_t>(config.max_data_disks_per_instance)) {
    return Status(err::kLimitExceededInstanceAttachedDisk,
                  "At most " + std::to_string(config.max_data_disks_per_instance) +
                      " data disks per instance.");
  }
  for (const auto& dd : p["DataDisks"]) {
    store::DiskRecord d;
    d.disk_type = dd.value("DiskType", "CLOUD_PREMIUM");
    auto type = FindDiskType(config, d.disk_type, "DATA_DISK");
    if (!type.ok()) return type.status();
    d.size_gb = dd.value("DiskSize", int64_t{0});
    CVM_RETURN_IF_ERROR(CheckDiskSize(**type, d.size_gb, "DataDisks.DiskSize"));
    if (dd.value("Encrypt", false) || dd.contains("KmsKeyId")) {
      return Status(err::kInvalidParameterValue, "Disk encryption is not offered here.");
    }
    d.name = dd.value("DiskName", "");
    if (d.name.size() > 60) {
      return Status(err::kInvalidParameterValue, "DataDisks.DiskName is at most 60 bytes.");
    }
    d.source_snapshot_id = dd.value("SnapshotId", "");
    if (!d.source_snapshot_id.empty() && !IsWellFormedId("snap", d.source_snapshot_id)) {
      return Status(
          err::kInvalidParameterValue,
          "DataDisks.SnapshotId `" + d.source_snapshot_id.substr(0, 32) + "` is malformed.");
    }
    d.delete_with_instance = dd.value("DeleteWithInstance", true);
    d.usage = "DATA_DISK";
    d.state = "ATTACHED";
    out.push_back(std::move(d));
  }
  return out;
}

Result<ImageRow> FindUsableImage(store::Transaction& tx, const api::RequestContext& ctx,
                                 const std::string& image_id) {
  if (!IsWellFormedId("img", image_id)) {
    return Status(err::kInvalidImageIdMalformed,
                  "The image id `" + image_id.substr(0, 32) + "` is malformed.");
  }
  auto rows = tx.Query(
      "SELECT image_id, os_name, state, default_user, image_type, size_gb, min_memory_mib "
      "FROM images "
      "WHERE image_id = ?1 AND deleted = 0 AND region IN ('', ?3) AND (owner_uin IS NULL OR "
      "owner_uin = ?2 OR EXISTS "
      "(SELECT 1 FROM image_shares s WHERE s.image_id = images.image_id AND s.account_uin = ?2))",
      {image_id, ctx.owner_uin, ctx.region});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) {
    return Status(err::kInvalidImageIdNotFound, "The image " + image_id + " does not exist.");
  }
  const auto& r = rows->front();
  ImageRow img{r.Str(0), r.Str(1), r.Str(2), r.Str(3), r.Str(4), r.Int(5), r.Int(6)};
  if (img.state != "NORMAL") {
    return Status(err::kInvalidImageIdIncorrectState,
                  "The image " + image_id + " is " + img.state + ", not NORMAL.");
  }
  return img;
}

struct LoginChoice {
  std::vector<std::string> key_ids;
  std::string password_hash;
  bool given = false;
};

Result<LoginChoice> ParseLoginSettings(store::Transaction& tx, const api::RequestContext& ctx,
                                       const json& params) {
  LoginChoice out;
  auto it = params.find("LoginSettings");
  if (it == params.end()) return out;
  const json& ls = *it;
  bool has_pw = ls.contains("Password"), has_keys = ls.contains("KeyIds") && !ls["KeyIds"].empty();
  if (has_pw && has_keys) {
    return Status(err::kInvalidParameterCombination,
                  "LoginSettings.Password and LoginSettings.KeyIds cannot be used together.");
  }
  std::string keep = ls.value("KeepImageLogin", "false");
  if (keep != "true" && keep != "false" && keep != "TRUE" && keep != "FALSE") {
    return Status(err::kInvalidParameterValue, "LoginSettings.KeepImageLogin is true or false.");
  }
  if (keep == "true" || keep == "TRUE") {
    if (has_pw || has_keys) {
      return Status(err::kInvalidParameterParameterConflict,
                    "LoginSettings.KeepImageLogin cannot be combined with a password or keys.");
    }
    out.given = true;  // the image's own login: no keys, no password from us
    return out;
  }
  if (has_pw) {
    std::string pw = ls["Password"].get<std::string>();
    CVM_RETURN_IF_ERROR(CheckPassword(pw));
    auto hash = drivers::guest::HashPassword(pw);
    if (!hash.ok()) return hash.status();
    out.password_hash = *hash;
    out.given = true;
  }
  if (has_keys) {
    for (const auto& k : ls["KeyIds"]) {
      std::string id = k.get<std::string>();
      if (!IsWellFormedId("skey", id)) {
        return Status(err::kInvalidKeyPairIdMalformed,
                      "The key pair id `" + id.substr(0, 32) + "` is malformed.");
      }
      auto key = store::FindKeyPair(tx, ScopeOf(ctx), id);
      if (!key.ok()) return key.status();
      if (!*key) {
        return Status(err::kInvalidKeyPairIdNotFound, "The key pair " + id + " does not exist.");
      }
      out.key_ids.push_back(id);
    }
    out.given = true;
  }
  return out;
}

std::string NewMac() {
  std::string id = NewResourceId("m");  // 8 random [a-z0-9]; hash them into 3 bytes
  uint32_t h = 2166136261u;
  for (char c : id) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
  char buf[32];
  std::snprintf(buf, sizeof buf, "52:54:00:%02x:%02x:%02x", (h >> 16) & 0xff, (h >> 8) & 0xff,
                h & 0xff);
  return buf;
}

// One Instance object, written straight into the answer (DescribeInstances lists up to 100:
// a document tree for them cost more than everything else in the call).
using Tags = std::vector<store::TagPair>;
struct DiskEntry {
  std::string id, type;
  int64_t size_gb = 0;
  bool delete_with_instance = true;
};
struct InstanceDisks {
  DiskEntry system;
  std::vector<DiskEntry> data;
};
void WriteInstance(JsonWriter& w, const InstanceRecord& i,
                   const std::map<std::string, InstanceDisks>& disks,
                   const std::map<std::string, std::pair<std::string, std::string>>& images,
                   const std::map<std::string, Tags>& tags,
                   const std::map<std::string, std::vector<std::string>>& groups) {
  static const InstanceDisks kNone;
  auto found = disks.find(i.instance_id);
  const InstanceDisks& disk = found == disks.end() ? kNone : found->second;
  auto image = images.find(i.image_id);
  auto tag = tags.find(i.instance_id);
  w.BeginObject();
  w.Key("Placement").BeginObject().Member("Zone", i.zone).Member("ProjectId", 0).EndObject();
  w.Member("InstanceId", i.instance_id);
  w.Member("InstanceType", i.instance_type);
  w.Member("CPU", i.cpu);
  w.Member("Memory", MemoryGiB(i.memory_mib));
  w.Member("RestrictState", "NORMAL");
  w.Member("InstanceName", i.name);
  w.Member("InstanceChargeType", "POSTPAID_BY_HOUR");
  w.Key("SystemDisk")
      .BeginObject()
      .Member("DiskType", disk.system.type)
      .Member("DiskId", disk.system.id)
      .Member("DiskSize", disk.system.size_gb)
      .EndObject();
  w.Key("DataDisks").BeginArray();
  for (const auto& d : disk.data) {
    w.BeginObject()
        .Member("DiskType", d.type)
        .Member("DiskId", d.id)
        .Member("DiskSize", d.size_gb)
        .Member("DeleteWithInstance", d.delete_with_instance)
        .Member("Encrypt", false)
        .Member("ThroughputPerformance", 0)
        .EndObject();
  }
  w.EndArray();
  w.Key("PrivateIpAddresses").BeginArray();
  if (!i.private_ip.empty()) w.String(i.private_ip);
  w.EndArray();
  // Tencent answers null, not [], for an instance without a public address.
  if (i.public_ip.empty()) {
    w.Key("PublicIpAddresses").Null();
  } else {
    w.Key("PublicIpAddresses").BeginArray().String(i.public_ip).EndArray();
  }
  w.Key("InternetAccessible")
      .BeginObject()
      .Member("InternetChargeType", "TRAFFIC_POSTPAID_BY_HOUR")
      .Member("InternetMaxBandwidthOut", 0)
      .Member("PublicIpAssigned", !i.public_ip.empty())
      .EndObject();
  w.Key("VirtualPrivateCloud")
      .BeginObject()
      .Member("VpcId", i.vpc_id)
      .Member("SubnetId", i.subnet_id)
      .Member("AsVpcGateway", false)
      .EndObject();
  w.Member("ImageId", i.image_id);
  w.Key("RenewFlag").Null();
  w.Member("CreatedTime", FormatIsoTime(i.created_at));
  w.Key("ExpiredTime").Null();
  w.Member("OsName", image == images.end() ? "" : image->second.first);
  w.Key("SecurityGroupIds").BeginArray();
  if (auto g = groups.find(i.instance_id); g != groups.end()) {
    for (const auto& id : g->second) w.String(id);
  }
  w.EndArray();
  w.Key("LoginSettings").BeginObject().Key("KeyIds").BeginArray();
  for (const auto& k : i.key_ids) w.String(k);
  w.EndArray().EndObject();
  w.Member("InstanceState", i.state);
  w.Key("Tags").BeginArray();
  if (tag != tags.end()) {
    for (const auto& t : tag->second)
      w.BeginObject().Member("Key", t.key).Member("Value", t.value).EndObject();
  }
  w.EndArray();
  w.Member("StopChargingMode", "NOT_APPLICABLE");
  w.Member("Uuid", i.uuid);
  w.Member("LatestOperation", i.latest_operation);
  w.Member("LatestOperationState", i.latest_operation_state);
  w.Member("LatestOperationRequestId", i.latest_operation_request_id);
  w.Member("LatestOperationErrorMsg", i.latest_operation_error);
  w.Member("DisasterRecoverGroupId", "");
  w.Key("IPv6Addresses").Null();
  w.Member("CamRoleName", "");
  w.Member("HpcClusterId", "");
  w.Key("RdmaIpAddresses").Null();
  w.Member("IsolatedSource", "NOTISOLATED");
  w.Member("DisableApiTermination", false);
  w.Member("DefaultLoginUser", image == images.end() ? "root" : image->second.second);
  w.Member("DefaultLoginPort", 22);
  w.Member("LicenseType", "TencentCloud");
  w.EndObject();
}

}  // namespace

void RegisterCvmInstanceHandlers(api::Router& router, ServiceDeps& deps) {
  auto& db = deps.db;
  auto& engine = deps.engine;
  const Config& config = deps.config;

  router.Register("RunInstances", [&](const api::RequestContext& ctx, json& p) -> Result<json> {
    std::string charge = p.value("InstanceChargeType", "POSTPAID_BY_HOUR");
    if (charge != "POSTPAID_BY_HOUR" && charge != "PREPAID" && charge != "SPOTPAID") {
      return Status(err::kInvalidParameterValue,
                    "InstanceChargeType " + charge.substr(0, 32) + " is not supported.");
    }
    std::string zone = p.contains("Placement") ? p["Placement"].value("Zone", "") : "";
    const RegionConfig* zone_region = nullptr;
    if (!config.FindZone(zone, &zone_region)) {
      return Status(err::kInvalidParameterValueZoneNotSupported,
                    "The zone `" + zone.substr(0, 32) + "` does not exist.");
    }
    if (zone_region->region != ctx.region) {
      return Status(err::kInvalidZoneMismatchRegion,
                    "The zone " + zone + " is not in region " + ctx.region + ".");
    }
    std::string type_name = p.value("InstanceType", "S5.SMALL1");
    const InstanceTypeConfig* type = config.FindInstanceType(type_name);
    if (!type) {
      return Status(err::kInvalidParameterValueInstanceTypeNotFound,
                    "The instance type `" + type_name.substr(0, 32) + "` does not exist.");
    }
    int64_t count = p.value("InstanceCount", int64_t{1});
    if (count < 1 || count > 100) {
      return Status(err::kInvalidParameterValue, "InstanceCount must be between 1 and 100.");
    }
    std::string name = p.value("InstanceName", "Unnamed");
    CVM_RETURN_IF_ERROR(CheckInstanceName(name));
    std::string host_pattern = p.value("HostName", "");
    if (!host_pattern.empty())
      CVM_RETURN_IF_ERROR(CheckHostName(ExpandNamePattern(host_pattern, 0, 1)));
    std::string user_data;
    if (p.contains("UserData")) {
      auto ud = DecodeUserData(p["UserData"].get<std::string>());
      if (!ud.ok()) return ud.status();
      user_data = *ud;
    }
    std::string token = p.value("ClientToken", "");
    if (token.size() > 64) {
      return Status(err::kInvalidClientTokenTooLong, "ClientToken is limited to 64 characters.");
    }
    std::string disk_type = "CLOUD_PREMIUM";
    int64_t disk_size = -1;
    if (p.contains("SystemDisk")) {
      disk_type = p["SystemDisk"].value("DiskType", disk_type);
      disk_size = p["SystemDisk"].value("DiskSize", int64_t{-1});
    }
    auto system_type = FindDiskType(config, disk_type, "SYSTEM_DISK");
    if (!system_type.ok()) return system_type.status();
    auto data_disks = ParseDataDisks(p, config);
    if (!data_disks.ok()) return data_disks.status();
    bool dry_run = p.value("DryRun", false);
    auto tags = TagSpecificationTags(p, "instance");
    if (!tags.ok()) return tags.status();
    auto network_request = ParseNetworkRequest(p, count);
    if (!network_request.ok()) return network_request.status();

    std::vector<std::string> ids, ops;
    std::optional<json> replay;
    const store::ClientTokenKey token_key{ctx.owner_uin, ctx.action, token};
    Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
      if (!token.empty()) {
        auto prior = store::FindClientTokenAnswer(tx, token_key);
        if (!prior.ok()) return prior.status();
        replay = *prior;
        if (replay) return Status::Ok();  // idempotent retry: the first answer, nothing new
      }
      // The network first: its refusals do not depend on an image being there.
      auto network = ResolveNetwork(tx, ctx, zone, config, *network_request);
      if (!network.ok()) return network.status();
      auto image = FindUsableImage(tx, ctx, p.value("ImageId", ""));
      if (!image.ok()) return image.status();
      CVM_RETURN_IF_ERROR(CheckImageFitsType(*image, type->memory_mib));
      int64_t size = disk_size < 0 ? std::max<int64_t>(image->size_gb, 20) : disk_size;
      if (size < image->size_gb) {
        return Status(err::kInvalidParameterValue,
                      "SystemDisk.DiskSize must be at least " + std::to_string(image->size_gb) +
                          " GiB, the size of image " + image->image_id + ".");
      }
      CVM_RETURN_IF_ERROR(CheckDiskSize(**system_type, size, "SystemDisk.DiskSize"));
      for (auto& dd : *data_disks) {
        if (dd.source_snapshot_id.empty()) continue;
        // A snapshot still being made or applied counts as missing here.
        auto snap = store::FindSnapshot(tx, ScopeOf(ctx), dd.source_snapshot_id);
        if (!snap.ok()) return snap.status();
        if (!*snap || (*snap)->state != "NORMAL") {
          return Status(err::kInvalidSnapshotIdNotFound,
                        "The snapshot " + dd.source_snapshot_id + " does not exist.");
        }
        if (dd.size_gb < (*snap)->disk_size_gb) {
          return Status(err::kInvalidParameterValue,
                        "DataDisks.DiskSize must be at least the snapshot's " +
                            std::to_string((*snap)->disk_size_gb) + " GiB.");
        }
      }
      auto login = ParseLoginSettings(tx, ctx, p);
      if (!login.ok()) return login.status();
      if (!login->given) {
        // Never an open root: a random password nobody is told (set one with
        // ResetInstancesPassword, or bind a key).
        auto hash = drivers::guest::HashPassword(RandomAlnum(24));
        if (!hash.ok()) return hash.status();
        login->password_hash = *hash;
      }
      CVM_RETURN_IF_ERROR(CheckCapacity(tx, engine, static_cast<int>(count) * type->cpu,
                                        static_cast<int>(count) * type->memory_mib));
      int64_t data_gb = 0;
      for (const auto& dd : *data_disks) data_gb += dd.size_gb;
      CVM_RETURN_IF_ERROR(CheckStorageCapacity(tx, engine, count * (size + data_gb)));
      if (dry_run) {
        return Status(err::kDryRunOperation, "The request would have succeeded (DryRun).");
      }
      int64_t now = NowUnix();
      for (int i = 0; i < count; ++i) {
        InstanceRecord r;
        r.instance_id = NewResourceId("ins");
        r.uuid = NewUuid();
        r.owner_uin = ctx.owner_uin;
        r.name = ExpandNamePattern(name, i, static_cast<int>(count));
        r.host_name = host_pattern.empty()
                          ? r.instance_id
                          : ExpandNamePattern(host_pattern, i, static_cast<int>(count));
        r.instance_type = type->type;
        r.cpu = type->cpu;
        r.memory_mib = type->memory_mib;
        r.zone = zone;
        r.region = ctx.region;
        r.image_id = image->image_id;
        r.state = "PENDING";
        r.key_ids = login->key_ids;
        r.password_hash = login->password_hash;
        r.user_data = user_data;
        r.mac = NewMac();
        r.client_token = token;
        r.created_at = now;
        // Each instance is inserted before the next allocates, so each gets its own address.
        CVM_RETURN_IF_ERROR(
            AssignAddresses(tx, *network, *network_request, static_cast<size_t>(i), config, r));
        CVM_RETURN_IF_ERROR(store::InsertInstance(tx, r));
        CVM_RETURN_IF_ERROR(
            store::ReplaceSecurityGroupBindings(tx, r.instance_id, network->sg_ids));
        CVM_RETURN_IF_ERROR(store::SetTags(tx, ctx.owner_uin, r.instance_id, *tags,
                                           err::kInvalidParameterValueTagQuotaLimitExceeded));
        store::DiskRecord d;
        d.disk_id = NewResourceId("disk");
        d.owner_uin = ctx.owner_uin;
        d.name = r.name + "-system";
        d.usage = "SYSTEM_DISK";
        d.disk_type = disk_type;
        d.size_gb = size;
        d.zone = zone;
        d.region = ctx.region;
        d.state = "ATTACHED";
        d.instance_id = r.instance_id;
        d.image_id = image->image_id;
        d.file_path = engine.DiskPath(d.disk_id).string();
        d.created_at = now;
        d.portable = false;
        CVM_RETURN_IF_ERROR(store::InsertDisk(tx, d));
        // Data disks are recorded attached; the launch makes their files and boots with them.
        for (size_t n = 0; n < data_disks->size(); ++n) {
          store::DiskRecord dd = (*data_disks)[n];
          dd.disk_id = NewResourceId("disk");
          dd.owner_uin = ctx.owner_uin;
          if (dd.name.empty()) dd.name = r.name + "-data" + std::to_string(n);
          dd.zone = zone;
          dd.region = ctx.region;
          dd.instance_id = r.instance_id;
          dd.attached_at = now * 1000 + static_cast<int64_t>(n);
          dd.file_path = engine.DiskPath(dd.disk_id).string();
          dd.created_at = now;
          CVM_RETURN_IF_ERROR(store::InsertDisk(tx, dd));
        }
        auto op = engine::RecordOperation(tx, ctx, engine::op::kLaunch, r.instance_id);
        if (!op.ok()) return op.status();
        ids.push_back(r.instance_id);
        ops.push_back(*op);
      }
      if (token.empty()) return Status::Ok();
      return store::ClaimClientToken(tx, token_key, json{{"InstanceIdSet", ids}}, now);
    });
    if (!st.ok()) return st;
    if (replay) return std::move(*replay);
    if (!ops.empty()) vpc::SyncNetworkAfterCommit(engine, ctx);
    for (const auto& op : ops) engine.Submit(op);
    return json{{"InstanceIdSet", ids}};
  });

  router.Register(
      "DescribeInstances", [&](const api::RequestContext& ctx, json& p) -> Result<json> {
        auto ids = InstanceIdsParam(p, "InstanceIds");
        if (!ids.ok()) return ids.status();
        auto filters =
            Filters::Parse(p, {"instance-id", "instance-name", "instance-state", "zone", "image-id",
                               "private-ip-address", "instance-type", "instance-charge-type",
                               "uuid", "tag-key", "tag-value", "tag:", "vpc-id", "subnet-id",
                               "security-group-id", "public-ip-address"});
        if (!filters.ok()) return filters.status();
        if (!ids->empty() && !filters->empty()) {
          return Status(err::kInvalidParameterCombination,
                        "InstanceIds and Filters cannot be used together.");
        }
        auto paging = Paging::Parse(p, ctx.visible, iam::kind::kInstance);
        if (!paging.ok()) return paging.status();

        // Filters become SQL so paging happens in the database, whatever the table's size.
        SqlWhere where("owner_uin = ? AND region = ? AND deleted = 0", {ctx.owner_uin, ctx.region});
        if (!ids->empty()) where.In("instance_id", *ids);
        where.Filtered(*filters, {{"instance-id", "instance_id"},
                                  {"instance-name", "name"},
                                  {"instance-state", "state"},
                                  {"zone", "zone"},
                                  {"image-id", "image_id"},
                                  {"private-ip-address", "private_ip"},
                                  {"instance-type", "instance_type"},
                                  {"uuid", "uuid"},
                                  {"vpc-id", "vpc_id"},
                                  {"subnet-id", "subnet_id"},
                                  {"public-ip-address", "public_ip"}});
        // Tag filters: instances with a tag of one of the keys (tag-key), of one of the values
        // (tag-value), or with key K and one of the values (tag:K).
        auto tag_filter = [&](const std::string& condition, const std::vector<std::string>& values,
                              const std::string* key) {
          std::string clause = "instance_id IN (SELECT resource_id FROM tags WHERE owner_uin = ?";
          std::vector<store::Value> args = {ctx.owner_uin};
          if (key) {
            clause += " AND tag_key = ?";
            args.emplace_back(*key);
          }
          clause += " AND " + condition + " IN " + store::InList(values.size()) + ")";
          args.insert(args.end(), values.begin(), values.end());
          where.And(clause, std::move(args));
        };
        for (const auto& [name, values] : filters->all()) {
          if (name == "tag-key") tag_filter("tag_key", values, nullptr);
          if (name == "tag-value") tag_filter("tag_value", values, nullptr);
          if (name.rfind("tag:", 0) == 0) {
            const std::string key = name.substr(4);
            tag_filter("tag_value", values, &key);
          }
        }
        if (auto v = filters->Values("security-group-id")) {
          where.And(
              "instance_id IN (SELECT instance_id FROM instance_security_groups WHERE "
              "sg_id IN " +
                  store::InList(v->size()) + ")",
              store::Values(*v));
        }
        where.OnlyIfListed(*filters, "instance-charge-type", "POSTPAID_BY_HOUR");
        // Unfiltered and seeing everything, the count is kept by triggers (migration 5).
        std::optional<int64_t> total_if_all;
        if (ids->empty() && filters->empty() && paging->SeesAll()) {
          auto counted = db.Query(
              "SELECT COALESCE(SUM(live), 0) FROM instance_counts WHERE owner_uin = ? AND "
              "region = ?",
              {ctx.owner_uin, ctx.region});
          if (!counted.ok()) return counted.status();
          total_if_all = (*counted)[0].Int(0);
        }
        // UserData is never shown, so it is not read either.
        static const std::string kListColumns = [] {
          std::string c = store::kInstanceColumns;
          c.replace(c.find("user_data"), 9, "'' AS user_data");
          return c;
        }();
        auto listing = where.List(db, "instances", "instance_id", kListColumns,
                                  "created_at DESC, instance_id", *paging, total_if_all);
        if (!listing.ok()) return listing.status();
        const store::Rows* rows = &listing->rows;

        std::vector<InstanceRecord> page;
        page.reserve(rows->size());
        for (const auto& r : *rows) page.push_back(store::InstanceFromRow(r));
        // The page's disks, images and tags in one query each (not one per row). The first row
        // per instance wins, in index order, as a per-instance lookup would return.
        std::map<std::string, InstanceDisks> disks;
        std::map<std::string, std::pair<std::string, std::string>> images;  // os name, user
        std::map<std::string, Tags> tags;
        std::map<std::string, std::vector<std::string>> groups;
        if (!page.empty()) {
          std::vector<store::Value> instance_ids, image_ids;
          std::set<std::string> seen_images;
          for (const auto& i : page) {
            instance_ids.emplace_back(i.instance_id);
            if (seen_images.insert(i.image_id).second) image_ids.emplace_back(i.image_id);
          }
          auto d = db.Query(
              "SELECT instance_id, disk_id, size_gb, usage, disk_type, delete_with_instance "
              "FROM disks WHERE instance_id IN " +
                  store::InList(instance_ids.size()) +
                  " AND deleted = 0 ORDER BY instance_id, attached_at, rowid",
              instance_ids);
          if (!d.ok()) return d.status();
          for (const auto& r : *d) {
            auto& entry = disks[r.Str(0)];
            DiskEntry disk{r.Str(1), r.Str(4), r.Int(2), r.Int(5) != 0};
            if (r.Str(3) == "SYSTEM_DISK") {
              entry.system = std::move(disk);
            } else {
              entry.data.push_back(std::move(disk));
            }
          }
          auto img =
              db.Query("SELECT image_id, os_name, default_user FROM images WHERE image_id IN " +
                           store::InList(image_ids.size()) + " ORDER BY image_id, rowid",
                       image_ids);
          if (!img.ok()) return img.status();
          for (const auto& r : *img) images.emplace(r.Str(0), std::pair{r.Str(1), r.Str(2)});
          std::vector<std::string> ids;
          for (const auto& i : page) ids.push_back(i.instance_id);
          auto t = store::TagsOf(db, ids);
          if (!t.ok()) return t.status();
          tags = std::move(*t);
          auto g = SecurityGroupsOf(db, ids);
          if (!g.ok()) return g.status();
          groups = std::move(*g);
        }
        JsonWriter w;
        w.Reserve(1300 * page.size() + 64);
        w.BeginObject().Member("TotalCount", listing->total).Key("InstanceSet").BeginArray();
        for (const auto& i : page) WriteInstance(w, i, disks, images, tags, groups);
        w.EndArray().EndObject();
        return api::RawResponse(w.Take());
      });

  router.Register(
      "DescribeInstancesStatus", [&](const api::RequestContext& ctx, json& p) -> Result<json> {
        auto ids = InstanceIdsParam(p, "InstanceIds");
        if (!ids.ok()) return ids.status();
        auto paging = Paging::Parse(p, ctx.visible, iam::kind::kInstance);
        if (!paging.ok()) return paging.status();
        SqlWhere where("owner_uin = ? AND region = ? AND deleted = 0", {ctx.owner_uin, ctx.region});
        if (!ids->empty()) where.In("instance_id", *ids);
        auto listing = where.List(db, "instances", "instance_id", "instance_id, state",
                                  "created_at DESC, instance_id", *paging);
        if (!listing.ok()) return listing.status();
        json set = json::array();
        for (const auto& r : listing->rows) {
          set.push_back({{"InstanceId", r.Str(0)}, {"InstanceState", r.Str(1)}});
        }
        return json{{"TotalCount", listing->total}, {"InstanceStatusSet", std::move(set)}};
      });

  // A batch action that moves every named instance from an allowed state to a transitional
  // one and queues `op_action` for each; any instance in another state fails the whole batch.
  auto batch = [&](const char* api_action, const std::set<std::string>& allowed,
                   const std::string& transitional, const char* op_action,
                   std::function<json(const json&, const InstanceRecord&)> args_of) {
    router.Register(
        api_action,
        [&, allowed, transitional, op_action, args_of](const api::RequestContext& ctx,
                                                       json& p) -> Result<json> {
          auto ids = InstanceIdsParam(p, "InstanceIds");
          if (!ids.ok()) return ids.status();
          if (ids->empty()) return Status(err::kMissingParameter, "InstanceIds is empty.");
          if (p.contains("StopType")) {
            std::string t = p["StopType"].get<std::string>();
            if (t != "SOFT" && t != "HARD" && t != "SOFT_FIRST") {
              return Status(err::kInvalidParameterValue,
                            "StopType must be SOFT, HARD or SOFT_FIRST.");
            }
          }
          std::vector<std::string> ops;
          Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
            auto insts = LoadOwned(tx, ctx, *ids);
            if (!insts.ok()) return insts.status();
            int add_cpu = 0, add_mem = 0;
            for (const auto& i : *insts) {
              if (!allowed.count(i.state))
                return Status(WrongStateCode(i.state),
                              "The instance " + i.instance_id + " is " + i.state + ".");
              CVM_RETURN_IF_ERROR(CheckNotBusy(i));
              add_cpu += i.cpu;
              add_mem += i.memory_mib;
            }
            if (transitional == "STARTING")
              CVM_RETURN_IF_ERROR(CheckCapacity(tx, engine, add_cpu, add_mem));
            for (const auto& i : *insts) {
              CVM_RETURN_IF_ERROR(
                  tx.Exec("UPDATE instances SET state = ?, state_reason = '' "
                          "WHERE instance_id = ?",
                          {transitional, i.instance_id}));
              // A terminated instance leaves its groups at once (its addresses
              // are freed when its row is marked deleted).
              if (transitional == "TERMINATING") {
                CVM_RETURN_IF_ERROR(store::ReplaceSecurityGroupBindings(tx, i.instance_id, {}));
              }
              auto op = engine::RecordOperation(tx, ctx, op_action, i.instance_id, args_of(p, i));
              if (!op.ok()) return op.status();
              ops.push_back(*op);
            }
            return Status::Ok();
          });
          if (!st.ok()) return st;
          if (transitional == "TERMINATING") vpc::SyncNetworkAfterCommit(engine, ctx);
          for (const auto& op : ops) engine.Submit(op);
          return json::object();
        });
  };
  auto no_args = [](const json&, const InstanceRecord&) { return json::object(); };
  batch("StartInstances", {"STOPPED"}, "STARTING", engine::op::kStart, no_args);
  batch("StopInstances", {"RUNNING"}, "STOPPING", engine::op::kStop,
        [](const json& p, const InstanceRecord&) {
          std::string type = p.value("StopType", p.value("ForceStop", false) ? "HARD" : "SOFT");
          return json{{"StopType", type}};
        });
  batch("RebootInstances", {"RUNNING"}, "REBOOTING", engine::op::kReboot,
        [](const json& p, const InstanceRecord&) {
          std::string type = p.value("StopType", p.value("ForceReboot", false) ? "HARD" : "SOFT");
          return json{{"StopType", type}};
        });
  batch("TerminateInstances", {"RUNNING", "STOPPED", "LAUNCH_FAILED", "SHUTDOWN"}, "TERMINATING",
        engine::op::kTerminate, no_args);

  router.Register("ResetInstance", [&](const api::RequestContext& ctx, json& p) -> Result<json> {
    std::string id = p.value("InstanceId", "");
    if (!IsWellFormedId("ins", id)) {
      return Status(err::kInvalidInstanceIdMalformed, "The instance id is malformed.");
    }
    std::string host_name = p.value("HostName", "");
    if (!host_name.empty()) CVM_RETURN_IF_ERROR(CheckHostName(host_name));
    std::optional<std::string> user_data;
    if (p.contains("UserData")) {
      auto ud = DecodeUserData(p["UserData"].get<std::string>());
      if (!ud.ok()) return ud.status();
      user_data = *ud;
    }
    std::string op_id;
    Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
      auto insts = LoadOwned(tx, ctx, {id});
      if (!insts.ok()) return insts.status();
      const auto& inst = insts->front();
      if (inst.state != "RUNNING" && inst.state != "STOPPED") {
        return Status(WrongStateCode(inst.state), "The instance " + id + " is " + inst.state + ".");
      }
      CVM_RETURN_IF_ERROR(CheckNotBusy(inst));
      std::string image_id = p.value("ImageId", inst.image_id);
      auto image = FindUsableImage(tx, ctx, image_id);
      if (!image.ok()) return image.status();
      CVM_RETURN_IF_ERROR(CheckImageFitsType(*image, inst.memory_mib));
      auto disk = tx.Query(
          "SELECT size_gb FROM disks WHERE instance_id = ? AND usage = "
          "'SYSTEM_DISK' AND deleted = 0",
          {id});
      if (!disk.ok()) return disk.status();
      int64_t size = disk->empty() ? 0 : disk->front().Int(0);
      if (p.contains("SystemDisk") && p["SystemDisk"].contains("DiskSize")) {
        int64_t want = p["SystemDisk"]["DiskSize"].get<int64_t>();
        if (want < size) {
          return Status(err::kInvalidParameterValue, "SystemDisk.DiskSize cannot shrink below " +
                                                         std::to_string(size) + " GiB.");
        }
        size = want;
      }
      if (size < image->size_gb) {
        return Status(err::kInvalidParameterValue,
                      "The system disk (" + std::to_string(size) + " GiB) is smaller than image " +
                          image_id + " (" + std::to_string(image->size_gb) + " GiB).");
      }
      auto login = ParseLoginSettings(tx, ctx, p);
      if (!login.ok()) return login.status();
      CVM_RETURN_IF_ERROR(
          tx.Exec("UPDATE disks SET size_gb = ? WHERE instance_id = ? AND "
                  "usage = 'SYSTEM_DISK' AND deleted = 0",
                  {size, id}));
      if (login->given) {
        CVM_RETURN_IF_ERROR(store::SetInstanceLogin(tx, id, login->key_ids, login->password_hash));
      }
      if (!host_name.empty()) {
        CVM_RETURN_IF_ERROR(
            tx.Exec("UPDATE instances SET host_name = ? WHERE instance_id = ?", {host_name, id}));
      }
      if (user_data) {
        CVM_RETURN_IF_ERROR(
            tx.Exec("UPDATE instances SET user_data = ? WHERE instance_id = ?", {*user_data, id}));
      }
      // A running instance shows REBOOTING while it is reinstalled; a stopped one stays
      // STOPPED, held by its OPERATING LatestOperationState.
      CVM_RETURN_IF_ERROR(
          tx.Exec("UPDATE instances SET state = ?, image_id = ? WHERE "
                  "instance_id = ?",
                  {std::string(inst.state == "RUNNING" ? "REBOOTING" : "STOPPED"), image_id, id}));
      auto op =
          engine::RecordOperation(tx, ctx, engine::op::kReset, id,
                                  {{"ImageId", image_id}, {"WasRunning", inst.state == "RUNNING"}});
      if (!op.ok()) return op.status();
      op_id = *op;
      return Status::Ok();
    });
    if (!st.ok()) return st;
    engine.Submit(op_id);
    return json::object();
  });

  router.Register(
      "ResetInstancesType", [&](const api::RequestContext& ctx, json& p) -> Result<json> {
        auto ids = InstanceIdsParam(p, "InstanceIds");
        if (!ids.ok()) return ids.status();
        if (ids->size() != 1) {
          return Status(err::kInvalidParameterValue, "ResetInstancesType takes one instance.");
        }
        std::string type_name = p.value("InstanceType", "");
        const InstanceTypeConfig* type = config.FindInstanceType(type_name);
        if (!type) {
          return Status(err::kInvalidParameterValueInstanceTypeNotFound,
                        "The instance type `" + type_name.substr(0, 32) + "` does not exist.");
        }
        // Only the record changes: the new size applies at the next start.
        Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
          auto insts = LoadOwned(tx, ctx, *ids);
          if (!insts.ok()) return insts.status();
          const auto& inst = insts->front();
          if (inst.state != "STOPPED") {
            return Status(WrongStateCode(inst.state),
                          "The instance must be STOPPED to change type.");
          }
          CVM_RETURN_IF_ERROR(CheckNotBusy(inst));
          if (inst.instance_type == type->type) {
            return Status(err::kInvalidParameterValueInvalidInstanceTypeUnderwrite,
                          "The instance already has type " + type->type + ".");
          }
          return tx.Exec(
              "UPDATE instances SET instance_type = ?, cpu = ?, memory_mib = ?, latest_operation = "
              "?, "
              "latest_operation_state = 'SUCCESS', latest_operation_request_id = ?, "
              "latest_operation_error = '' WHERE instance_id = ?",
              {type->type, int64_t{type->cpu}, int64_t{type->memory_mib}, ctx.action,
               ctx.request_id, inst.instance_id});
        });
        if (!st.ok()) return st;
        return json::object();
      });

  // Grows the system disk or one data disk of an instance: while it is stopped, or online
  // (ResizeOnline) while it runs; the guest sees the new size at once, its file system grows
  // at the next boot (tiny image, cloud-init growpart) or with resize2fs in the guest.
  router.Register(
      "ResizeInstanceDisks", [&](const api::RequestContext& ctx, json& p) -> Result<json> {
        const bool system = p.contains("SystemDisk");
        const bool data = p.contains("DataDisks") && !p["DataDisks"].empty();
        if (!system && !data) {
          return Status(err::kMissingParameterAtLeastOne, "Give SystemDisk or DataDisks.");
        }
        if (system && data) {
          return Status(err::kInvalidParameterCombination,
                        "SystemDisk and DataDisks cannot be resized in one call.");
        }
        if (data && p["DataDisks"].size() > 1) {
          return Status(err::kInvalidParameterValue, "One data disk per call.");
        }
        const json& want = system ? p["SystemDisk"] : p["DataDisks"][0];
        if (!want.contains("DiskSize")) {
          return Status(err::kMissingParameter, "DiskSize is required.");
        }
        const int64_t size = want["DiskSize"].get<int64_t>();
        const std::string disk_id = want.value("DiskId", "");
        if (data) CVM_RETURN_IF_ERROR(CheckDiskIdFormat(disk_id));
        auto ids =
            InstanceIdsParam(json{{"InstanceIds", {p.value("InstanceId", "")}}}, "InstanceIds");
        if (!ids.ok()) return ids.status();
        const bool online = p.value("ResizeOnline", false);
        std::string op_id;
        Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
          auto insts = LoadOwned(tx, ctx, *ids);
          if (!insts.ok()) return insts.status();
          const auto& inst = insts->front();
          if (inst.state != "STOPPED" && !(inst.state == "RUNNING" && online)) {
            return Status(WrongStateCode(inst.state),
                          "The instance is " + inst.state +
                              "; resize while it is STOPPED, or online with ResizeOnline.");
          }
          CVM_RETURN_IF_ERROR(CheckNotBusy(inst));
          auto rows = tx.Query(
              std::string("SELECT ") + store::kDiskColumns +
                  " FROM disks WHERE instance_id = ? AND deleted = 0 AND " +
                  (system ? "usage = 'SYSTEM_DISK'" : "usage = 'DATA_DISK' AND disk_id = ?"),
              system ? std::vector<store::Value>{inst.instance_id}
                     : std::vector<store::Value>{inst.instance_id, disk_id});
          if (!rows.ok()) return rows.status();
          if (rows->empty()) {
            return Status(err::kUnsupportedOperationInvalidDataDisk,
                          "Disk " + disk_id + " is not a data disk of " + inst.instance_id + ".");
          }
          auto disk = store::DiskFromRow(rows->front());
          if (disk.state != "ATTACHED") {
            return Status(err::kInvalidDiskBusy,
                          "Disk " + disk.disk_id + " is busy (" + disk.state + ").");
          }
          auto op = RecordDiskGrowth(tx, ctx, config, engine, disk, size);
          if (!op.ok()) return op.status();
          op_id = *op;
          return Status::Ok();
        });
        if (!st.ok()) return st;
        engine.Submit(op_id);
        return json::object();
      });

  router.Register(
      "ModifyInstancesAttribute", [&](const api::RequestContext& ctx, json& p) -> Result<json> {
        auto ids = InstanceIdsParam(p, "InstanceIds");
        if (!ids.ok()) return ids.status();
        if (ids->empty()) return Status(err::kMissingParameter, "InstanceIds is empty.");
        std::optional<std::string> name, host_name;
        if (p.contains("InstanceName")) {
          name = p["InstanceName"].get<std::string>();
          CVM_RETURN_IF_ERROR(CheckInstanceName(*name));
        }
        if (p.contains("HostName")) {
          host_name = p["HostName"].get<std::string>();
          CVM_RETURN_IF_ERROR(CheckHostName(*host_name));
        }
        for (const char* unsupported : {"CamRoleName", "UserData"}) {
          if (p.contains(unsupported)) {
            return Status(err::kUnsupportedOperation,
                          std::string(unsupported) + " cannot be modified by OpenCVM yet.");
          }
        }
        const bool groups = p.contains("SecurityGroups");
        if (groups && p["SecurityGroups"].empty()) {
          return Status(err::kInvalidParameterValue, "SecurityGroups must name a group.");
        }
        if (!name && !host_name && !groups && !p.contains("DisableApiTermination")) {
          return Status(err::kMissingParameter, "Nothing to modify.");
        }
        // The host name reaches the guest through the seed, rewritten at the next boot.
        Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
          auto insts = LoadOwned(tx, ctx, *ids);
          if (!insts.ok()) return insts.status();
          for (const auto& i : *insts) {
            if (i.state == "TERMINATING" || i.state == "PENDING") {
              return Status(WrongStateCode(i.state),
                            "The instance " + i.instance_id + " is " + i.state + ".");
            }
            CVM_RETURN_IF_ERROR(CheckNotBusy(i));
            CVM_RETURN_IF_ERROR(
                tx.Exec("UPDATE instances SET name = ?, host_name = ? WHERE instance_id = ?",
                        {name.value_or(i.name), host_name.value_or(i.host_name), i.instance_id}));
            if (groups) {
              // The whole list is replaced, in the order given (the evaluation order).
              auto ids = CheckSecurityGroupIds(tx, ctx, p["SecurityGroups"]);
              if (!ids.ok()) return ids.status();
              CVM_RETURN_IF_ERROR(store::ReplaceSecurityGroupBindings(tx, i.instance_id, *ids));
            }
          }
          return Status::Ok();
        });
        if (!st.ok()) return st;
        if (groups) vpc::SyncNetworkAfterCommit(engine, ctx);
        return json::object();
      });
}

}  // namespace cvm::services
