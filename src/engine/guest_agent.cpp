#include "engine/guest_agent.h"

#include <cctype>
#include <map>
#include <sstream>
#include <thread>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "common/error_codes.h"
#include "common/time_format.h"
#include "drivers/qemu/qemu_vm.h"

namespace cvm::engine {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr auto kAgentProbeTimeout = 1500ms;
constexpr auto kAgentCallTimeout = 3s;

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// guest-exec arguments running `script` with /bin/sh as `user` (root: directly, else via su).
json ExecArgs(const std::string& script, const std::string& user) {
  if (user.empty() || user == "root") {
    return {{"path", "/bin/sh"}, {"arg", {"-c", script}}, {"capture-output", true}};
  }
  return {{"path", "su"}, {"arg", {"-s", "/bin/sh", user, "-c", script}}, {"capture-output", true}};
}

// A finished guest process's stdout then stderr, cut to the TAT limit.
void FillOutput(const json& status, store::TatTask& t) {
  std::string out;
  for (const char* key : {"out-data", "err-data"}) {
    if (auto it = status.find(key); it != status.end() && it->is_string()) {
      out += Base64Decode(it->get<std::string>()).value_or("");
    }
  }
  t.dropped = 0;
  if (out.size() > store::kTatOutputLimit) {
    t.dropped = static_cast<int64_t>(out.size() - store::kTatOutputLimit);
    out.resize(store::kTatOutputLimit);
  }
  t.output = Base64Encode(out);
}

Result<json> Agent(const Engine& engine, const std::string& instance_id, std::string_view command,
                   const json& args, std::chrono::milliseconds timeout) {
  return drivers::qemu::ExecuteQga(engine.RunDir(instance_id), command, args, timeout);
}

std::mutex agents_mu;
std::map<std::string, AgentState> agents;  // small entries; never pruned

}  // namespace

void TatRunner::KillGuestProcess(const store::TatTask& task) {
  if (task.guest_pid <= 0) return;  // "kill -9 -0" would hit the agent's own process group
  // The tiny image's agent runs a command as a session leader (its own process group);
  // qemu-ga does not, so fall back to the process alone.
  const std::string pid = std::to_string(task.guest_pid);
  auto killed = Agent(
      engine_, task.instance_id, "guest-exec",
      {{"path", "/bin/sh"}, {"arg", {"-c", "kill -9 -" + pid + " 2>/dev/null || kill -9 " + pid}}},
      kAgentCallTimeout);
  if (!killed.ok())
    spdlog::warn("tat: stopping task {}: {}", task.task_id, killed.status().message());
}

AgentState ProbeGuestAgent(const Engine& engine, const std::string& instance_id) {
  auto info = Agent(engine, instance_id, "guest-info", json::object(), kAgentProbeTimeout);
  std::lock_guard lock(agents_mu);
  AgentState& a = agents[instance_id];
  a.online = info.ok();
  if (info.ok()) {
    a.version = info->value("version", std::string());
    a.last_seen = NowUnix();
  }
  return a;
}

AgentState LastGuestAgent(const std::string& instance_id) {
  std::lock_guard lock(agents_mu);
  auto it = agents.find(instance_id);
  return it == agents.end() ? AgentState{} : it->second;
}

Status SetGuestPassword(const Engine& engine, const std::string& instance_id,
                        const std::string& user, const std::string& hash) {
  auto r = Agent(engine, instance_id, "guest-set-user-password",
                 {{"username", user}, {"password", Base64Encode(hash)}, {"crypted", true}}, 10s);
  return r.ok() ? Status::Ok() : r.status();
}

Result<GuestMetrics> ReadGuestMetrics(const Engine& engine, const std::string& instance_id) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  auto started = Agent(engine, instance_id, "guest-exec",
                       {{"path", "/bin/cat"},
                        {"arg", {"/proc/meminfo", "/proc/loadavg", "/proc/net/snmp"}},
                        {"capture-output", true}},
                       kAgentCallTimeout);
  if (!started.ok()) return started.status();
  const int64_t pid = started->value("pid", int64_t{0});
  json status = json::object();
  while (!status.value("exited", false)) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status(kind::kTimeout, "the guest did not report its metrics in time");
    }
    std::this_thread::sleep_for(50ms);
    auto r = Agent(engine, instance_id, "guest-exec-status", {{"pid", pid}}, kAgentCallTimeout);
    if (!r.ok()) return r.status();
    status = std::move(*r);
  }
  const std::string text = Base64Decode(status.value("out-data", "")).value_or("");
  GuestMetrics m;
  int64_t available_kb = 0;
  std::vector<std::string> tcp_names;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string first;
    words >> first;
    if (first == "MemTotal:") {
      words >> m.mem_total_mb;
      m.mem_total_mb /= 1024;
    } else if (first == "MemAvailable:") {
      words >> available_kb;
    } else if (first == "Tcp:") {
      std::vector<std::string> cols;
      for (std::string w; words >> w;) cols.push_back(w);
      if (tcp_names.empty()) {
        tcp_names = cols;  // the header line; the values follow on the next "Tcp:" line
      } else {
        for (size_t i = 0; i < cols.size() && i < tcp_names.size(); ++i) {
          if (tcp_names[i] == "CurrEstab") m.tcp_curr_estab = std::stoll(cols[i]);
        }
      }
    } else if (m.cpu_loadavg == 0 && !first.empty() &&
               std::isdigit(static_cast<unsigned char>(first[0])) &&
               line.find('/') != std::string::npos) {
      m.cpu_loadavg = std::stod(first);  // /proc/loadavg: "0.31 0.07 0.02 1/58 158"
    }
  }
  m.mem_used_mb = m.mem_total_mb - available_kb / 1024;
  if (m.mem_total_mb > 0)
    m.mem_usage = 100.0 * static_cast<double>(m.mem_used_mb) / static_cast<double>(m.mem_total_mb);
  return m;
}

