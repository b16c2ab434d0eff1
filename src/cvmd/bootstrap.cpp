#include "cvmd/bootstrap.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "common/error_codes.h"

namespace cvm {
namespace {

constexpr const char* kAdminName = "admin";

// Owner-only, as these files hold secret keys. `replace`: atomically over an older one (a file
// of cvmd's own data directory); otherwise only when absent: a file of the operator's home that
// exists may hold other credentials and is never touched.
Status WritePrivateFile(const std::filesystem::path& path, const std::string& content,
                        bool replace) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  auto tmp = path;
  tmp += ".tmp";
  const std::filesystem::path& target = replace ? tmp : path;
  int fd =
      ::open(target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (replace ? O_TRUNC : O_EXCL), 0600);
  if (fd < 0 && errno == EEXIST) {
    spdlog::info("cvmd: {} exists; left as it is", path.string());
    return Status::Ok();
  }
  if (fd < 0) return Status(err::kInternalError, "cannot write " + path.string());
  bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
  ok = ::close(fd) == 0 && ok;
  if (ok && replace) ok = ::rename(tmp.c_str(), path.c_str()) == 0;
  if (!ok) {
    ::unlink(target.c_str());
    return Status(err::kInternalError, "cannot write " + path.string());
  }
  return Status::Ok();
}

}  // namespace

Result<AdminKey> EnsureAdminAccount(iam::AccountStore& accounts) {
  auto admin = accounts.FindAccountByName(kAdminName);
  if (!admin.ok()) admin = accounts.CreateRootAccount(kAdminName, /*is_admin=*/true);
  if (!admin.ok()) return admin.status();
  auto keys = accounts.ListKeys(admin->uin);
  if (!keys.ok()) return keys.status();
  for (const auto& k : *keys) {
    if (k.status == "Active") return AdminKey{k, false};
  }
  auto key = accounts.CreateAccessKey(admin->uin, admin->uin);
  if (!key.ok()) return key.status();
  return AdminKey{*key, true};
}

std::filesystem::path AdminCredentialsPath(const std::filesystem::path& data_dir) {
  return data_dir / "admin-credentials.json";
}

Status WriteClientFiles(const std::filesystem::path& data_dir, const ClientCredentials& c) {
  using nlohmann::json;
  std::string url = std::string(c.https ? "https://" : "http://") + c.endpoint;
  json client = {{"secretId", c.secret_id},
                 {"secretKey", c.secret_key},
                 {"region", c.region},
                 {"endpoint", c.endpoint},
                 {"protocol", c.https ? "https" : "http"}};
  CVM_RETURN_IF_ERROR(
      WritePrivateFile(AdminCredentialsPath(data_dir), client.dump(2) + "\n", /*replace=*/true));

  const char* home = std::getenv("HOME");
  if (!home || !*home) return Status::Ok();
  std::filesystem::path h(home);
  CVM_RETURN_IF_ERROR(
      WritePrivateFile(h / ".config/opencvm/client.json", client.dump(2) + "\n", false));
  // tccli's profile `opencvm` (its own two files, so the default profile and any real Tencent
  // Cloud credentials stay as they are); the per-service endpoint entries point it at this
  // daemon (tccli has no protocol switch, the scheme goes into the endpoint).
  json cred = {{"secretId", c.secret_id}, {"secretKey", c.secret_key}};
  json conf = {{"_sys_param", {{"region", c.region}, {"output", "json"}, {"arrayCount", 10}}}};
  for (auto [svc, ver] : {std::pair{"cvm", "2017-03-12"}, std::pair{"cbs", "2017-03-12"},
                          std::pair{"vpc", "2017-03-12"}, std::pair{"cam", "2019-01-16"},
                          std::pair{"tag", "2018-08-13"}}) {
    conf[svc] = {{"endpoint", url}, {"version", ver}};
  }
  const auto tccli = h / ".tccli" / kTccliProfile;
  CVM_RETURN_IF_ERROR(WritePrivateFile(tccli.string() + ".credential", cred.dump(4) + "\n", false));
  return WritePrivateFile(tccli.string() + ".configure", conf.dump(4) + "\n", false);
}

}  // namespace cvm
