// SSH key pairs: CreateKeyPair (the private key is shown once and never stored),
// ImportKeyPair, DescribeKeyPairs, DeleteKeyPairs.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "common/error_codes.h"
#include "common/ids.h"
#include "common/subprocess.h"
#include "common/time_format.h"
#include "services/filters.h"
#include "services/service_deps.h"

namespace cvm::services {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

Status CheckKeyName(const std::string& name) {
  static const std::regex kName("^[A-Za-z0-9_]+$");
  if (name.empty()) return Status("InvalidKeyPairNameEmpty", "KeyName is empty.");
  if (name.size() > 25)
    return Status("InvalidKeyPairNameTooLong", "KeyName is at most 25 characters.");
  if (!std::regex_match(name, kName)) {
    return Status("InvalidKeyPairNameIncludeIllegalChar",
                  "KeyName may hold only letters, digits and underscores.");
  }
  return Status::Ok();
}

// Asks ssh-keygen whether `public_key` is one OpenSSH public key line.
Status CheckPublicKey(const std::string& public_key) {
  if (public_key.size() > 16384 || public_key.find('\n') != std::string::npos) {
    return Status("InvalidParameterValue.InvalidPublicKey", "PublicKey must be one line.");
  }
  auto r = RunProcess({"ssh-keygen", "-l", "-f", "-"}, std::chrono::seconds(10), public_key + "\n");
  if (!r.ok() || r->exit_code != 0) {
    return Status("InvalidParameterValue.InvalidPublicKey",
                  "PublicKey is not an OpenSSH public key.");
  }
  return Status::Ok();
}

json KeyPairJson(const store::Row& r) {
  return {{"KeyId", r.Str(0)},
          {"KeyName", r.Str(1)},
          {"ProjectId", 0},
          {"Description", r.Str(2)},
          {"PublicKey", r.Str(3)},
          {"AssociatedInstanceIds", json::array()},
          {"CreatedTime", FormatIsoTime(r.Int(4))},
          {"Tags", json::array()}};
}

Result<json> InsertKeyPair(store::Database& db, const api::RequestContext& ctx,
                           const std::string& name, const std::string& public_key) {
  std::string id = NewResourceId("skey");
  int64_t now = NowUnix();
  Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
    auto dup =
        tx.Query("SELECT 1 FROM key_pairs WHERE owner_uin = ? AND name = ?", {ctx.owner_uin, name});
    if (!dup.ok()) return dup.status();
    if (!dup->empty()) {
      return Status("InvalidKeyPairName.Duplicate", "A key pair named " + name + " exists.");
    }
    return tx.Exec(
        "INSERT INTO key_pairs(key_id, owner_uin, name, public_key, created_at) "
        "VALUES (?,?,?,?,?)",
        {id, ctx.owner_uin, name, public_key, now});
  });
  if (!st.ok()) return st;
  return json{{"KeyId", id}};
}

}  // namespace

void RegisterCvmKeyPairHandlers(api::Router& router, ServiceDeps& deps) {
  auto& db = deps.db;
  router.Register("ImportKeyPair", [&db](const api::RequestContext& ctx, json& p) -> Result<json> {
    std::string name = p.value("KeyName", "");
    CVM_RETURN_IF_ERROR(CheckKeyName(name));
    std::string key = p.value("PublicKey", "");
    while (!key.empty() && (key.back() == ' ' || key.back() == '\r')) key.pop_back();
    CVM_RETURN_IF_ERROR(CheckPublicKey(key));
    return InsertKeyPair(db, ctx, name, key);
  });

  router.Register("CreateKeyPair", [&db](const api::RequestContext& ctx, json& p) -> Result<json> {
    std::string name = p.value("KeyName", "");
    CVM_RETURN_IF_ERROR(CheckKeyName(name));
    char dir_template[] = "/tmp/cvmd-key-XXXXXX";
    if (!::mkdtemp(dir_template)) return Status(err::kInternalError, "cannot make a temp dir");
    fs::path dir(dir_template);
    auto gen = RunProcess(
        {"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", (dir / "key").string()},
        std::chrono::seconds(30));
    std::string priv, pub;
    if (gen.ok() && gen->exit_code == 0) {
      std::stringstream a, b;
      a << std::ifstream(dir / "key").rdbuf();
      b << std::ifstream(dir / "key.pub").rdbuf();
      priv = a.str();
      pub = b.str();
      while (!pub.empty() && pub.back() == '\n') pub.pop_back();
    }
    std::error_code ec;
    fs::remove_all(dir, ec);
    if (priv.empty()) return Status(err::kInternalError, "ssh-keygen failed");
    auto inserted = InsertKeyPair(db, ctx, name, pub);
    if (!inserted.ok()) return inserted.status();
    std::string id = (*inserted)["KeyId"];
    auto rows = db.Query(
        "SELECT key_id, name, description, public_key, created_at FROM "
        "key_pairs WHERE key_id = ?",
        {id});
    if (!rows.ok() || rows->empty()) return Status(err::kInternalError, "key pair vanished");
    json kp = KeyPairJson(rows->front());
    kp["PrivateKey"] = priv;
    return json{{"KeyPair", kp}};
  });

  router.Register(
      "DescribeKeyPairs", [&db](const api::RequestContext& ctx, json& p) -> Result<json> {
        auto filters = Filters::Parse(p, {"key-id", "key-name", "project-id"});
        if (!filters.ok()) return filters.status();
        auto paging = Paging::Parse(p);
        if (!paging.ok()) return paging.status();
        std::set<std::string> wanted;
        if (p.contains("KeyIds")) {
          for (const auto& v : p["KeyIds"]) wanted.insert(v.get<std::string>());
        }
        auto rows = db.Query(
            "SELECT key_id, name, description, public_key, created_at FROM "
            "key_pairs WHERE owner_uin = ? ORDER BY created_at, key_id",
            {ctx.owner_uin});
        if (!rows.ok()) return rows.status();
        json set = json::array();
        size_t matched = 0;
        for (const auto& r : *rows) {
          if (!wanted.empty() && !wanted.count(r.Str(0))) continue;
          if (!filters->Matches("key-id", r.Str(0)) || !filters->Matches("key-name", r.Str(1)))
            continue;
          if (matched++ < paging->offset || set.size() >= paging->limit) continue;
          set.push_back(KeyPairJson(r));
        }
        return json{{"TotalCount", matched}, {"KeyPairSet", std::move(set)}};
      });

  router.Register("DeleteKeyPairs", [&db](const api::RequestContext& ctx, json& p) -> Result<json> {
    std::vector<std::string> ids;
    for (const auto& v : p.value("KeyIds", json::array())) {
      std::string id = v.get<std::string>();
      if (!IsWellFormedId("skey", id)) {
        return Status("InvalidKeyPairId.Malformed",
                      "The key pair id `" + id.substr(0, 32) + "` is malformed.");
      }
      ids.push_back(id);
    }
    if (ids.empty()) return Status(err::kMissingParameter, "KeyIds is empty.");
    Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
      for (const auto& id : ids) {
        CVM_RETURN_IF_ERROR(tx.Exec("DELETE FROM key_pairs WHERE key_id = ? AND owner_uin = ?",
                                    {id, ctx.owner_uin}));
        if (tx.ChangedRows() == 0) {
          return Status("InvalidKeyPairId.NotFound", "The key pair " + id + " does not exist.");
        }
      }
      return Status::Ok();
    });
    if (!st.ok()) return st;
    return json::object();
  });
}

}  // namespace cvm::services
