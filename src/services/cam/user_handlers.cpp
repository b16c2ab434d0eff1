// CAM sub-users, user groups, access keys and GetUserAppId. Everything is scoped to the
// caller's root account (ctx.owner_uin): another account's users and groups do not exist here.
#include <algorithm>

#include "services/cam/cam_common.h"
#include "services/service_deps.h"

namespace cvm::services {
namespace {

using cam::Has;
using cam::Int;
using cam::json;
using cam::Str;
using cam::UinNumber;
using cam::UinParam;

constexpr size_t kMaxKeysPerUser = 2;

Status CheckBinaryFlag(const json& p, const char* name) {
  if (Has(p, name) && Int(p, name) != 0 && Int(p, name) != 1) {
    return Status(err::kInvalidParameterValue, std::string(name) + " must be 0 or 1.");
  }
  return Status::Ok();
}

Status CheckRemark(const json& p, const char* name) {
  if (Str(p, name).size() > 300) {
    return Status(err::kCamDescriptionLengthOverlimit,
                  std::string(name) + " must be at most 300 bytes.");
  }
  return Status::Ok();
}

json UserInfo(const iam::SubUser& u) {
  return json{{"Uin", UinNumber(u.uin)},
              {"Name", u.name},
              {"Uid", u.uid},
              {"Remark", u.remark},
              {"ConsoleLogin", u.console_login},
              {"PhoneNum", u.phone_num},
              {"CountryCode", u.country_code},
              {"Email", u.email},
              {"CreateTime", FormatDateTime(u.created_at)},
              {"NickName", u.name}};
}

// The identity whose keys a key action manages: TargetUin, or the caller. A sub-user may not
// touch the root account's keys; a uin outside the account does not exist here.
Result<std::string> KeyTarget(iam::CamStore& cam, const api::RequestContext& ctx, const json& p) {
  std::string target = Has(p, "TargetUin") ? UinParam(p, "TargetUin") : ctx.caller_uin;
  if (target == ctx.owner_uin) {
    if (!cam::IsRoot(ctx)) {
      return Status(err::kCamSubUin, "A sub-user may not manage the root account's keys.");
    }
    return target;
  }
  auto user = cam.GetUserByUin(ctx.owner_uin, target);
  if (!user.ok()) return user.status();
  return target;
}

// The key named by AccessKeyId, which must belong to `target`.
Result<iam::AccessKeyInfo> OwnedKey(iam::AccountStore& accounts, const api::RequestContext& ctx,
                                    const std::string& target, const json& p) {
  std::string id = Str(p, "AccessKeyId");
  auto key = accounts.FindKeyInfo(id);
  if (!key.ok() || key->owner_uin != ctx.owner_uin) {
    return Status(err::kCamSecretNotExist,
                  "The access key " + id.substr(0, 64) + " does not exist.");
  }
  if (key->user_uin != target) {
    return Status(err::kCamUinNotMatch,
                  "The access key " + id + " does not belong to user " + target + ".");
  }
  return key;
}

void RegisterUserHandlers(api::Router& router, iam::CamStore& cam, iam::AccountStore& accounts) {
  router.Register("AddUser", [&](const api::RequestContext& ctx, json& p) -> Result<json> {
    iam::SubUser u;
    u.owner_uin = ctx.owner_uin;
    u.name = Str(p, "Name");
    if (!cam::IsValidCamName(u.name, 64)) {
      return Status(err::kCamUserNameIllegal,
                    "A user name is 1 to 64 letters, digits and +=,.@_- characters.");
    }
    CVM_RETURN_IF_ERROR(CheckBinaryFlag(p, "ConsoleLogin"));
    CVM_RETURN_IF_ERROR(CheckBinaryFlag(p, "UseApi"));
    CVM_RETURN_IF_ERROR(CheckRemark(p, "Remark"));
    u.remark = Str(p, "Remark");
    u.console_login = Int(p, "ConsoleLogin");
    u.phone_num = Str(p, "PhoneNum");
    u.country_code = Str(p, "CountryCode");
    u.email = Str(p, "Email");
    auto created = cam.AddUser(u);
    if (!created.ok()) return created.status();
    // OpenCVM has no web console, so no console password is kept or returned.
    json out{{"Uin", UinNumber(created->uin)},
             {"Name", created->name},
             {"Uid", created->uid},
             {"Password", ""}};
    if (Int(p, "UseApi") == 1) {
      auto key = accounts.CreateAccessKey(ctx.owner_uin, created->uin);
      if (!key.ok()) return key.status();
      out["SecretId"] = key->secret_id;
      out["SecretKey"] = key->secret_key;  // shown here once; only the sealed form is stored
    }
    return out;
  });

  router.Register("GetUser", [&](const api::RequestContext& ctx, json& p) -> Result<json> {
    auto u = cam.GetUser(ctx.owner_uin, Str(p, "Name"));
    if (!u.ok()) return u.status();
    json out = UserInfo(*u);
    out.erase("CreateTime");
    out.erase("NickName");
    out["RecentlyLoginIP"] = "";
    out["RecentlyLoginTime"] = "";
    return out;
  });

  router.Register("ListUsers", [&](const api::RequestContext& ctx, json&) -> Result<json> {
    auto users = cam.ListUsers(ctx.owner_uin);
    if (!users.ok()) return users.status();
    auto visible = cam::WholeList(ctx.visible, iam::kind::kCamUser);
    json data = json::array();
    for (const auto& u : *users) {
      if (visible.Take(u.uin)) data.push_back(UserInfo(u));
    }
    return json{{"Data", std::move(data)}};
  });

  router.Register("UpdateUser", [&](const api::RequestContext& ctx, json& p) -> Result<json> {
    auto u = cam.GetUser(ctx.owner_uin, Str(p, "Name"));
    if (!u.ok()) return u.status();
    CVM_RETURN_IF_ERROR(CheckBinaryFlag(p, "ConsoleLogin"));
    CVM_RETURN_IF_ERROR(CheckRemark(p, "Remark"));
    if (Has(p, "Remark")) u->remark = Str(p, "Remark");
    if (Has(p, "ConsoleLogin")) u->console_login = Int(p, "ConsoleLogin");
    if (Has(p, "PhoneNum")) u->phone_num = Str(p, "PhoneNum");
    if (Has(p, "CountryCode")) u->country_code = Str(p, "CountryCode");
    if (Has(p, "Email")) u->email = Str(p, "Email");
    CVM_RETURN_IF_ERROR(cam.UpdateUser(*u));
    return json::object();
  });

  router.Register("DeleteUser", [&](const api::RequestContext& ctx, json& p) -> Result<json> {
    CVM_RETURN_IF_ERROR(CheckBinaryFlag(p, "Force"));
    CVM_RETURN_IF_ERROR(cam.DeleteUser(ctx.owner_uin, Str(p, "Name"), Int(p, "Force") == 1));
    return json::object();
  });

  router.Register("GetUserAppId", [](const api::RequestContext& ctx, json&) -> Result<json> {
    return json{{"Uin", ctx.caller_uin}, {"OwnerUin", ctx.owner_uin}, {"AppId", ctx.owner_app_id}};
  });
}

void RegisterGroupHandlers(api::Router& router, iam::CamStore& cam) {
  router.Register("CreateGroup", [&](const api::RequestContext& ctx, json& p) -> Result<json> {
    std::string name = Str(p, "GroupName");
    if (!cam::IsValidCamName(name, 64)) {
      return Status(err::kInvalidParameterValue,
                    "A group name is 1 to 64 letters, digits and +=,.@_- characters.");
    }
    CVM_RETURN_IF_ERROR(CheckRemark(p, "Remark"));
    auto g = cam.CreateGroup(ctx.owner_uin, name, Str(p, "Remark"));
    if (!g.ok()) return g.status();
    return json{{"GroupId", g->group_id}};
  });

  router.Register("ListGroups", [&](const api::RequestContext& ctx, json& p) -> Result<json> {
    auto page = cam::ParsePage(p, ctx.visible, iam::kind::kCamGroup);
    if (!page.ok()) return page.status();
    auto all = cam.ListGroups(ctx.owner_uin);
    if (!all.ok()) return all.status();
    std::string keyword = Str(p, "Keyword");
    json list = json::array();
    for (const auto& g : *all) {
      if (!keyword.empty() && g.name.find(keyword) == std::string::npos) continue;
      if (!page->Take(std::to_string(g.group_id))) continue;
      list.push_back(json{{"GroupId", g.group_id},
                          {"GroupName", g.name},
                          {"CreateTime", FormatDateTime(g.created_at)},
                          {"Remark", g.remark}});
    }
    return json{{"TotalNum", page->total()}, {"GroupInfo", std::move(list)}};
  });

  router.Register("DeleteGroup", [&](const api::RequestContext& ctx, json& p) -> Result<json> {
    CVM_RETURN_IF_ERROR(cam.DeleteGroup(ctx.owner_uin, Int(p, "GroupId")));
    return json::object();
  });

  // Info: [{GroupId, Uid | Uin}]; all entries are checked before any is applied.
  auto membership = [&cam](bool add) {
    return [&cam, add](const api::RequestContext& ctx, json& p) -> Result<json> {
      std::vector<std::pair<int64_t, std::string>> changes;
      for (const auto& info : p["Info"]) {
        Result<iam::SubUser> user =
            Status(err::kCamUserUinAndUinNotAllNull, "Each entry of Info needs a Uid or a Uin.");
        if (Has(info, "Uin")) {
          user = cam.GetUserByUin(ctx.owner_uin, UinParam(info, "Uin"));
        } else if (Has(info, "Uid")) {
          user = cam.GetUserByUid(ctx.owner_uin, Int(info, "Uid"));
        }
        if (!user.ok()) return user.status();
        auto group = cam.GetGroup(ctx.owner_uin, Int(info, "GroupId"));
        if (!group.ok()) {
          return Status(err::kCamGroupNotExist,
                        "The group " + std::to_string(Int(info, "GroupId")) + " does not exist.");
        }
        changes.emplace_back(group->group_id, user->uin);
      }
      for (const auto& [group_id, uin] : changes) {
        CVM_RETURN_IF_ERROR(add ? cam.AddUserToGroup(ctx.owner_uin, group_id, uin)
                                : cam.RemoveUserFromGroup(ctx.owner_uin, group_id, uin));
      }
      return json::object();
    };
  };
  router.Register("AddUserToGroup", membership(true));
  router.Register("RemoveUserFromGroup", membership(false));
}

void RegisterKeyHandlers(api::Router& router, iam::CamStore& cam, iam::AccountStore& accounts) {
  router.Register("CreateAccessKey", [&](const api::RequestContext& ctx, json& p) -> Result<json> {
    auto target = KeyTarget(cam, ctx, p);
    if (!target.ok()) return target.status();
    CVM_RETURN_IF_ERROR(CheckRemark(p, "Description"));
    auto existing = accounts.ListKeyInfo(*target);
    if (!existing.ok()) return existing.status();
    if (existing->size() >= kMaxKeysPerUser) {
      return Status(err::kCamAccessKeyOverLimit,
                    "A user has at most two access keys; delete one first.");
    }
    auto key = accounts.CreateAccessKey(ctx.owner_uin, *target, Str(p, "Description"));
    if (!key.ok()) return key.status();
    return json{{"AccessKey",
                 {{"AccessKeyId", key->secret_id},
                  {"SecretAccessKey", key->secret_key},
                  {"Status", key->status},
                  {"CreateTime", FormatDateTime(NowUnix())},
                  {"Description", Str(p, "Description")}}}};
  });

  router.Register("ListAccessKeys", [&](const api::RequestContext& ctx, json& p) -> Result<json> {
    auto target = KeyTarget(cam, ctx, p);
    if (!target.ok()) return target.status();
    auto keys = accounts.ListKeyInfo(*target);
    if (!keys.ok()) return keys.status();
    // A key is seen as its user is.
    auto visible = cam::WholeList(ctx.visible, iam::kind::kCamUser);
    json list = json::array();
    for (const auto& k : *keys) {
      if (!visible.Take(*target)) continue;
      list.push_back(json{{"AccessKeyId", k.secret_id},
                          {"Status", k.status},
                          {"CreateTime", FormatDateTime(k.created_at)},
                          {"Description", k.description}});
    }
    return json{{"AccessKeys", std::move(list)}};
  });

  router.Register("UpdateAccessKey", [&](const api::RequestContext& ctx, json& p) -> Result<json> {
    std::string status = Str(p, "Status");
    if (status != "Active" && status != "Inactive") {
      return Status(err::kInvalidParameterValue, "Status must be Active or Inactive.");
    }
    auto target = KeyTarget(cam, ctx, p);
    if (!target.ok()) return target.status();
    auto key = OwnedKey(accounts, ctx, *target, p);
    if (!key.ok()) return key.status();
    CVM_RETURN_IF_ERROR(accounts.SetKeyStatus(key->secret_id, status));
    return json::object();
  });

  router.Register("DeleteAccessKey", [&](const api::RequestContext& ctx, json& p) -> Result<json> {
    auto target = KeyTarget(cam, ctx, p);
    if (!target.ok()) return target.status();
    auto key = OwnedKey(accounts, ctx, *target, p);
    if (!key.ok()) return key.status();
    CVM_RETURN_IF_ERROR(accounts.DeleteKey(key->secret_id));
    return json::object();
  });
}

}  // namespace

void RegisterCamUserHandlers(api::Router& router, ServiceDeps& deps) {
  RegisterUserHandlers(router, deps.cam, deps.accounts);
  RegisterGroupHandlers(router, deps.cam);
  RegisterKeyHandlers(router, deps.cam, deps.accounts);
}

}  // namespace cvm::services
