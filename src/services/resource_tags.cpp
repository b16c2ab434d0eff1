#include "services/resource_tags.h"

#include <spdlog/spdlog.h>
#include <set>

#include "common/error_codes.h"

namespace cvm::services {
namespace {

using nlohmann::json;

bool HasControlCharacter(const std::string& s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

}  // namespace

Result<std::vector<store::TagPair>> CreationTags(const json& params) {
  std::vector<store::TagPair> out;
  auto it = params.find("Tags");
  if (it == params.end()) return out;
  if (it->size() > store::kMaxTagsPerResource) {
    return Status(err::kLimitExceededTagKeyPerResourceExceeded, "At most 50 tags per resource.");
  }
  std::set<std::string> keys;
  for (const auto& t : *it) {
    store::TagPair tag{t.value("Key", ""), t.value("Value", "")};
    if (tag.key.empty() || tag.key.size() > 127 || tag.value.size() > 255 ||
        HasControlCharacter(tag.key) || HasControlCharacter(tag.value)) {
      return Status(err::kInvalidParameterValueRange,
                    "A tag key is 1 to 127 bytes, a value at most 255, without control "
                    "characters.");
    }
    if (!keys.insert(tag.key).second) {
      return Status(err::kInvalidParameterValueDuplicate, "Tag key `" + tag.key + "` is repeated.");
    }
    out.push_back(std::move(tag));
  }
  return out;
}

Result<std::vector<store::TagPair>> TagSpecificationTags(const json& params,
                                                         const std::string& resource_type) {
  std::vector<store::TagPair> tags;
  std::set<std::string> keys;
  for (const auto& spec : params.value("TagSpecification", json::array())) {
    if (spec.value("ResourceType", "") != resource_type) continue;
    for (const auto& t : spec.value("Tags", json::array())) {
      std::string key = t.value("Key", ""), value = t.value("Value", "");
      if (key.empty() || key.size() > 127 || HasControlCharacter(key)) {
        return Status(err::kFailedOperationIllegalTagKey,
                      "A tag key is 1-127 characters without control characters.");
      }
      if (value.size() > 255 || HasControlCharacter(value)) {
        return Status(err::kFailedOperationIllegalTagValue,
                      "A tag value is at most 255 characters without control characters.");
      }
      for (const char* reserved : {"qcloud", "tencent", "project"}) {
        if (key.rfind(reserved, 0) == 0) {
          return Status(err::kFailedOperationTagKeyReserved,
                        "The tag key " + key + " is reserved.");
        }
      }
      if (!keys.insert(key).second) {
        return Status(err::kInvalidParameterValueDuplicateTags,
                      "The tag key " + key + " is repeated.");
      }
      tags.push_back({std::move(key), std::move(value)});
    }
  }
  if (tags.size() > store::kMaxTagsPerResource) {
    return Status(err::kInvalidParameterValueTagQuotaLimitExceeded,
                  "At most 50 tags per resource.");
  }
  return tags;
}

json TagListJson(const std::vector<store::TagPair>& tags) {
  json out = json::array();
  for (const auto& t : tags) out.push_back({{"Key", t.key}, {"Value", t.value}});
  return out;
}

std::map<std::string, json> TagListsOf(store::Database& db, const std::vector<std::string>& ids) {
  std::map<std::string, json> out;
  for (const auto& id : ids) out[id] = json::array();
  auto tags = store::TagsOf(db, ids);
  if (!tags.ok()) {
    spdlog::warn("tags: reading the tags of {} resources failed: {}", ids.size(),
                 tags.status().ToString());
    return out;
  }
  for (const auto& [id, list] : *tags) out[id] = TagListJson(list);
  return out;
}

std::map<std::string, json> TagListsOf(store::Database& db,
                                       const std::vector<const store::Row*>& rows) {
  std::vector<std::string> ids;
  for (const auto* r : rows) ids.push_back(r->Str(0));
  return TagListsOf(db, ids);
}

void FilterByTags(SqlWhere& where, const Filters& filters, const std::string& id_column) {
  where.query().Tagged(id_column, filters.Tags());
}

}  // namespace cvm::services
