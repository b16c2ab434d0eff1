// Login control on existing instances: AssociateInstancesKeyPairs,
// DisassociateInstancesKeyPairs, ResetInstancesPassword. The store holds the key ids and the
// root password as a crypt(3) hash only; a leading '!' on the hash (as in /etc/shadow) marks
// password login as disabled because keys were bound. The guest receives the change through
// its NoCloud seed, rewritten at every start: a STOPPED instance gets it when started; a
// RUNNING one (ForceStop) is forced off, and started again by the engine. A new password
// reaches a RUNNING instance whose guest agent answers through the agent instead, at once.
#include <algorithm>
#include <functional>
#include <set>

#include <spdlog/spdlog.h>

#include "common/error_codes.h"
#include "drivers/guest/nocloud_seed.h"
#include "engine/guest_agent.h"
#include "engine/operations.h"
#include "services/cvm/instance_rules.h"
#include "services/service_deps.h"
#include "store/key_pair_records.h"

namespace cvm::services {
namespace {

using nlohmann::json;
using store::InstanceRecord;

// The key ids of a request (KeyIdsParam), each the caller's own.
Result<std::vector<std::string>> OwnedKeyIds(store::Transaction& tx, const api::RequestContext& ctx,
                                             const json& p) {
  auto ids = KeyIdsParam(p);
  if (!ids.ok()) return ids.status();
  for (const auto& id : *ids) {
    auto k = store::FindKeyPair(tx, ScopeOf(ctx), id);
    if (!k.ok()) return k.status();
    if (!*k) {
      return Status(err::kInvalidKeyPairIdNotFound, "The key pair " + id + " does not exist.");
    }
  }
  return ids;
}

bool Locked(const std::string& hash) { return !hash.empty() && hash[0] == '!'; }

// Applies a recorded login change to a running guest through its agent; false: it could not.
using OnlineChange = std::function<bool(const InstanceRecord&)>;

// Records a restart of a RUNNING instance, which gives the guest its new seed.
Result<std::string> RecordRestart(store::Transaction& tx, const api::RequestContext& ctx,
                                  const std::string& instance_id) {
  CVM_RETURN_IF_ERROR(store::SetInstanceState(tx, instance_id, "STOPPING", ""));
  return engine::RecordOperation(tx, ctx, engine::op::kRestart, instance_id);
}

// Checks the batch, lets `change` edit each instance's login, records it, and restarts the
// RUNNING ones (ForceStop) through the engine. With `online`, a RUNNING instance whose guest
// agent answers takes the change without a restart (and without ForceStop); should the agent
// then fail, it is restarted as before.
using LoginChange = std::function<Status(store::Transaction&, InstanceRecord&)>;
Result<json> ChangeLogin(ServiceDeps& deps, const api::RequestContext& ctx, const json& p,
                         const LoginChange& change, const OnlineChange& online = nullptr) {
  auto ids = InstanceIdsParam(p, "InstanceIds");
  if (!ids.ok()) return ids.status();
  if (ids->empty()) return Status(err::kMissingParameter, "InstanceIds is empty.");
  const bool force = p.value("ForceStop", false);
  // Asked before the transaction: a silent guest costs its deadline, never a held write lock.
  std::set<std::string> agent_online;
  if (online) {
    for (const auto& id : *ids) {
      if (engine::ProbeGuestAgent(deps.engine, id).online) agent_online.insert(id);
    }
  }
  std::vector<std::string> ops;
  std::vector<InstanceRecord> changed_online;
  Status st = store::WithTransaction(deps.db, [&](store::Transaction& tx) -> Status {
    ops.clear();
    changed_online.clear();
    auto insts = LoadOwned(tx, ctx, *ids);
    if (!insts.ok()) return insts.status();
    for (const auto& i : *insts) {
      // Online only where password login is on now: a guest booted with keys only has it
      // switched off in its SSH server, which only a restart with the new seed turns on.
      const bool live = i.state == "RUNNING" && agent_online.count(i.instance_id) &&
                        !i.password_hash.empty() && !Locked(i.password_hash);
      if (!live) agent_online.erase(i.instance_id);
      if (i.state != "STOPPED" && !(i.state == "RUNNING" && force) && !live) {
        return Status(WrongStateCode(i.state),
                      "The instance " + i.instance_id + " is " + i.state +
                          (i.state == "RUNNING" ? "; stop it first or set ForceStop." : "."));
      }
      CVM_RETURN_IF_ERROR(CheckNotBusy(i));
    }
    for (auto& i : *insts) {
      CVM_RETURN_IF_ERROR(change(tx, i));
      CVM_RETURN_IF_ERROR(store::SetInstanceLogin(tx, i.instance_id, i.key_ids, i.password_hash));
      if (i.state == "RUNNING" && !agent_online.count(i.instance_id)) {
        auto op = RecordRestart(tx, ctx, i.instance_id);
        if (!op.ok()) return op.status();
        ops.push_back(*op);
      } else {
        if (i.state == "RUNNING") changed_online.push_back(i);
        // Nothing to do until the next start, which writes the new seed.
        CVM_RETURN_IF_ERROR(
            store::MarkInstanceOperationDone(tx, i.instance_id, ctx.action, ctx.request_id));
      }
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  for (const auto& i : changed_online) {
    if (online(i)) continue;
    Status restart = store::WithTransaction(deps.db, [&](store::Transaction& tx) -> Status {
      auto op = RecordRestart(tx, ctx, i.instance_id);
      if (!op.ok()) return op.status();
      ops.push_back(*op);
      return Status::Ok();
    });
    if (!restart.ok()) return restart;
  }
  for (const auto& op : ops) deps.engine.Submit(op);
  return json::object();
}

Result<json> AssociateInstancesKeyPairs(ServiceDeps& deps, const api::RequestContext& ctx,
                                        json& p) {
  std::vector<std::string> keys;
  return ChangeLogin(deps, ctx, p, [&](store::Transaction& tx, InstanceRecord& i) -> Status {
    if (keys.empty()) {
      auto k = OwnedKeyIds(tx, ctx, p);
      if (!k.ok()) return k.status();
      keys = *k;
    }
    // The new keys replace the old ones; password login goes off.
    i.key_ids = keys;
    if (!i.password_hash.empty() && !Locked(i.password_hash)) {
      i.password_hash = "!" + i.password_hash;
    }
    return Status::Ok();
  });
}

Result<json> DisassociateInstancesKeyPairs(ServiceDeps& deps, const api::RequestContext& ctx,
                                           json& p) {
  std::vector<std::string> keys;
  return ChangeLogin(deps, ctx, p, [&](store::Transaction& tx, InstanceRecord& i) -> Status {
    if (keys.empty()) {
      auto k = OwnedKeyIds(tx, ctx, p);
      if (!k.ok()) return k.status();
      keys = *k;
    }
    std::erase_if(i.key_ids, [&](const std::string& k) {
      return std::find(keys.begin(), keys.end(), k) != keys.end();
    });
    // With no key left, the password set before works again.
    if (i.key_ids.empty() && Locked(i.password_hash)) {
      i.password_hash.erase(0, 1);
    }
    return Status::Ok();
  });
}

Result<json> ResetInstancesPassword(ServiceDeps& deps, const api::RequestContext& ctx, json& p) {
  std::string user = p.value("UserName", "root");
  if (user != "root") {
    return Status(err::kInvalidParameterValue,
                  "UserName: OpenCVM's Linux images log in as root only.");
  }
  std::string password = p.value("Password", "");
  CVM_RETURN_IF_ERROR(CheckPassword(password));
  auto hash = drivers::guest::HashPassword(password);
  if (!hash.ok()) return hash.status();
  // An explicit new password turns password login on again.
  return ChangeLogin(
      deps, ctx, p,
      [&](store::Transaction&, InstanceRecord& i) -> Status {
        i.password_hash = *hash;
        return Status::Ok();
      },
      [&](const InstanceRecord& i) {
        Status set = engine::SetGuestPassword(deps.engine, i.instance_id, user, *hash);
        if (!set.ok()) {
          spdlog::warn("{}: password through the guest agent failed ({}); restarting",
                       i.instance_id, set.ToString());
        }
        return set.ok();
      });
}

}  // namespace

void RegisterCvmLoginHandlers(api::Router& router, ServiceDeps& deps) {
  RegisterActions(router, deps,
                  {{"AssociateInstancesKeyPairs", &AssociateInstancesKeyPairs},
                   {"DisassociateInstancesKeyPairs", &DisassociateInstancesKeyPairs},
                   {"ResetInstancesPassword", &ResetInstancesPassword}});
}

}  // namespace cvm::services
