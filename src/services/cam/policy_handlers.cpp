// CAM policies and their attachment to sub-users and groups. A document is parsed (and so
// refused with its precise InvalidParameter.*Error) when created or updated; the stored text is
// the caller's, returned unchanged by GetPolicy.
#include <algorithm>

#include "api/schema.h"
#include "services/cam/cam_common.h"
#include "services/service_deps.h"

namespace cvm::services {
namespace {

using cam::Has;
using cam::Int;
using cam::json;
using cam::Str;
using cam::UinParam;

Status CheckDescription(const json& p) {
  if (Str(p, "Description").size() > 300) {
    return Status(err::kCamDescriptionLengthOverlimit, "Description must be at most 300 bytes.");
  }
  return Status::Ok();
}

Status CheckDocument(const std::string& document) {
  iam::ParseOptions options;
  options.action_exists = [](std::string_view service, std::string_view action) {
    return api::ApiSchema::Embedded().FindAction(service, action) != nullptr;
  };
  auto parsed = iam::ParsePolicyDocument(document, options);
  return parsed.ok() ? Status::Ok() : parsed.status();
}

// Preset policies are "QCS" / type 2, an account's own "User" / type 1.
json StrategyInfo(const iam::Policy& pol) {
  return json{{"PolicyId", pol.policy_id},
              {"PolicyName", pol.name},
              {"AddTime", FormatDateTime(pol.created_at)},
              {"Type", pol.preset() ? 2 : 1},
              {"Description", pol.description},
              {"CreateMode", pol.preset() ? 1 : 2},
              {"Attachments", pol.attachments},
              {"ServiceType", nullptr},
              {"IsAttached", pol.attachments > 0 ? 1 : 0},
              {"Deactived", 0},
              {"DeactivedDetail", json::array()},
              {"IsServiceLinkedPolicy", 0},
              {"AttachEntityCount", pol.attachments},
              {"AttachEntityBoundaryCount", 0},
              {"UpdateTime", FormatDateTime(pol.updated_at)},
              {"Tags", json::array()}};
}

json AttachPolicyInfo(const iam::AttachedPolicy& a, const std::string& owner_uin) {
  return json{{"PolicyId", a.policy.policy_id},
              {"PolicyName", a.policy.name},
              {"AddTime", FormatDateTime(a.attached_at)},
              {"CreateMode", a.policy.preset() ? 1 : 2},
              {"PolicyType", a.policy.preset() ? "QCS" : "User"},
              {"Remark", a.policy.description},
              {"OperateOwnerUin", owner_uin},
              {"OperateUin", a.operate_uin},
              {"OperateUinType", a.operate_uin == owner_uin ? 0 : 1},
              {"Deactived", 0},
              {"DeactivedDetail", json::array()}};
}

// Root accounts hold every permission already, so only sub-users take policies.
Result<std::string> SubUserUin(iam::CamStore& cam, const api::RequestContext& ctx,
                               const std::string& uin) {
  auto user = cam.GetUserByUin(ctx.owner_uin, uin);
  if (!user.ok()) return user.status();
  return user->uin;
}

Result<std::string> GroupPrincipal(iam::CamStore& cam, const api::RequestContext& ctx,
                                   int64_t group_id) {
  auto group = cam.GetGroup(ctx.owner_uin, group_id);
  if (!group.ok()) return group.status();
  return std::to_string(group->group_id);
}

// The policies attached to one principal: what the caller may see of them is its view of
// that principal (the user or group the call names).
Result<json> ListAttached(iam::CamStore& cam, const api::RequestContext& ctx, const json& p,
                          iam::Principal type, const std::string& principal) {
  auto page = cam::ParsePage(
      p, ctx.visible, type == iam::Principal::kUser ? iam::kind::kCamUser : iam::kind::kCamGroup);
  if (!page.ok()) return page.status();
  auto all = cam.ListAttached(ctx.owner_uin, type, principal);
  if (!all.ok()) return all.status();
  std::string keyword = Str(p, "Keyword");
  json list = json::array();
  for (const auto& a : *all) {
    if (!keyword.empty() && a.policy.name.find(keyword) == std::string::npos) continue;
    if (page->Take(principal)) list.push_back(AttachPolicyInfo(a, ctx.owner_uin));
  }
  return json{{"TotalNum", page->total()}, {"List", std::move(list)}};
}

}  // namespace

void RegisterCamPolicyHandlers(api::Router& router, ServiceDeps& deps) {
  iam::CamStore& cam = deps.cam;

  router.Register("CreatePolicy", [&cam](const api::RequestContext& ctx, json& p) -> Result<json> {
    std::string name = Str(p, "PolicyName");
    if (!cam::IsValidCamName(name, 128)) {
      return Status(err::kCamPolicyNameError,
                    "A policy name is 1 to 128 letters, digits and +=,.@_- characters.");
    }
    CVM_RETURN_IF_ERROR(CheckDescription(p));
    std::string document = Str(p, "PolicyDocument");
    CVM_RETURN_IF_ERROR(CheckDocument(document));
    auto id = cam.CreatePolicy(ctx.owner_uin, name, Str(p, "Description"), document);
    if (!id.ok()) return id.status();
    return json{{"PolicyId", *id}};
  });

  router.Register("GetPolicy", [&cam](const api::RequestContext& ctx, json& p) -> Result<json> {
    auto pol = cam.GetPolicy(ctx.owner_uin, Int(p, "PolicyId"));
    if (!pol.ok()) return pol.status();
    return json{{"PolicyName", pol->name},
                {"Description", pol->description},
                {"Type", pol->preset() ? 2 : 1},
                {"AddTime", FormatDateTime(pol->created_at)},
                {"UpdateTime", FormatDateTime(pol->updated_at)},
                {"PolicyDocument", pol->document},
                {"PresetAlias", pol->preset() ? json(pol->name) : json(nullptr)},
                {"IsServiceLinkedRolePolicy", 0},
                {"Tags", json::array()}};
  });

  router.Register("ListPolicies", [&cam](const api::RequestContext& ctx, json& p) -> Result<json> {
    auto page = cam::ParsePage(p, ctx.visible, iam::kind::kCamPolicy);
    if (!page.ok()) return page.status();
    std::string scope = Str(p, "Scope", "All");
    if (scope != "All" && scope != "QCS" && scope != "Local") {
      return Status(err::kCamScopeError, "Scope must be All, QCS or Local.");
    }
    auto all = cam.ListPolicies(ctx.owner_uin);
    if (!all.ok()) return all.status();
    std::string keyword = Str(p, "Keyword");
    json list = json::array();
    for (const auto& pol : *all) {
      if (scope == "QCS" && !pol.preset()) continue;
      if (scope == "Local" && pol.preset()) continue;
      if (!keyword.empty() && pol.name.find(keyword) == std::string::npos) continue;
      if (page->Take(std::to_string(pol.policy_id))) list.push_back(StrategyInfo(pol));
    }
    return json{
        {"TotalNum", page->total()}, {"List", std::move(list)}, {"ServiceTypeList", json::array()}};
  });

  router.Register("UpdatePolicy", [&cam](const api::RequestContext& ctx, json& p) -> Result<json> {
    if (!Has(p, "PolicyId")) return Status(err::kMissingParameter, "PolicyId is missing.");
    int64_t id = Int(p, "PolicyId");
    auto pol = cam.GetPolicy(ctx.owner_uin, id);
    if (!pol.ok()) return pol.status();
    if (pol->preset()) {
      return Status(err::kCamUnmodifiable, "Preset policies cannot be changed.");
    }
    std::optional<std::string> name, description, document;
    if (Has(p, "PolicyName")) {
      name = Str(p, "PolicyName");
      if (!cam::IsValidCamName(*name, 128)) {
        return Status(err::kCamPolicyNameError,
                      "A policy name is 1 to 128 letters, digits and +=,.@_- characters.");
      }
    }
    if (Has(p, "Description")) {
      CVM_RETURN_IF_ERROR(CheckDescription(p));
      description = Str(p, "Description");
    }
    if (Has(p, "PolicyDocument")) {
      document = Str(p, "PolicyDocument");
      CVM_RETURN_IF_ERROR(CheckDocument(*document));
    }
    CVM_RETURN_IF_ERROR(cam.UpdatePolicy(ctx.owner_uin, id, name, description, document));
    return json{{"PolicyId", id}};
  });

  router.Register("DeletePolicy", [&cam](const api::RequestContext& ctx, json& p) -> Result<json> {
    std::vector<int64_t> ids;
    for (const auto& v : p["PolicyId"]) ids.push_back(v.get<int64_t>());
    if (ids.empty()) return Status(err::kCamPolicyIdNotExist, "PolicyId lists no policy.");
    CVM_RETURN_IF_ERROR(cam.DeletePolicies(ctx.owner_uin, ids));
    return json::object();
  });

  router.Register("AttachUserPolicy",
                  [&cam](const api::RequestContext& ctx, json& p) -> Result<json> {
                    auto uin = SubUserUin(cam, ctx, UinParam(p, "AttachUin"));
                    if (!uin.ok()) return uin.status();
                    CVM_RETURN_IF_ERROR(cam.Attach(ctx.owner_uin, Int(p, "PolicyId"),
                                                   iam::Principal::kUser, *uin, ctx.caller_uin));
                    return json::object();
                  });
  router.Register("DetachUserPolicy",
                  [&cam](const api::RequestContext& ctx, json& p) -> Result<json> {
                    auto uin = SubUserUin(cam, ctx, UinParam(p, "DetachUin"));
                    if (!uin.ok()) return uin.status();
                    CVM_RETURN_IF_ERROR(
                        cam.Detach(ctx.owner_uin, Int(p, "PolicyId"), iam::Principal::kUser, *uin));
                    return json::object();
                  });
  router.Register("AttachGroupPolicy",
                  [&cam](const api::RequestContext& ctx, json& p) -> Result<json> {
                    auto group = GroupPrincipal(cam, ctx, Int(p, "AttachGroupId"));
                    if (!group.ok()) return group.status();
                    CVM_RETURN_IF_ERROR(cam.Attach(ctx.owner_uin, Int(p, "PolicyId"),
                                                   iam::Principal::kGroup, *group, ctx.caller_uin));
                    return json::object();
                  });
  router.Register(
      "DetachGroupPolicy", [&cam](const api::RequestContext& ctx, json& p) -> Result<json> {
        auto group = GroupPrincipal(cam, ctx, Int(p, "DetachGroupId"));
        if (!group.ok()) return group.status();
        CVM_RETURN_IF_ERROR(
            cam.Detach(ctx.owner_uin, Int(p, "PolicyId"), iam::Principal::kGroup, *group));
        return json::object();
      });

  router.Register("ListAttachedUserPolicies",
                  [&cam](const api::RequestContext& ctx, json& p) -> Result<json> {
                    auto uin = SubUserUin(cam, ctx, UinParam(p, "TargetUin"));
                    if (!uin.ok()) return uin.status();
                    return ListAttached(cam, ctx, p, iam::Principal::kUser, *uin);
                  });
  router.Register("ListAttachedGroupPolicies",
                  [&cam](const api::RequestContext& ctx, json& p) -> Result<json> {
                    auto group = GroupPrincipal(cam, ctx, Int(p, "TargetGroupId"));
                    if (!group.ok()) return group.status();
                    return ListAttached(cam, ctx, p, iam::Principal::kGroup, *group);
                  });
}

}  // namespace cvm::services
