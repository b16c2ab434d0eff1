// Guest agents: whether an instance's agent answers, a password set through it, and the TAT
// runner, which carries out invocation tasks (store/tat_records) through the agents.
//
// Every call to a guest is bounded by a short deadline (drivers/qemu/qga_client.h): a guest
// without an agent costs its caller that deadline, never more.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "common/status.h"
#include "engine/engine.h"
#include "store/database.h"
#include "store/tat_records.h"

namespace cvm::engine {

struct AgentState {
  bool online = false;
  std::string version;    // what the agent reports (guest-info)
  int64_t last_seen = 0;  // Unix seconds of its last answer; 0: never
};

// Asks the instance's agent now (guest-info within 1.5 s) and remembers the answer.
AgentState ProbeGuestAgent(const Engine& engine, const std::string& instance_id);
// What the last probe saw.
AgentState LastGuestAgent(const std::string& instance_id);

// Sets a guest user's password (a crypt(3) hash) through the agent: no restart.
Status SetGuestPassword(const Engine& engine, const std::string& instance_id,
                        const std::string& user, const std::string& hash);

// What the guest reports about itself (the figures Cloud Monitor's CVM namespace names).
struct GuestMetrics {
  int64_t mem_total_mb = 0, mem_used_mb = 0;  // MemTotal, MemTotal - MemAvailable
  double mem_usage = 0;                       // percent
  double cpu_loadavg = 0;                     // 1-minute load average
  int64_t tcp_curr_estab = 0;                 // established TCP connections
};
// Reads /proc through the agent (guest-exec), within a few seconds.
Result<GuestMetrics> ReadGuestMetrics(const Engine& engine, const std::string& instance_id);

// One thread stepping every unfinished task: PENDING starts the script (guest-exec), RUNNING
// polls it (guest-exec-status), and one past its timeout or asked to cancel has its guest
// process group killed. Tasks are read from the store each round, so a restarted daemon
// resumes them. No engine worker ever waits on a guest.
class TatRunner {
 public:
  TatRunner(store::Database& db, const Engine& engine) : db_(db), engine_(engine) {}
  TatRunner(const TatRunner&) = delete;
  TatRunner& operator=(const TatRunner&) = delete;
  ~TatRunner() { Stop(); }

  void Start();
  void Stop();
  // An invocation or a cancel was recorded: look now.
  void Wake();

 private:
  void Loop();
  bool Step(const store::TatTask& task);  // true while the task is unfinished
  void KillGuestProcess(const store::TatTask& task);

  store::Database& db_;
  const Engine& engine_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool wake_ = false, stopping_ = false;
};

}  // namespace cvm::engine
