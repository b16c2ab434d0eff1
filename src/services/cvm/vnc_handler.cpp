// DescribeInstanceVncUrl: a one-time websocket URL to the instance's VNC display, valid 15 s,
// URL-encoded as Tencent returns it. A browser VNC client (noVNC) opens it.
#include "api/console_tokens.h"
#include "common/error_codes.h"
#include "common/ids.h"
#include "services/cvm/instance_rules.h"
#include "services/service_deps.h"
#include "store/instance_records.h"

namespace cvm::services {
namespace {

std::string UrlEncode(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

}  // namespace

void RegisterCvmVncHandler(api::Router& router, ServiceDeps& deps) {
  router.Register(
      "DescribeInstanceVncUrl",
      [&deps](const api::RequestContext& ctx, nlohmann::json& p) -> Result<nlohmann::json> {
        std::string id = p.value("InstanceId", "");
        if (!IsWellFormedId("ins", id)) {
          return Status(err::kInvalidInstanceIdMalformed, "The instance id is malformed.");
        }
        auto inst = store::LoadInstance(deps.db, ScopeOf(ctx), id);
        if (!inst.ok()) return inst.status();
        if (!inst->has_value()) {
          return Status(err::kInvalidInstanceIdNotFound, "The instance " + id + " does not exist.");
        }
        if ((*inst)->state != "RUNNING") {
          return Status(WrongStateCode((*inst)->state), "The console needs a RUNNING instance.");
        }
        auto token = deps.console_tokens.Issue(id, deps.engine.RunDir(id) / "vnc.sock");
        if (!token.ok()) return token.status();
        std::string scheme = deps.config.tls_cert_file.empty() ? "ws://" : "wss://";
        std::string url = scheme + ctx.host + "/vnc/" + id + "?token=" + *token;
        return nlohmann::json{{"InstanceVncUrl", UrlEncode(url)}};
      });
}

}  // namespace cvm::services
