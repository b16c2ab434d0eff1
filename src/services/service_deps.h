// What handlers are given: configuration, the store and the account registry. Drivers are
// deliberately absent: handlers record intent, the engine acts.
#pragma once

#include <initializer_list>
#include <nlohmann/json.hpp>

#include "api/console_tokens.h"
#include "api/router.h"
#include "config/config.h"
#include "engine/engine.h"
#include "iam/accounts.h"
#include "iam/audit_log.h"
#include "iam/cam_store.h"
#include "store/database.h"

namespace cvm::services {

struct ServiceDeps {
  const Config& config;
  store::Database& db;
  iam::AccountStore& accounts;
  engine::Engine& engine;
  api::ConsoleTokens& console_tokens;
  iam::CamStore& cam;
  iam::AuditLog& audit;
};

// One action of a service: a named function of the deps, the request and its parameters.
using ServiceAction = Result<nlohmann::json> (*)(ServiceDeps&, const api::RequestContext&,
                                                 nlohmann::json&);
struct NamedAction {
  const char* name;
  ServiceAction action;
};
// Registers each action under its name.
inline void RegisterActions(api::Router& router, ServiceDeps& deps,
                            std::initializer_list<NamedAction> actions) {
  for (const auto& a : actions) {
    router.Register(a.name,
                    [&deps, action = a.action](const api::RequestContext& ctx, nlohmann::json& p) {
                      return action(deps, ctx, p);
                    });
  }
}

// The account and region a request reaches.
inline store::Scope ScopeOf(const api::RequestContext& ctx) { return {ctx.owner_uin, ctx.region}; }

void RegisterCvmZoneHandlers(api::Router& router, ServiceDeps& deps);
void RegisterCvmInstanceHandlers(api::Router& router, ServiceDeps& deps);
void RegisterCvmInstanceAttributeHandlers(api::Router& router, ServiceDeps& deps);
void RegisterCvmImageHandlers(api::Router& router, ServiceDeps& deps);
void RegisterCvmKeyPairHandlers(api::Router& router, ServiceDeps& deps);
void RegisterCvmLoginHandlers(api::Router& router, ServiceDeps& deps);
void RegisterCvmLoginEndpointHandlers(api::Router& router, ServiceDeps& deps);
void RegisterCvmVncHandler(api::Router& router, ServiceDeps& deps);
void RegisterCvmSecurityGroupHandlers(api::Router& router, ServiceDeps& deps);
void RegisterCbsDiskHandlers(api::Router& router, ServiceDeps& deps);
void RegisterCbsSnapshotHandlers(api::Router& router, ServiceDeps& deps);
void RegisterVpcHandlers(api::Router& router, ServiceDeps& deps);
void RegisterVpcSecurityGroupHandlers(api::Router& router, ServiceDeps& deps);
void RegisterVpcUsageHandlers(api::Router& router, ServiceDeps& deps);
void RegisterVpcRouteTableHandlers(api::Router& router, ServiceDeps& deps);
void RegisterCamUserHandlers(api::Router& router, ServiceDeps& deps);
void RegisterCamPolicyHandlers(api::Router& router, ServiceDeps& deps);
void RegisterCamAuditHandler(api::Router& router, ServiceDeps& deps);
void RegisterTagHandlers(api::Router& router, ServiceDeps& deps);

// Every service's handlers.
inline void RegisterAllHandlers(api::Router& router, ServiceDeps& deps) {
  RegisterCvmZoneHandlers(router, deps);
  RegisterCvmInstanceHandlers(router, deps);
  RegisterCvmInstanceAttributeHandlers(router, deps);
  RegisterCvmImageHandlers(router, deps);
  RegisterCvmKeyPairHandlers(router, deps);
  RegisterCvmLoginHandlers(router, deps);
  RegisterCvmLoginEndpointHandlers(router, deps);
  RegisterCvmVncHandler(router, deps);
  RegisterCvmSecurityGroupHandlers(router, deps);
  RegisterCbsDiskHandlers(router, deps);
  RegisterCbsSnapshotHandlers(router, deps);
  RegisterVpcHandlers(router, deps);
  RegisterVpcSecurityGroupHandlers(router, deps);
  RegisterVpcUsageHandlers(router, deps);
  RegisterVpcRouteTableHandlers(router, deps);
  RegisterCamUserHandlers(router, deps);
  RegisterCamPolicyHandlers(router, deps);
  RegisterCamAuditHandler(router, deps);
  RegisterTagHandlers(router, deps);
}

}  // namespace cvm::services
