#include "iam/audit_log.h"

#include <pthread.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/json_writer.h"

namespace cvm::iam {
namespace {

constexpr int kWriterNice = 5;
constexpr auto kFlushInterval = std::chrono::milliseconds(200);
constexpr size_t kBatchWake = 512;
// Records per stored row. A row per record cost ~3 µs of SQLite work each, a third of a signed
// request's CPU; packed, the store's share is a fraction of that. Bounded so a query decodes
// little more than the page it needs.
constexpr size_t kRecordsPerRow = 1024;

std::atomic<size_t> next_shard{0};  // hands each thread its shard of every AuditLog

// The stored form of one record, oldest first within a row: [time_ms, request_id, caller_uin,
// secret_id, service, action, region, [resources...], source_ip, result_code]. The owner is the
// row's column.
void WriteRecord(JsonWriter& w, const AuditRecord& r) {
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
  // Serialized here, on the request's thread, and appended to its shard: the writer then only
  // stores text, and no record's strings are freed on another thread than the one that made
  // them (glibc frees another thread's memory the slow way; that cost more than the
  // serialization).
  thread_local JsonWriter w;
  thread_local const size_t shard_index = next_shard.fetch_add(1) % kShards;
  w.Clear();
  WriteRecord(w, record);
  Shard& shard = shards_[shard_index];
  bool wake = false;
  {
    std::lock_guard lock(shard.mu);
    if (shard.count + unstored_records_.load(std::memory_order_relaxed) >= kMaxQueued) {
      // The store is not keeping up; dropping is better than growing without bound.
      if (dropped_.fetch_add(1) % 10000 == 0)
        spdlog::warn("audit log: queue full, records dropped");
      return;
    }
    auto it = std::find_if(shard.accounts.begin(), shard.accounts.end(),
                           [&](const Pending& p) { return p.owner_uin == record.owner_uin; });
    if (it == shard.accounts.end()) {
      it = shard.accounts.insert(shard.accounts.end(), Pending{record.owner_uin, {}, {}});
    }
    it->text += w.str();
    it->marks.push_back({record.time_ms, it->text.size()});
    wake = ++shard.count == kBatchWake;
  }
  if (wake) {
    {
      std::lock_guard lock(mu_);
      wake_ = true;
    }
    cv_.notify_one();
  }
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
    // A failed store is retried at the next interval, not at once.
    cv_.wait_for(lock, kFlushInterval, [this] { return stopping_ || wake_; });
    wake_ = false;
    lock.unlock();
    if (auto st = Flush(); !st.ok()) spdlog::error("audit log: {}", st.ToString());
    lock.lock();
  }
}

void AuditLog::Pack(std::vector<Pending>& taken, std::vector<Row>& rows) {
  // Each shard's records of an account are in time order; merging them keeps a stored row's
  // records, and the rows of one flush, in time order too, which Find's paging relies on.
  std::stable_sort(taken.begin(), taken.end(),
                   [](const Pending& a, const Pending& b) { return a.owner_uin < b.owner_uin; });
  for (size_t first = 0; first < taken.size();) {
    size_t last = first;
    while (last < taken.size() && taken[last].owner_uin == taken[first].owner_uin) ++last;
    std::vector<size_t> next(last - first, 0);  // per shard: its next record
    Row row;
    for (;;) {
      size_t pick = SIZE_MAX;
      for (size_t i = first; i < last; ++i) {
        const size_t k = next[i - first];
        if (k < taken[i].marks.size() &&
            (pick == SIZE_MAX ||
             taken[i].marks[k].time_ms < taken[pick].marks[next[pick - first]].time_ms)) {
          pick = i;
        }
      }
      if (pick == SIZE_MAX) break;
      const Pending& p = taken[pick];
      const size_t k = next[pick - first]++;
      const size_t begin = k == 0 ? 0 : p.marks[k - 1].end;
      const int64_t time_ms = p.marks[k].time_ms;
      if (row.count == 0) {
        row = Row{p.owner_uin, "[", time_ms, time_ms, 0};
      } else {
        row.records += ',';
      }
      row.records.append(p.text, begin, p.marks[k].end - begin);
      row.last_ms = time_ms;  // merged in time order: the row's first record set first_ms
      if (++row.count == kRecordsPerRow) {
        row.records += ']';
        rows.push_back(std::move(row));
        row = Row{};
      }
    }
    if (row.count > 0) {
      row.records += ']';
      rows.push_back(std::move(row));
    }
    first = last;
  }
}

Status AuditLog::Flush() {
  std::lock_guard write_lock(write_mu_);
  std::vector<Pending> taken;
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    std::move(shard.accounts.begin(), shard.accounts.end(), std::back_inserter(taken));
    shard.accounts.clear();
    shard.count = 0;
  }
  std::vector<Row> rows = std::move(unstored_);  // a failed flush's rows go first
  unstored_.clear();
  Pack(taken, rows);
  if (rows.empty()) return Status::Ok();
  Status st = store::WithTransaction(db_, [&](store::Transaction& tx) -> Status {
    for (const auto& r : rows) CVM_RETURN_IF_ERROR(store::InsertAuditBatch(tx, r));
    return Status::Ok();
  });
  size_t unstored = 0;
  if (!st.ok()) {
    // Kept for the next flush, so a passing store error loses nothing.
    for (const auto& r : rows) unstored += r.count;
    unstored_ = std::move(rows);
  }
  unstored_records_.store(unstored, std::memory_order_relaxed);
  return st;
}

Result<std::pair<int64_t, std::vector<AuditRecord>>> AuditLog::Find(const AuditQuery& q) {
  CVM_RETURN_IF_ERROR(Flush());
  // Rows newest first; each row's records are then read newest first. Only rows holding part of
  // the page, or whose records need a filter to be counted, are decoded.
  auto rows = store::AuditBatchSpans(db_, q.owner_uin, q.start_ms, q.end_ms);
  if (!rows.ok()) return rows.status();
  const bool filtered = !q.action.empty() || !q.caller_uin.empty() || !q.visible.SeesAll();
  int64_t total = 0;
  std::vector<AuditRecord> page;
  for (const auto& row : *rows) {
    const int64_t count = row.count;
    const bool all_match = !filtered && row.first_ms >= q.start_ms && row.last_ms <= q.end_ms;
    const bool touches_page =
        static_cast<size_t>(total) + static_cast<size_t>(count) > q.offset && page.size() < q.limit;
    if (all_match && !touches_page) {
      total += count;
      continue;
    }
    auto body = store::AuditBatchRecords(db_, row.id);
    if (!body.ok()) return body.status();
    if (!body->has_value()) continue;
    auto records = nlohmann::json::parse(**body, nullptr, false);
    if (!records.is_array()) continue;
    for (auto it = records.rbegin(); it != records.rend(); ++it) {
      auto r = ReadRecord(*it, q.owner_uin);
      if (!r || r->time_ms < q.start_ms || r->time_ms > q.end_ms) continue;
      if (!q.action.empty() && r->action != q.action) continue;
      if (!q.caller_uin.empty() && r->caller_uin != q.caller_uin) continue;
      if (!q.visible.Sees(kind::kCamUser, r->caller_uin)) continue;
      if (static_cast<size_t>(total) >= q.offset && page.size() < q.limit) {
        page.push_back(std::move(*r));
      }
      ++total;
    }
  }
  return std::make_pair(total, std::move(page));
}

}  // namespace cvm::iam
