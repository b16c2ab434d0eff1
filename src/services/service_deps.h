// What handlers are given: configuration, the store and the account registry. Drivers are
// deliberately absent: handlers record intent, the engine acts.
#pragma once

#include "api/router.h"
#include "config/config.h"
#include "iam/accounts.h"
#include "store/database.h"

namespace cvm::services {

struct ServiceDeps {
  const Config& config;
  store::Database& db;
  iam::AccountStore& accounts;
};

void RegisterCvmZoneHandlers(api::Router& router, ServiceDeps& deps);

// Every service's handlers.
inline void RegisterAllHandlers(api::Router& router, ServiceDeps& deps) {
  RegisterCvmZoneHandlers(router, deps);
}

}  // namespace cvm::services
