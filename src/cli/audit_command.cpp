#include "cli/audit_command.h"

#include <iostream>

#include "cli/output.h"
#include "common/time_format.h"

namespace cvm::cli {

AuditCommand::AuditCommand(CLI::App& app) {
  cmd_ = app.add_subcommand("audit", "show the account's API audit log, newest first");
  cmd_->add_option("--action", action_, "only this action, e.g. RunInstances");
  cmd_->add_option("--caller", caller_, "only calls by this uin (root or sub-user)");
  cmd_->add_option("--since", since_, "only calls at or after this Unix time");
  cmd_->add_option("-n,--limit", limit_, "at most this many events (1-200)")
      ->check(CLI::Range(1, 200));
}

std::optional<int> AuditCommand::Run(ApiClient& client, const std::string& output) {
  if (!cmd_->parsed()) return std::nullopt;
  nlohmann::json params = {{"Limit", limit_}};
  if (!action_.empty()) params["ActionName"] = action_;
  if (!caller_.empty()) params["CallerUin"] = caller_;
  if (since_ > 0) params["StartTime"] = since_;
  auto r = client.Call("DescribeAuditEvents", params);
  if (!r.ok()) return ReportError(r.status());
  if (output == "json") {
    std::cout << r->dump(2) << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : (*r)["Events"]) {
    std::string resources;
    for (const auto& id : e["Resources"]) {
      resources += (resources.empty() ? "" : ",") + id.get<std::string>();
    }
    std::string result = e.value("ResultCode", "");
    rows.push_back({e.value("Time", ""), e.value("CallerUin", ""),
                    e.value("Service", "") + ":" + e.value("Action", ""),
                    resources.empty() ? "-" : resources, e.value("SourceIp", ""),
                    result.empty() ? "OK" : result, e.value("RequestId", "")});
  }
  PrintColumns(std::cout, {"TIME", "CALLER", "ACTION", "RESOURCES", "SOURCE", "RESULT", "REQUEST"},
               rows);
  return 0;
}

}  // namespace cvm::cli
