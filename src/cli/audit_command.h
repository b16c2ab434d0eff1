// `cvm audit`: the account's audit log (the DescribeAuditEvents extension action), newest first.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "cli/api_client.h"

namespace cvm::cli {

class AuditCommand {
 public:
  explicit AuditCommand(CLI::App& app);
  AuditCommand(const AuditCommand&) = delete;
  AuditCommand& operator=(const AuditCommand&) = delete;

  // nullopt when the command line did not name `audit`.
  std::optional<int> Run(ApiClient& client, const std::string& output);

 private:
  CLI::App* cmd_ = nullptr;
  std::string action_, caller_;
  int64_t since_ = 0;
  int limit_ = 20;
};

}  // namespace cvm::cli
