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

constexpr std::string_view kUserColumns =
    "uin, uid, owner_uin, name, remark, console_login, phone_num, country_code, email, "
    "created_at";

SubUser UserFromRow(const store::Row& r) {
  return {r.Str(0), r.Int(1), r.Str(2), r.Str(3), r.Str(4),
          r.Int(5), r.Str(6), r.Str(7), r.Str(8), r.Int(9)};
}

constexpr std::string_view kGroupColumns = "group_id, owner_uin, name, remark, created_at";

Group GroupFromRow(const store::Row& r) {
  return {r.Int(0), r.Str(1), r.Str(2), r.Str(3), r.Int(4)};
}

// The attachment count is scoped to the asking account: a preset policy is shared by all.
constexpr std::string_view kPolicySelect =
    "SELECT p.policy_id, COALESCE(p.owner_uin, ''), p.name, p.description, p.document, "
    "p.created_at, p.updated_at, "
    "(SELECT COUNT(*) FROM cam_attachments a WHERE a.policy_id = p.policy_id "
    "AND a.owner_uin = ?) FROM cam_policies p ";

Policy PolicyFromRow(const store::Row& r) {
  return {r.Int(0), r.Str(1), r.Str(2), r.Str(3), r.Str(4), r.Int(5), r.Int(6), r.Int(7)};
}

const char* PrincipalName(Principal p) { return p == Principal::kUser ? "user" : "group"; }

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
  auto g = tx.Query("SELECT 1 FROM cam_groups WHERE owner_uin = ? AND group_id = ?",
                    {owner_uin, group_id});
  if (!g.ok()) return g.status();
  if (g->empty()) {
    return Status(missing_code, "The group " + std::to_string(group_id) + " does not exist.");
  }
  return Status::Ok();
}

// A policy the owner may use: its own or a preset one.
Status CheckVisiblePolicy(store::Transaction& tx, const std::string& owner_uin, int64_t policy_id) {
  auto p = tx.Query(
      "SELECT 1 FROM cam_policies WHERE policy_id = ? AND (owner_uin = ? OR owner_uin IS NULL)",
      {policy_id, owner_uin});
  if (!p.ok()) return p.status();
  if (p->empty()) return PolicyNotFound(policy_id);
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
      auto rows = tx.Query(
          "SELECT policy_id, document FROM cam_policies WHERE owner_uin IS NULL AND name = ?",
          {std::string(p.name)});
      if (!rows.ok()) return rows.status();
      if (rows->empty()) {
        CVM_RETURN_IF_ERROR(tx.Exec(
            "INSERT INTO cam_policies(owner_uin, name, description, document, created_at, "
            "updated_at) VALUES (NULL,?,?,?,?,?)",
            {std::string(p.name), std::string(p.description), std::string(p.document), now, now}));
      } else if (rows->front().Str(1) != p.document) {
        CVM_RETURN_IF_ERROR(tx.Exec(
            "UPDATE cam_policies SET document = ?, description = ?, updated_at = ? "
            "WHERE policy_id = ?",
            {std::string(p.document), std::string(p.description), now, rows->front().Int(0)}));
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
    auto count = tx.Query("SELECT COUNT(*), SUM(name = ?) FROM cam_users WHERE owner_uin = ?",
                          {user.name, user.owner_uin});
    if (!count.ok()) return count.status();
    if ((*count)[0].Int(1) > 0) {
      return Status(err::kCamSubUserNameInUse, "A user named " + user.name + " already exists.");
    }
    if ((*count)[0].Int(0) >= kMaxSubUsers) {
      return Status(err::kCamSubUserFull, "The account has reached its sub-user limit.");
    }
    for (;;) {
      user.uin = RandomSubUserUin();
      auto taken = tx.Query(
          "SELECT 1 FROM cam_users WHERE uin = ?1 UNION ALL SELECT 1 FROM accounts WHERE uin = ?1",
          {user.uin});
      if (!taken.ok()) return taken.status();
      if (taken->empty()) break;
    }
    CVM_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO cam_users(uin, owner_uin, name, remark, console_login, phone_num, "
                "country_code, email, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
                {user.uin, user.owner_uin, user.name, user.remark, user.console_login,
                 user.phone_num, user.country_code, user.email, user.created_at}));
    auto uid = tx.Query("SELECT uid FROM cam_users WHERE uin = ?", {user.uin});
    if (!uid.ok()) return uid.status();
    user.uid = (*uid)[0].Int(0);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return user;
}

