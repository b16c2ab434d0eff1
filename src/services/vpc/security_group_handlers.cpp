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

json GroupJson(const store::Row& r, json tags) {
  return json{{"SecurityGroupId", r.Str(0)},
              {"SecurityGroupName", r.Str(1)},
              {"SecurityGroupDesc", r.Str(2)},
              {"ProjectId", std::to_string(r.Int(3))},
              {"IsDefault", r.Int(4) != 0},
              {"CreatedTime", FormatDateTime(r.Int(5))},
              {"UpdateTime", FormatDateTime(r.Int(6))},
              {"TagSet", std::move(tags)}};
}
constexpr const char* kGroupColumns =
    "sg_id, name, description, project_id, is_default, created_at, updated_at";

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

}  // namespace

void RegisterVpcSecurityGroupHandlers(api::Router& router, ServiceDeps& deps) {
  auto& db = deps.db;
  auto& engine = deps.engine;

  // Loads both rule lists of the caller's group, lets `edit` change them, checks the result
  // (Version, limits, peers), stores it with Version + 1 and syncs the data path.
  auto edit_rules = [&](const api::RequestContext& ctx, const json& p,
                        const std::function<Status(RuleLists&, int64_t now)>& edit) -> Status {
    const std::string sg_id = p.value("SecurityGroupId", "");
    const json& set = p.contains("SecurityGroupPolicySet") ? p["SecurityGroupPolicySet"] : json{};
    Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
      CVM_RETURN_IF_ERROR(CheckOwnedSecurityGroup(tx, ctx, sg_id));
      auto version = tx.Query("SELECT version FROM security_groups WHERE sg_id = ?", {sg_id});
      if (!version.ok()) return version.status();
      const std::string current = std::to_string((*version)[0].Int(0));
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
      return tx.Exec(
          "UPDATE security_groups SET version = version + 1, updated_at = ? WHERE sg_id = ?",
          {now, sg_id});
    });
    if (st.ok()) SyncNetworkAfterCommit(engine, ctx);
    return st;
  };

  auto create_group = [&](const api::RequestContext& ctx, const json& p,
                          const std::vector<StoredRule>& ingress,
                          const std::vector<StoredRule>& egress) -> Result<json> {
    std::string name = p.value("GroupName", ""), desc = p.value("GroupDescription", "");
    CVM_RETURN_IF_ERROR(CheckName(name, "GroupName"));
    if (desc.size() > 100) {
      return Status(err::kInvalidParameterValueTooLong,
                    "GroupDescription is longer than 100 bytes.");
    }
    int64_t project = 0;
    if (p.contains("ProjectId")) {
      std::string s = p["ProjectId"].get<std::string>();
      if (s.empty() || s.size() > 18 || !std::all_of(s.begin(), s.end(), ::isdigit)) {
        return Status(err::kInvalidParameterValueMalformed, "ProjectId must be a number.");
      }
      project = std::stoll(s);
    }
    const std::string id = NewResourceId("sg");
    Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
      auto count =
          tx.Query("SELECT COUNT(*) FROM security_groups WHERE owner_uin = ? AND region = ?",
                   {ctx.owner_uin, ctx.region});
      if (!count.ok()) return count.status();
      if ((*count)[0].Int(0) >= kMaxGroupsPerAccount) {
        return Status(err::kLimitExceeded, "At most " + std::to_string(kMaxGroupsPerAccount) +
                                               " security groups per region.");
      }
      const int64_t now = NowUnix();
      const bool with_rules = !ingress.empty() || !egress.empty();
      CVM_RETURN_IF_ERROR(tx.Exec(
          "INSERT INTO security_groups(sg_id, owner_uin, region, project_id, name, "
          "description, is_default, version, created_at, updated_at) "
          "VALUES (?,?,?,?,?,?,0,?,?,?)",
          {id, ctx.owner_uin, ctx.region, project, name, desc, int64_t{with_rules}, now, now}));
      for (auto [d, rules] : {std::pair{kIngress, &ingress}, std::pair{kEgress, &egress}}) {
        CVM_RETURN_IF_ERROR(StoreRules(tx, ctx, id, d, *rules));
      }
      return InsertTags(tx, p, id, ctx.owner_uin);
    });
    if (!st.ok()) return st;
    SyncNetworkAfterCommit(engine, ctx);
    auto row = db.Query(
        std::string("SELECT ") + kGroupColumns + " FROM security_groups WHERE sg_id = ?", {id});
    if (!row.ok()) return row.status();
    return json{{"SecurityGroup", GroupJson(row->front(), TagSets(db, {id})[id])}};
  };

  router.Register("CreateSecurityGroup",
                  [&, create_group](const api::RequestContext& ctx, json& p) -> Result<json> {
                    return create_group(ctx, p, {}, {});
                  });

  router.Register("CreateSecurityGroupWithPolicies",
                  [&, create_group](const api::RequestContext& ctx, json& p) -> Result<json> {
                    RuleLists lists;
                    const json& set = p.contains("SecurityGroupPolicySet")
                                          ? p["SecurityGroupPolicySet"]
                                          : json::object();
                    const int64_t now = NowUnix();
                    for (const Direction& d : {kIngress, kEgress}) {
                      auto rules = ParsePolicies(set.value(d.api, json::array()));
                      if (!rules.ok()) return rules.status();
                      for (auto& r : *rules) lists.Of(d).push_back({std::move(r), now});
                    }
                    return create_group(ctx, p, lists.ingress, lists.egress);
                  });

  router.Register(
      "DescribeSecurityGroups", [&](const api::RequestContext& ctx, json& p) -> Result<json> {
        auto ids = IdsParam(p, "SecurityGroupIds", "sg", err::kInvalidSecurityGroupIDMalformed);
        if (!ids.ok()) return ids.status();
        auto filters = ParseFilters(
            p, {"security-group-id", "project-id", "security-group-name", "tag-key", "tag:"},
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
        SqlWhere where("owner_uin = ? AND region = ?", {ctx.owner_uin, ctx.region});
        if (!ids->empty()) where.In("sg_id", *ids);
        where.Filtered(*filters, {{"security-group-id", "sg_id"},
                                  {"project-id", "CAST(project_id AS TEXT)"},
                                  {"security-group-name", "name"}});
        FilterByTags(where, *filters, "sg_id");
        const std::string order = (field == "CreatedTime" ? "created_at " : "updated_at ") +
                                  direction + ", rowid " + direction;
        auto list = ListPage(db, where, "security_groups", "sg_id", kGroupColumns, order, *paging,
                             *ids, err::kInvalidSecurityGroupIDNotFound);
        if (!list.ok()) return list.status();
        std::vector<std::string> page_ids;
        for (const auto& r : list->rows) page_ids.push_back(r.Str(0));
        auto tags = TagSets(db, page_ids);
        json set = json::array();
        for (const auto& r : list->rows) set.push_back(GroupJson(r, tags[r.Str(0)]));
        return json{{"TotalCount", list->total}, {"SecurityGroupSet", std::move(set)}};
      });

  router.Register(
      "ModifySecurityGroupAttribute", [&](const api::RequestContext& ctx, json& p) -> Result<json> {
        const std::string sg_id = p.value("SecurityGroupId", "");
        if (p.contains("GroupName")) {
          CVM_RETURN_IF_ERROR(CheckName(p["GroupName"].get<std::string>(), "GroupName"));
        }
        if (p.value("GroupDescription", "").size() > 100) {
          return Status(err::kInvalidParameterValueTooLong,
                        "GroupDescription is longer than 100 bytes.");
        }
        Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
          CVM_RETURN_IF_ERROR(CheckOwnedSecurityGroup(tx, ctx, sg_id));
          return tx.Exec(
              "UPDATE security_groups SET name = COALESCE(?, name), description = "
              "COALESCE(?, description), updated_at = ? WHERE sg_id = ?",
              {p.contains("GroupName") ? store::Value(p["GroupName"].get<std::string>())
                                       : store::Value(nullptr),
               p.contains("GroupDescription")
                   ? store::Value(p["GroupDescription"].get<std::string>())
                   : store::Value(nullptr),
               NowUnix(), sg_id});
        });
        if (!st.ok()) return st;
        return json::object();
      });

  router.Register(
      "DeleteSecurityGroup", [&](const api::RequestContext& ctx, json& p) -> Result<json> {
        const std::string sg_id = p.value("SecurityGroupId", "");
        Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
          CVM_RETURN_IF_ERROR(CheckOwnedSecurityGroup(tx, ctx, sg_id));
          auto g = tx.Query(
              "SELECT is_default, (SELECT instance_id FROM instance_security_groups WHERE "
              "sg_id = ?1 LIMIT 1), (SELECT sg_id FROM sg_rules WHERE peer_sg_id = ?1 AND "
              "sg_id != ?1 LIMIT 1) FROM security_groups WHERE sg_id = ?1",
              {sg_id});
          if (!g.ok()) return g.status();
          const auto& r = g->front();
          if (r.Int(0) != 0) {
            return Status(err::kUnsupportedOperation,
                          "The default security group " + sg_id + " cannot be deleted.");
          }
          if (!r.IsNull(1)) {
            return Status(err::kResourceInUse,
                          "Security group " + sg_id + " is bound to instance " + r.Str(1) + ".");
          }
          if (!r.IsNull(2)) {
            return Status(err::kResourceInUse, "Security group " + sg_id +
                                                   " is referenced by a rule of " + r.Str(2) + ".");
          }
          CVM_RETURN_IF_ERROR(tx.Exec("DELETE FROM sg_rules WHERE sg_id = ?", {sg_id}));
          CVM_RETURN_IF_ERROR(tx.Exec("DELETE FROM tags WHERE resource_id = ?", {sg_id}));
          return tx.Exec("DELETE FROM security_groups WHERE sg_id = ?", {sg_id});
        });
        if (!st.ok()) return st;
        SyncNetworkAfterCommit(engine, ctx);
        return json::object();
      });

  router.Register(
      "DescribeSecurityGroupReferences",
      [&](const api::RequestContext& ctx, json& p) -> Result<json> {
        auto ids = IdsParam(p, "SecurityGroupIds", "sg", err::kInvalidSecurityGroupIDMalformed);
        if (!ids.ok()) return ids.status();
        json set = json::array();
        Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
          for (const auto& id : *ids) {
            CVM_RETURN_IF_ERROR(CheckOwnedSecurityGroup(tx, ctx, id));
            auto refs = tx.Query(
                "SELECT DISTINCT sg_id FROM sg_rules WHERE peer_sg_id = ? AND "
                "sg_id != ? ORDER BY sg_id",
                {id, id});
            if (!refs.ok()) return refs.status();
            json referred = json::array();
            for (const auto& r : *refs) referred.push_back(r.Str(0));
            set.push_back({{"SecurityGroupId", id}, {"ReferredSecurityGroupIds", referred}});
          }
          return Status::Ok();
        });
        if (!st.ok()) return st;
        return json{{"ReferredSecurityGroupSet", std::move(set)}};
      });

  router.Register(
      "DescribeSecurityGroupPolicies",
      [&](const api::RequestContext& ctx, json& p) -> Result<json> {
        const std::string sg_id = p.value("SecurityGroupId", "");
        auto filters = ParseFilters(p,
                                    {"security-group-id", "ip", "address-module", "service-module",
                                     "protocol-type", "port", "poly", "direction", "description"},
                                    "-");
        if (!filters.ok()) return filters.status();
        int64_t version = 0;
        RuleLists lists;
        Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
          CVM_RETURN_IF_ERROR(CheckOwnedSecurityGroup(tx, ctx, sg_id));
          auto v = tx.Query("SELECT version FROM security_groups WHERE sg_id = ?", {sg_id});
          if (!v.ok()) return v.status();
          version = (*v)[0].Int(0);
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
                              upper(v) == (std::string_view(d.stored) == "INGRESS" ? "INBOUND"
                                                                                   : "OUTBOUND");
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
      });

  router.Register("CreateSecurityGroupPolicies",
                  [&, edit_rules](const api::RequestContext& ctx, json& p) -> Result<json> {
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
                    Status st = edit_rules(ctx, p, [&](RuleLists& lists, int64_t now) -> Status {
                      auto& list = lists.Of(d);
                      const int64_t at = index.value_or(static_cast<int64_t>(list.size()));
                      if (at < 0 || at > static_cast<int64_t>(list.size())) {
                        return Status(err::kInvalidParameterValueRange,
                                      "PolicyIndex " + std::to_string(at) + " is outside 0.." +
                                          std::to_string(list.size()) + ".");
                      }
                      std::vector<StoredRule> added;
                      for (const auto& r : *rules) added.push_back({r, now});
                      list.insert(list.begin() + at, added.begin(), added.end());
                      return Status::Ok();
                    });
                    if (!st.ok()) return st;
                    return json::object();
                  });

  router.Register(
      "DeleteSecurityGroupPolicies",
      [&, edit_rules](const api::RequestContext& ctx, json& p) -> Result<json> {
        auto dir = OneDirection(p["SecurityGroupPolicySet"]);
        if (!dir.ok()) return dir.status();
        const Direction& d = dir->first;
        const json* items = dir->second;
        // By index ({"PolicyIndex": n} alone) or by content (the rule itself), not both.
        std::vector<int64_t> indexes;
        std::vector<SecurityRule> contents;
        for (const auto& item : *items) {
          const bool has_content = item.contains("Protocol") || item.contains("CidrBlock") ||
                                   item.contains("Ipv6CidrBlock") ||
                                   item.contains("SecurityGroupId") || item.contains("Action") ||
                                   item.contains("Port");
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
        Status st = edit_rules(ctx, p, [&](RuleLists& lists, int64_t) -> Status {
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
                                                        c.protocol + " " + c.port + " " + c.action +
                                                        ".");
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
      });

  router.Register("ReplaceSecurityGroupPolicy",
                  [&, edit_rules](const api::RequestContext& ctx, json& p) -> Result<json> {
                    auto dir = OneDirection(p["SecurityGroupPolicySet"]);
                    if (!dir.ok()) return dir.status();
                    const Direction& d = dir->first;
                    const json* items = dir->second;
                    if (items->size() != 1) {
                      return Status(err::kInvalidParameterValue,
                                    "ReplaceSecurityGroupPolicy takes one rule.");
                    }
                    if (!(*items)[0].contains("PolicyIndex")) {
                      return Status(err::kMissingParameter, "PolicyIndex is required.");
                    }
                    const int64_t index = (*items)[0]["PolicyIndex"].get<int64_t>();
                    auto rule = ParsePolicy((*items)[0]);
                    if (!rule.ok()) return rule.status();
                    Status st = edit_rules(ctx, p, [&](RuleLists& lists, int64_t now) -> Status {
                      auto& list = lists.Of(d);
                      if (index < 0 || index >= static_cast<int64_t>(list.size())) {
                        return Status(err::kResourceNotFound, std::string("No ") + d.api +
                                                                  " rule has PolicyIndex " +
                                                                  std::to_string(index) + ".");
                      }
                      list[index] = {*rule, now};
                      return Status::Ok();
                    });
                    if (!st.ok()) return st;
                    return json::object();
                  });

  router.Register("ModifySecurityGroupPolicies",
                  [&, edit_rules](const api::RequestContext& ctx, json& p) -> Result<json> {
                    const json& set = p["SecurityGroupPolicySet"];
                    const bool clear = set.value("Version", "") == "0";
                    RuleLists wanted;
                    if (!clear) {
                      for (const Direction& d : {kIngress, kEgress}) {
                        // Both lists must be given: an absent one would silently erase that
                        // direction.
                        if (!set.contains(d.api)) {
                          return Status(err::kMissingParameter,
                                        std::string("SecurityGroupPolicySet.") + d.api +
                                            " is required (an empty list clears it).");
                        }
                        auto rules = ParsePolicies(set[d.api]);
                        if (!rules.ok()) return rules.status();
                        for (auto& r : *rules) wanted.Of(d).push_back({std::move(r), 0});
                      }
                    }
                    Status st = edit_rules(ctx, p, [&](RuleLists& lists, int64_t now) -> Status {
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
                  });
}

}  // namespace cvm::services
