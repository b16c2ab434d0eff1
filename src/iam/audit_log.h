// The audit log: one record per API call (who, for which account, what, on which resources,
// from where, with what result). Recording sits on every request's path, so Record() only
// serializes and queues; a writer thread stores the queue in one transaction every few hundred
// milliseconds (or 512 records), and Stop() stores whatever is left, so a clean shutdown loses
// nothing.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <limits>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "store/database.h"

namespace cvm::iam {

struct AuditRecord {
  int64_t time_ms = 0;
  std::string request_id;
  std::string owner_uin;  // empty when the caller was not authenticated
  std::string caller_uin;
  std::string secret_id;
  std::string service;
  std::string action;
  std::string region;
  std::vector<std::string> resources;
  std::string source_ip;
  std::string result_code;  // empty for success
};

struct AuditQuery {
  std::string owner_uin;
  int64_t start_ms = 0;
  int64_t end_ms = std::numeric_limits<int64_t>::max();
  std::string action;      // empty: any
  std::string caller_uin;  // empty: any
  size_t offset = 0;
  size_t limit = 20;
};

class AuditLog {
 public:
  explicit AuditLog(store::Database& db) : db_(db) {}
  ~AuditLog() { Stop(); }
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  void Start();
  void Stop();  // stores every queued record, then ends the writer
  void Record(const AuditRecord& record);
  // Stores what is queued now (a query calls it so the caller sees its latest calls).
  Status Flush();
  // Newest first; the total is of all matching records.
  Result<std::pair<int64_t, std::vector<AuditRecord>>> Find(const AuditQuery& query);

 private:
  void WriterLoop();

  // Records waiting for the writer, already in their stored form: one row of an account's
  // records, a JSON array still missing its closing bracket.
  struct PendingRow {
    std::string owner_uin;
    std::string records;
    size_t count = 0;
    int64_t first_ms = 0, last_ms = 0;
  };

  static constexpr size_t kMaxQueued = 100000;
  store::Database& db_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<PendingRow> open_;  // one per account, still taking records
  std::vector<PendingRow> full_;  // closed at the row size
  size_t queued_ = 0;             // records in both
  bool stopping_ = false;
  uint64_t dropped_ = 0;
  std::mutex write_mu_;  // one batch at a time keeps records in order
  std::thread writer_;
};

}  // namespace cvm::iam
