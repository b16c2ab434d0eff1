// TAT (automation tools): saved commands, invocations of a command on instances, and one task
// per instance of an invocation, which the engine carries out through the guest agent.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/database.h"

namespace cvm::store {

struct TatCommand {
  std::string command_id;  // cmd-xxxxxxxx
  std::string owner_uin, region;
  std::string name, description;
  std::string content;  // base64, as the caller gave it
  std::string command_type = "SHELL";
  std::string working_directory;
  int64_t timeout = 60;  // seconds
  std::string username = "root";
  std::string created_by = "USER";  // USER: CreateCommand; RUN: saved by RunCommand
  int64_t created_at = 0, updated_at = 0;
};

struct TatInvocation {
  std::string invocation_id;  // inv-xxxxxxxx
  std::string owner_uin, region;
  std::string command_id;
  std::string content, command_type, working_directory, username;
  int64_t timeout = 60;
  std::string source = "USER";  // Tencent's InvocationSource
  int64_t created_at = 0;
};

// Task states; the first three are unfinished.
inline constexpr const char* kTatPending = "PENDING";
inline constexpr const char* kTatRunning = "RUNNING";
inline constexpr const char* kTatCancelling = "CANCELLING";
inline constexpr const char* kTatSuccess = "SUCCESS";
inline constexpr const char* kTatFailed = "FAILED";
inline constexpr const char* kTatTimeout = "TIMEOUT";
inline constexpr const char* kTatCancelled = "CANCELLED";           // before it started
inline constexpr const char* kTatTerminated = "TERMINATED";         // while it ran
inline constexpr const char* kTatDeliverFailed = "DELIVER_FAILED";  // no agent answered
inline constexpr const char* kTatStartFailed = "START_FAILED";

struct TatTask {
  std::string task_id;  // invt-xxxxxxxx
  std::string invocation_id, owner_uin, region, instance_id, command_id;
  std::string status = kTatPending;
  int64_t guest_pid = 0;  // the agent's process id while RUNNING
  int64_t exit_code = 0;
  std::string output;   // base64 of at most kTatOutputLimit bytes
  int64_t dropped = 0;  // output bytes beyond the limit
  std::string error_info;
  int64_t start_time = 0, end_time = 0, created_at = 0, updated_at = 0;
};

// Bytes of a task's output kept (Tencent's limit); the rest is counted in `dropped`.
inline constexpr size_t kTatOutputLimit = 24 * 1024;

bool TatTaskFinished(const std::string& status);

Status InsertTatCommand(Transaction& tx, const TatCommand& c);
Result<std::optional<TatCommand>> FindTatCommand(Transaction& tx, const Scope& scope,
                                                 const std::string& command_id);
// Removes a USER command of the scope. False when there is none.
Result<bool> DeleteTatCommand(Transaction& tx, const Scope& scope, const std::string& command_id);

struct TatCommandQuery {
  Scope scope;
  std::vector<std::string> command_ids;    // empty: any
  std::vector<std::string> command_names;  // empty: any
  std::string created_by;                  // empty: any
  int64_t offset = 0, limit = 20;
};
struct TatCommandPage {
  int64_t total = 0;
  std::vector<TatCommand> commands;  // newest first
};
Result<TatCommandPage> ListTatCommands(Database& db, const TatCommandQuery& q);

// An invocation with its tasks (one per instance), in one transaction.
Status InsertTatInvocation(Transaction& tx, const TatInvocation& inv,
                           const std::vector<TatTask>& tasks);

struct TatInvocationQuery {
  Scope scope;
  std::vector<std::string> invocation_ids;  // empty: any
  std::vector<std::string> command_ids;     // empty: any
  int64_t offset = 0, limit = 20;
};
struct TatInvocationPage {
  int64_t total = 0;
  std::vector<TatInvocation> invocations;  // newest first
};
Result<TatInvocationPage> ListTatInvocations(Database& db, const TatInvocationQuery& q);

struct TatTaskQuery {
  Scope scope;
  std::vector<std::string> task_ids;        // empty: any
  std::vector<std::string> invocation_ids;  // empty: any
  std::vector<std::string> instance_ids;    // empty: any
  int64_t offset = 0, limit = 20;           // limit 0: all
};
struct TatTaskPage {
  int64_t total = 0;
  std::vector<TatTask> tasks;  // newest first, then by instance
};
Result<TatTaskPage> ListTatTasks(Database& db, const TatTaskQuery& q);

// The instances recorded RUNNING, of every account (the guests whose agents the TAT runner
// checks at start).
Result<std::vector<std::string>> RunningInstanceIds(Database& db);

// Every unfinished task of every account, oldest first (the engine's work list).
Result<std::vector<TatTask>> UnfinishedTatTasks(Database& db);

// Writes a task's progress unless it finished in the meantime, or was asked to cancel and the
// write would make it RUNNING again: false then, and nothing is written.
Result<bool> UpdateTatTask(Transaction& tx, const TatTask& t);

// Marks the unfinished tasks of an invocation: PENDING ones CANCELLED, RUNNING ones CANCELLING
// (the engine stops their guest process). Returns how many it marked.
Result<int64_t> CancelTatTasks(Transaction& tx, const Scope& scope,
                               const std::string& invocation_id, int64_t now);

}  // namespace cvm::store
