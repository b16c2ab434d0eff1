// CAM state as the store keeps it: sub-users, groups, policies (an account's own and the preset
// ones, whose owner is empty), group memberships and policy attachments. Compiling policies and
// the limits on counts are the caller's (iam::CamStore).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "store/database.h"

namespace cvm::store {

struct CamUser {
  std::string uin;
  int64_t uid = 0;
  std::string owner_uin;
  std::string name;
  std::string remark;
  int64_t console_login = 0;
  std::string phone_num;
  std::string country_code;
  std::string email;
  int64_t created_at = 0;
};

struct CamGroup {
  int64_t group_id = 0;
  std::string owner_uin;
  std::string name;
  std::string remark;
  int64_t created_at = 0;
};

struct CamPolicy {
  int64_t policy_id = 0;
  std::string owner_uin;  // empty for a preset policy
  std::string name;
  std::string description;
  std::string document;
  int64_t created_at = 0;
  int64_t updated_at = 0;
  int64_t attachments = 0;  // users and groups it is attached to (within the viewer's account)
  bool preset() const { return owner_uin.empty(); }
};

struct CamAttachedPolicy {
  CamPolicy policy;
  std::string operate_uin;
  int64_t attached_at = 0;
};

enum class CamPrincipal { kUser, kGroup };

// How many of a kind an account has, and whether `name` is among them (for a policy: among its
// own and the preset ones).
struct NamedCount {
  int64_t total = 0;
  bool name_taken = false;
};

// ---- sub-users ----
Result<NamedCount> CountCamUsers(Transaction& tx, const std::string& owner_uin,
                                 const std::string& name);
// Whether a sub-user or a root account has this uin.
Result<bool> UinTaken(Transaction& tx, const std::string& uin);
// Stores the user (uid is assigned) and returns its uid.
Result<int64_t> InsertCamUser(Transaction& tx, const CamUser& u);
Result<std::optional<CamUser>> FindCamUser(Database& db, const std::string& owner_uin,
                                           const std::string& name);
Result<std::optional<CamUser>> FindCamUser(Transaction& tx, const std::string& owner_uin,
                                           const std::string& name);
Result<std::optional<CamUser>> FindCamUserByUin(Database& db, const std::string& owner_uin,
                                                const std::string& uin);
Result<std::optional<CamUser>> FindCamUserByUid(Database& db, const std::string& owner_uin,
                                                int64_t uid);
// Ordered by uid.
Result<std::vector<CamUser>> ListCamUsers(Database& db, const std::string& owner_uin);
// The editable fields (remark, console login, contact); false when no such user.
Result<bool> UpdateCamUser(Transaction& tx, const CamUser& u);
// The user, its memberships and the policies attached to it (its keys are the caller's).
Status DeleteCamUser(Transaction& tx, const std::string& uin);

// ---- groups ----
Result<NamedCount> CountCamGroups(Transaction& tx, const std::string& owner_uin,
                                  const std::string& name);
// Stores the group and returns its id.
Result<int64_t> InsertCamGroup(Transaction& tx, const CamGroup& g);
Result<std::optional<CamGroup>> FindCamGroup(Database& db, const std::string& owner_uin,
                                             int64_t group_id);
Result<bool> CamGroupExists(Transaction& tx, const std::string& owner_uin, int64_t group_id);
// Ordered by id.
Result<std::vector<CamGroup>> ListCamGroups(Database& db, const std::string& owner_uin);
// The group, its memberships and the policies attached to it.
Status DeleteCamGroup(Transaction& tx, int64_t group_id);
// Adding a member twice is not an error.
Status AddCamGroupMember(Transaction& tx, int64_t group_id, const std::string& user_uin,
                         int64_t added_at);
Status RemoveCamGroupMember(Transaction& tx, int64_t group_id, const std::string& user_uin);

// ---- policies ----
// Counts the account's own policies; the name is looked for among them and the preset ones.
Result<NamedCount> CountCamPolicies(Transaction& tx, const std::string& owner_uin,
                                    const std::string& name);
// Stores the policy (an empty owner: a preset one) and returns its id.
Result<int64_t> InsertCamPolicy(Transaction& tx, const CamPolicy& p);
// A policy `owner_uin` may use (its own or a preset one), attachments counted in its account.
Result<std::optional<CamPolicy>> FindCamPolicy(Database& db, const std::string& owner_uin,
                                               int64_t policy_id);
Result<std::optional<CamPolicy>> FindCamPolicy(Transaction& tx, const std::string& owner_uin,
                                               int64_t policy_id);
Result<std::optional<CamPolicy>> FindPresetPolicy(Transaction& tx, const std::string& name);
// The account's own and the preset policies, ordered by id.
Result<std::vector<CamPolicy>> ListCamPolicies(Database& db, const std::string& owner_uin);
// Empty optionals leave a field unchanged.
Status UpdateCamPolicy(Transaction& tx, int64_t policy_id, const std::optional<std::string>& name,
                       const std::optional<std::string>& description,
                       const std::optional<std::string>& document, int64_t updated_at);
// The policy and its attachments.
Status DeleteCamPolicy(Transaction& tx, int64_t policy_id);

// ---- attachments ----
struct CamAttachment {
  int64_t policy_id = 0;
  CamPrincipal type = CamPrincipal::kUser;
  std::string principal_id;  // user uin or group id
  std::string owner_uin, operate_uin;
  int64_t attached_at = 0;
};
Result<int64_t> CountAttachedPolicies(Transaction& tx, CamPrincipal type,
                                      const std::string& principal_id);
// Attaching a policy twice is not an error (the first attachment stays).
Status AttachCamPolicy(Transaction& tx, const CamAttachment& a);
Status DetachCamPolicy(Transaction& tx, const std::string& owner_uin, int64_t policy_id,
                       CamPrincipal type, const std::string& principal_id);
// Ordered by attachment time, then policy id.
Result<std::vector<CamAttachedPolicy>> ListAttachedPolicies(Database& db,
                                                            const std::string& owner_uin,
                                                            CamPrincipal type,
                                                            const std::string& principal_id);
// The documents of every policy that applies to a sub-user: attached to it or to one of its
// groups, each once, ordered by policy id.
Result<std::vector<std::string>> PolicyDocumentsOf(Database& db, const std::string& owner_uin,
                                                   const std::string& user_uin);

}  // namespace cvm::store
