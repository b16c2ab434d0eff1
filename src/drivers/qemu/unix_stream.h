// Deadline-bounded primitives over a non-blocking unix stream socket, shared by the QMP and
// QGA clients: neither may ever block on a peer that stopped answering.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/status.h"

namespace cvm::drivers::qemu {

// Milliseconds left until `deadline`, never negative (for poll).
int RemainingMs(std::chrono::steady_clock::time_point deadline);

// A connected non-blocking, close-on-exec socket. kUnavailable when nothing listens,
// kTimeout when the listen backlog stays full until the deadline. `what` names the peer in
// messages ("QMP", "QGA").
Result<int> ConnectUnixStream(const std::string& path,
                              std::chrono::steady_clock::time_point deadline,
                              std::string_view what);

// Writes all of `data`. kTimeout on deadline, kUnavailable when the peer is gone.
Status SendAll(int fd, std::string_view data, std::chrono::steady_clock::time_point deadline,
               std::string_view what, const std::string& path);

// Appends what is readable now to `buf`. kUnavailable on EOF or error.
Status ReceiveSome(int fd, std::string& buf, std::string_view what, const std::string& path);

// Waits until `fd` is readable. kTimeout at the deadline.
Status WaitReadable(int fd, std::chrono::steady_clock::time_point deadline, std::string_view what,
                    const std::string& path);

}  // namespace cvm::drivers::qemu
