#include "drivers/qemu/qmp_client.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/error_codes.h"
#include "drivers/qemu/unix_stream.h"

namespace cvm::drivers::qemu {
namespace {

using json = nlohmann::json;

constexpr std::string_view kQmpErrorPrefix = " failed: ";
constexpr size_t kMaxLine = 64 << 20;  // a QMP reply larger than this is a broken peer

// A QMP peer that cannot be reached, closed or sent garbage: the QEMU process is not answering.
Status NotAnswering(std::string msg) { return Status(kind::kUnavailable, std::move(msg)); }
Status TimedOut(std::string msg) { return Status(kind::kTimeout, std::move(msg)); }

}  // namespace

Result<std::unique_ptr<QmpClient>> QmpClient::Connect(const std::filesystem::path& socket_path,
                                                      std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  const std::string path = socket_path.string();
  auto fd = ConnectUnixStream(path, deadline, "QMP");
  if (!fd.ok()) return fd.status();
  std::unique_ptr<QmpClient> client(new QmpClient(*fd, path));

  // Greeting: {"QMP": {"version": ..., "capabilities": [...]}}. Events cannot precede it.
  auto greeting = client->ReadMessage(deadline);
  if (!greeting.ok()) {
    return NotAnswering(fmt::format("QMP greeting from {}: {}", path, greeting.status().message()));
  }
  if (!greeting->is_object() || !greeting->contains("QMP")) {
    return NotAnswering(fmt::format("QMP greeting from {} is not QMP: {}", path, greeting->dump()));
  }
  client->greeting_ = std::move(*greeting);
  auto caps = client->Execute("qmp_capabilities", json::object(),
                              std::chrono::milliseconds(std::max(RemainingMs(deadline), 1)));
  if (!caps.ok()) return caps.status();
  return client;
}

QmpClient::~QmpClient() {
  if (fd_ >= 0) ::close(fd_);
}

Status QmpClient::WriteAll(std::string_view data, Clock::time_point deadline) {
  Status s = SendAll(fd_, data, deadline, "QMP", path_);
  if (s.code() == kind::kUnavailable) closed_ = true;
  return s;
}

Status QmpClient::ReadSome() {
  Status s = ReceiveSome(fd_, rbuf_, "QMP", path_);
  if (!s.ok()) {
    closed_ = true;
    return s;
  }
  if (rbuf_.size() > kMaxLine) {
    closed_ = true;
    return NotAnswering(fmt::format("QMP peer {} sent an oversized message", path_));
  }
  return Status::Ok();
}

std::optional<json> QmpClient::PopBuffered() {
  while (true) {
    size_t nl = rbuf_.find('\n');
    if (nl == std::string::npos) return std::nullopt;
    std::string line = rbuf_.substr(0, nl);
    rbuf_.erase(0, nl + 1);
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json msg = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (msg.is_discarded()) {
      spdlog::warn("QMP {}: dropping unparsable line: {}", path_, line.substr(0, 200));
      continue;
    }
    return msg;
  }
}

Result<json> QmpClient::ReadMessage(Clock::time_point deadline) {
  while (true) {
    if (auto msg = PopBuffered()) return std::move(*msg);
    if (closed_) return NotAnswering(fmt::format("QMP connection {} closed", path_));
    pollfd p{fd_, POLLIN, 0};
    int left = RemainingMs(deadline);
    int pr = left == 0 ? 0 : ::poll(&p, 1, left);
    if (pr < 0 && errno == EINTR) continue;
    if (pr == 0) return TimedOut(fmt::format("QMP read from {} timed out", path_));
    if (pr < 0) return NotAnswering(fmt::format("QMP poll {}: {}", path_, std::strerror(errno)));
    CVM_RETURN_IF_ERROR(ReadSome());
  }
}

Result<json> QmpClient::Execute(std::string_view command, const json& args,
                                std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  if (closed_) return NotAnswering(fmt::format("QMP connection {} closed", path_));
  const std::string id = fmt::format("cvm-{}", next_id_++);
  json req = {{"execute", command}, {"id", id}};
  if (!args.is_null() && !(args.is_object() && args.empty())) req["arguments"] = args;
  std::string wire = req.dump() + "\n";
  if (Status s = WriteAll(wire, deadline); !s.ok()) {
    return Status(s.code(), fmt::format("QMP {}: {}", command, s.message()));
  }
  while (true) {
    auto msg = ReadMessage(deadline);
    if (!msg.ok()) {
      return Status(msg.status().code(),
                    fmt::format("QMP {} to {}: {}", command, path_, msg.status().message()));
    }
    if (msg->contains("event")) {
      events_.push_back(std::move(*msg));
      continue;
    }
    auto it = msg->find("id");
    if (it == msg->end() || *it != id) continue;  // stale reply of a command that timed out
    if (auto r = msg->find("return"); r != msg->end()) return std::move(*r);
    if (auto e = msg->find("error"); e != msg->end()) {
      return Status(kind::kExternal, fmt::format("QMP {}{}{}: {}", command, kQmpErrorPrefix,
                                                 e->value("class", std::string("GenericError")),
                                                 e->value("desc", std::string())));
    }
    return NotAnswering(fmt::format("QMP {}: unexpected reply {}", command, msg->dump()));
  }
}

std::vector<json> QmpClient::TakeEvents() {
  std::vector<json> out(std::make_move_iterator(events_.begin()),
                        std::make_move_iterator(events_.end()));
  events_.clear();
  return out;
}

Result<json> QmpClient::WaitEvent(const std::function<bool(const json&)>& pred,
                                  std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (auto it = events_.begin(); it != events_.end(); ++it) {
    if (pred(*it)) {
      json ev = std::move(*it);
      events_.erase(it);
      return ev;
    }
  }
  while (true) {
    auto msg = ReadMessage(deadline);
    if (!msg.ok())
      return Status(msg.status().code(),
                    fmt::format("waiting for QMP event: {}", msg.status().message()));
    if (!msg->contains("event")) continue;  // stale command reply
    if (pred(*msg)) return std::move(*msg);
    events_.push_back(std::move(*msg));
  }
}

Status QmpClient::Pump(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  bool first = true;
  while (true) {
    while (auto msg = PopBuffered()) {
      if (msg->contains("event")) events_.push_back(std::move(*msg));
    }
    if (closed_) return NotAnswering(fmt::format("QMP connection {} closed", path_));
    pollfd p{fd_, POLLIN, 0};
    int pr = ::poll(&p, 1, first ? RemainingMs(deadline) : 0);
    first = false;
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) return Status::Ok();
    CVM_RETURN_IF_ERROR(ReadSome());
  }
}

std::string QmpErrorClass(const Status& status) {
  if (status.ok() || status.message().rfind("QMP ", 0) != 0) return {};
  size_t p = status.message().find(kQmpErrorPrefix);
  if (p == std::string::npos) return {};
  p += kQmpErrorPrefix.size();
  size_t end = status.message().find(':', p);
  if (end == std::string::npos) return {};
  return status.message().substr(p, end - p);
}

}  // namespace cvm::drivers::qemu
