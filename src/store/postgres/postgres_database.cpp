#include "store/postgres/postgres_database.h"

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <mutex>
#include <set>
#include <unordered_map>
#include <vector>

#include "common/best_effort.h"
#include "common/error_codes.h"
#include "store/migrations.h"

namespace cvm::store {
namespace {

// Advisory lock keys (any two fixed numbers of our own): one held by the writing transaction,
// one by the process applying migrations.
constexpr int64_t kWriterLock = 0x6f70656e63766d01;
constexpr int64_t kMigrationLock = 0x6f70656e63766d02;

// Type OIDs of the result columns read as numbers (pg_type.h).
constexpr Oid kBoolOid = 16, kInt8Oid = 20, kInt2Oid = 21, kInt4Oid = 23, kOidOid = 26,
              kFloat4Oid = 700, kFloat8Oid = 701, kNumericOid = 1700;

using ResultPtr = std::unique_ptr<PGresult, decltype(&PQclear)>;

Status PgError(std::string_view what, const std::string& detail) {
  return Status(err::kInternalError, "database: " + std::string(what) + ": " + detail);
}

std::string ErrorOf(PGconn* conn, const PGresult* res) {
  std::string msg = res ? PQresultErrorMessage(res) : "";
  if (msg.empty()) msg = PQerrorMessage(conn);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  if (const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr) {
    msg += std::string(" (SQLSTATE ") + state + ")";
  }
  return msg;
}

Value ColumnValue(const PGresult* res, int row, int col) {
  if (PQgetisnull(res, row, col)) return nullptr;
  const char* text = PQgetvalue(res, row, col);
  const int len = PQgetlength(res, row, col);
  switch (PQftype(res, col)) {
    case kBoolOid:
      return int64_t{text[0] == 't' ? 1 : 0};
    case kInt2Oid:
    case kInt4Oid:
    case kInt8Oid:
    case kOidOid:
    case kNumericOid: {
      int64_t v = 0;
      auto [end, ec] = std::from_chars(text, text + len, v);
      if (ec == std::errc() && end == text + len) return v;
      return std::strtod(text, nullptr);  // a numeric with a fraction
    }
    case kFloat4Oid:
    case kFloat8Oid:
      return std::strtod(text, nullptr);
    default:
      return std::string(text, len);
  }
}

// One connection with the statements it has prepared. Not thread-safe: owners serialize use.
class Connection {
 public:
  ~Connection() {
    if (conn_) PQfinish(conn_);
  }

  Status Open(const std::string& url) {
    conn_ = PQconnectdb(url.c_str());
    if (PQstatus(conn_) != CONNECTION_OK) return PgError("connect", PQerrorMessage(conn_));
    // Notices (such as "relation already exists, skipping") are not errors; keep them off stderr.
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
    return Status::Ok();
  }

  bool Broken() const { return PQstatus(conn_) != CONNECTION_OK; }

  // Runs one or more statements with no parameters (simple protocol).
  Status ExecScript(std::string_view sql) {
    ResultPtr res(PQexec(conn_, std::string(sql).c_str()), &PQclear);
    auto st = PQresultStatus(res.get());
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      return PgError("exec", ErrorOf(conn_, res.get()));
    }
    return Status::Ok();
  }

  Result<Rows> Query(std::string_view sql, const std::vector<Value>& params) {
    auto name = Prepared(sql);
    if (!name.ok()) return name.status();
    std::vector<std::string> text(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    for (size_t i = 0; i < params.size(); ++i) {
      const Value& v = params[i];
      if (std::holds_alternative<std::nullptr_t>(v)) continue;
      if (auto p = std::get_if<int64_t>(&v)) {
        text[i] = std::to_string(*p);
      } else if (auto d = std::get_if<double>(&v)) {
        char buf[32];
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, *d);
        text[i] = ec == std::errc() ? std::string(buf, end) : "NaN";
      } else {
        const auto& s = std::get<std::string>(v);
        // PostgreSQL text cannot hold NUL; say so instead of silently cutting the value.
        if (s.find('\0') != std::string::npos) {
          return Status(err::kInternalError, "database: a text value holds a NUL byte");
        }
        values[i] = s.c_str();
        continue;
      }
      values[i] = text[i].c_str();
    }
    ResultPtr res(PQexecPrepared(conn_, name->c_str(), static_cast<int>(params.size()),
                                 values.data(), nullptr, nullptr, 0),
                  &PQclear);
    auto st = PQresultStatus(res.get());
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      return PgError("query", ErrorOf(conn_, res.get()));
    }
    const char* changed = PQcmdTuples(res.get());
    changes_ = (changed && *changed) ? std::strtoll(changed, nullptr, 10) : 0;
    Rows rows;
    const int n = PQntuples(res.get()), cols = PQnfields(res.get());
    rows.reserve(n);
    for (int r = 0; r < n; ++r) {
      Row row;
      row.columns.reserve(cols);
      for (int c = 0; c < cols; ++c) row.columns.push_back(ColumnValue(res.get(), r, c));
      rows.push_back(std::move(row));
    }
    return rows;
  }

