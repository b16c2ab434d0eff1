// Security groups and their ordered rules. Every write validates every rule first
// (network::NormalizeRule, the one validator the data path also compiles from), then changes
// the rules, bumps the group's Version and commits in one transaction, then asks the engine to
// enforce it: a refused request leaves the rules and Version exactly as they were.
#include <algorithm>

#include "common/error_codes.h"
#include "common/ids.h"
#include "common/time_format.h"
#include "network/security_rules.h"
#include "services/resource_tags.h"
#include "services/service_deps.h"
#include "services/vpc/vpc_common.h"

namespace cvm::services {
namespace {

using namespace vpc;
using network::SecurityRule;
using store::StoredRule;

constexpr size_t kMaxRulesPerDirection = 100;
constexpr int64_t kMaxGroupsPerAccount = 50;

struct Direction {
  const char* api;     // "Ingress" | "Egress"
  const char* stored;  // "INGRESS" | "EGRESS"
};
constexpr Direction kIngress{"Ingress", "INGRESS"};
constexpr Direction kEgress{"Egress", "EGRESS"};

struct RuleLists {
  std::vector<StoredRule> ingress, egress;
  std::vector<StoredRule>& Of(const Direction& d) {
    return std::string_view(d.stored) == "INGRESS" ? ingress : egress;
  }
};

json GroupJson(const store::SecurityGroupRecord& g, json tags) {
  return json{{"SecurityGroupId", g.sg_id},
              {"SecurityGroupName", g.name},
              {"SecurityGroupDesc", g.description},
              {"ProjectId", std::to_string(g.project_id)},
              {"IsDefault", g.is_default},
              {"CreatedTime", FormatDateTime(g.created_at)},
              {"UpdateTime", FormatDateTime(g.updated_at)},
              {"TagSet", std::move(tags)}};
}

json PolicyJson(const StoredRule& s, size_t index) {
  const SecurityRule& r = s.rule;
  return json{{"PolicyIndex", index},
              {"Protocol", r.protocol},
              {"Port", r.port},
              {"ServiceTemplate", {{"ServiceId", ""}, {"ServiceGroupId", ""}}},
              {"CidrBlock", r.cidr},
              {"Ipv6CidrBlock", r.ipv6_cidr},
              {"SecurityGroupId", r.peer_sg_id},
              {"AddressTemplate", {{"AddressId", ""}, {"AddressGroupId", ""}}},
              {"Action", r.action},
              {"PolicyDescription", r.description},
              {"ModifyTime", FormatDateTime(s.modified_at)},
              {"Priority", index}};
}

// One SecurityGroupPolicy of a request, validated and in canonical form.
Result<SecurityRule> ParsePolicy(const json& item) {
  if (item.contains("ServiceTemplate") || item.contains("AddressTemplate")) {
    return Status(err::kUnsupportedOperation,
                  "Parameter templates (ServiceTemplate, AddressTemplate) are not offered here.");
  }
  SecurityRule r;
  r.protocol = item.value("Protocol", "");
  r.port = item.value("Port", "");
  r.cidr = item.value("CidrBlock", "");
  r.ipv6_cidr = item.value("Ipv6CidrBlock", "");
  r.peer_sg_id = item.value("SecurityGroupId", "");
  r.action = item.value("Action", "");
  r.description = item.value("PolicyDescription", "");
  if (r.action.empty()) return Status(err::kMissingParameter, "Action is required.");
  return network::NormalizeRule(r);
}

// The one direction a request names (Ingress or Egress, not both) and its items.
Result<std::pair<Direction, const json*>> OneDirection(const json& set) {
  const bool in = set.contains("Ingress") && !set["Ingress"].empty();
  const bool out = set.contains("Egress") && !set["Egress"].empty();
  if (in && out) {
    return Status(err::kInvalidParameterCoexist,
                  "Ingress and Egress cannot be changed in one call.");
  }
  if (!in && !out) {
    return Status(err::kInvalidParameterValueEmpty, "SecurityGroupPolicySet holds no rule.");
  }
  const Direction d = in ? kIngress : kEgress;
  return std::pair{d, &set[d.api]};
}

Result<std::vector<SecurityRule>> ParsePolicies(const json& items) {
  std::vector<SecurityRule> out;
  for (const auto& item : items) {
    auto r = ParsePolicy(item);
    if (!r.ok()) return r.status();
    out.push_back(std::move(*r));
  }
  return out;
}

Status CheckNoDuplicates(const std::vector<StoredRule>& rules) {
  for (size_t i = 0; i < rules.size(); ++i) {
    for (size_t j = i + 1; j < rules.size(); ++j) {
      if (rules[i].rule.SameEffect(rules[j].rule)) {
        return Status(err::kUnsupportedOperationDuplicatePolicy,
                      "Two rules would match and decide alike (PolicyIndex " + std::to_string(i) +
                          " and " + std::to_string(j) + ").");
      }
    }
  }
  return Status::Ok();
}

// Checks a direction's new rule list as a whole (size, duplicates, peers: the caller's own
// groups, or the group itself) and stores it.
Status StoreRules(store::Transaction& tx, const api::RequestContext& ctx, const std::string& sg_id,
                  const Direction& d, const std::vector<StoredRule>& rules) {
  if (rules.size() > kMaxRulesPerDirection) {
    return Status(err::kLimitExceededSecurityGroupPolicySet,
                  std::string("A group holds at most ") + std::to_string(kMaxRulesPerDirection) +
                      " " + d.api + " rules.");
  }
  CVM_RETURN_IF_ERROR(CheckNoDuplicates(rules));
  for (const auto& r : rules) {
    if (r.rule.peer_sg_id.empty() || r.rule.peer_sg_id == sg_id) continue;
    CVM_RETURN_IF_ERROR(CheckOwnedSecurityGroup(tx, ctx, r.rule.peer_sg_id));
  }
  return store::ReplaceSecurityGroupRules(tx, sg_id, d.stored, rules);
}

// Loads both rule lists of the caller's group, lets `edit` change them, checks the result
// (Version, limits, peers), stores it with Version + 1 and syncs the data path.
Status EditRules(ServiceDeps& deps, const api::RequestContext& ctx, const json& p,
                 const std::function<Status(RuleLists&, int64_t now)>& edit) {
  const std::string sg_id = p.value("SecurityGroupId", "");
  const json& set = p.contains("SecurityGroupPolicySet") ? p["SecurityGroupPolicySet"] : json{};
  Status st = store::WithTransaction(deps.db, [&](store::Transaction& tx) -> Status {
    CVM_RETURN_IF_ERROR(CheckOwnedSecurityGroup(tx, ctx, sg_id));
    auto group = store::FindSecurityGroup(tx, ScopeOf(ctx), sg_id);
    if (!group.ok()) return group.status();
    const std::string current = std::to_string((*group)->version);
    if (set.contains("Version") && !set["Version"].get<std::string>().empty() &&
        set["Version"].get<std::string>() != current &&
        !(ctx.action == "ModifySecurityGroupPolicies" && set["Version"] == "0")) {
      return Status(err::kUnsupportedOperationVersionMismatch,
                    "Version " + set["Version"].get<std::string>() +
                        " is not the group's current version " + current + ".");
    }
    RuleLists lists;
    for (const Direction& d : {kIngress, kEgress}) {
      auto rules = store::LoadSecurityGroupRules(tx, sg_id, d.stored);
      if (!rules.ok()) return rules.status();
      lists.Of(d) = std::move(*rules);
    }
    const int64_t now = NowUnix();
    CVM_RETURN_IF_ERROR(edit(lists, now));
    for (const Direction& d : {kIngress, kEgress}) {
      CVM_RETURN_IF_ERROR(StoreRules(tx, ctx, sg_id, d, lists.Of(d)));
    }
    return store::BumpSecurityGroupVersion(tx, sg_id, now);
  });
  if (st.ok()) SyncNetworkAfterCommit(deps.engine, ctx);
  return st;
}

// CreateSecurityGroup and CreateSecurityGroupWithPolicies.
Result<json> MakeGroup(ServiceDeps& deps, const api::RequestContext& ctx, const json& p,
                       const std::vector<StoredRule>& ingress,
                       const std::vector<StoredRule>& egress) {
  std::string name = p.value("GroupName", ""), desc = p.value("GroupDescription", "");
  CVM_RETURN_IF_ERROR(CheckName(name, "GroupName"));
  if (desc.size() > 100) {
    return Status(err::kInvalidParameterValueTooLong, "GroupDescription is longer than 100 bytes.");
  }
  int64_t project = 0;
  if (p.contains("ProjectId")) {
    std::string s = p["ProjectId"].get<std::string>();
    if (s.empty() || s.size() > 18 || !std::all_of(s.begin(), s.end(), ::isdigit)) {
      return Status(err::kInvalidParameterValueMalformed, "ProjectId must be a number.");
    }
    project = std::stoll(s);
  }
  const int64_t now = NowUnix();
  const store::SecurityGroupRecord group{.sg_id = NewResourceId("sg"),
                                         .owner_uin = ctx.owner_uin,
                                         .region = ctx.region,
                                         .name = name,
                                         .description = desc,
                                         .project_id = project,
                                         .is_default = false,
                                         .version = !ingress.empty() || !egress.empty(),
                                         .created_at = now,
                                         .updated_at = now};
  Status st = store::WithTransaction(deps.db, [&](store::Transaction& tx) -> Status {
    auto count = store::CountSecurityGroups(tx, ScopeOf(ctx));
    if (!count.ok()) return count.status();
    if (*count >= kMaxGroupsPerAccount) {
      return Status(err::kLimitExceeded, "At most " + std::to_string(kMaxGroupsPerAccount) +
                                             " security groups per region.");
    }
    CVM_RETURN_IF_ERROR(store::InsertSecurityGroup(tx, group));
    for (auto [d, rules] : {std::pair{kIngress, &ingress}, std::pair{kEgress, &egress}}) {
      CVM_RETURN_IF_ERROR(StoreRules(tx, ctx, group.sg_id, d, *rules));
    }
    return InsertTags(tx, p, group.sg_id, ctx.owner_uin);
  });
  if (!st.ok()) return st;
  SyncNetworkAfterCommit(deps.engine, ctx);
  return json{{"SecurityGroup", GroupJson(group, TagListsOf(deps.db, {group.sg_id})[group.sg_id])}};
}

Result<json> CreateSecurityGroup(ServiceDeps& deps, const api::RequestContext& ctx, json& p) {
  return MakeGroup(deps, ctx, p, {}, {});
}

Result<json> CreateSecurityGroupWithPolicies(ServiceDeps& deps, const api::RequestContext& ctx,
                                             json& p) {
  RuleLists lists;
  const json& set =
      p.contains("SecurityGroupPolicySet") ? p["SecurityGroupPolicySet"] : json::object();
  const int64_t now = NowUnix();
  for (const Direction& d : {kIngress, kEgress}) {
    auto rules = ParsePolicies(set.value(d.api, json::array()));
    if (!rules.ok()) return rules.status();
    for (auto& r : *rules) lists.Of(d).push_back({std::move(r), now});
  }
  return MakeGroup(deps, ctx, p, lists.ingress, lists.egress);
}

Result<json> DescribeSecurityGroups(ServiceDeps& deps, const api::RequestContext& ctx, json& p) {
  auto ids = IdsParam(p, "SecurityGroupIds", "sg", err::kInvalidSecurityGroupIDMalformed);
  if (!ids.ok()) return ids.status();
  auto filters =
      ParseFilters(p, {"security-group-id", "project-id", "security-group-name", "tag-key", "tag:"},
                   "SecurityGroupIds");
  if (!filters.ok()) return filters.status();
  auto paging = ParsePaging(p, ctx.visible, iam::kind::kSecurityGroup);
  if (!paging.ok()) return paging.status();
  std::string field = p.value("OrderField", "CreatedTime");
  std::string direction = p.value("OrderDirection", "ASC");
  if ((field != "CreatedTime" && field != "UpdateTime") ||
      (direction != "ASC" && direction != "DESC")) {
    return Status(err::kInvalidParameterValueRange,
                  "OrderField is CreatedTime or UpdateTime, OrderDirection ASC or DESC.");
  }
  const store::SecurityGroupFilter f{.ids = *ids,
                                     .sg_ids = filters->Any("security-group-id"),
                                     .project_ids = filters->Any("project-id"),
                                     .names = filters->Any("security-group-name"),
                                     .tags = filters->Tags()};
  const store::SecurityGroupOrder order{.by_update_time = field == "UpdateTime",
                                        .descending = direction == "DESC"};
  auto list = store::ListSecurityGroups(deps.db, ScopeOf(ctx), f, order, paging->Request());
  if (!list.ok()) return list.status();
  CVM_RETURN_IF_ERROR(CheckAllFound(*ids, list->total, err::kInvalidSecurityGroupIDNotFound));
  std::vector<std::string> page_ids;
  for (const auto& g : list->items) page_ids.push_back(g.sg_id);
  auto tags = TagListsOf(deps.db, page_ids);
  json set = json::array();
  for (const auto& g : list->items) set.push_back(GroupJson(g, tags[g.sg_id]));
  return json{{"TotalCount", list->total}, {"SecurityGroupSet", std::move(set)}};
}

Result<json> ModifySecurityGroupAttribute(ServiceDeps& deps, const api::RequestContext& ctx,
                                          json& p) {
  const std::string sg_id = p.value("SecurityGroupId", "");
  std::optional<std::string> name, description;
  if (p.contains("GroupName")) {
    name = p["GroupName"].get<std::string>();
    CVM_RETURN_IF_ERROR(CheckName(*name, "GroupName"));
  }
  if (p.contains("GroupDescription")) description = p["GroupDescription"].get<std::string>();
  if (description && description->size() > 100) {
    return Status(err::kInvalidParameterValueTooLong, "GroupDescription is longer than 100 bytes.");
  }
  Status st = store::WithTransaction(deps.db, [&](store::Transaction& tx) -> Status {
    CVM_RETURN_IF_ERROR(CheckOwnedSecurityGroup(tx, ctx, sg_id));
    return store::UpdateSecurityGroup(tx, sg_id, name, description, NowUnix());
  });
  if (!st.ok()) return st;
  return json::object();
}

Result<json> DeleteSecurityGroup(ServiceDeps& deps, const api::RequestContext& ctx, json& p) {
  const std::string sg_id = p.value("SecurityGroupId", "");
  Status st = store::WithTransaction(deps.db, [&](store::Transaction& tx) -> Status {
    CVM_RETURN_IF_ERROR(CheckOwnedSecurityGroup(tx, ctx, sg_id));
    auto group = store::FindSecurityGroup(tx, ScopeOf(ctx), sg_id);
    if (!group.ok()) return group.status();
    if ((*group)->is_default) {
      return Status(err::kUnsupportedOperation,
                    "The default security group " + sg_id + " cannot be deleted.");
    }
    auto holder = store::AnyHolderOfSecurityGroup(tx, sg_id);
    if (!holder.ok()) return holder.status();
    if (!holder->instance_id.empty()) {
      return Status(err::kResourceInUse, "Security group " + sg_id + " is bound to instance " +
                                             holder->instance_id + ".");
    }
    if (!holder->referencing_sg_id.empty()) {
      return Status(err::kResourceInUse, "Security group " + sg_id +
                                             " is referenced by a rule of " +
                                             holder->referencing_sg_id + ".");
    }
    return store::DeleteSecurityGroup(tx, sg_id);
  });
  if (!st.ok()) return st;
  SyncNetworkAfterCommit(deps.engine, ctx);
  return json::object();
}

Result<json> DescribeSecurityGroupReferences(ServiceDeps& deps, const api::RequestContext& ctx,
                                             json& p) {
  auto ids = IdsParam(p, "SecurityGroupIds", "sg", err::kInvalidSecurityGroupIDMalformed);
  if (!ids.ok()) return ids.status();
  json set = json::array();
  Status st = store::WithTransaction(deps.db, [&](store::Transaction& tx) -> Status {
    for (const auto& id : *ids) {
      CVM_RETURN_IF_ERROR(CheckOwnedSecurityGroup(tx, ctx, id));
      auto refs = store::GroupsReferencing(tx, id);
      if (!refs.ok()) return refs.status();
      set.push_back({{"SecurityGroupId", id}, {"ReferredSecurityGroupIds", *refs}});
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return json{{"ReferredSecurityGroupSet", std::move(set)}};
}

Result<json> DescribeSecurityGroupPolicies(ServiceDeps& deps, const api::RequestContext& ctx,
                                           json& p) {
  const std::string sg_id = p.value("SecurityGroupId", "");
  auto filters = ParseFilters(p,
                              {"security-group-id", "ip", "address-module", "service-module",
                               "protocol-type", "port", "poly", "direction", "description"},
                              "-");
  if (!filters.ok()) return filters.status();
  int64_t version = 0;
  RuleLists lists;
  Status st = store::WithTransaction(deps.db, [&](store::Transaction& tx) -> Status {
    CVM_RETURN_IF_ERROR(CheckOwnedSecurityGroup(tx, ctx, sg_id));
    auto group = store::FindSecurityGroup(tx, ScopeOf(ctx), sg_id);
    if (!group.ok()) return group.status();
    version = (*group)->version;
    for (const Direction& d : {kIngress, kEgress}) {
      auto rules = store::LoadSecurityGroupRules(tx, sg_id, d.stored);
      if (!rules.ok()) return rules.status();
      lists.Of(d) = std::move(*rules);
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  auto wanted = [&](const StoredRule& s, const Direction& d) {
    const auto& r = s.rule;
    auto upper = [](std::string v) {
      for (auto& c : v) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return v;
    };
    auto any = [&](const char* name, const std::function<bool(const std::string&)>& ok) {
      auto v = filters->Values(name);
      return !v || std::any_of(v->begin(), v->end(), ok);
    };
    auto ip_matches = [&](const std::string& v) {
      auto ip = network::ParseIpv4(v);
      auto c = network::ParseCidr(r.cidr, false);
      return r.cidr == v || r.ipv6_cidr == v || (ip && c && c->Contains(*ip));
    };
    return any("security-group-id", [&](auto& v) { return v == r.peer_sg_id; }) &&
           any("ip", ip_matches) &&
           any("protocol-type", [&](auto& v) { return upper(v) == r.protocol; }) &&
           any("port", [&](auto& v) { return upper(v) == r.port; }) &&
           any("poly", [&](auto& v) { return upper(v) == "ALL" || upper(v) == r.action; }) &&
           any("direction",
               [&](auto& v) {
                 return upper(v) == "ALL" ||
                        upper(v) ==
                            (std::string_view(d.stored) == "INGRESS" ? "INBOUND" : "OUTBOUND");
               }) &&
           any("description",
               [&](auto& v) { return r.description.find(v) != std::string::npos; }) &&
           !filters->Has("address-module") && !filters->Has("service-module");
  };
  json out{{"Version", std::to_string(version)}};
  json stats;
  for (const Direction& d : {kIngress, kEgress}) {
    json items = json::array();
    int64_t v4 = 0, v6 = 0;
    const auto& rules = lists.Of(d);
    for (size_t i = 0; i < rules.size(); ++i) {
      (rules[i].rule.ipv6_cidr.empty() ? v4 : v6) += 1;
      if (wanted(rules[i], d)) items.push_back(PolicyJson(rules[i], i));
    }
    out[d.api] = std::move(items);
    stats[std::string(d.api) + "IPv4TotalCount"] = v4;
    stats[std::string(d.api) + "IPv6TotalCount"] = v6;
  }
  out["PolicyStatistics"] = std::move(stats);
  return json{{"SecurityGroupPolicySet", std::move(out)}};
}

Result<json> CreateSecurityGroupPolicies(ServiceDeps& deps, const api::RequestContext& ctx,
                                         json& p) {
  auto dir = OneDirection(p["SecurityGroupPolicySet"]);
  if (!dir.ok()) return dir.status();
  const Direction& d = dir->first;
  const json* items = dir->second;
  auto rules = ParsePolicies(*items);
  if (!rules.ok()) return rules.status();
  // One insert position for the whole batch; omitted = append.
  std::optional<int64_t> index;
  for (const auto& item : *items) {
    if (!item.contains("PolicyIndex")) continue;
    int64_t i = item["PolicyIndex"].get<int64_t>();
    if (index && *index != i) {
      return Status(err::kInvalidParameterValue,
                    "All rules of one call take the same PolicyIndex.");
    }
    index = i;
  }
  Status st = EditRules(deps, ctx, p, [&](RuleLists& lists, int64_t now) -> Status {
    auto& list = lists.Of(d);
    const int64_t at = index.value_or(static_cast<int64_t>(list.size()));
    if (at < 0 || at > static_cast<int64_t>(list.size())) {
      return Status(err::kInvalidParameterValueRange, "PolicyIndex " + std::to_string(at) +
                                                          " is outside 0.." +
                                                          std::to_string(list.size()) + ".");
    }
    std::vector<StoredRule> added;
    for (const auto& r : *rules) added.push_back({r, now});
    list.insert(list.begin() + at, added.begin(), added.end());
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return json::object();
}

Result<json> DeleteSecurityGroupPolicies(ServiceDeps& deps, const api::RequestContext& ctx,
                                         json& p) {
  auto dir = OneDirection(p["SecurityGroupPolicySet"]);
  if (!dir.ok()) return dir.status();
  const Direction& d = dir->first;
  const json* items = dir->second;
  // By index ({"PolicyIndex": n} alone) or by content (the rule itself), not both.
  std::vector<int64_t> indexes;
  std::vector<SecurityRule> contents;
  for (const auto& item : *items) {
    const bool has_content = item.contains("Protocol") || item.contains("CidrBlock") ||
                             item.contains("Ipv6CidrBlock") || item.contains("SecurityGroupId") ||
                             item.contains("Action") || item.contains("Port");
    if (has_content) {
      auto r = ParsePolicy(item);
      if (!r.ok()) return r.status();
      contents.push_back(std::move(*r));
    } else if (item.contains("PolicyIndex")) {
      indexes.push_back(item["PolicyIndex"].get<int64_t>());
    } else {
      return Status(err::kInvalidParameterValueEmpty, "A rule to delete names nothing.");
    }
  }
  if (!indexes.empty() && !contents.empty()) {
    return Status(err::kInvalidParameterCoexist,
                  "Delete rules either by PolicyIndex or by content, not both.");
  }
  Status st = EditRules(deps, ctx, p, [&](RuleLists& lists, int64_t) -> Status {
    auto& list = lists.Of(d);
    std::vector<bool> gone(list.size(), false);
    for (int64_t i : indexes) {
      if (i < 0 || i >= static_cast<int64_t>(list.size())) {
        return Status(
            err::kResourceNotFound,
            std::string("No ") + d.api + " rule has PolicyIndex " + std::to_string(i) + ".");
      }
      gone[i] = true;
    }
    for (const auto& c : contents) {
      bool found = false;
      for (size_t i = 0; i < list.size() && !found; ++i) {
        if (!gone[i] && list[i].rule.SameEffect(c)) gone[i] = found = true;
      }
      if (!found) {
        return Status(err::kResourceNotFound, std::string("No ") + d.api + " rule matches " +
                                                  c.protocol + " " + c.port + " " + c.action + ".");
      }
    }
    std::vector<StoredRule> kept;
    for (size_t i = 0; i < list.size(); ++i) {
      if (!gone[i]) kept.push_back(std::move(list[i]));
    }
    list = std::move(kept);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return json::object();
}

Result<json> ReplaceSecurityGroupPolicy(ServiceDeps& deps, const api::RequestContext& ctx,
                                        json& p) {
  auto dir = OneDirection(p["SecurityGroupPolicySet"]);
  if (!dir.ok()) return dir.status();
  const Direction& d = dir->first;
  const json* items = dir->second;
  if (items->size() != 1) {
    return Status(err::kInvalidParameterValue, "ReplaceSecurityGroupPolicy takes one rule.");
  }
  if (!(*items)[0].contains("PolicyIndex")) {
    return Status(err::kMissingParameter, "PolicyIndex is required.");
  }
  const int64_t index = (*items)[0]["PolicyIndex"].get<int64_t>();
  auto rule = ParsePolicy((*items)[0]);
  if (!rule.ok()) return rule.status();
  Status st = EditRules(deps, ctx, p, [&](RuleLists& lists, int64_t now) -> Status {
    auto& list = lists.Of(d);
    if (index < 0 || index >= static_cast<int64_t>(list.size())) {
      return Status(err::kResourceNotFound, std::string("No ") + d.api + " rule has PolicyIndex " +
                                                std::to_string(index) + ".");
    }
    list[index] = {*rule, now};
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return json::object();
}

Result<json> ModifySecurityGroupPolicies(ServiceDeps& deps, const api::RequestContext& ctx,
                                         json& p) {
  const json& set = p["SecurityGroupPolicySet"];
  const bool clear = set.value("Version", "") == "0";
  RuleLists wanted;
  if (!clear) {
    for (const Direction& d : {kIngress, kEgress}) {
      // Both lists must be given: an absent one would silently erase that
      // direction.
      if (!set.contains(d.api)) {
        return Status(err::kMissingParameter, std::string("SecurityGroupPolicySet.") + d.api +
                                                  " is required (an empty list clears it).");
      }
      auto rules = ParsePolicies(set[d.api]);
      if (!rules.ok()) return rules.status();
      for (auto& r : *rules) wanted.Of(d).push_back({std::move(r), 0});
    }
  }
  Status st = EditRules(deps, ctx, p, [&](RuleLists& lists, int64_t now) -> Status {
    for (const Direction& d : {kIngress, kEgress}) {
      // A rule kept unchanged keeps its ModifyTime.
      for (auto& w : wanted.Of(d)) {
        w.modified_at = now;
        for (const auto& old : lists.Of(d)) {
          if (old.rule == w.rule) w.modified_at = old.modified_at;
        }
      }
      lists.Of(d) = std::move(wanted.Of(d));
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return json::object();
}

}  // namespace

void RegisterVpcSecurityGroupHandlers(api::Router& router, ServiceDeps& deps) {
  RegisterActions(router, deps,
                  {{"CreateSecurityGroup", &CreateSecurityGroup},
                   {"CreateSecurityGroupWithPolicies", &CreateSecurityGroupWithPolicies},
                   {"DescribeSecurityGroups", &DescribeSecurityGroups},
                   {"ModifySecurityGroupAttribute", &ModifySecurityGroupAttribute},
                   {"DeleteSecurityGroup", &DeleteSecurityGroup},
                   {"DescribeSecurityGroupReferences", &DescribeSecurityGroupReferences},
                   {"DescribeSecurityGroupPolicies", &DescribeSecurityGroupPolicies},
                   {"CreateSecurityGroupPolicies", &CreateSecurityGroupPolicies},
                   {"DeleteSecurityGroupPolicies", &DeleteSecurityGroupPolicies},
                   {"ReplaceSecurityGroupPolicy", &ReplaceSecurityGroupPolicy},
                   {"ModifySecurityGroupPolicies", &ModifySecurityGroupPolicies}});
}

}  // namespace cvm::services
