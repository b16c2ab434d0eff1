#include "store/sqlite/sqlite_database.h"

#include <sqlite3.h>

#include <mutex>
#include <set>
#include <unordered_map>

#include "common/best_effort.h"
#include "common/error_codes.h"
#include "store/migrations.h"

namespace cvm::store {
namespace {

Status SqliteError(sqlite3* db, std::string_view what) {
  return Status(err::kInternalError,
                std::string("database: ") + std::string(what) + ": " + sqlite3_errmsg(db));
}

// One SQLite connection with its statement cache. Not thread-safe: owners serialize use.
class Connection {
 public:
  ~Connection() {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    if (db_) sqlite3_close_v2(db_);
  }

  Status Open(const std::filesystem::path& path, bool read_only) {
    int flags = SQLITE_OPEN_NOMUTEX |
                (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
      return SqliteError(db_, "open " + path.string());
    }
    sqlite3_busy_timeout(db_, 5000);
    const char* pragmas = read_only ? "PRAGMA foreign_keys=ON;"
                                    : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                                      "PRAGMA foreign_keys=ON;";
    return ExecScript(pragmas);
  }

  Status ExecScript(std::string_view sql) {
    char* msg = nullptr;
    if (sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
      Status st(err::kInternalError, std::string("database: ") + (msg ? msg : "exec failed"));
      sqlite3_free(msg);
      return st;
    }
    return Status::Ok();
  }

