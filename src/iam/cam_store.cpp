#include "iam/cam_store.h"

#include <mutex>
#include <random>

#include "common/error_codes.h"
#include "common/time_format.h"

namespace cvm::iam {
namespace {

// Per-account limits, of the same order as Tencent's.
constexpr int64_t kMaxSubUsers = 1000;
constexpr int64_t kMaxGroups = 300;
constexpr int64_t kMaxCustomPolicies = 1500;
constexpr int64_t kMaxPoliciesPerPrincipal = 200;

Status UserNotFound(const std::string& what) {
  return Status(err::kCamUserNotExist, "The user " + what + " does not exist.");
}

Status PolicyNotFound(int64_t id) {
  return Status(err::kCamPolicyIdNotFound, "The policy " + std::to_string(id) + " does not exist.");
}

// A 12-digit uin above the root accounts' range, so a sub-user can never pass for a root.
std::string RandomSubUserUin() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<int64_t> dist(200000000000, 999999999999);
  return std::to_string(dist(rng));
}

// The group must exist in the owner's account; `missing_code` differs between actions.
Status CheckGroup(store::Transaction& tx, const std::string& owner_uin, int64_t group_id,
                  std::string_view missing_code) {
  auto g = store::CamGroupExists(tx, owner_uin, group_id);
  if (!g.ok()) return g.status();
  if (!*g) {
    return Status(missing_code, "The group " + std::to_string(group_id) + " does not exist.");
  }
  return Status::Ok();
}

// A policy the owner may use: its own or a preset one.
Status CheckVisiblePolicy(store::Transaction& tx, const std::string& owner_uin, int64_t policy_id) {
  auto p = store::FindCamPolicy(tx, owner_uin, policy_id);
  if (!p.ok()) return p.status();
  if (!p->has_value()) return PolicyNotFound(policy_id);
  return Status::Ok();
}

}  // namespace

const std::vector<PresetPolicy>& PresetPolicies() {
  static const std::vector<PresetPolicy> kPresets = {
      {"AdministratorAccess", "Full access to every service and resource.",
       R"({"version":"2.0","statement":[{"effect":"allow","action":["*"],"resource":["*"]}]})"},
      {"ReadOnlyAccess", "Read-only access to every service.",
       R"({"version":"2.0","statement":[{"effect":"allow","action":["*:Describe*","*:List*",)"
       R"("*:Get*","*:Inquiry*"],"resource":["*"]}]})"},
      {"QcloudCVMFullAccess", "Full access to CVM, with the CBS disks and VPC views it needs.",
       R"({"version":"2.0","statement":[{"effect":"allow","action":["cvm:*","cbs:*",)"
       R"("vpc:Describe*"],"resource":["*"]}]})"},
      {"QcloudCVMReadOnlyAccess", "Read-only access to CVM and the related CBS and VPC views.",
       R"({"version":"2.0","statement":[{"effect":"allow","action":["cvm:Describe*",)"
       R"("cvm:Inquiry*","cbs:Describe*","vpc:Describe*"],"resource":["*"]}]})"},
      {"QcloudCBSFullAccess", "Full access to CBS cloud disks and snapshots.",
       R"({"version":"2.0","statement":[{"effect":"allow","action":["cbs:*"],"resource":["*"]}]})"},
      {"QcloudVPCFullAccess", "Full access to VPC networks.",
       R"({"version":"2.0","statement":[{"effect":"allow","action":["vpc:*"],"resource":["*"]}]})"},
      {"QcloudCamFullAccess", "Full access to CAM users, groups, policies and keys.",
       R"({"version":"2.0","statement":[{"effect":"allow","action":["cam:*"],"resource":["*"]}]})"},
  };
  return kPresets;
}

Status CamStore::EnsurePresetPolicies() {
  int64_t now = NowUnix();
  Status st = store::WithTransaction(db_, [&](store::Transaction& tx) -> Status {
    for (const auto& p : PresetPolicies()) {
      auto stored = store::FindPresetPolicy(tx, p.name);
      if (!stored.ok()) return stored.status();
      if (!stored->has_value()) {
        auto id = store::InsertCamPolicy(tx, {.name = p.name,
                                              .description = p.description,
                                              .document = p.document,
                                              .created_at = now,
                                              .updated_at = now});
        if (!id.ok()) return id.status();
      } else if ((*stored)->document != p.document) {
        CVM_RETURN_IF_ERROR(store::UpdateCamPolicy(tx, (*stored)->policy_id, std::nullopt,
                                                   p.description, p.document, now));
      }
    }
    return Status::Ok();
  });
  InvalidatePolicies();
  return st;
}

