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

bool Visibility::Sees(ResourceKind kind, std::string_view id) const {
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
  std::string_view region = kind.service == "cam" ? std::string_view() : s.region;
  ResourceRef ref{kind.service, region, s.account, type_and_id};
  return filter_->policies->Evaluate(s.action, ref, facts) == Decision::kAllow;
}

}  // namespace cvm::iam
