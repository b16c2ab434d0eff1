#include "store/tag_records.h"

#include <algorithm>
#include <set>

namespace cvm::store {

Result<std::optional<TaggableResource>> FindTaggableResource(Transaction& tx,
                                                             const std::string& owner_uin,
                                                             const std::string& service,
                                                             const std::string& prefix,
                                                             const std::string& resource_id) {
  auto rows = tx.Query(
      "SELECT region FROM taggable_resources "
      "WHERE resource_id = ? AND owner_uin = ? AND service = ? AND prefix = ?",
      {resource_id, owner_uin, service, prefix});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<TaggableResource>();
  return std::optional<TaggableResource>(
      TaggableResource{service, prefix, resource_id, rows->front().Str(0)});
}

Status SetTags(Transaction& tx, const std::string& owner_uin, const std::string& resource_id,
               const std::vector<TagPair>& tags, std::string_view limit_code) {
  // Counted before writing, so a refusal leaves the resource as it was even inside a larger
  // transaction that goes on with other resources.
  auto held = tx.Query("SELECT tag_key FROM tags WHERE resource_id = ?", {resource_id});
  if (!held.ok()) return held.status();
  std::set<std::string> keys;
  for (const auto& r : *held) keys.insert(r.Str(0));
  for (const auto& t : tags) keys.insert(t.key);
  if (keys.size() > kMaxTagsPerResource) {
    return Status(limit_code, "A resource carries at most " + std::to_string(kMaxTagsPerResource) +
                                  " tags; " + resource_id + " would carry " +
                                  std::to_string(keys.size()) + ".");
  }
  for (const auto& t : tags) {
    CVM_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO tags(resource_id, owner_uin, tag_key, tag_value) VALUES (?,?,?,?) "
                "ON CONFLICT(resource_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value",
                {resource_id, owner_uin, t.key, t.value}));
  }
  return Status::Ok();
}

Result<bool> HasTagKey(Transaction& tx, const std::string& resource_id, const std::string& key) {
  auto rows =
      tx.Query("SELECT 1 FROM tags WHERE resource_id = ? AND tag_key = ?", {resource_id, key});
  if (!rows.ok()) return rows.status();
  return !rows->empty();
}

Status RemoveTags(Transaction& tx, const std::string& resource_id,
                  const std::vector<std::string>& keys) {
  if (keys.empty()) return Status::Ok();
  std::vector<Value> args{resource_id};
  args.insert(args.end(), keys.begin(), keys.end());
  return tx.Exec("DELETE FROM tags WHERE resource_id = ? AND tag_key IN " + InList(keys.size()),
                 args);
}

Status RemoveAllTags(Transaction& tx, const std::vector<std::string>& resource_ids) {
  if (resource_ids.empty()) return Status::Ok();
  return tx.Exec("DELETE FROM tags WHERE resource_id IN " + InList(resource_ids.size()),
                 Values(resource_ids));
}

Result<std::map<std::string, std::vector<TagPair>>> TagsOf(Database& db,
                                                           const std::vector<std::string>& ids) {
  std::map<std::string, std::vector<TagPair>> out;
  for (const auto& id : ids) out[id];
  if (ids.empty()) return out;
  auto rows = db.Query("SELECT resource_id, tag_key, tag_value FROM tags WHERE resource_id IN " +
                           InList(ids.size()) + " ORDER BY resource_id, tag_key",
                       Values(ids));
  if (!rows.ok()) return rows.status();
  for (const auto& r : *rows) out[r.Str(0)].push_back({r.Str(1), r.Str(2)});
  return out;
}

Result<std::vector<ResourceTag>> ListResourceTags(Database& db, const TaggedResourceQuery& q) {
  std::string sql =
      "SELECT r.service, r.prefix, r.resource_id, r.region, t.tag_key, t.tag_value "
      "FROM taggable_resources r JOIN tags t ON t.resource_id = r.resource_id "
      "AND t.owner_uin = r.owner_uin WHERE r.owner_uin = ?";
  std::vector<Value> args{q.owner_uin};
  auto restrict = [&](const char* column, const std::string& value) {
    if (value.empty()) return;
    sql += std::string(" AND r.") + column + " = ?";
    args.emplace_back(value);
  };
  restrict("region", q.region);
  restrict("service", q.service);
  restrict("prefix", q.prefix);
  if (!q.resource_ids.empty()) {
    sql += " AND r.resource_id IN " + InList(q.resource_ids.size());
    args.insert(args.end(), q.resource_ids.begin(), q.resource_ids.end());
  }
  sql += " ORDER BY r.resource_id, t.tag_key";
  auto rows = db.Query(sql, args);
  if (!rows.ok()) return rows.status();
  std::vector<ResourceTag> all;
  all.reserve(rows->size());
  for (const auto& r : *rows) {
    all.push_back({{r.Str(0), r.Str(1), r.Str(2), r.Str(3)}, {r.Str(4), r.Str(5)}});
  }
  if (q.tag_filters.empty()) return all;
  // A resource matches when it carries every filtered key with one of the accepted values.
  auto matches = [&](size_t begin, size_t end) {
    for (const auto& [key, values] : q.tag_filters) {
      bool found = false;
      for (size_t i = begin; i < end && !found; ++i) {
        found = all[i].tag.key == key &&
                (values.empty() ||
                 std::find(values.begin(), values.end(), all[i].tag.value) != values.end());
      }
      if (!found) return false;
    }
    return true;
  };
  std::vector<ResourceTag> out;
  for (size_t begin = 0; begin < all.size();) {
    size_t end = begin;
    while (end < all.size() && all[end].resource.resource_id == all[begin].resource.resource_id) {
      ++end;
    }
    if (matches(begin, end)) {
      out.insert(out.end(), std::make_move_iterator(all.begin() + begin),
                 std::make_move_iterator(all.begin() + end));
    }
    begin = end;
  }
  return out;
}

}  // namespace cvm::store
