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
#include "store/key_pair_records.h"

namespace cvm::services {
namespace {

using nlohmann::json;

using store::KeyPairRecord;

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
  auto instances = store::InstancesWithKeys(db, scope);
  if (!instances.ok()) return instances.status();
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& i : *instances) {
    for (const auto& k : i.key_ids) out[k].push_back(i.instance_id);
  }
  return out;
}

json KeyPairJson(const KeyPairRecord& k, const std::vector<std::string>& instances, json tags) {
  return {{"KeyId", k.key_id},
          {"KeyName", k.name},
          {"ProjectId", 0},
          {"Description", k.description},
          {"PublicKey", k.public_key},
          {"AssociatedInstanceIds", instances},
          {"CreatedTime", FormatIsoTime(k.created_at)},
          {"Tags", std::move(tags)}};
}

// Stores a new key pair of the caller (`blob`: its key without the comment) and returns it.
Result<KeyPairRecord> StoreKeyPair(store::Database& db, const api::RequestContext& ctx,
                                   const std::string& name, const std::string& public_key,
                                   const std::string& blob,
                                   const std::vector<store::TagPair>& tags) {
  const KeyPairRecord k{
      NewResourceId("skey"), ctx.owner_uin, ctx.region, name, "", public_key, NowUnix()};
  Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
    // Key pairs are regional, as Tencent's: names and keys are unique within a region.
    auto dup = store::KeyPairNameTaken(tx, ScopeOf(ctx), name);
    if (!dup.ok()) return dup.status();
    if (*dup) {
      return Status(err::kInvalidKeyPairNameDuplicate, "A key pair named " + name + " exists.");
    }
    // The same key under two names would make AssociatedInstanceIds ambiguous.
    auto keys = store::ListKeyPairs(tx, ScopeOf(ctx));
    if (!keys.ok()) return keys.status();
    for (const auto& other : *keys) {
      if (other.public_key == blob || other.public_key.rfind(blob + " ", 0) == 0) {
        return Status(err::kInvalidPublicKeyDuplicate,
                      "This public key is already imported as " + other.key_id + ".");
      }
    }
    CVM_RETURN_IF_ERROR(store::InsertKeyPair(tx, k));
    return store::SetTags(tx, ctx.owner_uin, k.key_id, tags,
                          err::kInvalidParameterValueTagQuotaLimitExceeded);
  });
  if (!st.ok()) return st;
  return k;
}

Result<std::string> KeyIdParam(const json& p) {
  std::string id = p.value("KeyId", "");
  if (!IsWellFormedId("skey", id)) {
    return Status(err::kInvalidKeyPairIdMalformed,
                  "The key pair id `" + id.substr(0, 32) + "` is malformed.");
  }
  return id;
}

Result<json> ImportKeyPair(ServiceDeps& deps, const api::RequestContext& ctx, json& p) {
  std::string name = p.value("KeyName", "");
  CVM_RETURN_IF_ERROR(CheckKeyName(name));
  std::string blob;
  auto key = NormalizePublicKey(p.value("PublicKey", ""), &blob);
  if (!key.ok()) return key.status();
  auto tags = TagSpecificationTags(p, "keypair");
  if (!tags.ok()) return tags.status();
  auto k = StoreKeyPair(deps.db, ctx, name, *key, blob, *tags);
  if (!k.ok()) return k.status();
  return json{{"KeyId", k->key_id}};
}

Result<json> CreateKeyPair(ServiceDeps& deps, const api::RequestContext& ctx, json& p) {
  std::string name = p.value("KeyName", "");
  CVM_RETURN_IF_ERROR(CheckKeyName(name));
  auto tags = TagSpecificationTags(p, "keypair");
  if (!tags.ok()) return tags.status();
  auto pair = GenerateSshKeyPair(deps.config.key_pair_type, name);
  if (!pair.ok()) return pair.status();
  std::string blob = pair->public_key.substr(0, pair->public_key.rfind(' '));
  auto k = StoreKeyPair(deps.db, ctx, name, pair->public_key, blob, *tags);
  if (!k.ok()) return k.status();
  json kp = KeyPairJson(*k, {}, TagListJson(*tags));
  kp["PrivateKey"] = std::move(pair->private_key);
  return json{{"KeyPair", std::move(kp)}};
}

