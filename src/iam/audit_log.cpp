#include "iam/audit_log.h"

#include <pthread.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>

#include "api/json_writer.h"

namespace cvm::iam {
namespace {

constexpr int kWriterNice = 5;
constexpr auto kFlushInterval = std::chrono::milliseconds(200);
constexpr size_t kBatchWake = 512;
// Records per stored row. A row per record cost ~3 µs of SQLite work each, a third of a signed
// request's CPU; packed, the store's share is a fraction of that. Bounded so a query decodes
// little more than the page it needs.
constexpr size_t kRecordsPerRow = 1024;

// The stored form of one record, oldest first within a row: [time_ms, request_id, caller_uin,
// secret_id, service, action, region, [resources...], source_ip, result_code]. The owner is the
// row's column.
void WriteRecord(api::JsonWriter& w, const AuditRecord& r) {
  w.BeginArray().Int(r.time_ms).String(r.request_id).String(r.caller_uin).String(r.secret_id);
  w.String(r.service).String(r.action).String(r.region).BeginArray();
  for (const auto& id : r.resources) w.String(id);
  w.EndArray().String(r.source_ip).String(r.result_code).EndArray();
}

std::optional<AuditRecord> ReadRecord(const nlohmann::json& j, const std::string& owner_uin) {
  if (!j.is_array() || j.size() != 10 || !j[0].is_number_integer() || !j[7].is_array()) {
    return std::nullopt;
  }
  auto text = [&](size_t i) { return j[i].is_string() ? j[i].get<std::string>() : std::string(); };
  AuditRecord r{j[0].get<int64_t>(),
                text(1),
                owner_uin,
                text(2),
                text(3),
                text(4),
                text(5),
                text(6),
                {},
                text(8),
                text(9)};
  for (const auto& id : j[7]) {
    if (id.is_string()) r.resources.push_back(id.get<std::string>());
  }
  return r;
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

void AuditLog::Record(const AuditRecord& record) {
  // Serialized here, on the request's thread, and appended to the account's pending row: the
  // writer then only stores text, and no record's strings are freed on another thread than the
  // one that made them (glibc frees another thread's memory the slow way; that cost more than
  // the serialization).
  thread_local api::JsonWriter w;
  w.Clear();
  WriteRecord(w, record);
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    if (queued_ >= kMaxQueued) {
      // The store is not keeping up; dropping is better than growing without bound.
      if (dropped_++ % 10000 == 0) spdlog::warn("audit log: queue full, records dropped");
      return;
    }
    auto row = std::find_if(open_.begin(), open_.end(),
                            [&](const PendingRow& r) { return r.owner_uin == record.owner_uin; });
    if (row == open_.end()) {
      row = open_.insert(open_.end(), {record.owner_uin, "[", 0, record.time_ms, record.time_ms});
    } else {
      row->records += ',';
    }
    row->records += w.str();
    row->first_ms = std::min(row->first_ms, record.time_ms);
    row->last_ms = std::max(row->last_ms, record.time_ms);
    if (++row->count == kRecordsPerRow) {
      full_.push_back(std::move(*row));
      open_.erase(row);
    }
    wake = ++queued_ == kBatchWake;
  }
  if (wake) cv_.notify_one();
}

void AuditLog::WriterLoop() {
  // Storing a batch is a few milliseconds of CPU at once; as a batch thread at a lower priority
  // it fills idle time instead of pre-empting the threads answering requests when it wakes
  // (their tail latency and a share of their cache). It still gets a share under full load, so
  // the queue drains.
  sched_param batch{};
  if (::pthread_setschedparam(::pthread_self(), SCHED_BATCH, &batch) != 0 ||
      ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), kWriterNice) != 0) {
    spdlog::debug("audit log: writer priority unchanged");
  }
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, kFlushInterval, [this] { return stopping_ || queued_ >= kBatchWake; });
    lock.unlock();
    if (auto st = Flush(); !st.ok()) spdlog::error("audit log: {}", st.ToString());
    lock.lock();
  }
}

Status AuditLog::Flush() {
  std::lock_guard write_lock(write_mu_);
  std::vector<PendingRow> rows;
  {
    std::lock_guard lock(mu_);
    rows.swap(full_);
    for (auto& r : open_) rows.push_back(std::move(r));
    open_.clear();
    queued_ = 0;
  }
  if (rows.empty()) return Status::Ok();
  for (auto& r : rows) r.records += ']';
  Status st = store::WithTransaction(db_, [&](store::Transaction& tx) -> Status {
    for (const auto& r : rows) {
      CVM_RETURN_IF_ERROR(
          tx.Exec("INSERT INTO audit_batches(owner_uin, first_ms, last_ms, record_count, records) "
                  "VALUES (?, ?, ?, ?, ?)",
                  {r.owner_uin, r.first_ms, r.last_ms, static_cast<int64_t>(r.count), r.records}));
    }
    return Status::Ok();
  });
  if (!st.ok()) {
    // Back in front, closed, so a passing store error loses nothing.
    std::lock_guard lock(mu_);
    for (auto& r : rows) {
      r.records.pop_back();
      queued_ += r.count;
    }
    rows.insert(rows.end(), std::make_move_iterator(full_.begin()),
                std::make_move_iterator(full_.end()));
    full_.swap(rows);
  }
  return st;
}

Result<std::pair<int64_t, std::vector<AuditRecord>>> AuditLog::Find(const AuditQuery& q) {
  CVM_RETURN_IF_ERROR(Flush());
  // Rows newest first; each row's records are then read newest first. Only rows holding part of
  // the page, or whose records need a filter to be counted, are decoded.
  auto rows = db_.Query(
      "SELECT id, first_ms, last_ms, record_count FROM audit_batches WHERE owner_uin = ? AND "
      "last_ms >= ? AND first_ms <= ? ORDER BY last_ms DESC, id DESC",
      {q.owner_uin, q.start_ms, q.end_ms});
  if (!rows.ok()) return rows.status();
  const bool filtered = !q.action.empty() || !q.caller_uin.empty();
  int64_t total = 0;
  std::vector<AuditRecord> page;
  for (const auto& row : *rows) {
    const int64_t count = row.Int(3);
    const bool all_match = !filtered && row.Int(1) >= q.start_ms && row.Int(2) <= q.end_ms;
    const bool touches_page =
        static_cast<size_t>(total) + static_cast<size_t>(count) > q.offset && page.size() < q.limit;
    if (all_match && !touches_page) {
      total += count;
      continue;
    }
    auto body = db_.Query("SELECT records FROM audit_batches WHERE id = ?", {row.Int(0)});
    if (!body.ok()) return body.status();
    if (body->empty()) continue;
    auto records = nlohmann::json::parse(body->front().Str(0), nullptr, false);
    if (!records.is_array()) continue;
    for (auto it = records.rbegin(); it != records.rend(); ++it) {
      auto r = ReadRecord(*it, q.owner_uin);
      if (!r || r->time_ms < q.start_ms || r->time_ms > q.end_ms) continue;
      if (!q.action.empty() && r->action != q.action) continue;
      if (!q.caller_uin.empty() && r->caller_uin != q.caller_uin) continue;
      if (static_cast<size_t>(total) >= q.offset && page.size() < q.limit) {
        page.push_back(std::move(*r));
      }
      ++total;
    }
  }
  return std::make_pair(total, std::move(page));
}

}  // namespace cvm::iam
