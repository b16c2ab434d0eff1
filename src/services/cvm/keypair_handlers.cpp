// SSH key pairs: CreateKeyPair (generated in-process; the private key is returned once and never
// stored or written to a file), ImportKeyPair, DescribeKeyPairs, ModifyKeyPairAttribute,
// DeleteKeyPairs (refused while an instance uses the key).
#include <map>
#include <regex>

#include "common/error_codes.h"
#include "common/ids.h"
#include "common/time_format.h"
#include "services/cvm/instance_rules.h"
#include "services/cvm/ssh_keys.h"
#include "services/filters.h"
#include "services/resource_tags.h"
#include "services/service_deps.h"

namespace cvm::services {
namespace {

using nlohmann::json;

constexpr const char* kKeyColumns = "key_id, name, description, public_key, created_at";

Status CheckKeyName(const std::string& name) {
  static const std::regex kName("^[A-Za-z0-9_]+$");
  if (name.empty()) return Status(err::kInvalidKeyPairNameEmpty, "KeyName is empty.");
  if (name.size() > 25)
    return Status(err::kInvalidKeyPairNameTooLong, "KeyName is at most 25 characters.");
  if (!std::regex_match(name, kName)) {
    return Status(err::kInvalidKeyPairNameIncludeIllegalChar,
                  "KeyName may hold only letters, digits and underscores.");
  }
  return Status::Ok();
}

Status CheckDescription(const std::string& d) {
  if (d.size() > 60) {
    return Status(err::kInvalidParameterValue, "Description is at most 60 characters.");
  }
  for (unsigned char c : d) {
    if (c < 0x20) return Status(err::kInvalidParameterValue, "Description has control characters.");
  }
  return Status::Ok();
}

// Key id -> the instances of the scope that use it.
Result<std::map<std::string, std::vector<std::string>>> BoundInstances(store::Database& db,
                                                                       const store::Scope& scope) {
  auto rows = db.Query(
      "SELECT key_ids, instance_id FROM instances "
      "WHERE owner_uin = ? AND region = ? AND deleted = 0 AND key_ids != '[]' "
      "ORDER BY created_at, instance_id",
      {scope.owner_uin, scope.region});
  if (!rows.ok()) return rows.status();
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& r : *rows) {
    auto keys = json::parse(r.Str(0), nullptr, false);
    if (!keys.is_array()) continue;
    for (const auto& k : keys) {
      if (k.is_string()) out[k.get<std::string>()].push_back(r.Str(1));
    }
  }
  return out;
}

json KeyPairJson(const store::Row& r, const std::vector<std::string>& instances, json tags) {
  return {{"KeyId", r.Str(0)},
          {"KeyName", r.Str(1)},
          {"ProjectId", 0},
          {"Description", r.Str(2)},
          {"PublicKey", r.Str(3)},
          {"AssociatedInstanceIds", instances},
          {"CreatedTime", FormatIsoTime(r.Int(4))},
          {"Tags", std::move(tags)}};
}

Result<std::string> InsertKeyPair(store::Database& db, const api::RequestContext& ctx,
                                  const std::string& name, const std::string& public_key,
                                  const std::string& blob, const std::string& description,
                                  const std::vector<store::TagPair>& tags) {
  std::string id = NewResourceId("skey");
  Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
    // Key pairs are regional, as Tencent's: names and keys are unique within a region.
    auto dup = tx.Query("SELECT 1 FROM key_pairs WHERE owner_uin = ? AND region = ? AND name = ?",
                        {ctx.owner_uin, ctx.region, name});
    if (!dup.ok()) return dup.status();
    if (!dup->empty()) {
      return Status(err::kInvalidKeyPairNameDuplicate, "A key pair named " + name + " exists.");
    }
    // The same key under two names would make AssociatedInstanceIds ambiguous.
    auto keys =
        tx.Query("SELECT key_id, public_key FROM key_pairs WHERE owner_uin = ? AND region = ?",
                 {ctx.owner_uin, ctx.region});
    if (!keys.ok()) return keys.status();
    for (const auto& k : *keys) {
      if (k.Str(1) == blob || k.Str(1).rfind(blob + " ", 0) == 0) {
        return Status(err::kInvalidPublicKeyDuplicate,
                      "This public key is already imported as " + k.Str(0) + ".");
      }
    }
    CVM_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO key_pairs(key_id, owner_uin, region, name, description, public_key, "
                "created_at) VALUES (?,?,?,?,?,?,?)",
                {id, ctx.owner_uin, ctx.region, name, description, public_key, NowUnix()}));
    return store::SetTags(tx, ctx.owner_uin, id, tags,
                          err::kInvalidParameterValueTagQuotaLimitExceeded);
  });
  if (!st.ok()) return st;
  return id;
}

