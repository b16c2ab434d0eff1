// What a list answer may show its caller. The pipeline decides it with the CAM decision and
// hands it to the handler in the RequestContext; list handlers apply it to every candidate item
// before paging (services/filters.h: Paging), so TotalCount counts only what the caller may see
// and a page holds Limit items whenever that many are visible.
//
// A default-constructed Visibility sees nothing: a path that forgets to set one shows nothing
// rather than everything.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "iam/policy.h"

namespace cvm::iam {

// How CAM names a kind of resource: qcs::SERVICE:REGION:uin/OWNER:TYPE/ID.
struct ResourceKind {
  std::string_view service;
  std::string_view type;
};

namespace kind {
// Disks, snapshots, images, key pairs and security groups are named under service cvm, as
// Tencent does; VPCs and subnets under vpc.
inline constexpr ResourceKind kInstance{"cvm", "instance"};
inline constexpr ResourceKind kVolume{"cvm", "volume"};
inline constexpr ResourceKind kSnapshot{"cvm", "snapshot"};
inline constexpr ResourceKind kImage{"cvm", "image"};
inline constexpr ResourceKind kKeyPair{"cvm", "keypair"};
inline constexpr ResourceKind kSecurityGroup{"cvm", "sg"};
inline constexpr ResourceKind kVpc{"vpc", "vpc"};
inline constexpr ResourceKind kSubnet{"vpc", "subnet"};
inline constexpr ResourceKind kRouteTable{"vpc", "rtb"};
// CAM's own: a user by its uin (the root account's too), a group and a policy by their ids.
inline constexpr ResourceKind kCamUser{"cam", "uin"};
inline constexpr ResourceKind kCamGroup{"cam", "groupid"};
inline constexpr ResourceKind kCamPolicy{"cam", "policyid"};
}  // namespace kind

// The regional kind (service, type) names, or nullptr: the resources a tag can be put on.
const ResourceKind* FindRegionalKind(std::string_view service, std::string_view type);

// A resource named as qcs::SERVICE:REGION:uin/OWNER:TYPE/ID (the project segment empty). OWNER
// may be empty, meaning the caller's own account, as the Terraform provider writes it.
struct ResourceName {
  const ResourceKind* kind = nullptr;
  std::string region, owner_uin, id;
};
// nullopt when `name` is not of that form or names a kind FindRegionalKind does not know.
std::optional<ResourceName> ParseResourceName(std::string_view name);

// The request as CAM sees it when it judges one listed item: the list action and the facts
// its conditions read (source address, time, region, the request's own zone, VPC, ...).
struct VisibilityScope {
  std::string action;  // "service:Action"
  std::string region;
  std::string account;  // "uin/OWNER"
  std::string source_ip;
  int64_t now_unix = 0;
  std::string zone;
  std::string instance_type;
  std::vector<std::pair<std::string, std::string>> extra;  // condition key, value
};

class Visibility {
 public:
  Visibility() = default;  // nothing

  static Visibility Everything();
  // The items `policies` allow for the scope's action (an explicit deny hides an item).
  static Visibility Allowed(std::shared_ptr<const PolicySet> policies, VisibilityScope scope);

  bool SeesAll() const { return all_; }
  bool Sees(ResourceKind kind, std::string_view id) const;
  // For an item of another region than the request's (the Tag service lists every region).
  bool Sees(ResourceKind kind, std::string_view id, std::string_view region) const;

 private:
  struct Filter {
    std::shared_ptr<const PolicySet> policies;
    VisibilityScope scope;
  };
  bool all_ = false;
  std::shared_ptr<const Filter> filter_;  // null with !all_: nothing is visible
};

}  // namespace cvm::iam
