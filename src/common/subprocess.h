// Runs external programs (qemu-img, xorriso, qemu-system-*) without a shell and always with a
// deadline. Every external call in the daemon goes through RunProcess.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cvm {

struct ProcessOutput {
  int exit_code = 0;    // exit status, or 128 + signal number when killed by a signal
  int term_signal = 0;  // signal that ended the process, 0 if it exited normally
  std::string stdout_data;
  std::string stderr_data;
};

// Runs argv[0] (searched in PATH) with argv, no shell. The child gets its own process group,
// default signal dispositions, no inherited descriptors except the three pipes (stdin is
// /dev/null when stdin_data is empty). stdout and stderr are captured (each capped at 16 MiB;
// the rest is drained and dropped).
//
// On timeout the whole process group is killed with SIGKILL and the result is an
// err::kInternalError Status whose message names the command and says "timed out".
// A non-zero exit is NOT an error here: callers look at exit_code and stderr_data.
//
// Thread-safe. Descendants that detach themselves (setsid + daemonize, as QEMU -daemonize
// does) are not waited for: once the direct child has exited, remaining output is drained for
// at most a short grace period.
Result<ProcessOutput> RunProcess(const std::vector<std::string>& argv,
                                 std::chrono::milliseconds timeout,
                                 std::string_view stdin_data = {});

// "prog 'arg with space' ..." for logs and error messages.
std::string FormatCommand(const std::vector<std::string>& argv);

}  // namespace cvm
