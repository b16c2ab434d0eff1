// `cvm image ls|create|import|export|share|rm`: custom images through the CVM image actions.
// create, import and export wait (unless --no-wait) with a progress bar until the image is made
// or copied, and report why when it was not (the failed image's description holds the reason).
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/api_client.h"

namespace cvm::cli {

// The images the caller may use, as a table or JSON (`cvm image ls`, `cvm images`).
int ListImages(ApiClient& client, const std::string& output);

class ImageCommands {
 public:
  explicit ImageCommands(CLI::App& app);
  ImageCommands(const ImageCommands&) = delete;
  ImageCommands& operator=(const ImageCommands&) = delete;

  // Exit code of the parsed `image` verb; nullopt when the command line named none.
  std::optional<int> Run(ApiClient& client, const std::string& output);

 private:
  CLI::App* image_cmd_ = nullptr;
  CLI::App* ls_cmd_ = nullptr;
  CLI::App* create_cmd_ = nullptr;
  CLI::App* import_cmd_ = nullptr;
  CLI::App* export_cmd_ = nullptr;
  CLI::App* share_cmd_ = nullptr;
  CLI::App* rm_cmd_ = nullptr;

  std::string instance_id_, image_id_, name_, description_, url_, os_type_, os_version_;
  std::string arch_ = "x86_64", bucket_, format_;
  std::vector<std::string> data_disks_, ids_, prefixes_, accounts_;
  bool force_ = false, cancel_ = false, no_wait_ = false, system_disk_only_ = false;
  double timeout_s_ = 3600;
};

}  // namespace cvm::cli
