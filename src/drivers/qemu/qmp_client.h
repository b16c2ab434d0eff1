// A minimal QMP (QEMU Machine Protocol) client over a unix socket. Every call takes a timeout:
// a stopped or wedged QEMU yields an error Status, never a hang.
//
// NOT thread-safe: one QmpClient belongs to one thread at a time (callers serialize, e.g. the
// per-VM lock in qemu_vm.cpp). Note that QEMU serves one client per QMP monitor; a second
// connection to the same socket only gets its greeting after the first one closes.
#pragma once

#include <chrono>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace cvm::drivers::qemu {

class QmpClient {
 public:
  // Connects, reads the greeting and negotiates capabilities (leaves "command mode"), all within
  // `timeout`. Fails at once if nothing listens on the socket.
  static Result<std::unique_ptr<QmpClient>> Connect(const std::filesystem::path& socket_path,
                                                    std::chrono::milliseconds timeout);

  QmpClient(const QmpClient&) = delete;
  QmpClient& operator=(const QmpClient&) = delete;
  ~QmpClient();

  // Runs one command and returns its "return" value. A QMP error becomes kind::kExternal with
  // the message "QMP <command> failed: <class>: <desc>" (see QmpErrorClass). Events that arrive
  // while waiting are queued (TakeEvents / WaitEvent). A reply that arrives after its command
  // timed out is recognised by its id and dropped, so it cannot be taken for a later reply.
  Result<nlohmann::json> Execute(std::string_view command,
                                 const nlohmann::json& args = nlohmann::json::object(),
                                 std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // Returns and clears the queued events (each the full QMP object: event, data, timestamp).
  std::vector<nlohmann::json> TakeEvents();

  // Returns the first event (queued or new) for which `pred` is true, removing it from the queue;
  // non-matching events stay queued. Error on timeout or disconnect.
  Result<nlohmann::json> WaitEvent(const std::function<bool(const nlohmann::json&)>& pred,
                                   std::chrono::milliseconds timeout);

  // Waits up to `timeout` for input, then reads and queues whatever is available without
  // blocking further. OK also when nothing arrived; error once the connection is closed.
  // For event loops that poll fd() themselves.
  Status Pump(std::chrono::milliseconds timeout);

  int fd() const { return fd_; }
  bool closed() const { return closed_; }
  const nlohmann::json& greeting() const { return greeting_; }

 private:
  explicit QmpClient(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  using Clock = std::chrono::steady_clock;

  // Next complete message, waiting until `deadline`.
  Result<nlohmann::json> ReadMessage(Clock::time_point deadline);
  // Parses complete lines in rbuf_; returns one message if any.
  std::optional<nlohmann::json> PopBuffered();
  // Reads once after poll says readable. Error on EOF.
  Status ReadSome();
  Status WriteAll(std::string_view data, Clock::time_point deadline);

  int fd_ = -1;
  std::string path_;
  std::string rbuf_;
  std::deque<nlohmann::json> events_;
  nlohmann::json greeting_;
  uint64_t next_id_ = 1;
  bool closed_ = false;
};

// The QMP error class ("GenericError", "DeviceNotFound", ...) of a Status returned by
// QmpClient::Execute for a QMP-level error; empty for transport errors and timeouts.
std::string QmpErrorClass(const Status& status);

}  // namespace cvm::drivers::qemu
