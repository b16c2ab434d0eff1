#include "drivers/qemu/qga_client.h"

#include <unistd.h>

#include <random>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/error_codes.h"
#include "drivers/qemu/unix_stream.h"

namespace cvm::drivers::qemu {
namespace {

using json = nlohmann::json;

constexpr std::string_view kWhat = "QGA";
constexpr char kDelimiter = '\xff';
constexpr size_t kMaxMessage = 64 << 20;  // guest-exec-status carries up to 16 MiB base64'd

}  // namespace

Result<std::unique_ptr<QgaClient>> QgaClient::Connect(const std::filesystem::path& socket_path,
                                                      std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  auto fd = ConnectUnixStream(socket_path.string(), deadline, kWhat);
  if (!fd.ok()) return fd.status();
  std::unique_ptr<QgaClient> client(new QgaClient(*fd, socket_path.string()));
  CVM_RETURN_IF_ERROR(client->Sync(deadline));
  return client;
}

QgaClient::~QgaClient() {
  if (fd_ >= 0) ::close(fd_);
}

Status QgaClient::WriteAll(std::string_view data, Clock::time_point deadline) {
  return SendAll(fd_, data, deadline, kWhat, path_);
}

Status QgaClient::Sync(Clock::time_point deadline) {
  synced_ = false;
  rbuf_.clear();
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  // QGA's integers are int64; keep the id positive and JSON-exact.
  const int64_t id = static_cast<int64_t>(rng() >> 12);
  json req = {{"execute", "guest-sync-delimited"}, {"arguments", {{"id", id}}}};
  // The leading 0xFF makes the agent drop a half-received request of an earlier client.
  CVM_RETURN_IF_ERROR(WriteAll(std::string(1, kDelimiter) + req.dump() + "\n", deadline));
  bool want_delimiter = true;
  while (true) {
    auto msg = ReadMessage(deadline, want_delimiter);
    if (!msg.ok()) {
      return Status(msg.status().code(), fmt::format("guest agent not answering on {}: {}", path_,
                                                     msg.status().message()));
    }
    want_delimiter = false;
    auto r = msg->find("return");
    if (r != msg->end() && r->is_number_integer() && r->get<int64_t>() == id) {
      synced_ = true;
      return Status::Ok();
    }
    // A reply to an earlier client's request, or to an older sync: stale.
    want_delimiter = true;
  }
}

Result<json> QgaClient::ReadMessage(Clock::time_point deadline, bool after_delimiter) {
  while (true) {
    if (after_delimiter) {
      size_t d = rbuf_.find(kDelimiter);
      if (d != std::string::npos) {
        rbuf_.erase(0, d + 1);
        after_delimiter = false;
      } else {
        rbuf_.clear();
      }
    }
    if (!after_delimiter) {
      size_t nl;
      while ((nl = rbuf_.find('\n')) != std::string::npos) {
        std::string line = rbuf_.substr(0, nl);
        rbuf_.erase(0, nl + 1);
        // A delimiter of a later sync reply may precede a line; it is not part of the JSON.
        std::erase(line, kDelimiter);
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        json msg = json::parse(line, nullptr, /*allow_exceptions=*/false);
        if (msg.is_discarded() || !msg.is_object()) {
          spdlog::warn("QGA {}: dropping unparsable line: {}", path_, line.substr(0, 200));
          continue;
        }
        return msg;
      }
    }
    if (rbuf_.size() > kMaxMessage) {
      return Status(kind::kUnavailable,
                    fmt::format("QGA peer {} sent an oversized message", path_));
    }
    CVM_RETURN_IF_ERROR(WaitReadable(fd_, deadline, kWhat, path_));
    CVM_RETURN_IF_ERROR(ReceiveSome(fd_, rbuf_, kWhat, path_));
  }
}

Result<json> QgaClient::Execute(std::string_view command, const json& args,
                                std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  if (!synced_) CVM_RETURN_IF_ERROR(Sync(deadline));
  json req = {{"execute", command}};
  if (!args.is_null() && !(args.is_object() && args.empty())) req["arguments"] = args;
  auto fail = [&](const Status& s) {
    synced_ = false;  // whatever answers next may be this command's late reply
    return Status(s.code(), fmt::format("QGA {}: {}", command, s.message()));
  };
  if (Status s = WriteAll(req.dump() + "\n", deadline); !s.ok()) return fail(s);
  auto msg = ReadMessage(deadline, /*after_delimiter=*/false);
  if (!msg.ok()) return fail(msg.status());
  if (auto r = msg->find("return"); r != msg->end()) return std::move(*r);
  if (auto e = msg->find("error"); e != msg->end() && e->is_object()) {
    return Status(kind::kExternal, fmt::format("QGA {} failed: {}: {}", command,
                                               e->value("class", std::string("GenericError")),
                                               e->value("desc", std::string())));
  }
  return fail(Status(kind::kUnavailable, fmt::format("unexpected reply {}", msg->dump())));
}

}  // namespace cvm::drivers::qemu
