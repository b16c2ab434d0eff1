// What the VPC service's handlers share: its list-call quirks (string Offset/Limit, its own
// filter error code), names, tags, and finding a caller's own VPC, subnet or security group
// (another account's resources answer exactly like missing ones).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "api/request_context.h"
#include "common/status.h"
#include "engine/engine.h"
#include "services/filters.h"
#include "store/database.h"
#include "store/network_records.h"
#include "store/route_tables.h"

namespace cvm::services::vpc {

using nlohmann::json;

// Offset and Limit arrive as strings in VPC list calls ("0", "20"); the list shows what
// `visible` lets the caller see of `kind`.
Result<Paging> ParsePaging(const json& p, const iam::Visibility& visible, iam::ResourceKind kind);
// Filters::Parse with the VPC service's code for an unknown name; refuses ids plus Filters.
Result<Filters> ParseFilters(const json& p, const std::set<std::string>& allowed,
                             const char* ids_param);
// The ids of `name` (each of the form `prefix-xxxxxxxx`, else `malformed_code`), at most 100.
Result<std::vector<std::string>> IdsParam(const json& p, const char* name, const char* prefix,
                                          std::string_view malformed_code);

// A name of 1..60 bytes (VpcName, SubnetName, GroupName).
Status CheckName(const std::string& value, const char* field, size_t max_len = 60);

// Tags [{Key, Value}] of a create call, stored for `resource_id`.
Status InsertTags(store::Transaction& tx, const json& p, const std::string& resource_id,
                  const std::string& owner_uin);
// Ids named explicitly that are not all found answer `missing_code`, as Tencent does for an id
// that does not exist (each named id passed the CAM check, so each one found is counted).
Status CheckAllFound(const std::vector<std::string>& ids, int64_t found,
                     std::string_view missing_code);

// After a committed change to groups, rules, bindings or addresses: brings the data path along.
// A failure is logged, not answered: the state is committed and the reconciler retries.
void SyncNetworkAfterCommit(engine::Engine& engine, const api::RequestContext& ctx);

// The caller's VPC / subnet / security group, or the VPC service's not-found error.
Result<store::VpcRecord> LoadOwnedVpc(store::Transaction& tx, const api::RequestContext& ctx,
                                      const std::string& vpc_id);
Result<store::SubnetRecord> LoadOwnedSubnet(store::Transaction& tx, const api::RequestContext& ctx,
                                            const std::string& subnet_id);
Status CheckOwnedSecurityGroup(store::Transaction& tx, const api::RequestContext& ctx,
                               const std::string& sg_id);
// The caller's route table, or InvalidRouteTableId.Malformed / .NotFound.
Result<store::RouteTableRecord> LoadOwnedRouteTable(store::Transaction& tx,
                                                    const api::RequestContext& ctx,
                                                    const std::string& route_table_id);

}  // namespace cvm::services::vpc
