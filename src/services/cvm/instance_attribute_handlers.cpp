// DescribeInstancesAttributes: attributes of instances that DescribeInstances does not show.
// Tencent defines one, UserData, answered base64-encoded as RunInstances took it.
#include "common/base64.h"
#include "common/error_codes.h"
#include "services/cvm/instance_rules.h"
#include "services/service_deps.h"

namespace cvm::services {
namespace {

using nlohmann::json;

Result<json> DescribeInstancesAttributes(store::Database& db, const api::RequestContext& ctx,
                                         json& p) {
  for (const auto& a : p.value("Attributes", json::array())) {
    if (a != "UserData") {
      return Status(err::kInvalidParameterValue,
                    "Attributes: `" + a.get<std::string>().substr(0, 32) +
                        "` is not an attribute; the one there is is UserData.");
    }
  }
  auto ids = InstanceIdsParam(p, "InstanceIds");
  if (!ids.ok()) return ids.status();
  if (ids->empty()) return Status(err::kMissingParameter, "InstanceIds is empty.");
  json set = json::array();
  for (const auto& id : *ids) {
    auto inst = store::LoadInstance(db, ScopeOf(ctx), id);
    if (!inst.ok()) return inst.status();
    if (!inst->has_value()) {
      return Status(err::kInvalidInstanceIdNotFound, "The instance " + id + " does not exist.");
    }
    json attributes = json::object();
    if (!p.value("Attributes", json::array()).empty()) {
      attributes["UserData"] = Base64Encode((*inst)->user_data);
    }
    set.push_back({{"InstanceId", id}, {"Attributes", std::move(attributes)}});
  }
  return json{{"InstanceSet", std::move(set)}};
}

}  // namespace

void RegisterCvmInstanceAttributeHandlers(api::Router& router, ServiceDeps& deps) {
  router.Register("DescribeInstancesAttributes",
                  [&db = deps.db](const api::RequestContext& ctx, json& p) {
                    return DescribeInstancesAttributes(db, ctx, p);
                  });
}

}  // namespace cvm::services
