#include "cvmd/bootstrap.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "common/error_codes.h"

namespace cvm {
namespace {

constexpr const char* kAdminName = "admin";

// Writes atomically with owner-only permissions: these files hold secret keys.
Status WritePrivateFile(const std::filesystem::path& path, const std::string& content) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  auto tmp = path;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return Status(err::kInternalError, "cannot write " + path.string());
  bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    return Status(err::kInternalError, "cannot write " + path.string());
  }
  return Status::Ok();
}

}  // namespace

Result<iam::AccessKey> EnsureAdminAccount(iam::AccountStore& accounts) {
  auto admin = accounts.FindAccountByName(kAdminName);
  if (!admin.ok()) admin = accounts.CreateRootAccount(kAdminName, /*is_admin=*/true);
  if (!admin.ok()) return admin.status();
  auto keys = accounts.ListKeys(admin->uin);
  if (!keys.ok()) return keys.status();
  for (const auto& k : *keys) {
    if (k.status == "Active") return k;
  }
  return accounts.CreateAccessKey(admin->uin, admin->uin);
}

Status WriteClientFiles(const std::filesystem::path& data_dir, const ClientCredentials& c) {
  using nlohmann::json;
  std::string url = std::string(c.https ? "https://" : "http://") + c.endpoint;
  json client = {{"secretId", c.secret_id},
                 {"secretKey", c.secret_key},
                 {"region", c.region},
                 {"endpoint", c.endpoint},
                 {"protocol", c.https ? "https" : "http"}};
  CVM_RETURN_IF_ERROR(WritePrivateFile(data_dir / "admin-credentials.json", client.dump(2) + "\n"));

  const char* home = std::getenv("HOME");
  if (!home || !*home) return Status::Ok();
  std::filesystem::path h(home);
  CVM_RETURN_IF_ERROR(WritePrivateFile(h / ".config/opencvm/client.json", client.dump(2) + "\n"));
  // tccli reads these two files for its "default" profile; the per-service endpoint entries
  // point it at this daemon (tccli has no protocol switch, the scheme goes into the endpoint).
  json cred = {{"secretId", c.secret_id}, {"secretKey", c.secret_key}};
  json conf = {{"_sys_param", {{"region", c.region}, {"output", "json"}, {"arrayCount", 10}}}};
  for (auto [svc, ver] : {std::pair{"cvm", "2017-03-12"}, std::pair{"cbs", "2017-03-12"},
                          std::pair{"vpc", "2017-03-12"}, std::pair{"cam", "2019-01-16"}}) {
    conf[svc] = {{"endpoint", url}, {"version", ver}};
  }
  CVM_RETURN_IF_ERROR(WritePrivateFile(h / ".tccli/default.credential", cred.dump(4) + "\n"));
  return WritePrivateFile(h / ".tccli/default.configure", conf.dump(4) + "\n");
}

}  // namespace cvm