  int64_t Changes() const { return changes_; }

 private:
  // The name under which `sql` is prepared on this connection, preparing it the first time.
  // Parameter types are left for the server to infer from where each parameter is used.
  Result<std::string> Prepared(std::string_view sql) {
    auto key = std::string(sql);
    if (auto it = prepared_.find(key); it != prepared_.end()) return it->second;
    std::string name = "s" + std::to_string(prepared_.size());
    ResultPtr res(PQprepare(conn_, name.c_str(), NumberParameters(sql).c_str(), 0, nullptr),
                  &PQclear);
    if (PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
      return PgError("prepare", ErrorOf(conn_, res.get()) + " in: " + key);
    }
    prepared_.emplace(std::move(key), name);
    return name;
  }

  PGconn* conn_ = nullptr;
  std::unordered_map<std::string, std::string> prepared_;
  int64_t changes_ = 0;
};

class PostgresDatabase;

class PostgresTransaction : public Transaction {
 public:
  PostgresTransaction(PostgresDatabase& db, std::unique_ptr<Connection> conn,
                      std::unique_lock<std::mutex> lock)
      : db_(db), conn_(std::move(conn)), lock_(std::move(lock)) {}
  ~PostgresTransaction() override;
  Status Exec(std::string_view sql, const std::vector<Value>& params) override {
    auto rows = conn_->Query(sql, params);
    return rows.ok() ? Status::Ok() : rows.status();
  }
  Result<Rows> Query(std::string_view sql, const std::vector<Value>& params) override {
    return conn_->Query(sql, params);
  }
  int64_t ChangedRows() override { return conn_->Changes(); }
  Status Commit() override {
    Status st = conn_->ExecScript("COMMIT");
    if (st.ok()) done_ = true;
    return st;
  }

 private:
  PostgresDatabase& db_;
  std::unique_ptr<Connection> conn_;
  std::unique_lock<std::mutex> lock_;
  bool done_ = false;
};

class PostgresDatabase : public Database {
 public:
  explicit PostgresDatabase(std::string url) : url_(std::move(url)) {}

  Status Init() {
    auto conn = Acquire();
    if (!conn.ok()) return conn.status();
    Status st = Migrate(**conn);
    Release(std::move(*conn));
    return st;
  }

  Result<std::unique_ptr<Transaction>> Begin() override {
    std::unique_lock lock(writer_mu_);
    // A pooled connection may have died with the server's restart; one fresh try.
    for (int attempt = 0;; ++attempt) {
      auto conn = Acquire();
      if (!conn.ok()) return conn.status();
      Status st = (*conn)->ExecScript("BEGIN");
      if (st.ok()) {
        st = (*conn)->ExecScript("SELECT pg_advisory_xact_lock(" + std::to_string(kWriterLock) +
                                 ")");
      }
      if (st.ok()) {
        return std::unique_ptr<Transaction>(
            new PostgresTransaction(*this, std::move(*conn), std::move(lock)));
      }
      bool broken = (*conn)->Broken();
      if (!broken) BestEffort((*conn)->ExecScript("ROLLBACK"), "ROLLBACK");
      Release(std::move(*conn));
      if (!broken || attempt > 0) return st;
    }
  }

  Result<Rows> Query(std::string_view sql, const std::vector<Value>& params) override {
    for (int attempt = 0;; ++attempt) {
      auto conn = Acquire();
      if (!conn.ok()) return conn.status();
      auto rows = (*conn)->Query(sql, params);
      bool broken = (*conn)->Broken();
      Release(std::move(*conn));
      if (rows.ok() || !broken || attempt > 0) return rows;
    }
  }

  std::string_view BackendName() const override { return "postgresql"; }

  Result<std::vector<TableShape>> Tables() override {
    auto rows = Query(
        "SELECT c.table_name, c.column_name, c.is_identity FROM information_schema.columns c "
        "JOIN information_schema.tables t ON t.table_schema = c.table_schema AND "
        "t.table_name = c.table_name WHERE c.table_schema = current_schema() AND "
        "t.table_type = 'BASE TABLE' AND c.table_name != 'schema_migrations' "
        "ORDER BY c.table_name, c.ordinal_position",
        {});
    if (!rows.ok()) return rows.status();
    std::vector<TableShape> out;
    for (const Row& r : *rows) {
      if (out.empty() || out.back().name != r.Str(0)) out.push_back(TableShape{.name = r.Str(0)});
      TableShape& t = out.back();
      t.columns.push_back(r.Str(1));
      if (r.Str(1) == "rowid") t.has_rowid = true;
      if (r.Str(2) == "YES") t.identities.push_back(r.Str(1));
    }
    auto fks = Query(
        "SELECT DISTINCT c.conrelid::regclass::text, c.confrelid::regclass::text "
        "FROM pg_constraint c WHERE c.contype = 'f' AND "
        "c.connamespace = current_schema()::regnamespace",
        {});
    if (!fks.ok()) return fks.status();
    for (const Row& r : *fks) {
      for (TableShape& t : out) {
        if (t.name == r.Str(0)) t.parents.push_back(r.Str(1));
      }
    }
    return out;
  }

