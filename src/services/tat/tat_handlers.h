// TAT (tat 2020-10-28): RunCommand, CreateCommand, InvokeCommand, DeleteCommand,
// DescribeCommands, DescribeInvocations, DescribeInvocationTasks, CancelInvocation,
// DescribeAutomationAgentStatus.
#pragma once

#include "api/router.h"
#include "engine/guest_agent.h"
#include "services/service_deps.h"

namespace cvm::services {

void RegisterTatHandlers(api::Router& router, ServiceDeps& deps, engine::TatRunner& runner);

}  // namespace cvm::services
