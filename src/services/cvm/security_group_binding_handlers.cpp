// AssociateSecurityGroups / DisassociateSecurityGroups: an instance's groups, kept in binding
// order (the order the data path evaluates them in). Only records change; the engine enforces.
#include "common/error_codes.h"
#include "services/cvm/instance_network.h"
#include "services/cvm/instance_rules.h"
#include "services/service_deps.h"
#include "services/vpc/vpc_common.h"
#include "store/datapath_records.h"

namespace cvm::services {

using nlohmann::json;

void RegisterCvmSecurityGroupHandlers(api::Router& router, ServiceDeps& deps) {
  auto& db = deps.db;
  auto& engine = deps.engine;

  // `change` turns an instance's current list into the new one.
  auto rebind = [&](const char* action,
                    std::function<Result<std::vector<std::string>>(
                        std::vector<std::string> current, const std::vector<std::string>& named)>
                        change) {
    router.Register(action, [&, change](const api::RequestContext& ctx, json& p) -> Result<json> {
      auto ids = InstanceIdsParam(p, "InstanceIds");
      if (!ids.ok()) return ids.status();
      if (ids->empty()) return Status(err::kMissingParameter, "InstanceIds is empty.");
      if (p["SecurityGroupIds"].empty()) {
        return Status(err::kMissingParameter, "SecurityGroupIds is empty.");
      }
      Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
        auto groups = CheckSecurityGroupIds(tx, ctx, p["SecurityGroupIds"]);
        if (!groups.ok()) return groups.status();
        auto insts = LoadOwned(tx, ctx, *ids);
        if (!insts.ok()) return insts.status();
        for (const auto& i : *insts) {
          if (i.state == "TERMINATING") {
            return Status(WrongStateCode(i.state),
                          "The instance " + i.instance_id + " is " + i.state + ".");
          }
          auto current = store::BoundSecurityGroups(tx, i.instance_id);
          if (!current.ok()) return current.status();
          auto next = change(std::move(*current), *groups);
          if (!next.ok()) return next.status();
          CVM_RETURN_IF_ERROR(store::ReplaceSecurityGroupBindings(tx, i.instance_id, *next));
        }
        return Status::Ok();
      });
      if (!st.ok()) return st;
      vpc::SyncNetworkAfterCommit(engine, ctx);
      return json::object();
    });
  };

  // New groups go after the ones bound already (lowest priority); a bound one stays put.
  rebind("AssociateSecurityGroups",
         [](std::vector<std::string> current,
            const std::vector<std::string>& named) -> Result<std::vector<std::string>> {
           for (const auto& id : named) {
             if (std::find(current.begin(), current.end(), id) == current.end()) {
               current.push_back(id);
             }
           }
           if (current.size() > kMaxGroupsPerInstance) {
             return Status(err::kLimitExceededAssociateUSGLimitExceeded,
                           "An instance takes at most " + std::to_string(kMaxGroupsPerInstance) +
                               " security groups.");
           }
           return current;
         });
  rebind("DisassociateSecurityGroups",
         [](std::vector<std::string> current,
            const std::vector<std::string>& named) -> Result<std::vector<std::string>> {
           for (const auto& id : named) {
             auto it = std::find(current.begin(), current.end(), id);
             if (it == current.end()) {
               return Status(err::kInvalidSecurityGroupIdNotFound,
                             "Security group " + id + " is not bound to the instance.");
             }
             current.erase(it);
           }
           return current;
         });
}

}  // namespace cvm::services
