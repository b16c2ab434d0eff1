// The audit log: one record per API call (who, for which account, what, on which resources,
// from where, with what result). Recording sits on every request's path, so Record() only
// serializes and queues; a writer thread stores the queue in one transaction every few hundred
// milliseconds (or 512 records), and Stop() stores whatever is left, so a clean shutdown loses
// nothing.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <limits>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "iam/visibility.h"
#include "store/audit_records.h"
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
  // Which records the reader may see: a record is seen as the user who made it (kind
  // kCamUser, the caller's uin). Default: none.
  Visibility visible;
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
  // Records waiting for the writer, of one account, already in their stored form (serialized on
  // the request's thread): their JSON back to back, and where each ends and when it was made.
  struct Pending {
    struct Mark {
      int64_t time_ms;
      size_t end;
    };
    std::string owner_uin;
    std::string text;
    std::vector<Mark> marks;
  };
  // Record() queues into the shard of its thread. One queue for all made the request threads
  // (one per core) take turns on its lock and append to the same buffer, so those cache lines
  // moved between the cores on every request; a shard's lock is taken by the writer only once
  // per flush.
  struct alignas(64) Shard {
    std::mutex mu;
    std::vector<Pending> accounts;
    size_t count = 0;
  };
  // A stored row: up to kRecordsPerRow records of one account, oldest first.
  using Row = store::AuditBatch;
  static constexpr size_t kShards = 8;
  static constexpr size_t kMaxQueued = 100000;  // per shard, with the rows awaiting a retry

  void WriterLoop();
  // Merges the shards' records of each account by time and cuts them into rows.
  static void Pack(std::vector<Pending>& taken, std::vector<Row>& rows);

  store::Database& db_;
  std::array<Shard, kShards> shards_;
  std::mutex mu_;  // guards stopping_ and wake_
  std::condition_variable cv_;
  bool stopping_ = false;
  bool wake_ = false;
  std::atomic<uint64_t> dropped_{0};
  std::mutex write_mu_;        // one flush at a time keeps rows in order; guards unstored_
  std::vector<Row> unstored_;  // rows a failed flush could not store, stored first next time
  std::atomic<size_t> unstored_records_{0};
  std::thread writer_;
};

}  // namespace cvm::iam