Result<SubUser> CamStore::GetUser(const std::string& owner_uin, const std::string& name) {
  auto rows = db_.Query(
      "SELECT " + std::string(kUserColumns) + " FROM cam_users WHERE owner_uin = ? AND name = ?",
      {owner_uin, name});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return UserNotFound(name);
  return UserFromRow(rows->front());
}

Result<SubUser> CamStore::GetUserByUin(const std::string& owner_uin, const std::string& uin) {
  auto rows = db_.Query(
      "SELECT " + std::string(kUserColumns) + " FROM cam_users WHERE owner_uin = ? AND uin = ?",
      {owner_uin, uin});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return UserNotFound("with uin " + uin);
  return UserFromRow(rows->front());
}

Result<SubUser> CamStore::GetUserByUid(const std::string& owner_uin, int64_t uid) {
  auto rows = db_.Query(
      "SELECT " + std::string(kUserColumns) + " FROM cam_users WHERE owner_uin = ? AND uid = ?",
      {owner_uin, uid});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return UserNotFound("with uid " + std::to_string(uid));
  return UserFromRow(rows->front());
}

Result<std::vector<SubUser>> CamStore::ListUsers(const std::string& owner_uin) {
  auto rows = db_.Query(
      "SELECT " + std::string(kUserColumns) + " FROM cam_users WHERE owner_uin = ? ORDER BY uid",
      {owner_uin});
  if (!rows.ok()) return rows.status();
  std::vector<SubUser> out;
  for (const auto& r : *rows) out.push_back(UserFromRow(r));
  return out;
}

Status CamStore::UpdateUser(const SubUser& u) {
  return store::WithTransaction(db_, [&](store::Transaction& tx) -> Status {
    CVM_RETURN_IF_ERROR(tx.Exec(
        "UPDATE cam_users SET remark = ?, console_login = ?, phone_num = ?, country_code = ?, "
        "email = ? WHERE owner_uin = ? AND uin = ?",
        {u.remark, u.console_login, u.phone_num, u.country_code, u.email, u.owner_uin, u.uin}));
    if (tx.ChangedRows() == 0) return UserNotFound(u.name);
    return Status::Ok();
  });
}

Status CamStore::DeleteUser(const std::string& owner_uin, const std::string& name, bool force) {
  Status st = store::WithTransaction(db_, [&](store::Transaction& tx) -> Status {
    auto rows =
        tx.Query("SELECT uin FROM cam_users WHERE owner_uin = ? AND name = ?", {owner_uin, name});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return UserNotFound(name);
    std::string uin = rows->front().Str(0);
    auto keys = tx.Query("SELECT COUNT(*) FROM access_keys WHERE user_uin = ?", {uin});
    if (!keys.ok()) return keys.status();
    if ((*keys)[0].Int(0) > 0 && !force) {
      return Status(err::kCamHaveKeys,
                    "The user " + name + " still has API keys; delete them or pass Force=1.");
    }
    CVM_RETURN_IF_ERROR(AccountStore::DeleteUserKeys(tx, uin));
    CVM_RETURN_IF_ERROR(tx.Exec(
        "DELETE FROM cam_attachments WHERE principal_type = 'user' AND principal_id = ?", {uin}));
    CVM_RETURN_IF_ERROR(tx.Exec("DELETE FROM cam_group_members WHERE user_uin = ?", {uin}));
    return tx.Exec("DELETE FROM cam_users WHERE uin = ?", {uin});
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
    auto count = tx.Query("SELECT COUNT(*), SUM(name = ?) FROM cam_groups WHERE owner_uin = ?",
                          {name, owner_uin});
    if (!count.ok()) return count.status();
    if ((*count)[0].Int(1) > 0) {
      return Status(err::kCamGroupNameInUse, "A group named " + name + " already exists.");
    }
    if ((*count)[0].Int(0) >= kMaxGroups) {
      return Status(err::kCamGroupFull, "The account has reached its group limit.");
    }
    CVM_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO cam_groups(owner_uin, name, remark, created_at) VALUES (?,?,?,?)",
                {owner_uin, name, remark, g.created_at}));
    auto id = tx.Query("SELECT group_id FROM cam_groups WHERE owner_uin = ? AND name = ?",
                       {owner_uin, name});
    if (!id.ok()) return id.status();
    g.group_id = (*id)[0].Int(0);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return g;
}

