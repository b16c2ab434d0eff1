// The CAM decision for one API call, made by the request pipeline before any handler runs.
// Root accounts own everything in their account; a sub-user may do only what its policies
// allow, an explicit deny winning. The resources a call touches are read from its parameters
// through one table (InstanceIds -> instance, DiskIds -> volume, ...), wherever they sit in the
// request (RunInstances names its image, key pairs, security groups, VPC and subnet in nested
// objects); a call that names none is checked against resource "*". CAM's own actions name
// users (uin/<uin>, also when given by Name or Uid), groups (groupid/<id>) and policies
// (policyid/<id>); a key action without TargetUin, and GetUserAppId, act on the caller's user.
// The Tag service's actions are authorized on the resources they tag, named by six-segment
// names (Resource, ResourceList) or by ServiceType, ResourcePrefix, ResourceRegion and
// ResourceIds.
//
// Describe calls that name no ids are let through when some allow statement covers the action;
// what their answers may list is the outcome's Visibility, which the handler applies before
// paging.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "iam/cam_store.h"
#include "iam/policy.h"
#include "iam/visibility.h"

namespace cvm::iam {

struct AccessRequest {
  std::string_view service;  // of the action: cvm | cbs | vpc | cam | tag
  std::string_view action;   // e.g. "StopInstances"
  std::string_view region;
  std::string_view owner_uin;
  std::string_view caller_uin;
  int64_t owner_app_id = 0;
  std::string_view source_ip;
  int64_t now_unix = 0;
  const nlohmann::json* params = nullptr;
};

// A resource id found in the parameters and how CAM names its kind.
struct NamedResource {
  std::string_view service;  // resource service in the six-segment name ("cvm" for disks too)
  // instance | volume | keypair | image | sg | snapshot | vpc | subnet; for cam: uin | groupid |
  // policyid
  std::string_view type;
  std::string id;
  std::string region;  // empty: the request's (the Tag service names resources of any region)
};

struct AccessOutcome {
  Status status;
  std::vector<NamedResource> resources;
  // The items a list answer may show: everything for a root account or an allow on "*"
  // without a deny, else those the caller's policies allow one by one.
  Visibility visible;
};

class Authorizer {
 public:
  explicit Authorizer(CamStore& cam) : cam_(cam) {}

  // Every resource the request names (members in JSON key order), without duplicates. A CAM
  // user named by Name or Uid is looked up; one that does not exist is named uin/*.
  Result<std::vector<NamedResource>> ResourcesOf(const AccessRequest& request);

  AccessOutcome Authorize(const AccessRequest& request);

 private:
  CamStore& cam_;
};

}  // namespace cvm::iam
