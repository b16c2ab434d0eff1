#include "iam/authorizer.h"

#include <algorithm>
#include <charconv>
#include <span>

#include "common/error_codes.h"

namespace cvm::iam {
namespace {

using nlohmann::json;

// Parameter name -> CAM resource kind. Disks, snapshots and security groups are authorised
// under service cvm (as Tencent does); VPCs and subnets under vpc.
struct ResourceParam {
  std::string_view param;
  std::string_view service;
  std::string_view type;
  // CAM names a user by its uin, or by its name or uid, which are resolved to the uin.
  enum class Names { kId, kUserName, kUserUid } names = Names::kId;
};

constexpr ResourceParam kResourceParams[] = {
    {"InstanceIds", "cvm", "instance"},
    {"InstanceId", "cvm", "instance"},
    {"DiskIds", "cvm", "volume"},
    {"DiskId", "cvm", "volume"},
    {"KeyIds", "cvm", "keypair"},
    {"KeyId", "cvm", "keypair"},
    {"ImageIds", "cvm", "image"},
    {"ImageId", "cvm", "image"},
    {"SecurityGroupIds", "cvm", "sg"},
    {"SecurityGroupId", "cvm", "sg"},
    {"SecurityGroups", "cvm", "sg"},
    {"SnapshotIds", "cvm", "snapshot"},
    {"SnapshotId", "cvm", "snapshot"},
    {"VpcIds", "vpc", "vpc"},
    {"VpcId", "vpc", "vpc"},
    {"SubnetIds", "vpc", "subnet"},
    {"SubnetId", "vpc", "subnet"},
};

// CAM's own resources, as Tencent's CAM resource description names them: a user (the root
// account too) is uin/<uin>, a user group groupid/<id>, a policy policyid/<id>.
using Names = ResourceParam::Names;
constexpr ResourceParam kCamResourceParams[] = {
    {"TargetUin", "cam", "uin"},
    {"AttachUin", "cam", "uin"},
    {"DetachUin", "cam", "uin"},
    {"Uin", "cam", "uin"},
    {"Name", "cam", "uin", Names::kUserName},
    {"Uid", "cam", "uin", Names::kUserUid},
    {"GroupId", "cam", "groupid"},
    {"TargetGroupId", "cam", "groupid"},
    {"AttachGroupId", "cam", "groupid"},
    {"DetachGroupId", "cam", "groupid"},
    {"PolicyId", "cam", "policyid"},
};

// CAM actions that act on the caller's own user when they name none (TargetUin left out).
constexpr std::string_view kActsOnCaller[] = {"CreateAccessKey", "ListAccessKeys",
                                              "UpdateAccessKey", "DeleteAccessKey", "GetUserAppId"};

constexpr int kMaxDepth = 4;

// A reference found in the parameters, before CAM names are resolved.
struct Reference {
  const ResourceParam* kind;
  std::string value;
};

void Collect(const json& node, int depth, std::span<const ResourceParam> table,
             std::vector<Reference>& out) {
  if (depth > kMaxDepth) return;
  if (node.is_array()) {
    for (const auto& x : node) Collect(x, depth + 1, table, out);
    return;
  }
  if (!node.is_object()) return;
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (it.key() == "Filters") continue;  // filter values select, they do not name targets
    auto kind = std::find_if(table.begin(), table.end(),
                             [&](const ResourceParam& rp) { return rp.param == it.key(); });
    if (kind == table.end()) {
      if (it.value().is_structured()) Collect(it.value(), depth + 1, table, out);
      continue;
    }
    // Ids are strings; CAM's uins, uids, group and policy ids are unsigned numbers.
    auto add = [&](const json& v) {
      if (v.is_string() && !v.get_ref<const std::string&>().empty()) {
        out.push_back({&*kind, v.get<std::string>()});
      } else if (v.is_number_unsigned()) {
        out.push_back({&*kind, std::to_string(v.get<uint64_t>())});
      } else if (v.is_number_integer() && v.get<int64_t>() >= 0) {
        out.push_back({&*kind, std::to_string(v.get<int64_t>())});
      }
    };
    if (it.value().is_array()) {
      for (const auto& v : it.value()) add(v);
    } else {
      add(it.value());
    }
  }
}

void AddUnique(std::vector<NamedResource>& out, const ResourceParam& kind, std::string id) {
  bool seen = std::any_of(out.begin(), out.end(), [&](const NamedResource& r) {
    return r.id == id && r.type == kind.type;
  });
  if (!seen) out.push_back({kind.service, kind.type, std::move(id)});
}

std::string_view StringParam(const json& p, const char* name) {
  auto it = p.find(name);
  return it != p.end() && it->is_string() ? std::string_view(it->get_ref<const std::string&>())
                                          : std::string_view();
}

// Condition facts the request itself states (its zone, instance type, VPC...).
struct Facts {
  RequestFacts facts;
  std::vector<std::pair<std::string, std::string>> extra;
};

// qcs:request_tag: each tag the request puts on what it creates or changes, as "key&value"
// (Tags of CBS and VPC creates, TagSpecification of CVM's, Tags and ReplaceTags of the Tag
// service).
void AddRequestTags(const json& p, std::vector<std::pair<std::string, std::string>>& out) {
  auto add_list = [&](const json& list) {
    if (!list.is_array()) return;
    for (const auto& t : list) {
      if (!t.is_object()) continue;
      std::string_view key = StringParam(t, "Key"), value = StringParam(t, "Value");
      if (key.empty()) key = StringParam(t, "TagKey"), value = StringParam(t, "TagValue");
      if (!key.empty())
        out.emplace_back("qcs:request_tag", std::string(key) + "&" + std::string(value));
    }
  };
  for (const char* name : {"Tags", "ReplaceTags"}) {
    if (auto it = p.find(name); it != p.end()) add_list(*it);
  }
  if (auto it = p.find("TagSpecification"); it != p.end() && it->is_array()) {
    for (const auto& spec : *it) {
      if (spec.is_object() && spec.contains("Tags")) add_list(spec["Tags"]);
    }
  }
}

void FillFacts(const AccessRequest& r, Facts& f) {
  f.facts.source_ip = r.source_ip;
  f.facts.now_unix = r.now_unix;
  f.facts.region = r.region;
  if (r.params && r.params->is_object()) {
    const json& p = *r.params;
    f.facts.instance_type = StringParam(p, "InstanceType");
    f.facts.zone = StringParam(p, "Zone");
    if (auto pl = p.find("Placement"); pl != p.end() && pl->is_object()) {
      f.facts.zone = StringParam(*pl, "Zone");
    }
    std::string_view vpc = StringParam(p, "VpcId"), subnet = StringParam(p, "SubnetId");
    if (auto v = p.find("VirtualPrivateCloud"); v != p.end() && v->is_object()) {
      vpc = StringParam(*v, "VpcId");
      subnet = StringParam(*v, "SubnetId");
    }
    if (!vpc.empty()) f.extra.emplace_back("vpc:vpc", std::string(vpc));
    if (!subnet.empty()) f.extra.emplace_back("vpc:subnet", std::string(subnet));
    AddRequestTags(p, f.extra);
  }
  f.facts.extra = &f.extra;
}

std::string Denied(const AccessRequest& r, const std::string& resource) {
  return "The sub-user " + std::string(r.caller_uin) + " is not authorized to perform " +
         std::string(r.service) + ":" + std::string(r.action) + " on resource " + resource + ".";
}

bool IsDescribe(std::string_view action) {
  return action.substr(0, 8) == "Describe" || action.substr(0, 4) == "List" ||
         action.substr(0, 3) == "Get";
}

// The items of a list answer this request may see: those its policies allow for the action.
Visibility VisibleItems(const AccessRequest& r, const Facts& f,
                        std::shared_ptr<const PolicySet> policies) {
  VisibilityScope scope;
  scope.action = std::string(r.service) + ":" + std::string(r.action);
  scope.region = r.region;
  scope.account = "uin/" + std::string(r.owner_uin);
  scope.source_ip = r.source_ip;
  scope.now_unix = r.now_unix;
  scope.zone = f.facts.zone;
  scope.instance_type = f.facts.instance_type;
  scope.extra = f.extra;
  return Visibility::Allowed(std::move(policies), std::move(scope));
}

// The resources a Tag service call names. A name that does not parse names nothing here; the
// handler refuses it.
std::vector<NamedResource> TaggedResources(const json& p) {
  std::vector<NamedResource> out;
  auto add = [&](const ResourceKind& kind, std::string id, std::string region) {
    bool seen = std::any_of(out.begin(), out.end(), [&](const NamedResource& n) {
      return n.id == id && n.type == kind.type && n.region == region;
    });
    if (!seen) out.push_back({kind.service, kind.type, std::move(id), std::move(region)});
  };
  auto add_name = [&](const json& v) {
    if (!v.is_string()) return;
    if (auto name = ParseResourceName(v.get_ref<const std::string&>())) {
      add(*name->kind, std::move(name->id), std::move(name->region));
    }
  };
  if (auto it = p.find("Resource"); it != p.end()) add_name(*it);
  if (auto it = p.find("ResourceList"); it != p.end() && it->is_array()) {
    for (const auto& v : *it) add_name(v);
  }
  const ResourceKind* kind =
      FindRegionalKind(StringParam(p, "ServiceType"), StringParam(p, "ResourcePrefix"));
  auto ids = p.find("ResourceIds");
  if (kind && ids != p.end() && ids->is_array()) {
    for (const auto& v : *ids) {
      if (v.is_string())
        add(*kind, v.get<std::string>(), std::string(StringParam(p, "ResourceRegion")));
    }
  }
  if (auto id = StringParam(p, "ResourceId"); kind && !id.empty()) {
    add(*kind, std::string(id), std::string(StringParam(p, "ResourceRegion")));
  }
  return out;
}

}  // namespace

