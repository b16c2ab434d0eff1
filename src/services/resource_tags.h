// Tags as the create calls take them and the answers show them, for every service. They live in
// the one tag store (store/tag_records.h) that the Tag service reads and writes too.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "services/filters.h"
#include "store/tag_records.h"

namespace cvm::services {

// `Tags` [{Key, Value}] of a CBS or VPC create call, checked: at most 50, keys 1..127 bytes
// and given once, values at most 255 bytes.
Result<std::vector<store::TagPair>> CreationTags(const nlohmann::json& params);
// The tags of the CVM `TagSpecification` entries for `resource_type` ("instance", "image",
// "keypair"), checked likewise with CVM's codes (reserved prefixes refused).
Result<std::vector<store::TagPair>> TagSpecificationTags(const nlohmann::json& params,
                                                         const std::string& resource_type);

// [{Key, Value}], as Tags and TagSet show them.
nlohmann::json TagListJson(const std::vector<store::TagPair>& tags);
// That list for each of `ids` (an empty list for an untagged one). A failed read shows no
// tags rather than failing the listing around it.
std::map<std::string, nlohmann::json> TagListsOf(store::Database& db,
                                                 const std::vector<std::string>& ids);
// The same for the rows of a page whose first column is the resource id.
std::map<std::string, nlohmann::json> TagListsOf(store::Database& db,
                                                 const std::vector<const store::Row*>& rows);

// The tag filters of a Describe call on `id_column`: tag-key (has one of the keys), tag-value
// (has one of the values under any key) and tag:<key> (has the key with one of the values).
void FilterByTags(SqlWhere& where, const Filters& filters, const std::string& id_column);

}  // namespace cvm::services