// ---- users ----

Result<SubUser> CamStore::AddUser(SubUser user) {
  user.created_at = NowUnix();
  Status st = store::WithTransaction(db_, [&](store::Transaction& tx) -> Status {
    auto count = store::CountCamUsers(tx, user.owner_uin, user.name);
    if (!count.ok()) return count.status();
    if (count->name_taken) {
      return Status(err::kCamSubUserNameInUse, "A user named " + user.name + " already exists.");
    }
    if (count->total >= kMaxSubUsers) {
      return Status(err::kCamSubUserFull, "The account has reached its sub-user limit.");
    }
    for (;;) {
      user.uin = RandomSubUserUin();
      auto taken = store::UinTaken(tx, user.uin);
      if (!taken.ok()) return taken.status();
      if (!*taken) break;
    }
    auto uid = store::InsertCamUser(tx, user);
    if (!uid.ok()) return uid.status();
    user.uid = *uid;
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return user;
}

Result<SubUser> CamStore::GetUser(const std::string& owner_uin, const std::string& name) {
  auto found = store::FindCamUser(db_, owner_uin, name);
  if (!found.ok()) return found.status();
  if (!found->has_value()) return UserNotFound(name);
  return **found;
}

Result<SubUser> CamStore::GetUserByUin(const std::string& owner_uin, const std::string& uin) {
  auto found = store::FindCamUserByUin(db_, owner_uin, uin);
  if (!found.ok()) return found.status();
  if (!found->has_value()) return UserNotFound("with uin " + uin);
  return **found;
}

Result<SubUser> CamStore::GetUserByUid(const std::string& owner_uin, int64_t uid) {
  auto found = store::FindCamUserByUid(db_, owner_uin, uid);
  if (!found.ok()) return found.status();
  if (!found->has_value()) return UserNotFound("with uid " + std::to_string(uid));
  return **found;
}

Result<std::vector<SubUser>> CamStore::ListUsers(const std::string& owner_uin) {
  return store::ListCamUsers(db_, owner_uin);
}

Status CamStore::UpdateUser(const SubUser& u) {
  return store::WithTransaction(db_, [&](store::Transaction& tx) -> Status {
    auto updated = store::UpdateCamUser(tx, u);
    if (!updated.ok()) return updated.status();
    if (!*updated) return UserNotFound(u.name);
    return Status::Ok();
  });
}

Status CamStore::DeleteUser(const std::string& owner_uin, const std::string& name, bool force) {
  Status st = store::WithTransaction(db_, [&](store::Transaction& tx) -> Status {
    auto user = store::FindCamUser(tx, owner_uin, name);
    if (!user.ok()) return user.status();
    if (!user->has_value()) return UserNotFound(name);
    const std::string uin = (*user)->uin;
    auto keys = store::CountAccessKeysOf(tx, uin);
    if (!keys.ok()) return keys.status();
    if (*keys > 0 && !force) {
      return Status(err::kCamHaveKeys,
                    "The user " + name + " still has API keys; delete them or pass Force=1.");
    }
    CVM_RETURN_IF_ERROR(AccountStore::DeleteUserKeys(tx, uin));
    return store::DeleteCamUser(tx, uin);
  });
  // After the commit, so no request can re-cache a key the store no longer has.
  accounts_.ForgetCachedKeys();
  InvalidatePolicies();
  return st;
}

// ---- groups ----

Result<Group> CamStore::CreateGroup(const std::string& owner_uin, const std::string& name,
                                    const std::string& remark) {
  Group g{0, owner_uin, name, remark, NowUnix()};
  Status st = store::WithTransaction(db_, [&](store::Transaction& tx) -> Status {
    auto count = store::CountCamGroups(tx, owner_uin, name);
    if (!count.ok()) return count.status();
    if (count->name_taken) {
      return Status(err::kCamGroupNameInUse, "A group named " + name + " already exists.");
    }
    if (count->total >= kMaxGroups) {
      return Status(err::kCamGroupFull, "The account has reached its group limit.");
    }
    auto id = store::InsertCamGroup(tx, g);
    if (!id.ok()) return id.status();
    g.group_id = *id;
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return g;
}

Result<Group> CamStore::GetGroup(const std::string& owner_uin, int64_t group_id) {
  auto found = store::FindCamGroup(db_, owner_uin, group_id);
  if (!found.ok()) return found.status();
  if (!found->has_value()) {
    return Status(err::kCamGroupNotExistResource,
                  "The group " + std::to_string(group_id) + " does not exist.");
  }
  return **found;
}

Result<std::vector<Group>> CamStore::ListGroups(const std::string& owner_uin) {
  return store::ListCamGroups(db_, owner_uin);
}

Status CamStore::DeleteGroup(const std::string& owner_uin, int64_t group_id) {
  Status st = store::WithTransaction(db_, [&](store::Transaction& tx) -> Status {
    CVM_RETURN_IF_ERROR(CheckGroup(tx, owner_uin, group_id, err::kCamGroupNotExistResource));
    return store::DeleteCamGroup(tx, group_id);
  });
  InvalidatePolicies();
  return st;
}

Status CamStore::AddUserToGroup(const std::string& owner_uin, int64_t group_id,
                                const std::string& user_uin) {
  Status st = store::WithTransaction(db_, [&](store::Transaction& tx) -> Status {
    CVM_RETURN_IF_ERROR(CheckGroup(tx, owner_uin, group_id, err::kCamGroupNotExist));
    return store::AddCamGroupMember(tx, group_id, user_uin, NowUnix());
  });
  InvalidatePolicies();
  return st;
}

Status CamStore::RemoveUserFromGroup(const std::string& owner_uin, int64_t group_id,
                                     const std::string& user_uin) {
  Status st = store::WithTransaction(db_, [&](store::Transaction& tx) -> Status {
    CVM_RETURN_IF_ERROR(CheckGroup(tx, owner_uin, group_id, err::kCamGroupNotExist));
    return store::RemoveCamGroupMember(tx, group_id, user_uin);
  });
  InvalidatePolicies();
  return st;
}

// ---- policies ----

Result<int64_t> CamStore::CreatePolicy(const std::string& owner_uin, const std::string& name,
                                       const std::string& description,
                                       const std::string& document) {
  int64_t id = 0;
  int64_t now = NowUnix();
  Status st = store::WithTransaction(db_, [&](store::Transaction& tx) -> Status {
    auto count = store::CountCamPolicies(tx, owner_uin, name);
    if (!count.ok()) return count.status();
    if (count->name_taken) {
      return Status(err::kCamPolicyNameInUse, "A policy named " + name + " already exists.");
    }
    if (count->total >= kMaxCustomPolicies) {
      return Status(err::kCamPolicyFull, "The account has reached its policy limit.");
    }
    auto stored = store::InsertCamPolicy(tx, {.owner_uin = owner_uin,
                                              .name = name,
                                              .description = description,
                                              .document = document,
                                              .created_at = now,
                                              .updated_at = now});
    if (!stored.ok()) return stored.status();
    id = *stored;
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return id;
}

Result<Policy> CamStore::GetPolicy(const std::string& owner_uin, int64_t policy_id) {
  auto found = store::FindCamPolicy(db_, owner_uin, policy_id);
  if (!found.ok()) return found.status();
  if (!found->has_value()) return PolicyNotFound(policy_id);
  return **found;
}

Result<std::vector<Policy>> CamStore::ListPolicies(const std::string& owner_uin) {
  return store::ListCamPolicies(db_, owner_uin);
}

Status CamStore::UpdatePolicy(const std::string& owner_uin, int64_t policy_id,
                              const std::optional<std::string>& name,
                              const std::optional<std::string>& description,
                              const std::optional<std::string>& document) {
  Status st = store::WithTransaction(db_, [&](store::Transaction& tx) -> Status {
    auto stored = store::FindCamPolicy(tx, owner_uin, policy_id);
    if (!stored.ok()) return stored.status();
    // Presets are not editable.
    if (!stored->has_value() || (*stored)->preset()) return PolicyNotFound(policy_id);
    if (name && *name != (*stored)->name) {
      auto count = store::CountCamPolicies(tx, owner_uin, *name);
      if (!count.ok()) return count.status();
      if (count->name_taken) {
        return Status(err::kCamPolicyNameInUse, "A policy named " + *name + " already exists.");
      }
    }
    return store::UpdateCamPolicy(tx, policy_id, name, description, document, NowUnix());
  });
  InvalidatePolicies();
  return st;
}

Status CamStore::DeletePolicies(const std::string& owner_uin,
                                const std::vector<int64_t>& policy_ids) {
  Status st = store::WithTransaction(db_, [&](store::Transaction& tx) -> Status {
    for (int64_t id : policy_ids) {
      auto stored = store::FindCamPolicy(tx, owner_uin, id);
      if (!stored.ok()) return stored.status();
      if (!stored->has_value() || (*stored)->preset()) return PolicyNotFound(id);
      CVM_RETURN_IF_ERROR(store::DeleteCamPolicy(tx, id));
    }
    return Status::Ok();
  });
  InvalidatePolicies();
  return st;
}

Status CamStore::Attach(const std::string& owner_uin, int64_t policy_id, Principal type,
                        const std::string& principal_id, const std::string& operate_uin) {
  Status st = store::WithTransaction(db_, [&](store::Transaction& tx) -> Status {
    CVM_RETURN_IF_ERROR(CheckVisiblePolicy(tx, owner_uin, policy_id));
    auto n = store::CountAttachedPolicies(tx, type, principal_id);
    if (!n.ok()) return n.status();
    if (*n >= kMaxPoliciesPerPrincipal) {
      return Status(err::kCamAttachmentFull, "At most " + std::to_string(kMaxPoliciesPerPrincipal) +
                                                 " policies can be attached to one principal.");
    }
    return store::AttachCamPolicy(
        tx, {policy_id, type, principal_id, owner_uin, operate_uin, NowUnix()});
  });
  InvalidatePolicies();
  return st;
}

Status CamStore::Detach(const std::string& owner_uin, int64_t policy_id, Principal type,
                        const std::string& principal_id) {
  Status st = store::WithTransaction(db_, [&](store::Transaction& tx) -> Status {
    CVM_RETURN_IF_ERROR(CheckVisiblePolicy(tx, owner_uin, policy_id));
    return store::DetachCamPolicy(tx, owner_uin, policy_id, type, principal_id);
  });
  InvalidatePolicies();
  return st;
}

Result<std::vector<AttachedPolicy>> CamStore::ListAttached(const std::string& owner_uin,
                                                           Principal type,
                                                           const std::string& principal_id) {
  return store::ListAttachedPolicies(db_, owner_uin, type, principal_id);
}

// ---- enforcement ----

Result<std::shared_ptr<const PolicySet>> CamStore::PoliciesFor(const std::string& owner_uin,
                                                               const std::string& user_uin,
                                                               int64_t app_id) {
  uint64_t generation = 0;
  {
    std::shared_lock lock(cache_mu_);
    if (auto it = cache_.find(user_uin); it != cache_.end()) return it->second;
    generation = generation_;
  }
  auto documents = store::PolicyDocumentsOf(db_, owner_uin, user_uin);
  if (!documents.ok()) return documents.status();
  std::vector<ParsedPolicy> parsed;
  parsed.reserve(documents->size());
  for (const auto& document : *documents) {
    // Documents were checked when stored; one that no longer parses grants nothing.
    auto p = ParsePolicyDocument(document);
    if (p.ok()) parsed.push_back(std::move(*p));
  }
  std::vector<const ParsedPolicy*> ptrs;
  for (const auto& p : parsed) ptrs.push_back(&p);
  auto set = std::make_shared<const PolicySet>(
      PolicySet::Compile(ptrs, PolicyIdentity{user_uin, owner_uin, app_id}));
  std::unique_lock lock(cache_mu_);
  if (generation_ == generation) cache_[user_uin] = set;
  return std::shared_ptr<const PolicySet>(set);
}

void CamStore::InvalidatePolicies() {
  std::unique_lock lock(cache_mu_);
  ++generation_;
  cache_.clear();
}

}  // namespace cvm::iam