Result<std::vector<NamedResource>> Authorizer::ResourcesOf(const AccessRequest& r) {
  std::vector<NamedResource> out;
  if (r.service == "tag") return r.params ? TaggedResources(*r.params) : out;
  bool cam = r.service == "cam";
  // AddUser's parameters describe the user it creates, which no policy can name yet.
  if (!r.params || (cam && r.action == "AddUser")) return out;
  std::vector<Reference> refs;
  using Table = std::span<const ResourceParam>;
  Collect(*r.params, 0, cam ? Table(kCamResourceParams) : Table(kResourceParams), refs);
  for (auto& ref : refs) {
    if (ref.kind->names == Names::kId) {
      AddUnique(out, *ref.kind, std::move(ref.value));
      continue;
    }
    Result<SubUser> user = Status(err::kCamUserNotExist, "");
    if (ref.kind->names == Names::kUserName) {
      user = cam_.GetUser(std::string(r.owner_uin), ref.value);
    } else if (int64_t uid = 0;
               std::from_chars(ref.value.data(), ref.value.data() + ref.value.size(), uid).ec ==
               std::errc()) {
      user = cam_.GetUserByUid(std::string(r.owner_uin), uid);
    }
    // A name that is nobody's could be anyone's: only a statement for every user (uin/*)
    // lets the caller learn that it does not exist.
    if (!user.ok() && user.status().code() != err::kCamUserNotExist) return user.status();
    AddUnique(out, *ref.kind, user.ok() ? user->uin : "*");
  }
  if (cam && std::find(std::begin(kActsOnCaller), std::end(kActsOnCaller), r.action) !=
                 std::end(kActsOnCaller)) {
    bool names_user =
        std::any_of(out.begin(), out.end(), [](const NamedResource& n) { return n.type == "uin"; });
    if (!names_user) out.push_back({"cam", "uin", std::string(r.caller_uin)});
  }
  return out;
}

