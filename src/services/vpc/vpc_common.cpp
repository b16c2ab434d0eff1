#include "services/vpc/vpc_common.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

#include "common/error_codes.h"
#include "common/ids.h"
#include "services/resource_tags.h"

namespace cvm::services::vpc {

namespace {
Result<size_t> StringNumber(const json& p, const char* name, size_t fallback, size_t lo,
                            size_t hi) {
  auto it = p.find(name);
  if (it == p.end() || it->is_null()) return fallback;
  std::string s = it->is_string() ? it->get<std::string>() : it->dump();
  size_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size() || v < lo || v > hi) {
    return Status(err::kInvalidParameterValueRange, std::string(name) + " must be a number from " +
                                                        std::to_string(lo) + " to " +
                                                        std::to_string(hi) + ".");
  }
  return v;
}
}  // namespace

Result<Paging> ParsePaging(const json& p, const iam::Visibility& visible, iam::ResourceKind kind) {
  auto offset = StringNumber(p, "Offset", 0, 0, SIZE_MAX);
  if (!offset.ok()) return offset.status();
  auto limit = StringNumber(p, "Limit", 20, 1, 100);
  if (!limit.ok()) return limit.status();
  return Paging(*offset, *limit, visible, kind);
}

Result<Filters> ParseFilters(const json& p, const std::set<std::string>& allowed,
                             const char* ids_param) {
  auto f = Filters::Parse(p, allowed);
  if (!f.ok()) {
    if (f.status().code() == err::kInvalidFilter) {
      return Status(err::kInvalidParameterFilterInvalidKey, f.status().message());
    }
    return f.status();
  }
  if (!f->empty() && p.contains(ids_param) && !p[ids_param].empty()) {
    return Status(err::kInvalidParameterCoexist,
                  std::string(ids_param) + " and Filters cannot be used together.");
  }
  return f;
}

Result<std::vector<std::string>> IdsParam(const json& p, const char* name, const char* prefix,
                                          std::string_view malformed_code) {
  std::vector<std::string> ids;
  auto it = p.find(name);
  if (it == p.end()) return ids;
  if (it->size() > 100) {
    return Status(err::kInvalidParameterValueLimitExceeded,
                  std::string(name) + " holds at most 100 ids.");
  }
  for (const auto& v : *it) {
    std::string id = v.get<std::string>();
    if (!IsWellFormedId(prefix, id)) {
      return Status(malformed_code, "`" + id.substr(0, 40) + "` is not a valid " + prefix + " id.");
    }
    ids.push_back(std::move(id));
  }
  return ids;
}

Status CheckName(const std::string& value, const char* field, size_t max_len) {
  if (value.empty()) {
    return Status(err::kInvalidParameterValueEmpty, std::string(field) + " must not be empty.");
  }
  if (value.size() > max_len) {
    return Status(err::kInvalidParameterValueTooLong,
                  std::string(field) + " is longer than " + std::to_string(max_len) + " bytes.");
  }
  return Status::Ok();
}

Status InsertTags(store::Transaction& tx, const json& p, const std::string& resource_id,
                  const std::string& owner_uin) {
  auto tags = CreationTags(p);
  if (!tags.ok()) return tags.status();
  return store::SetTags(tx, owner_uin, resource_id, *tags,
                        err::kLimitExceededTagKeyPerResourceExceeded);
}

Status CheckAllFound(const std::vector<std::string>& ids, int64_t found,
                     std::string_view missing_code) {
  if (!ids.empty() && static_cast<size_t>(found) < std::set(ids.begin(), ids.end()).size()) {
    return Status(missing_code, "Some of the ids given do not exist.");
  }
  return Status::Ok();
}

void SyncNetworkAfterCommit(engine::Engine& engine, const api::RequestContext& ctx) {
  // The change is committed, so the call has succeeded; the engine's reconciler retries.
  Status st = engine.SyncNetwork();
  if (!st.ok()) {
    spdlog::warn("network: sync after {} ({}) failed, the reconciler retries: {}", ctx.action,
                 ctx.request_id, st.ToString());
  }
}

Result<store::VpcRecord> LoadOwnedVpc(store::Transaction& tx, const api::RequestContext& ctx,
                                      const std::string& vpc_id) {
  if (!IsWellFormedId("vpc", vpc_id)) {
    return Status(err::kInvalidVpcIdMalformed, "`" + vpc_id.substr(0, 40) + "` is not a VPC id.");
  }
  auto v = store::FindVpc(tx, {ctx.owner_uin, ctx.region}, vpc_id);
  if (!v.ok()) return v.status();
  if (!*v) return Status(err::kResourceNotFound, "The VPC " + vpc_id + " does not exist.");
  return std::move(**v);
}

Result<store::SubnetRecord> LoadOwnedSubnet(store::Transaction& tx, const api::RequestContext& ctx,
                                            const std::string& subnet_id) {
  if (!IsWellFormedId("subnet", subnet_id)) {
    return Status(err::kInvalidParameterValueMalformed,
                  "`" + subnet_id.substr(0, 40) + "` is not a subnet id.");
  }
  auto s = store::FindSubnet(tx, {ctx.owner_uin, ctx.region}, subnet_id);
  if (!s.ok()) return s.status();
  if (!*s) return Status(err::kResourceNotFound, "The subnet " + subnet_id + " does not exist.");
  return std::move(**s);
}

Status CheckOwnedSecurityGroup(store::Transaction& tx, const api::RequestContext& ctx,
                               const std::string& sg_id) {
  if (!IsWellFormedId("sg", sg_id)) {
    return Status(err::kInvalidSecurityGroupIDMalformed,
                  "`" + sg_id.substr(0, 40) + "` is not a security group id.");
  }
  auto g = store::FindSecurityGroup(tx, {ctx.owner_uin, ctx.region}, sg_id);
  if (!g.ok()) return g.status();
  if (!*g) {
    return Status(err::kInvalidSecurityGroupIDNotFound,
                  "The security group " + sg_id + " does not exist.");
  }
  return Status::Ok();
}

Result<store::RouteTableRecord> LoadOwnedRouteTable(store::Transaction& tx,
                                                    const api::RequestContext& ctx,
                                                    const std::string& id) {
  if (!IsWellFormedId("rtb", id)) {
    return Status(err::kInvalidRouteTableIdMalformed,
                  "`" + id.substr(0, 40) + "` is not a route table id.");
  }
  auto t = store::LoadRouteTable(tx, {ctx.owner_uin, ctx.region}, id);
  if (!t.ok()) return t.status();
  if (!t->has_value()) {
    return Status(err::kInvalidRouteTableIdNotFound, "The route table " + id + " does not exist.");
  }
  return **t;
}

}  // namespace cvm::services::vpc