  Result<std::unique_ptr<Connection>> Acquire() {
    {
      std::lock_guard lock(pool_mu_);
      if (!idle_.empty()) {
        auto c = std::move(idle_.back());
        idle_.pop_back();
        return c;
      }
    }
    auto c = std::make_unique<Connection>();
    CVM_RETURN_IF_ERROR(c->Open(url_));
    return c;
  }

  // Returns a connection to the pool, or drops it when it broke or the pool is full.
  void Release(std::unique_ptr<Connection> c) {
    if (c->Broken()) return;
    std::lock_guard lock(pool_mu_);
    if (idle_.size() < 16) idle_.push_back(std::move(c));
  }

 private:
  Status Migrate(Connection& conn) {
    // Session-level: held across the migrations' own transactions, released below.
    CVM_RETURN_IF_ERROR(
        conn.ExecScript("SELECT pg_advisory_lock(" + std::to_string(kMigrationLock) + ")"));
    Status st = ApplyMigrations(conn);
    Status unlocked =
        conn.ExecScript("SELECT pg_advisory_unlock(" + std::to_string(kMigrationLock) + ")");
    return st.ok() ? unlocked : st;
  }

  Status ApplyMigrations(Connection& conn) {
    CVM_RETURN_IF_ERROR(
        conn.ExecScript("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, "
                        "name TEXT NOT NULL, applied_at BIGINT NOT NULL)"));
    auto applied = conn.Query("SELECT version FROM schema_migrations", {});
    if (!applied.ok()) return applied.status();
    std::set<int64_t> done;
    for (const Row& r : *applied) done.insert(r.Int(0));
    const bool fresh = done.empty();
    for (const Migration& m : AllMigrations()) {
      if (done.count(m.version)) continue;
      std::string_view script = m.postgres;
      if (m.version <= kPostgresBaselineVersion) {
        if (!fresh) {
          return Status(err::kInternalError,
                        "database: migration " + std::to_string(m.version) +
                            " is missing from a PostgreSQL schema that has others");
        }
        // The baseline creates everything up to its version; it runs with the last of them.
        script = m.version == kPostgresBaselineVersion ? PostgresBaseline() : std::string_view();
      } else if (script.empty()) {
        return Status(err::kInternalError, "database: migration " + std::to_string(m.version) +
                                               " has no PostgreSQL text");
      }
      CVM_RETURN_IF_ERROR(conn.ExecScript("BEGIN"));
      Status st = script.empty() ? Status::Ok() : conn.ExecScript(script);
      if (st.ok()) {
        auto rec = conn.Query(
            "INSERT INTO schema_migrations(version, name, applied_at) "
            "VALUES (?, ?, CAST(EXTRACT(EPOCH FROM now()) AS BIGINT))",
            {int64_t{m.version}, std::string(m.name)});
        if (!rec.ok()) st = rec.status();
      }
      if (!st.ok()) {
        BestEffort(conn.ExecScript("ROLLBACK"), "ROLLBACK");
        return Status(st.code(), "migration " + std::to_string(m.version) + ": " + st.message());
      }
      CVM_RETURN_IF_ERROR(conn.ExecScript("COMMIT"));
    }
    return Status::Ok();
  }

  std::string url_;
  std::mutex writer_mu_;  // one writer per process; the advisory lock orders the processes
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

PostgresTransaction::~PostgresTransaction() {
  // The advisory lock is transaction-scoped: COMMIT or ROLLBACK releases it.
  if (!done_ && !conn_->Broken()) BestEffort(conn_->ExecScript("ROLLBACK"), "ROLLBACK");
  db_.Release(std::move(conn_));
}

}  // namespace

std::string NumberParameters(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  int highest = 0;
  char quote = 0;  // ' or " while inside quoted text
  for (size_t i = 0; i < sql.size(); ++i) {
    char c = sql[i];
    if (quote) {
      out += c;
      if (c == quote) quote = 0;  // a doubled quote closes and reopens: same result
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      out += c;
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      size_t end = sql.find('\n', i);
      if (end == std::string_view::npos) end = sql.size();
      out.append(sql.substr(i, end - i));
      i = end - 1;
    } else if (c == '?') {
      // As SQLite numbers them: ?N is N, a bare ? is one more than the highest so far.
      size_t j = i + 1;
      int n = 0;
      while (j < sql.size() && sql[j] >= '0' && sql[j] <= '9') n = n * 10 + (sql[j++] - '0');
      if (j == i + 1) n = highest + 1;
      highest = std::max(highest, n);
      out += '$' + std::to_string(n);
      i = j - 1;
    } else {
      out += c;
    }
  }
  return out;
}

Result<std::unique_ptr<Database>> OpenPostgresDatabase(const std::string& url) {
  auto db = std::make_unique<PostgresDatabase>(url);
  CVM_RETURN_IF_ERROR(db->Init());
  return std::unique_ptr<Database>(std::move(db));
}

}  // namespace cvm::store
