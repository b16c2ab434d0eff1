#include "cli/exec_command.h"

#include <chrono>
#include <iostream>
#include <thread>

#include "cli/output.h"
#include "common/base64.h"

namespace cvm::cli {
namespace {

// The command words as one shell line, each word quoted.
std::string ShellLine(const std::vector<std::string>& words) {
  std::string line;
  for (const auto& w : words) {
    line += line.empty() ? "'" : " '";
    for (char c : w) line += c == '\'' ? std::string("'\\''") : std::string(1, c);
    line += "'";
  }
  return line;
}

}  // namespace

ExecCommand::ExecCommand(CLI::App& app) {
  cmd_ = app.add_subcommand("exec", "run a command inside an instance (through its guest agent)");
  cmd_->add_option("instance", instance_, "instance id")->required();
  cmd_->add_option("command", command_, "the command and its arguments (after --)")->required();
  cmd_->add_option("--timeout", timeout_, "seconds before the command is stopped")
      ->check(CLI::Range(1, 86400));
  cmd_->add_option("--user", user_, "the guest user to run it as");
}

std::optional<int> ExecCommand::Run(ApiClient& client) {
  if (!cmd_->parsed()) return std::nullopt;
  // One word is a shell line already (`cvm exec ins-x -- 'ls | wc -l'`); several are quoted.
  const std::string line = command_.size() == 1 ? command_[0] : ShellLine(command_);
  auto run = client.Call("RunCommand", {{"InstanceIds", {instance_}},
                                        {"Content", Base64Encode(line)},
                                        {"Timeout", timeout_},
                                        {"Username", user_}});
  if (!run.ok()) {
    ReportError(run.status());
    return 125;
  }
  const std::string invocation = (*run)["InvocationId"];
  while (true) {
    auto r = client.Call("DescribeInvocationTasks",
                         {{"Filters", {{{"Name", "invocation-id"}, {"Values", {invocation}}}}}});
    if (!r.ok()) {
      ReportError(r.status());
      return 125;
    }
    const auto& tasks = (*r)["InvocationTaskSet"];
    if (!tasks.empty()) {
      const auto& t = tasks[0];
      const std::string status = t.value("TaskStatus", "");
      if (status != "PENDING" && status != "RUNNING" && status != "CANCELLING") {
        const auto& result = t["TaskResult"];
        std::cout << Base64Decode(result.value("Output", "")).value_or("") << std::flush;
        if (result.value("Dropped", 0) > 0) {
          std::cerr << "cvm exec: " << result.value("Dropped", 0)
                    << " more bytes of output were dropped\n";
        }
        if (status == "SUCCESS" || status == "FAILED") {
          int code = result.value("ExitCode", 1);
          return code >= 0 && code <= 255 ? code : 1;
        }
        std::cerr << "cvm exec: " << status
                  << (t.value("ErrorInfo", "").empty() ? "" : ": " + t.value("ErrorInfo", ""))
                  << "\n";
        return status == "TIMEOUT" ? 124 : 125;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace cvm::cli
