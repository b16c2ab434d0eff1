// What the `cvm` verbs share: reading responses, paging through Describe actions, waiting with
// a progress line, defaults looked up from the API.
#pragma once

#include <unistd.h>

#include <chrono>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/api_client.h"
#include "common/status.h"

namespace cvm::cli {

using Clock = std::chrono::steady_clock;
inline constexpr auto kPollInterval = std::chrono::milliseconds(500);

// A string field of a response object, "" when absent or not a string.
std::string Str(const nlohmann::json& obj, const char* key);

// Every item of a paged Describe action's `set_name`, following Offset/Limit to the end.
Result<nlohmann::json> DescribeAll(ApiClient& client, const std::string& action,
                                   nlohmann::json params, const std::string& set_name);

// `cvm ... ls`: every item of a paged Describe action, as JSON with --output json, else one row
// per item (made by `row`) under `headers`. Returns the exit code.
int ListItems(ApiClient& client, const std::string& action, const std::string& set_name,
              const std::string& output, const std::vector<std::string>& headers,
              const std::function<std::vector<std::string>(const nlohmann::json&)>& row);

// The region's first available zone.
Result<std::string> DefaultZone(ApiClient& client);

Status TimedOut(const std::string& what, double seconds);

// --no-wait and --timeout on a verb that waits for `what` (default `default_s` seconds).
void AddWaitOptions(CLI::App* cmd, bool& no_wait, double& timeout_s, const std::string& what,
                    int default_s);

// Progress of a wait on stderr: one line rewritten in place on a terminal, otherwise a plain
// line per change, so logs of scripted runs stay readable.
class Progress {
 public:
  Progress() : tty_(::isatty(STDERR_FILENO) == 1), start_(Clock::now()) {}
  ~Progress() { Finish(); }

  void Show(const std::string& status, bool with_elapsed = true) {
    std::string text = with_elapsed ? status + "  " + Elapsed() : status;
    if (tty_) {
      std::cerr << "\r\033[K" << text << std::flush;
      open_ = true;
    } else if (status != last_) {
      std::cerr << text << "\n";
    }
    last_ = status;
  }
  // Ends the rewritten line so what follows starts on its own.
  void Finish() {
    if (open_) std::cerr << "\n";
    open_ = false;
  }
  double Seconds() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

 private:
  std::string Elapsed() const {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1fs", Seconds());
    return buf;
  }

  bool tty_;
  bool open_ = false;
  Clock::time_point start_;
  std::string last_;
};

}  // namespace cvm::cli
