#include "store/store_copy.h"

#include <algorithm>
#include <set>

#include "common/error_codes.h"

namespace cvm::store {
namespace {

// Kept by triggers on the tables they count: copying the counted rows rebuilds them.
const std::set<std::string> kDerivedTables = {"instance_counts"};

// Parents before children, so every foreign key finds its row.
Result<std::vector<TableShape>> CopyOrder(std::vector<TableShape> tables) {
  std::vector<TableShape> ordered;
  std::set<std::string> placed;
  while (!tables.empty()) {
    auto ready = std::find_if(tables.begin(), tables.end(), [&](const TableShape& t) {
      return std::all_of(t.parents.begin(), t.parents.end(),
                         [&](const std::string& p) { return p == t.name || placed.count(p); });
    });
    if (ready == tables.end()) {
      return Status(err::kInternalError,
                    "store copy: the foreign keys of " + tables.front().name + " form a cycle");
    }
    placed.insert(ready->name);
    ordered.push_back(std::move(*ready));
    tables.erase(ready);
  }
  return ordered;
}

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

Result<CopyReport> CopyStore(Database& from, Database& to) {
  auto source_tables = from.Tables();
  if (!source_tables.ok()) return source_tables.status();
  auto dest_tables = to.Tables();
  if (!dest_tables.ok()) return dest_tables.status();
  auto order = CopyOrder(std::move(*dest_tables));
  if (!order.ok()) return order.status();

  CopyReport report;
  Status st = WithTransaction(to, [&](Transaction& tx) -> Status {
    auto accounts = tx.Query("SELECT COUNT(*) FROM accounts");
    if (!accounts.ok()) return accounts.status();
    if ((*accounts)[0].Int(0) != 0) {
      return Status(err::kInvalidParameter,
                    "store copy: the destination already holds accounts; copy only into a new, "
                    "empty store");
    }
    for (const TableShape& dest : *order) {
      if (kDerivedTables.count(dest.name)) continue;
      auto source = std::find_if(source_tables->begin(), source_tables->end(),
                                 [&](const TableShape& t) { return t.name == dest.name; });
      if (source == source_tables->end()) {
        return Status(err::kInternalError, "store copy: the source has no table " + dest.name +
                                               "; are both at the same version?");
      }
      // The destination's columns, read from the source by name. An explicit rowid column is
      // filled from SQLite's implicit one, keeping the listing order.
      std::vector<std::string> columns = dest.columns;
      for (const auto& c : columns) {
        bool in_source = c == "rowid" ? source->has_rowid
                                      : std::find(source->columns.begin(), source->columns.end(),
                                                  c) != source->columns.end();
        if (!in_source) {
          return Status(err::kInternalError,
                        "store copy: the source's " + dest.name + " has no column " + c);
        }
      }
      auto rows = from.Query("SELECT " + Join(columns) + " FROM " + dest.name +
                             (source->has_rowid ? " ORDER BY rowid" : ""));
      if (!rows.ok()) return rows.status();
      const std::string insert =
          "INSERT INTO " + dest.name + "(" + Join(columns) + ") VALUES " + InList(columns.size());
      for (const Row& r : *rows) CVM_RETURN_IF_ERROR(tx.Exec(insert, r.columns));
      report.rows[dest.name] = static_cast<int64_t>(rows->size());
      // Numbering continues after the copied values, as it would have in the source.
      for (const auto& id : dest.identities) {
        auto next = tx.Query("SELECT setval(pg_get_serial_sequence(?, ?), COALESCE(MAX(" + id +
                                 "), 0) + 1, false) FROM " + dest.name,
                             {dest.name, id});
        if (!next.ok()) return next.status();
      }
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return report;
}

}  // namespace cvm::store