Result<Group> CamStore::GetGroup(const std::string& owner_uin, int64_t group_id) {
  auto rows = db_.Query("SELECT " + std::string(kGroupColumns) +
                            " FROM cam_groups WHERE owner_uin = ? AND group_id = ?",
                        {owner_uin, group_id});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) {
    return Status(err::kCamGroupNotExistResource,
                  "The group " + std::to_string(group_id) + " does not exist.");
  }
  return GroupFromRow(rows->front());
}

Result<std::vector<Group>> CamStore::ListGroups(const std::string& owner_uin) {
  auto rows = db_.Query("SELECT " + std::string(kGroupColumns) +
                            " FROM cam_groups WHERE owner_uin = ? ORDER BY group_id",
                        {owner_uin});
  if (!rows.ok()) return rows.status();
  std::vector<Group> out;
  for (const auto& r : *rows) out.push_back(GroupFromRow(r));
  return out;
}

Status CamStore::DeleteGroup(const std::string& owner_uin, int64_t group_id) {
  Status st = store::WithTransaction(db_, [&](store::Transaction& tx) -> Status {
    CVM_RETURN_IF_ERROR(CheckGroup(tx, owner_uin, group_id, err::kCamGroupNotExistResource));
    CVM_RETURN_IF_ERROR(
        tx.Exec("DELETE FROM cam_attachments WHERE principal_type = 'group' AND principal_id = ?",
                {std::to_string(group_id)}));
    CVM_RETURN_IF_ERROR(tx.Exec("DELETE FROM cam_group_members WHERE group_id = ?", {group_id}));
    return tx.Exec("DELETE FROM cam_groups WHERE group_id = ?", {group_id});
  });
  InvalidatePolicies();
  return st;
}

Status CamStore::AddUserToGroup(const std::string& owner_uin, int64_t group_id,
                                const std::string& user_uin) {
  Status st = store::WithTransaction(db_, [&](store::Transaction& tx) -> Status {
    CVM_RETURN_IF_ERROR(CheckGroup(tx, owner_uin, group_id, err::kCamGroupNotExist));
    return tx.Exec(
        "INSERT OR IGNORE INTO cam_group_members(group_id, user_uin, added_at) VALUES (?,?,?)",
        {group_id, user_uin, NowUnix()});
  });
  InvalidatePolicies();
  return st;
}