Result<json> DescribeKeyPairs(ServiceDeps& deps, const api::RequestContext& ctx, json& p) {
  auto filters = Filters::Parse(p, {"key-id", "key-name", "project-id"});
  if (!filters.ok()) return filters.status();
  auto paging = Paging::Parse(p, ctx.visible, iam::kind::kKeyPair);
  if (!paging.ok()) return paging.status();
  std::set<std::string> wanted;
  if (p.contains("KeyIds")) {
    for (const auto& v : p["KeyIds"]) wanted.insert(v.get<std::string>());
  }
  auto keys = store::ListKeyPairs(deps.db, ScopeOf(ctx));
  if (!keys.ok()) return keys.status();
  auto bound = BoundInstances(deps.db, ScopeOf(ctx));
  if (!bound.ok()) return bound.status();
  std::vector<const KeyPairRecord*> page;
  std::vector<std::string> page_ids;
  for (const auto& k : *keys) {
    if (!wanted.empty() && !wanted.count(k.key_id)) continue;
    if (!filters->Matches("key-id", k.key_id) || !filters->Matches("key-name", k.name) ||
        !filters->Matches("project-id", "0"))
      continue;
    if (paging->Take(k.key_id)) {
      page.push_back(&k);
      page_ids.push_back(k.key_id);
    }
  }
  auto tags = TagListsOf(deps.db, page_ids);
  json set = json::array();
  for (const auto* k : page) {
    auto b = bound->find(k->key_id);
    set.push_back(KeyPairJson(*k, b == bound->end() ? std::vector<std::string>{} : b->second,
                              tags[k->key_id]));
  }
  return json{{"TotalCount", paging->total()}, {"KeyPairSet", std::move(set)}};
}

Result<json> ModifyKeyPairAttribute(ServiceDeps& deps, const api::RequestContext& ctx, json& p) {
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
  Status st = store::WithTransaction(deps.db, [&](store::Transaction& tx) -> Status {
    auto cur = store::FindKeyPair(tx, ScopeOf(ctx), *id);
    if (!cur.ok()) return cur.status();
    if (!*cur) {
      return Status(err::kInvalidKeyPairIdNotFound, "The key pair " + *id + " does not exist.");
    }
    if (name && *name != (*cur)->name) {
      auto dup = store::KeyPairNameTaken(tx, ScopeOf(ctx), *name);
      if (!dup.ok()) return dup.status();
      if (*dup) {
        return Status(err::kInvalidKeyPairNameDuplicate, "A key pair named " + *name + " exists.");
      }
    }
    return store::UpdateKeyPair(tx, *id, name.value_or((*cur)->name),
                                description.value_or((*cur)->description));
  });
  if (!st.ok()) return st;
  return json::object();
}

Result<json> DeleteKeyPairs(ServiceDeps& deps, const api::RequestContext& ctx, json& p) {
  auto ids = KeyIdsParam(p);
  if (!ids.ok()) return ids.status();
  Status st = store::WithTransaction(deps.db, [&](store::Transaction& tx) -> Status {
    for (const auto& id : *ids) {
      // Checked in the deleting transaction, so a key cannot be bound in between.
      auto bound = store::AnyInstanceWithKey(tx, ScopeOf(ctx), id);
      if (!bound.ok()) return bound.status();
      if (!bound->empty()) {
        return Status(
            err::kInvalidParameterValueKeyPairNotSupported,
            "The key pair " + id + " is bound to instance " + *bound + "; disassociate it first.");
      }
      auto deleted = store::DeleteKeyPair(tx, ScopeOf(ctx), id);
      if (!deleted.ok()) return deleted.status();
      if (!*deleted) {
        return Status(err::kInvalidKeyPairIdNotFound, "The key pair " + id + " does not exist.");
      }
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return json::object();
}

}  // namespace

void RegisterCvmKeyPairHandlers(api::Router& router, ServiceDeps& deps) {
  RegisterActions(router, deps,
                  {{"ImportKeyPair", &ImportKeyPair},
                   {"CreateKeyPair", &CreateKeyPair},
                   {"DescribeKeyPairs", &DescribeKeyPairs},
                   {"ModifyKeyPairAttribute", &ModifyKeyPairAttribute},
                   {"DeleteKeyPairs", &DeleteKeyPairs}});
}

}  // namespace cvm::services
