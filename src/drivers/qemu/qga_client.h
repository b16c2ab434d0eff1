// A client of the QEMU guest agent protocol (QGA) over the host end of the guest's
// virtio-serial port (a unix socket of QEMU, qga.sock in the VM's run directory).
//
// QGA is QMP-like JSON but without ids, greeting or events, and the agent is a guest program:
// it may be absent, slow, or still answering a request a previous client gave up on. So every
// read has a deadline, and a connection starts (and restarts after any timeout) with the
// guest-sync-delimited handshake: a 0xFF byte resets the agent's parser, the agent prefixes its
// reply with 0xFF, and everything before the reply carrying our random id is stale and dropped.
//
// NOT thread-safe, and QEMU serves one client per chardev socket: callers serialize per VM
// (ExecuteQga in qemu_vm.h does).
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace cvm::drivers::qemu {

class QgaClient {
 public:
  // Connects and synchronizes with the agent within `timeout`. kUnavailable when nothing
  // listens on the socket; kTimeout when the agent does not answer (none installed, not
  // started yet, or the guest is stopped).
  static Result<std::unique_ptr<QgaClient>> Connect(const std::filesystem::path& socket_path,
                                                    std::chrono::milliseconds timeout);

  QgaClient(const QgaClient&) = delete;
  QgaClient& operator=(const QgaClient&) = delete;
  ~QgaClient();

  // Runs one command and returns its "return" value. An agent error becomes kind::kExternal
  // "QGA <command> failed: <class>: <desc>". After a timeout the next call re-synchronizes
  // first, so a late reply is never taken for the answer to another command.
  Result<nlohmann::json> Execute(std::string_view command,
                                 const nlohmann::json& args = nlohmann::json::object(),
                                 std::chrono::milliseconds timeout = std::chrono::seconds(5));

 private:
  using Clock = std::chrono::steady_clock;
  QgaClient(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}

  Status Sync(Clock::time_point deadline);
  Status WriteAll(std::string_view data, Clock::time_point deadline);
  // Next newline-terminated JSON message; with `after_delimiter`, bytes before the next 0xFF
  // are dropped first.
  Result<nlohmann::json> ReadMessage(Clock::time_point deadline, bool after_delimiter);

  int fd_ = -1;
  std::string path_;
  std::string rbuf_;
  bool synced_ = false;
};

}  // namespace cvm::drivers::qemu