void TatRunner::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void TatRunner::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void TatRunner::Wake() {
  {
    std::lock_guard lock(mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

void TatRunner::Loop() {
  auto stopping = [this] {
    std::lock_guard lock(mu_);
    return stopping_;
  };
  // A daemon that died while a guest's file systems were frozen for a disk copy left them so:
  // nothing else ever freezes them across a restart, so any frozen guest is thawed now.
  auto running = store::RunningInstanceIds(db_);
  if (!running.ok())
    spdlog::warn("tat: listing running instances: {}", running.status().ToString());
  for (const auto& id : running.ok() ? *running : std::vector<std::string>{}) {
    if (stopping()) return;
    auto st = Agent(engine_, id, "guest-fsfreeze-status", json::object(), kAgentProbeTimeout);
    if (!st.ok() || *st != "frozen") continue;
    auto thawed = Agent(engine_, id, "guest-fsfreeze-thaw", json::object(), kAgentCallTimeout);
    spdlog::warn("{}: file systems left frozen by an earlier run; thaw: {}", id,
                 thawed.ok() ? "done" : thawed.status().message());
  }
  while (!stopping()) {
    bool busy = false;
    auto tasks = store::UnfinishedTatTasks(db_);
    if (!tasks.ok()) spdlog::warn("tat: listing tasks: {}", tasks.status().ToString());
    for (const auto& t : tasks.ok() ? *tasks : std::vector<store::TatTask>{}) {
      if (stopping()) return;
      try {
        busy |= Step(t);
      } catch (const std::exception& e) {
        spdlog::error("tat: task {}: {}", t.task_id, e.what());
      }
    }
    // Running tasks are polled often (a short command's output is soon there); otherwise the
    // runner sleeps until a new invocation or a cancel wakes it.
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, busy ? 100ms : 5s, [this] { return stopping_ || wake_; });
    wake_ = false;
  }
}

bool TatRunner::Step(const store::TatTask& task) {
  auto found = store::ListTatInvocations(
      db_, {.scope = {task.owner_uin, task.region}, .invocation_ids = {task.invocation_id}});
  if (!found.ok() || found->invocations.empty()) {
    spdlog::warn("tat: task {}: invocation {} not readable", task.task_id, task.invocation_id);
    return false;
  }
  const store::TatInvocation& inv = found->invocations.front();
  const int64_t now = NowUnix();
  store::TatTask next = task;
  next.updated_at = now;

  if (task.status == store::kTatPending) {
    std::string script = Base64Decode(inv.content).value_or("");
    if (!inv.working_directory.empty()) {
      script = "cd " + ShellQuote(inv.working_directory) + " || exit 1\n" + script;
    }
    auto started = Agent(engine_, task.instance_id, "guest-exec", ExecArgs(script, inv.username),
                         kAgentCallTimeout);
    if (started.ok() && started->contains("pid")) {
      next.status = store::kTatRunning;
      next.guest_pid = (*started)["pid"].get<int64_t>();
      next.start_time = now;
    } else {
      // No agent answered: never delivered. The agent refused: it could not start.
      const Status& st = started.ok() ? Status(kind::kExternal, "no pid") : started.status();
      next.status =
          st.code() == kind::kExternal ? store::kTatStartFailed : store::kTatDeliverFailed;
      next.error_info = st.message().substr(0, 500);
      next.start_time = next.end_time = now;
    }
  } else {
    const bool cancel = task.status == store::kTatCancelling;
    const bool timed_out = now >= task.start_time + inv.timeout;
    if (cancel || timed_out) {
      KillGuestProcess(task);
      next.status = cancel ? store::kTatTerminated : store::kTatTimeout;
      next.end_time = now;
      next.exit_code = -1;
    } else {
      auto st = Agent(engine_, task.instance_id, "guest-exec-status", {{"pid", task.guest_pid}},
                      kAgentCallTimeout);
      if (!st.ok() && st.status().code() != kind::kExternal) return true;  // ask again later
      if (!st.ok()) {  // the agent no longer knows the process (the guest rebooted)
        next.status = store::kTatFailed;
        next.error_info = st.status().message().substr(0, 500);
        next.end_time = now;
      } else if (!st->value("exited", false)) {
        return true;
      } else {
        FillOutput(*st, next);
        next.exit_code = st->contains("exitcode") ? (*st)["exitcode"].get<int64_t>()
                                                  : 128 + st->value("signal", 0);
        next.status = next.exit_code == 0 ? store::kTatSuccess : store::kTatFailed;
        next.end_time = now;
      }
    }
  }
  bool applied = false;
  Status written = store::WithTransaction(db_, [&](store::Transaction& tx) -> Status {
    auto w = store::UpdateTatTask(tx, next);
    if (!w.ok()) return w.status();
    applied = *w;
    return Status::Ok();
  });
  if (!written.ok()) spdlog::warn("tat: recording task {}: {}", task.task_id, written.ToString());
  // Cancelled while it was being started: the process no record knows of must not run on.
  if (written.ok() && !applied && next.status == store::kTatRunning) KillGuestProcess(next);
  return !store::TatTaskFinished(next.status);
}

}  // namespace cvm::engine
