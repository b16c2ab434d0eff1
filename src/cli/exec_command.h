// `cvm exec INSTANCE [--timeout S] [--user U] -- COMMAND...`: runs a command inside the
// instance through its guest agent (TAT RunCommand), prints its output and exits with its
// status (124 on timeout, as timeout(1); 125 when it could not run at all).
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/api_client.h"

namespace cvm::cli {

class ExecCommand {
 public:
  explicit ExecCommand(CLI::App& app);
  ExecCommand(const ExecCommand&) = delete;
  ExecCommand& operator=(const ExecCommand&) = delete;

  // nullopt when the command line did not name `exec`.
  std::optional<int> Run(ApiClient& client);

 private:
  CLI::App* cmd_ = nullptr;
  std::string instance_, user_ = "root";
  std::vector<std::string> command_;
  int timeout_ = 60;
};

}  // namespace cvm::cli
