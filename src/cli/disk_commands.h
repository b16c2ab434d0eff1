// `cvm disk create|ls|attach|detach|resize|rm|snapshot`: cloud disks through the CBS actions,
// waiting (unless --no-wait) until each disk is at rest again and reporting why when an
// attach, detach or resize did not happen.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/api_client.h"

namespace cvm::cli {

class DiskCommands {
 public:
  explicit DiskCommands(CLI::App& app);
  DiskCommands(const DiskCommands&) = delete;
  DiskCommands& operator=(const DiskCommands&) = delete;

  // Exit code of the parsed `disk` verb; nullopt when the command line named none.
  std::optional<int> Run(ApiClient& client, const std::string& output);

 private:
  CLI::App* disk_cmd_ = nullptr;
  CLI::App* create_cmd_ = nullptr;
  CLI::App* ls_cmd_ = nullptr;
  CLI::App* attach_cmd_ = nullptr;
  CLI::App* detach_cmd_ = nullptr;
  CLI::App* resize_cmd_ = nullptr;
  CLI::App* rm_cmd_ = nullptr;
  CLI::App* snapshot_cmd_ = nullptr;

  std::string type_ = "CLOUD_PREMIUM", zone_, name_, snapshot_id_, instance_id_, disk_id_;
  int size_ = 0;
  int count_ = 1;
  bool no_wait_ = false;
  double timeout_s_ = 300;
  std::vector<std::string> ids_;
};

}  // namespace cvm::cli