  Result<sqlite3_stmt*> Prepare(std::string_view sql, const std::vector<Value>& params) {
    auto key = std::string(sql);
    sqlite3_stmt* stmt = nullptr;
    if (auto it = cache_.find(key); it != cache_.end()) {
      stmt = it->second;
      sqlite3_reset(stmt);
      sqlite3_clear_bindings(stmt);
    } else {
      if (sqlite3_prepare_v3(db_, key.c_str(), static_cast<int>(key.size()),
                             SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) {
        return SqliteError(db_, "prepare");
      }
      cache_.emplace(std::move(key), stmt);
    }
    for (size_t i = 0; i < params.size(); ++i) {
      int idx = static_cast<int>(i) + 1;
      const Value& v = params[i];
      int rc = SQLITE_OK;
      if (std::holds_alternative<std::nullptr_t>(v)) {
        rc = sqlite3_bind_null(stmt, idx);
      } else if (auto p = std::get_if<int64_t>(&v)) {
        rc = sqlite3_bind_int64(stmt, idx, *p);
      } else if (auto d = std::get_if<double>(&v)) {
        rc = sqlite3_bind_double(stmt, idx, *d);
      } else {
        const auto& s = std::get<std::string>(v);
        // STATIC: `params` outlives every step of this statement (Query steps it to the end and
        // resets it before returning), so SQLite need not copy each string.
        rc = sqlite3_bind_text(stmt, idx, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
      }
      if (rc != SQLITE_OK) return SqliteError(db_, "bind");
    }
    return stmt;
  }

  Result<Rows> Query(std::string_view sql, const std::vector<Value>& params) {
    auto stmt = Prepare(sql, params);
    if (!stmt.ok()) return stmt.status();
    Rows rows;
    int n = sqlite3_column_count(*stmt);
    for (;;) {
      int rc = sqlite3_step(*stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) {
        sqlite3_reset(*stmt);
        return SqliteError(db_, "step");
      }
      Row row;
      row.columns.reserve(n);
      for (int c = 0; c < n; ++c) {
        switch (sqlite3_column_type(*stmt, c)) {
          case SQLITE_NULL:
            row.columns.emplace_back(nullptr);
            break;
          case SQLITE_INTEGER:
            row.columns.emplace_back(static_cast<int64_t>(sqlite3_column_int64(*stmt, c)));
            break;
          case SQLITE_FLOAT:
            row.columns.emplace_back(sqlite3_column_double(*stmt, c));
            break;
          default: {
            auto p = reinterpret_cast<const char*>(sqlite3_column_text(*stmt, c));
            row.columns.emplace_back(std::string(p, sqlite3_column_bytes(*stmt, c)));
          }
        }
      }
      rows.push_back(std::move(row));
    }
    sqlite3_reset(*stmt);
    return rows;
  }

  Status Exec(std::string_view sql, const std::vector<Value>& params) {
    auto rows = Query(sql, params);
    return rows.ok() ? Status::Ok() : rows.status();
  }

  int64_t Changes() { return sqlite3_changes64(db_); }

 private:
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

class SqliteTransaction : public Transaction {
 public:
  SqliteTransaction(Connection& conn, std::unique_lock<std::mutex> lock)
      : conn_(conn), lock_(std::move(lock)) {}
  ~SqliteTransaction() override {
    if (!done_) BestEffort(conn_.ExecScript("ROLLBACK"), "ROLLBACK");
  }
  Status Exec(std::string_view sql, const std::vector<Value>& params) override {
    return conn_.Exec(sql, params);
  }
  Result<Rows> Query(std::string_view sql, const std::vector<Value>& params) override {
    return conn_.Query(sql, params);
  }
  int64_t ChangedRows() override { return conn_.Changes(); }
  Status Commit() override {
    Status st = conn_.ExecScript("COMMIT");
    if (st.ok()) done_ = true;
    return st;
  }

 private:
  Connection& conn_;
  std::unique_lock<std::mutex> lock_;
  bool done_ = false;
};

class SqliteDatabase : public Database {
 public:
  explicit SqliteDatabase(std::filesystem::path path) : path_(std::move(path)) {}

  Status Init() {
    CVM_RETURN_IF_ERROR(writer_.Open(path_, false));
    return Migrate();
  }

  Result<std::unique_ptr<Transaction>> Begin() override {
    std::unique_lock lock(writer_mu_);
    // IMMEDIATE takes the write lock now, so a transaction never fails half-way on a busy db.
    CVM_RETURN_IF_ERROR(writer_.ExecScript("BEGIN IMMEDIATE"));
    return std::unique_ptr<Transaction>(new SqliteTransaction(writer_, std::move(lock)));
  }

  Result<Rows> Query(std::string_view sql, const std::vector<Value>& params) override {
    std::unique_ptr<Connection> conn = AcquireReader();
    if (!conn) return Status(err::kInternalError, "database: cannot open a reader connection");
    auto rows = conn->Query(sql, params);
    ReleaseReader(std::move(conn));
    return rows;
  }

  std::string_view BackendName() const override { return "sqlite"; }

  Result<std::vector<TableShape>> Tables() override {
    auto rows = Query(
        "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p WHERE "
        "m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name != 'schema_migrations' "
        "ORDER BY m.name, p.cid",
        {});
    if (!rows.ok()) return rows.status();
    std::vector<TableShape> out;
    for (const Row& r : *rows) {
      if (out.empty() || out.back().name != r.Str(0)) {
        out.push_back(TableShape{.name = r.Str(0), .has_rowid = true});
      }
      out.back().columns.push_back(r.Str(1));
    }
    for (TableShape& t : out) {
      auto fks = Query("SELECT DISTINCT \"table\" FROM pragma_foreign_key_list(?)", {t.name});
      if (!fks.ok()) return fks.status();
      for (const Row& r : *fks) t.parents.push_back(r.Str(0));
    }
    return out;
  }

 private:
  std::unique_ptr<Connection> AcquireReader() {
    {
      std::lock_guard lock(pool_mu_);
      if (!readers_.empty()) {
        auto c = std::move(readers_.back());
        readers_.pop_back();
        return c;
      }
    }
    auto c = std::make_unique<Connection>();
    if (!c->Open(path_, true).ok()) return nullptr;
    return c;
  }
  void ReleaseReader(std::unique_ptr<Connection> c) {
    std::lock_guard lock(pool_mu_);
    if (readers_.size() < 16) readers_.push_back(std::move(c));
  }

  Status Migrate() {
    CVM_RETURN_IF_ERROR(writer_.ExecScript(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
        "name TEXT NOT NULL, applied_at INTEGER NOT NULL)"));
    auto applied = writer_.Query("SELECT version FROM schema_migrations", {});
    if (!applied.ok()) return applied.status();
    // Versions are claimed by parallel work and may land out of order, so each migration is
    // applied unless its own version is recorded (not "anything above the highest").
    std::set<int64_t> done;
    for (const Row& r : *applied) done.insert(r.Int(0));
    for (const Migration& m : AllMigrations()) {
      if (done.count(m.version)) continue;
      CVM_RETURN_IF_ERROR(writer_.ExecScript("BEGIN IMMEDIATE"));
      Status st = writer_.ExecScript(m.sql);
      if (st.ok()) {
        st = writer_.Exec(
            "INSERT INTO schema_migrations(version, name, applied_at) "
            "VALUES (?, ?, strftime('%s','now'))",
            {int64_t{m.version}, std::string(m.name)});
      }
      if (!st.ok()) {
        BestEffort(writer_.ExecScript("ROLLBACK"), "ROLLBACK");
        return Status(st.code(), "migration " + std::to_string(m.version) + ": " + st.message());
      }
      CVM_RETURN_IF_ERROR(writer_.ExecScript("COMMIT"));
    }
    return Status::Ok();
  }

  std::filesystem::path path_;
  std::mutex writer_mu_;
  Connection writer_;
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<Connection>> readers_;
};

}  // namespace

Result<std::unique_ptr<Database>> OpenSqliteDatabase(const std::filesystem::path& path) {
  auto db = std::make_unique<SqliteDatabase>(path);
  CVM_RETURN_IF_ERROR(db->Init());
  return std::unique_ptr<Database>(std::move(db));
}

}  // namespace cvm::store