Result<std::string> KeyIdParam(const json& p) {
  std::string id = p.value("KeyId", "");
  if (!IsWellFormedId("skey", id)) {
    return Status(err::kInvalidKeyPairIdMalformed,
                  "The key pair id `" + id.substr(0, 32) + "` is malformed.");
  }
  return id;
}

}  // namespace

void RegisterCvmKeyPairHandlers(api::Router& router, ServiceDeps& deps) {
  auto& db = deps.db;
  const Config& config = deps.config;

  router.Register("ImportKeyPair", [&db](const api::RequestContext& ctx, json& p) -> Result<json> {
    std::string name = p.value("KeyName", "");
    CVM_RETURN_IF_ERROR(CheckKeyName(name));
    std::string blob;
    auto key = NormalizePublicKey(p.value("PublicKey", ""), &blob);
    if (!key.ok()) return key.status();
    auto tags = TagSpecificationTags(p, "keypair");
    if (!tags.ok()) return tags.status();
    auto id = InsertKeyPair(db, ctx, name, *key, blob, "", *tags);
    if (!id.ok()) return id.status();
    return json{{"KeyId", *id}};
  });

  router.Register(
      "CreateKeyPair", [&db, &config](const api::RequestContext& ctx, json& p) -> Result<json> {
        std::string name = p.value("KeyName", "");
        CVM_RETURN_IF_ERROR(CheckKeyName(name));
        auto tags = TagSpecificationTags(p, "keypair");
        if (!tags.ok()) return tags.status();
        auto pair = GenerateSshKeyPair(config.key_pair_type, name);
        if (!pair.ok()) return pair.status();
        std::string blob = pair->public_key.substr(0, pair->public_key.rfind(' '));
        auto id = InsertKeyPair(db, ctx, name, pair->public_key, blob, "", *tags);
        if (!id.ok()) return id.status();
        auto rows = db.Query(
            std::string("SELECT ") + kKeyColumns + " FROM key_pairs WHERE key_id = ?", {*id});
        if (!rows.ok() || rows->empty()) return Status(err::kInternalError, "key pair vanished");
        json kp = KeyPairJson(rows->front(), {}, TagListJson(*tags));
        kp["PrivateKey"] = std::move(pair->private_key);
        return json{{"KeyPair", std::move(kp)}};
      });

  router.Register(
      "DescribeKeyPairs", [&db](const api::RequestContext& ctx, json& p) -> Result<json> {
        auto filters = Filters::Parse(p, {"key-id", "key-name", "project-id"});
        if (!filters.ok()) return filters.status();
        auto paging = Paging::Parse(p, ctx.visible, iam::kind::kKeyPair);
        if (!paging.ok()) return paging.status();
        std::set<std::string> wanted;
        if (p.contains("KeyIds")) {
          for (const auto& v : p["KeyIds"]) wanted.insert(v.get<std::string>());
        }
        auto rows = db.Query(std::string("SELECT ") + kKeyColumns +
                                 " FROM key_pairs WHERE owner_uin = ? AND region = ? "
                                 "ORDER BY created_at, key_id",
                             {ctx.owner_uin, ctx.region});
        if (!rows.ok()) return rows.status();
        auto bound = BoundInstances(db, ScopeOf(ctx));
        if (!bound.ok()) return bound.status();
        std::vector<const store::Row*> page;
        for (const auto& r : *rows) {
          if (!wanted.empty() && !wanted.count(r.Str(0))) continue;
          if (!filters->Matches("key-id", r.Str(0)) || !filters->Matches("key-name", r.Str(1)) ||
              !filters->Matches("project-id", "0"))
            continue;
          if (paging->Take(r.Str(0))) page.push_back(&r);
        }
        auto tags = TagListsOf(db, page);
        json set = json::array();
        for (const auto* r : page) {
          auto b = bound->find(r->Str(0));
          set.push_back(KeyPairJson(*r, b == bound->end() ? std::vector<std::string>{} : b->second,
                                    tags[r->Str(0)]));
        }
        return json{{"TotalCount", paging->total()}, {"KeyPairSet", std::move(set)}};
      });

  router.Register(
      "ModifyKeyPairAttribute", [&db](const api::RequestContext& ctx, json& p) -> Result<json> {
        auto id = KeyIdParam(p);
        if (!id.ok()) return id.status();
        if (!p.contains("KeyName") && !p.contains("Description")) {
          return Status(err::kMissingParameter, "Give KeyName, Description or both.");
        }
        std::optional<std::string> name, description;
        if (p.contains("KeyName")) {
          name = p["KeyName"].get<std::string>();
          CVM_RETURN_IF_ERROR(CheckKeyName(*name));
        }
        if (p.contains("Description")) {
          description = p["Description"].get<std::string>();
          CVM_RETURN_IF_ERROR(CheckDescription(*description));
        }
        Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
          auto cur = tx.Query(
              "SELECT name, description FROM key_pairs WHERE key_id = ? AND "
              "owner_uin = ? AND region = ?",
              {*id, ctx.owner_uin, ctx.region});
          if (!cur.ok()) return cur.status();
          if (cur->empty()) {
            return Status(err::kInvalidKeyPairIdNotFound,
                          "The key pair " + *id + " does not exist.");
          }
          if (name && *name != cur->front().Str(0)) {
            auto dup =
                tx.Query("SELECT 1 FROM key_pairs WHERE owner_uin = ? AND region = ? AND name = ?",
                         {ctx.owner_uin, ctx.region, *name});
            if (!dup.ok()) return dup.status();
            if (!dup->empty()) {
              return Status(err::kInvalidKeyPairNameDuplicate,
                            "A key pair named " + *name + " exists.");
            }
          }
          return tx.Exec(
              "UPDATE key_pairs SET name = ?, description = ? WHERE key_id = ?",
              {name.value_or(cur->front().Str(0)), description.value_or(cur->front().Str(1)), *id});
        });
        if (!st.ok()) return st;
        return json::object();
      });

  router.Register("DeleteKeyPairs", [&db](const api::RequestContext& ctx, json& p) -> Result<json> {
    auto ids = KeyIdsParam(p);
    if (!ids.ok()) return ids.status();
    Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
      for (const auto& id : *ids) {
        // Checked in the deleting transaction, so a key cannot be bound in between.
        // key_ids is a JSON array of well-formed ids (no LIKE wildcard can occur in one), so
        // the quoted id matches exactly one element.
        auto bound = tx.Query(
            "SELECT instance_id FROM instances WHERE owner_uin = ? AND region = ? AND "
            "deleted = 0 AND key_ids LIKE ? LIMIT 1",
            {ctx.owner_uin, ctx.region, "%\"" + id + "\"%"});
        if (!bound.ok()) return bound.status();
        if (!bound->empty()) {
          return Status(err::kInvalidParameterValueKeyPairNotSupported,
                        "The key pair " + id + " is bound to instance " + bound->front().Str(0) +
                            "; disassociate it first.");
        }
        CVM_RETURN_IF_ERROR(
            tx.Exec("DELETE FROM key_pairs WHERE key_id = ? AND owner_uin = ? AND region = ?",
                    {id, ctx.owner_uin, ctx.region}));
        if (tx.ChangedRows() == 0) {
          return Status(err::kInvalidKeyPairIdNotFound, "The key pair " + id + " does not exist.");
        }
      }
      return Status::Ok();
    });
    if (!st.ok()) return st;
    return json::object();
  });
}

}  // namespace cvm::services
