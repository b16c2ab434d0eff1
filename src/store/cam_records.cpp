#include "store/cam_records.h"

#include "common/error_codes.h"

namespace cvm::store {
namespace {

constexpr const char* kUserColumns =
    "uin, uid, owner_uin, name, remark, console_login, phone_num, country_code, email, "
    "created_at";

CamUser UserFromRow(const Row& r) {
  return {r.Str(0), r.Int(1), r.Str(2), r.Str(3), r.Str(4),
          r.Int(5), r.Str(6), r.Str(7), r.Str(8), r.Int(9)};
}

template <typename Src>
Result<std::optional<CamUser>> FindUserWhere(Src& src, const std::string& owner_uin,
                                             const char* column, const Value& value) {
  auto rows = src.Query(std::string("SELECT ") + kUserColumns +
                            " FROM cam_users WHERE owner_uin = ? AND " + column + " = ?",
                        {owner_uin, value});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<CamUser>();
  return std::optional<CamUser>(UserFromRow(rows->front()));
}

constexpr const char* kGroupColumns = "group_id, owner_uin, name, remark, created_at";

CamGroup GroupFromRow(const Row& r) { return {r.Int(0), r.Str(1), r.Str(2), r.Str(3), r.Int(4)}; }

// A policy as the account `?` (the first parameter) sees it: the attachment count is scoped to
// that account, since a preset policy is shared by all.
constexpr const char* kPolicyColumns =
    "p.policy_id, COALESCE(p.owner_uin, ''), p.name, p.description, p.document, p.created_at, "
    "p.updated_at, (SELECT COUNT(*) FROM cam_attachments a WHERE a.policy_id = p.policy_id "
    "AND a.owner_uin = ?)";
constexpr size_t kPolicyColumnCount = 8;

CamPolicy PolicyFromRow(const Row& r) {
  return {r.Int(0), r.Str(1), r.Str(2), r.Str(3), r.Str(4), r.Int(5), r.Int(6), r.Int(7)};
}

template <typename Src>
Result<std::vector<CamPolicy>> SelectPolicies(Src& src, const std::string& where,
                                              std::vector<Value> args) {
  auto rows =
      src.Query(std::string("SELECT ") + kPolicyColumns + " FROM cam_policies p " + where, args);
  if (!rows.ok()) return rows.status();
  std::vector<CamPolicy> out;
  for (const auto& r : *rows) out.push_back(PolicyFromRow(r));
  return out;
}

template <typename Src>
Result<std::optional<CamPolicy>> FindPolicy(Src& src, const std::string& owner_uin,
                                            int64_t policy_id) {
  auto found =
      SelectPolicies(src, "WHERE p.policy_id = ? AND (p.owner_uin = ? OR p.owner_uin IS NULL)",
                     {owner_uin, policy_id, owner_uin});
  if (!found.ok()) return found.status();
  if (found->empty()) return std::optional<CamPolicy>();
  return std::optional<CamPolicy>(std::move(found->front()));
}

std::string PrincipalName(CamPrincipal p) { return p == CamPrincipal::kUser ? "user" : "group"; }

Result<NamedCount> CountNamed(Transaction& tx, const char* table, const std::string& owner_uin,
                              const std::string& name) {
  auto rows = tx.Query(std::string("SELECT COUNT(*), COUNT(CASE WHEN name = ? THEN 1 END) FROM ") +
                           table + " WHERE owner_uin = ?",
                       {name, owner_uin});
  if (!rows.ok()) return rows.status();
  return NamedCount{rows->front().Int(0), rows->front().Int(1) > 0};
}

Result<int64_t> SingleInt(Result<Rows> rows) {
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return Status(kind::kBug, "a row the store just wrote is missing");
  return rows->front().Int(0);
}

}  // namespace

// ---- sub-users ----

Result<NamedCount> CountCamUsers(Transaction& tx, const std::string& owner_uin,
                                 const std::string& name) {
  return CountNamed(tx, "cam_users", owner_uin, name);
}

Result<bool> UinTaken(Transaction& tx, const std::string& uin) {
  auto rows = tx.Query(
      "SELECT 1 FROM cam_users WHERE uin = ? UNION ALL SELECT 1 FROM accounts WHERE uin = ?",
      {uin, uin});
  if (!rows.ok()) return rows.status();
  return !rows->empty();
}

Result<int64_t> InsertCamUser(Transaction& tx, const CamUser& u) {
  CVM_RETURN_IF_ERROR(
      tx.Exec("INSERT INTO cam_users(uin, owner_uin, name, remark, console_login, phone_num, "
              "country_code, email, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
              {u.uin, u.owner_uin, u.name, u.remark, u.console_login, u.phone_num, u.country_code,
               u.email, u.created_at}));
  return SingleInt(tx.Query("SELECT uid FROM cam_users WHERE uin = ?", {u.uin}));
}

Result<std::optional<CamUser>> FindCamUser(Database& db, const std::string& owner_uin,
                                           const std::string& name) {
  return FindUserWhere(db, owner_uin, "name", name);
}

Result<std::optional<CamUser>> FindCamUser(Transaction& tx, const std::string& owner_uin,
                                           const std::string& name) {
  return FindUserWhere(tx, owner_uin, "name", name);
}

Result<std::optional<CamUser>> FindCamUserByUin(Database& db, const std::string& owner_uin,
                                                const std::string& uin) {
  return FindUserWhere(db, owner_uin, "uin", uin);
}

Result<std::optional<CamUser>> FindCamUserByUid(Database& db, const std::string& owner_uin,
                                                int64_t uid) {
  return FindUserWhere(db, owner_uin, "uid", uid);
}

Result<std::vector<CamUser>> ListCamUsers(Database& db, const std::string& owner_uin) {
  auto rows = db.Query(
      std::string("SELECT ") + kUserColumns + " FROM cam_users WHERE owner_uin = ? ORDER BY uid",
      {owner_uin});
  if (!rows.ok()) return rows.status();
  std::vector<CamUser> out;
  for (const auto& r : *rows) out.push_back(UserFromRow(r));
  return out;
}

Result<bool> UpdateCamUser(Transaction& tx, const CamUser& u) {
  CVM_RETURN_IF_ERROR(tx.Exec(
      "UPDATE cam_users SET remark = ?, console_login = ?, phone_num = ?, country_code = ?, "
      "email = ? WHERE owner_uin = ? AND uin = ?",
      {u.remark, u.console_login, u.phone_num, u.country_code, u.email, u.owner_uin, u.uin}));
  return tx.ChangedRows() > 0;
}

Status DeleteCamUser(Transaction& tx, const std::string& uin) {
  CVM_RETURN_IF_ERROR(tx.Exec(
      "DELETE FROM cam_attachments WHERE principal_type = 'user' AND principal_id = ?", {uin}));
  CVM_RETURN_IF_ERROR(tx.Exec("DELETE FROM cam_group_members WHERE user_uin = ?", {uin}));
  return tx.Exec("DELETE FROM cam_users WHERE uin = ?", {uin});
}

// ---- groups ----

Result<NamedCount> CountCamGroups(Transaction& tx, const std::string& owner_uin,
                                  const std::string& name) {
  return CountNamed(tx, "cam_groups", owner_uin, name);
}

Result<int64_t> InsertCamGroup(Transaction& tx, const CamGroup& g) {
  CVM_RETURN_IF_ERROR(
      tx.Exec("INSERT INTO cam_groups(owner_uin, name, remark, created_at) VALUES (?,?,?,?)",
              {g.owner_uin, g.name, g.remark, g.created_at}));
  return SingleInt(tx.Query("SELECT group_id FROM cam_groups WHERE owner_uin = ? AND name = ?",
                            {g.owner_uin, g.name}));
}

Result<std::optional<CamGroup>> FindCamGroup(Database& db, const std::string& owner_uin,
                                             int64_t group_id) {
  auto rows = db.Query(std::string("SELECT ") + kGroupColumns +
                           " FROM cam_groups WHERE owner_uin = ? AND group_id = ?",
                       {owner_uin, group_id});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<CamGroup>();
  return std::optional<CamGroup>(GroupFromRow(rows->front()));
}

Result<bool> CamGroupExists(Transaction& tx, const std::string& owner_uin, int64_t group_id) {
  auto rows = tx.Query("SELECT 1 FROM cam_groups WHERE owner_uin = ? AND group_id = ?",
                       {owner_uin, group_id});
  if (!rows.ok()) return rows.status();
  return !rows->empty();
}

Result<std::vector<CamGroup>> ListCamGroups(Database& db, const std::string& owner_uin) {
  auto rows = db.Query(std::string("SELECT ") + kGroupColumns +
                           " FROM cam_groups WHERE owner_uin = ? ORDER BY group_id",
                       {owner_uin});
  if (!rows.ok()) return rows.status();
  std::vector<CamGroup> out;
  for (const auto& r : *rows) out.push_back(GroupFromRow(r));
  return out;
}

Status DeleteCamGroup(Transaction& tx, int64_t group_id) {
  CVM_RETURN_IF_ERROR(
      tx.Exec("DELETE FROM cam_attachments WHERE principal_type = 'group' AND principal_id = ?",
              {std::to_string(group_id)}));
  CVM_RETURN_IF_ERROR(tx.Exec("DELETE FROM cam_group_members WHERE group_id = ?", {group_id}));
  return tx.Exec("DELETE FROM cam_groups WHERE group_id = ?", {group_id});
}

Status AddCamGroupMember(Transaction& tx, int64_t group_id, const std::string& user_uin,
                         int64_t added_at) {
  return tx.Exec(
      "INSERT INTO cam_group_members(group_id, user_uin, added_at) VALUES (?,?,?) "
      "ON CONFLICT (group_id, user_uin) DO NOTHING",
      {group_id, user_uin, added_at});
}

Status RemoveCamGroupMember(Transaction& tx, int64_t group_id, const std::string& user_uin) {
  return tx.Exec("DELETE FROM cam_group_members WHERE group_id = ? AND user_uin = ?",
                 {group_id, user_uin});
}

// ---- policies ----

Result<NamedCount> CountCamPolicies(Transaction& tx, const std::string& owner_uin,
                                    const std::string& name) {
  auto rows = tx.Query(
      "SELECT (SELECT COUNT(*) FROM cam_policies WHERE owner_uin = ?), "
      "(SELECT COUNT(*) FROM cam_policies WHERE (owner_uin = ? OR owner_uin IS NULL) "
      "AND name = ?)",
      {owner_uin, owner_uin, name});
  if (!rows.ok()) return rows.status();
  return NamedCount{rows->front().Int(0), rows->front().Int(1) > 0};
}

Result<int64_t> InsertCamPolicy(Transaction& tx, const CamPolicy& p) {
  const Value owner = p.preset() ? Value(nullptr) : Value(p.owner_uin);
  CVM_RETURN_IF_ERROR(
      tx.Exec("INSERT INTO cam_policies(owner_uin, name, description, document, created_at, "
              "updated_at) VALUES (?,?,?,?,?,?)",
              {owner, p.name, p.description, p.document, p.created_at, p.updated_at}));
  // The expression of the unique index cam_policies_by_name: one row at most.
  return SingleInt(
      tx.Query("SELECT policy_id FROM cam_policies WHERE COALESCE(owner_uin, '') = ? AND name = ?",
               {p.owner_uin, p.name}));
}

Result<std::optional<CamPolicy>> FindCamPolicy(Database& db, const std::string& owner_uin,
                                               int64_t policy_id) {
  return FindPolicy(db, owner_uin, policy_id);
}

Result<std::optional<CamPolicy>> FindCamPolicy(Transaction& tx, const std::string& owner_uin,
                                               int64_t policy_id) {
  return FindPolicy(tx, owner_uin, policy_id);
}

Result<std::optional<CamPolicy>> FindPresetPolicy(Transaction& tx, const std::string& name) {
  auto found = SelectPolicies(tx, "WHERE p.owner_uin IS NULL AND p.name = ?", {"", name});
  if (!found.ok()) return found.status();
  if (found->empty()) return std::optional<CamPolicy>();
  return std::optional<CamPolicy>(std::move(found->front()));
}

Result<std::vector<CamPolicy>> ListCamPolicies(Database& db, const std::string& owner_uin) {
  return SelectPolicies(db, "WHERE p.owner_uin = ? OR p.owner_uin IS NULL ORDER BY p.policy_id",
                        {owner_uin, owner_uin});
}

Status UpdateCamPolicy(Transaction& tx, int64_t policy_id, const std::optional<std::string>& name,
                       const std::optional<std::string>& description,
                       const std::optional<std::string>& document, int64_t updated_at) {
  auto value = [](const std::optional<std::string>& v) { return v ? Value(*v) : Value(nullptr); };
  return tx.Exec(
      "UPDATE cam_policies SET name = COALESCE(?, name), description = COALESCE(?, "
      "description), document = COALESCE(?, document), updated_at = ? WHERE policy_id = ?",
      {value(name), value(description), value(document), updated_at, policy_id});
}

Status DeleteCamPolicy(Transaction& tx, int64_t policy_id) {
  CVM_RETURN_IF_ERROR(tx.Exec("DELETE FROM cam_attachments WHERE policy_id = ?", {policy_id}));
  return tx.Exec("DELETE FROM cam_policies WHERE policy_id = ?", {policy_id});
}

// ---- attachments ----

Result<int64_t> CountAttachedPolicies(Transaction& tx, CamPrincipal type,
                                      const std::string& principal_id) {
  return SingleInt(
      tx.Query("SELECT COUNT(*) FROM cam_attachments WHERE principal_type = ? AND principal_id = ?",
               {PrincipalName(type), principal_id}));
}

Status AttachCamPolicy(Transaction& tx, const CamAttachment& a) {
  return tx.Exec(
      "INSERT INTO cam_attachments(policy_id, principal_type, principal_id, owner_uin, "
      "operate_uin, attached_at) VALUES (?,?,?,?,?,?) "
      "ON CONFLICT (policy_id, principal_type, principal_id) DO NOTHING",
      {a.policy_id, PrincipalName(a.type), a.principal_id, a.owner_uin, a.operate_uin,
       a.attached_at});
}

Status DetachCamPolicy(Transaction& tx, const std::string& owner_uin, int64_t policy_id,
                       CamPrincipal type, const std::string& principal_id) {
  return tx.Exec(
      "DELETE FROM cam_attachments WHERE policy_id = ? AND principal_type = ? AND "
      "principal_id = ? AND owner_uin = ?",
      {policy_id, PrincipalName(type), principal_id, owner_uin});
}

Result<std::vector<CamAttachedPolicy>> ListAttachedPolicies(Database& db,
                                                            const std::string& owner_uin,
                                                            CamPrincipal type,
                                                            const std::string& principal_id) {
  auto rows = db.Query(std::string("SELECT ") + kPolicyColumns +
                           ", t.operate_uin, t.attached_at FROM cam_policies p JOIN "
                           "cam_attachments t ON t.policy_id = p.policy_id WHERE "
                           "t.principal_type = ? AND t.principal_id = ? AND t.owner_uin = ? "
                           "ORDER BY t.attached_at, p.policy_id",
                       {owner_uin, PrincipalName(type), principal_id, owner_uin});
  if (!rows.ok()) return rows.status();
  std::vector<CamAttachedPolicy> out;
  for (const auto& r : *rows) {
    out.push_back({PolicyFromRow(r), r.Str(kPolicyColumnCount), r.Int(kPolicyColumnCount + 1)});
  }
  return out;
}

Result<std::vector<std::string>> PolicyDocumentsOf(Database& db, const std::string& owner_uin,
                                                   const std::string& user_uin) {
  auto rows = db.Query(
      "SELECT DISTINCT p.policy_id, p.document FROM cam_policies p JOIN cam_attachments a "
      "ON a.policy_id = p.policy_id WHERE a.owner_uin = ? AND ((a.principal_type = 'user' AND "
      "a.principal_id = ?) OR (a.principal_type = 'group' AND a.principal_id IN "
      "(SELECT CAST(group_id AS TEXT) FROM cam_group_members WHERE user_uin = ?))) "
      "ORDER BY p.policy_id",
      {owner_uin, user_uin, user_uin});
  if (!rows.ok()) return rows.status();
  std::vector<std::string> out;
  out.reserve(rows->size());
  for (const auto& r : *rows) out.push_back(r.Str(1));
  return out;
}

}  // namespace cvm::store