Status CamStore::RemoveUserFromGroup(const std::string& owner_uin, int64_t group_id,
                                     const std::string& user_uin) {
  Status st = store::WithTransaction(db_, [&](store::Transaction& tx) -> Status {
    CVM_RETURN_IF_ERROR(CheckGroup(tx, owner_uin, group_id, err::kCamGroupNotExist));
    return tx.Exec("DELETE FROM cam_group_members WHERE group_id = ? AND user_uin = ?",
                   {group_id, user_uin});
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
    auto count = tx.Query(
        "SELECT (SELECT COUNT(*) FROM cam_policies WHERE owner_uin = ?), "
        "(SELECT COUNT(*) FROM cam_policies WHERE (owner_uin = ? OR owner_uin IS NULL) "
        "AND name = ?)",
        {owner_uin, owner_uin, name});
    if (!count.ok()) return count.status();
    if ((*count)[0].Int(1) > 0) {
      return Status(err::kCamPolicyNameInUse, "A policy named " + name + " already exists.");
    }
    if ((*count)[0].Int(0) >= kMaxCustomPolicies) {
      return Status(err::kCamPolicyFull, "The account has reached its policy limit.");
    }
    CVM_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO cam_policies(owner_uin, name, description, document, created_at, "
                "updated_at) VALUES (?,?,?,?,?,?)",
                {owner_uin, name, description, document, now, now}));
    auto row = tx.Query("SELECT policy_id FROM cam_policies WHERE owner_uin = ? AND name = ?",
                        {owner_uin, name});
    if (!row.ok()) return row.status();
    id = (*row)[0].Int(0);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return id;
}

Result<Policy> CamStore::GetPolicy(const std::string& owner_uin, int64_t policy_id) {
  auto rows = db_.Query(std::string(kPolicySelect) +
                            "WHERE p.policy_id = ? AND (p.owner_uin = ? OR p.owner_uin IS NULL)",
                        {owner_uin, policy_id, owner_uin});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return PolicyNotFound(policy_id);
  return PolicyFromRow(rows->front());
}

Result<std::vector<Policy>> CamStore::ListPolicies(const std::string& owner_uin) {
  auto rows = db_.Query(std::string(kPolicySelect) +
                            "WHERE p.owner_uin = ? OR p.owner_uin IS NULL ORDER BY p.policy_id",
                        {owner_uin, owner_uin});
  if (!rows.ok()) return rows.status();
  std::vector<Policy> out;
  for (const auto& r : *rows) out.push_back(PolicyFromRow(r));
  return out;
}

Status CamStore::UpdatePolicy(const std::string& owner_uin, int64_t policy_id,
                              const std::optional<std::string>& name,
                              const std::optional<std::string>& description,
                              const std::optional<std::string>& document) {
  Status st = store::WithTransaction(db_, [&](store::Transaction& tx) -> Status {
    auto rows = tx.Query("SELECT name FROM cam_policies WHERE policy_id = ? AND owner_uin = ?",
                         {policy_id, owner_uin});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return PolicyNotFound(policy_id);  // presets are not editable
    if (name && *name != rows->front().Str(0)) {
      auto taken = tx.Query(
          "SELECT 1 FROM cam_policies WHERE (owner_uin = ? OR owner_uin IS NULL) AND name = ?",
          {owner_uin, *name});
      if (!taken.ok()) return taken.status();
      if (!taken->empty()) {
        return Status(err::kCamPolicyNameInUse, "A policy named " + *name + " already exists.");
      }
    }
    return tx.Exec(
        "UPDATE cam_policies SET name = COALESCE(?, name), description = COALESCE(?, "
        "description), document = COALESCE(?, document), updated_at = ? WHERE policy_id = ?",
        {name ? store::Value(*name) : store::Value(nullptr),
         description ? store::Value(*description) : store::Value(nullptr),
         document ? store::Value(*document) : store::Value(nullptr), NowUnix(), policy_id});
  });
  InvalidatePolicies();
  return st;
}

Status CamStore::DeletePolicies(const std::string& owner_uin,
                                const std::vector<int64_t>& policy_ids) {
  Status st = store::WithTransaction(db_, [&](store::Transaction& tx) -> Status {
    for (int64_t id : policy_ids) {
      auto rows = tx.Query("SELECT 1 FROM cam_policies WHERE policy_id = ? AND owner_uin = ?",
                           {id, owner_uin});
      if (!rows.ok()) return rows.status();
      if (rows->empty()) return PolicyNotFound(id);
      CVM_RETURN_IF_ERROR(tx.Exec("DELETE FROM cam_attachments WHERE policy_id = ?", {id}));
      CVM_RETURN_IF_ERROR(tx.Exec("DELETE FROM cam_policies WHERE policy_id = ?", {id}));
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
    auto n = tx.Query(
        "SELECT COUNT(*) FROM cam_attachments WHERE principal_type = ? AND principal_id = ?",
        {std::string(PrincipalName(type)), principal_id});
    if (!n.ok()) return n.status();
    if ((*n)[0].Int(0) >= kMaxPoliciesPerPrincipal) {
      return Status(err::kCamAttachmentFull, "At most " + std::to_string(kMaxPoliciesPerPrincipal) +
                                                 " policies can be attached to one principal.");
    }
    return tx.Exec(
        "INSERT OR IGNORE INTO cam_attachments(policy_id, principal_type, principal_id, "
        "owner_uin, operate_uin, attached_at) VALUES (?,?,?,?,?,?)",
        {policy_id, std::string(PrincipalName(type)), principal_id, owner_uin, operate_uin,
         NowUnix()});
  });
  InvalidatePolicies();
  return st;
}

Status CamStore::Detach(const std::string& owner_uin, int64_t policy_id, Principal type,
                        const std::string& principal_id) {
  Status st = store::WithTransaction(db_, [&](store::Transaction& tx) -> Status {
    CVM_RETURN_IF_ERROR(CheckVisiblePolicy(tx, owner_uin, policy_id));
    return tx.Exec(
        "DELETE FROM cam_attachments WHERE policy_id = ? AND principal_type = ? AND "
        "principal_id = ? AND owner_uin = ?",
        {policy_id, std::string(PrincipalName(type)), principal_id, owner_uin});
  });
  InvalidatePolicies();
  return st;
}

Result<std::vector<AttachedPolicy>> CamStore::ListAttached(const std::string& owner_uin,
                                                           Principal type,
                                                           const std::string& principal_id) {
  auto rows = db_.Query(std::string(kPolicySelect) +
                            ", cam_attachments t WHERE t.policy_id = p.policy_id AND "
                            "t.principal_type = ? AND t.principal_id = ? AND t.owner_uin = ? "
                            "ORDER BY t.attached_at, p.policy_id",
                        {owner_uin, std::string(PrincipalName(type)), principal_id, owner_uin});
  if (!rows.ok()) return rows.status();
  // The operator is read separately: kPolicySelect fixes the leading columns.
  auto ops = db_.Query(
      "SELECT policy_id, operate_uin, attached_at FROM cam_attachments WHERE principal_type = ? "
      "AND principal_id = ? AND owner_uin = ?",
      {std::string(PrincipalName(type)), principal_id, owner_uin});
  if (!ops.ok()) return ops.status();
  std::vector<AttachedPolicy> out;
  for (const auto& r : *rows) {
    AttachedPolicy a{PolicyFromRow(r), "", 0};
    for (const auto& o : *ops) {
      if (o.Int(0) == a.policy.policy_id) a.operate_uin = o.Str(1), a.attached_at = o.Int(2);
    }
    out.push_back(std::move(a));
  }
  return out;
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
  auto rows = db_.Query(
      "SELECT DISTINCT p.policy_id, p.document FROM cam_policies p JOIN cam_attachments a "
      "ON a.policy_id = p.policy_id WHERE a.owner_uin = ?1 AND ((a.principal_type = 'user' AND "
      "a.principal_id = ?2) OR (a.principal_type = 'group' AND a.principal_id IN "
      "(SELECT CAST(group_id AS TEXT) FROM cam_group_members WHERE user_uin = ?2))) "
      "ORDER BY p.policy_id",
      {owner_uin, user_uin});
  if (!rows.ok()) return rows.status();
  std::vector<ParsedPolicy> parsed;
  parsed.reserve(rows->size());
  for (const auto& r : *rows) {
    // Documents were checked when stored; one that no longer parses grants nothing.
    auto p = ParsePolicyDocument(r.Str(1));
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
