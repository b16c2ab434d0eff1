// `cvm vpc create|ls|rm`, `cvm subnet create|ls|rm` and
// `cvm sg create|ls|rm|attach|detach|rule ls|rule add|rule rm`: networks and security groups
// through the VPC actions (and the CVM ones for binding groups to instances).
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/api_client.h"

namespace cvm::cli {

class NetworkCommands {
 public:
  explicit NetworkCommands(CLI::App& app);
  NetworkCommands(const NetworkCommands&) = delete;
  NetworkCommands& operator=(const NetworkCommands&) = delete;

  // Exit code of the parsed verb; nullopt when the command line named none of these.
  std::optional<int> Run(ApiClient& client, const std::string& output);

 private:
  CLI::App *vpc_ = nullptr, *vpc_create_ = nullptr, *vpc_ls_ = nullptr, *vpc_rm_ = nullptr;
  CLI::App *subnet_ = nullptr, *subnet_create_ = nullptr, *subnet_ls_ = nullptr,
           *subnet_rm_ = nullptr;
  CLI::App *sg_ = nullptr, *sg_create_ = nullptr, *sg_ls_ = nullptr, *sg_rm_ = nullptr,
           *sg_attach_ = nullptr, *sg_detach_ = nullptr, *rule_ = nullptr, *rule_ls_ = nullptr,
           *rule_add_ = nullptr, *rule_rm_ = nullptr;

  std::string name_, cidr_, zone_, vpc_id_, id_, description_, instance_id_;
  std::string protocol_ = "TCP", port_ = "ALL", source_, action_ = "ACCEPT";
  bool egress_ = false;
  int index_ = -1;
  std::vector<std::string> ids_;
  std::vector<int> indexes_;
};

}  // namespace cvm::cli
