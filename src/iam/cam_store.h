// CAM state of every root account: sub-users, groups, policies and their attachments, and the
// per-user compiled PolicySet the request pipeline evaluates. Any CAM change drops the compiled
// sets, so a detached policy or a removed group member stops granting on the next request.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "iam/accounts.h"
#include "iam/policy.h"
#include "store/cam_records.h"
#include "store/database.h"

namespace cvm::iam {

using SubUser = store::CamUser;
using Group = store::CamGroup;
using Policy = store::CamPolicy;
using AttachedPolicy = store::CamAttachedPolicy;
using Principal = store::CamPrincipal;

// Preset (QCS) policies, present in every deployment: name, description, document.
struct PresetPolicy {
  const char* name;
  const char* description;
  const char* document;
};
const std::vector<PresetPolicy>& PresetPolicies();

class CamStore {
 public:
  CamStore(store::Database& db, AccountStore& accounts) : db_(db), accounts_(accounts) {}

  // Inserts the preset policies or refreshes their documents; run once at start.
  Status EnsurePresetPolicies();

  // Sub-users.
  Result<SubUser> AddUser(SubUser user);  // assigns uin, uid and created_at
  Result<SubUser> GetUser(const std::string& owner_uin, const std::string& name);
  Result<SubUser> GetUserByUin(const std::string& owner_uin, const std::string& uin);
  Result<SubUser> GetUserByUid(const std::string& owner_uin, int64_t uid);
  Result<std::vector<SubUser>> ListUsers(const std::string& owner_uin);
  Status UpdateUser(const SubUser& user);
  // Without `force`, refused while the user has access keys; with it, its keys go too.
  Status DeleteUser(const std::string& owner_uin, const std::string& name, bool force);

  // Groups.
  Result<Group> CreateGroup(const std::string& owner_uin, const std::string& name,
                            const std::string& remark);
  Result<Group> GetGroup(const std::string& owner_uin, int64_t group_id);
  Result<std::vector<Group>> ListGroups(const std::string& owner_uin);
  Status DeleteGroup(const std::string& owner_uin, int64_t group_id);
  Status AddUserToGroup(const std::string& owner_uin, int64_t group_id,
                        const std::string& user_uin);
  Status RemoveUserFromGroup(const std::string& owner_uin, int64_t group_id,
                             const std::string& user_uin);

  // Policies: an account sees its own and the preset ones.
  Result<int64_t> CreatePolicy(const std::string& owner_uin, const std::string& name,
                               const std::string& description, const std::string& document);
  Result<Policy> GetPolicy(const std::string& owner_uin, int64_t policy_id);
  Result<std::vector<Policy>> ListPolicies(const std::string& owner_uin);
  // Empty optionals leave a field unchanged.
  Status UpdatePolicy(const std::string& owner_uin, int64_t policy_id,
                      const std::optional<std::string>& name,
                      const std::optional<std::string>& description,
                      const std::optional<std::string>& document);
  Status DeletePolicies(const std::string& owner_uin, const std::vector<int64_t>& policy_ids);
  Status Attach(const std::string& owner_uin, int64_t policy_id, Principal type,
                const std::string& principal_id, const std::string& operate_uin);
  Status Detach(const std::string& owner_uin, int64_t policy_id, Principal type,
                const std::string& principal_id);
  Result<std::vector<AttachedPolicy>> ListAttached(const std::string& owner_uin, Principal type,
                                                   const std::string& principal_id);

  // The compiled policies of a sub-user (attached directly or through its groups), cached.
  Result<std::shared_ptr<const PolicySet>> PoliciesFor(const std::string& owner_uin,
                                                       const std::string& user_uin, int64_t app_id);
  void InvalidatePolicies();

 private:
  store::Database& db_;
  AccountStore& accounts_;
  std::shared_mutex cache_mu_;
  std::unordered_map<std::string, std::shared_ptr<const PolicySet>> cache_;
  uint64_t generation_ = 0;  // guarded by cache_mu_; see AccountStore::key_generation_
};

}  // namespace cvm::iam
