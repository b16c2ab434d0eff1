#include "iam/audit_log.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

namespace cvm::iam {
namespace {

constexpr int kWriterNice = 5;
constexpr auto kFlushInterval = std::chrono::milliseconds(200);
constexpr size_t kBatchWake = 512;
// Many rows per INSERT: one statement step instead of one per call (7 -> ~2 µs a record).
constexpr size_t kRowsPerInsert = 64;

// The statement for `rows` rows; the full-size one is built once.
std::string InsertSql(size_t rows) {
  auto build = [](size_t n) {
    std::string sql =
        "INSERT INTO audit_log(time_ms, request_id, owner_uin, caller_uin, secret_id, service, "
        "action, region, resources, source_ip, result_code) VALUES ";
    for (size_t i = 0; i < n; ++i)
      sql += i ? ",(?,?,?,?,?,?,?,?,?,?,?)" : "(?,?,?,?,?,?,?,?,?,?,?)";
    return sql;
  };
  static const std::string kFull = build(kRowsPerInsert);
  return rows == kRowsPerInsert ? kFull : build(rows);
}

std::string ResourcesJson(const std::vector<std::string>& ids) {
  if (ids.empty()) return "[]";
  return nlohmann::json(ids).dump();
}

}  // namespace

void AuditLog::Start() {
  std::lock_guard lock(mu_);
  if (writer_.joinable()) return;
  stopping_ = false;
  writer_ = std::thread([this] { WriterLoop(); });
}

void AuditLog::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (auto st = Flush(); !st.ok()) spdlog::error("audit log: {}", st.ToString());
}

void AuditLog::Record(AuditRecord record) {
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= kMaxQueued) {
      // The store is not keeping up; dropping is better than growing without bound.
      if (dropped_++ % 10000 == 0) spdlog::warn("audit log: queue full, records dropped");
      return;
    }
    queue_.push_back(std::move(record));
    wake = queue_.size() >= kBatchWake;
  }
  if (wake) cv_.notify_one();
}

void AuditLog::WriterLoop() {
  // Storing a batch is a few milliseconds of CPU at once; at a lower priority it fills idle time
  // instead of pre-empting the threads answering requests (whose tail latency it otherwise is).
  // It still gets a share under full load, so the queue drains.
  if (::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), kWriterNice) != 0) {
    spdlog::debug("audit log: writer priority unchanged");
  }
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, kFlushInterval, [this] { return stopping_ || queue_.size() >= kBatchWake; });
    lock.unlock();
    if (auto st = Flush(); !st.ok()) spdlog::error("audit log: {}", st.ToString());
    lock.lock();
  }
}

Status AuditLog::Flush() {
  std::lock_guard write_lock(write_mu_);
  std::vector<AuditRecord> batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(queue_);
  }
  if (batch.empty()) return Status::Ok();
  Status st = store::WithTransaction(db_, [&](store::Transaction& tx) -> Status {
    std::vector<store::Value> values;
    for (size_t start = 0; start < batch.size(); start += kRowsPerInsert) {
      size_t rows = std::min(kRowsPerInsert, batch.size() - start);
      values.clear();
      for (size_t i = start; i < start + rows; ++i) {
        // Copied, not moved: a failed batch goes back to the queue whole.
        // (One emplace per column: an initializer list would copy every string twice.)
        const auto& r = batch[i];
        values.emplace_back(r.time_ms);
        for (const std::string* text : {&r.request_id, &r.owner_uin, &r.caller_uin, &r.secret_id,
                                        &r.service, &r.action, &r.region}) {
          values.emplace_back(*text);
        }
        values.emplace_back(ResourcesJson(r.resources));
        values.emplace_back(r.source_ip);
        values.emplace_back(r.result_code);
      }
      CVM_RETURN_IF_ERROR(tx.Exec(InsertSql(rows), values));
    }
    return Status::Ok();
  });
  if (!st.ok()) {
    // Put the batch back in front so a passing store error loses nothing.
    std::lock_guard lock(mu_);
    batch.insert(batch.end(), std::make_move_iterator(queue_.begin()),
                 std::make_move_iterator(queue_.end()));
    queue_.swap(batch);
  }
  return st;
}

Result<std::pair<int64_t, std::vector<AuditRecord>>> AuditLog::Find(const AuditQuery& q) {
  CVM_RETURN_IF_ERROR(Flush());
  std::string where =
      " FROM audit_log WHERE owner_uin = ? AND time_ms >= ? AND time_ms <= ? AND "
      "(? = '' OR action = ?) AND (? = '' OR caller_uin = ?)";
  std::vector<store::Value> args = {q.owner_uin, q.start_ms,   q.end_ms,    q.action,
                                    q.action,    q.caller_uin, q.caller_uin};
  auto count = db_.Query("SELECT COUNT(*)" + where, args);
  if (!count.ok()) return count.status();
  args.push_back(static_cast<int64_t>(q.limit));
  args.push_back(static_cast<int64_t>(q.offset));
  auto rows = db_.Query(
      "SELECT time_ms, request_id, owner_uin, caller_uin, secret_id, service, action, region, "
      "resources, source_ip, result_code" +
          where + " ORDER BY seq DESC LIMIT ? OFFSET ?",
      args);
  if (!rows.ok()) return rows.status();
  std::vector<AuditRecord> out;
  for (const auto& r : *rows) {
    AuditRecord a{r.Int(0), r.Str(1), r.Str(2), r.Str(3), r.Str(4), r.Str(5),
                  r.Str(6), r.Str(7), {},       r.Str(9), r.Str(10)};
    auto res = nlohmann::json::parse(r.Str(8), nullptr, false);
    if (res.is_array()) {
      for (const auto& x : res) {
        if (x.is_string()) a.resources.push_back(x.get<std::string>());
      }
    }
    out.push_back(std::move(a));
  }
  return std::make_pair((*count)[0].Int(0), std::move(out));
}

}  // namespace cvm::iam
