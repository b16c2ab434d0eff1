// The `cvm` verbs a person uses day to day: run, ls, start, stop, reboot, rm, ssh, console,
// images and keys. Each is a few API calls through ApiClient, the same ones an SDK user makes,
// plus OpenCVM's extension actions DescribeInstanceLoginEndpoint and GetInstanceConsoleOutput.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/api_client.h"

namespace cvm::cli {

class InstanceCommands {
 public:
  // Adds the verbs to `app` as subcommands; their options bind to this object's members, so it
  // must outlive parsing and stay where it is.
  explicit InstanceCommands(CLI::App& app);
  InstanceCommands(const InstanceCommands&) = delete;
  InstanceCommands& operator=(const InstanceCommands&) = delete;

  // Carries out the verb that was parsed and returns the exit code; nullopt when the command
  // line named none of these verbs. `output` is "table" or "json".
  std::optional<int> Run(ApiClient& client, const std::string& output);

 private:
  int DoRun(ApiClient& client, const std::string& output);
  int DoList(ApiClient& client, const std::string& output);
  int DoLifecycle(ApiClient& client, const std::string& verb);
  int DoSsh(ApiClient& client);
  int DoConsole(ApiClient& client);
  int DoKeys(ApiClient& client, const std::string& output);

  CLI::App* run_cmd_ = nullptr;
  CLI::App* ls_cmd_ = nullptr;
  CLI::App* start_cmd_ = nullptr;
  CLI::App* stop_cmd_ = nullptr;
  CLI::App* reboot_cmd_ = nullptr;
  CLI::App* rm_cmd_ = nullptr;
  CLI::App* ssh_cmd_ = nullptr;
  CLI::App* console_cmd_ = nullptr;
  CLI::App* images_cmd_ = nullptr;
  CLI::App* keys_cmd_ = nullptr;

  // cvm run
  std::string name_, type_, image_, zone_, password_;
  int count_ = 1;
  int disk_size_ = 0;
  bool no_wait_ = false;
  // start / stop / reboot / rm
  std::vector<std::string> ids_;
  bool wait_ = false;
  bool hard_ = false;
  bool soft_ = false;
  double timeout_s_ = 600;
  // ssh / console
  std::string id_;
  std::vector<std::string> remote_command_;
  bool follow_ = false;
};

}  // namespace cvm::cli