AccessOutcome Authorizer::Authorize(const AccessRequest& r) {
  AccessOutcome out;
  auto resources = ResourcesOf(r);
  if (!resources.ok()) {
    out.status = resources.status();
    return out;
  }
  out.resources = std::move(*resources);
  if (r.caller_uin == r.owner_uin) {  // the root account
    out.visible = Visibility::Everything();
    return out;
  }

  auto policies =
      cam_.PoliciesFor(std::string(r.owner_uin), std::string(r.caller_uin), r.owner_app_id);
  if (!policies.ok()) {
    out.status = policies.status();
    return out;
  }
  const PolicySet& set = **policies;
  Facts facts;
  FillFacts(r, facts);
  std::string action = std::string(r.service) + ":" + std::string(r.action);
  std::string account = "uin/" + std::string(r.owner_uin);

  if (out.resources.empty()) {
    Decision d = set.Evaluate(action, ResourceRef{}, facts.facts);
    if (d == Decision::kAllow) {
      // Allowed on "*": an item can only be hidden by a deny statement for the action.
      out.visible =
          set.HasDenyFor(action) ? VisibleItems(r, facts, *policies) : Visibility::Everything();
      return out;
    }
    if (d == Decision::kNoMatch && IsDescribe(r.action) &&
        set.MayAllowSomeResource(action, facts.facts)) {
      out.visible = VisibleItems(r, facts, *policies);
      return out;
    }
    out.status = Status(err::kUnauthorizedOperation, Denied(r, "*"));
    return out;
  }
  for (const auto& res : out.resources) {
    std::string type_and_id = std::string(res.type) + "/" + res.id;
    // CAM's users, groups and policies belong to no region.
    std::string_view region = res.service == "cam"  ? std::string_view()
                              : !res.region.empty() ? std::string_view(res.region)
                                                    : r.region;
    ResourceRef ref{res.service, region, account, type_and_id};
    if (set.Evaluate(action, ref, facts.facts) != Decision::kAllow) {
      out.status = Status(err::kUnauthorizedOperation, Denied(r, ref.ToString()));
      return out;
    }
  }
  // Every named resource is allowed; items the answer lists besides them are judged one by one.
  out.visible = VisibleItems(r, facts, *policies);
  return out;
}

}  // namespace cvm::iam
