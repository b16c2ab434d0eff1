#include "iam/visibility.h"

namespace cvm::iam {

Visibility Visibility::Everything() {
  Visibility v;
  v.all_ = true;
  return v;
}

Visibility Visibility::Allowed(std::shared_ptr<const PolicySet> policies, VisibilityScope scope) {
  Visibility v;
  if (policies)
    v.filter_ = std::make_shared<const Filter>(Filter{std::move(policies), std::move(scope)});
  return v;
}

const ResourceKind* FindRegionalKind(std::string_view service, std::string_view type) {
  static constexpr const ResourceKind* kRegional[] = {
      &kind::kInstance,      &kind::kVolume, &kind::kSnapshot, &kind::kImage,     &kind::kKeyPair,
      &kind::kSecurityGroup, &kind::kVpc,    &kind::kSubnet,   &kind::kRouteTable};
  for (const ResourceKind* k : kRegional) {
    if (k->service == service && k->type == type) return k;
  }
  return nullptr;
}

std::optional<ResourceName> ParseResourceName(std::string_view name) {
  // qcs : (project) : service : region : uin/OWNER : type/id
  std::string_view seg[6];
  for (int i = 0; i < 5; ++i) {
    auto colon = name.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    seg[i] = name.substr(0, colon);
    name.remove_prefix(colon + 1);
  }
  seg[5] = name;
  if (seg[0] != "qcs" || !seg[1].empty() || seg[3].empty() || seg[4].substr(0, 4) != "uin/") {
    return std::nullopt;
  }
  auto slash = seg[5].find('/');
  if (slash == std::string_view::npos || slash + 1 == seg[5].size()) return std::nullopt;
  const ResourceKind* kind = FindRegionalKind(seg[2], seg[5].substr(0, slash));
  if (!kind) return std::nullopt;
  return ResourceName{kind, std::string(seg[3]), std::string(seg[4].substr(4)),
                      std::string(seg[5].substr(slash + 1))};
}

bool Visibility::Sees(ResourceKind kind, std::string_view id) const {
  return Sees(kind, id, filter_ ? std::string_view(filter_->scope.region) : std::string_view());
}

bool Visibility::Sees(ResourceKind kind, std::string_view id, std::string_view item_region) const {
  if (all_) return true;
  if (!filter_ || id.empty()) return false;
  const VisibilityScope& s = filter_->scope;
  RequestFacts facts;
  facts.source_ip = s.source_ip;
  facts.now_unix = s.now_unix;
  facts.region = s.region;
  facts.zone = s.zone;
  facts.instance_type = s.instance_type;
  facts.extra = &s.extra;
  std::string type_and_id;
  type_and_id.reserve(kind.type.size() + 1 + id.size());
  type_and_id.append(kind.type).append("/").append(id);
  // CAM's users, groups and policies belong to no region.
  std::string_view region = kind.service == "cam" ? std::string_view() : item_region;
  ResourceRef ref{kind.service, region, s.account, type_and_id};
  return filter_->policies->Evaluate(s.action, ref, facts) == Decision::kAllow;
}

}  // namespace cvm::iam
