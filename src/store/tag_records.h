// Tags: key/value pairs an account puts on its resources. One store for every service: the
// create calls of CVM, CBS and VPC (TagSpecification, Tags), their answers (Tags, TagSet) and
// the Tag service all read and write the `tags` table through these functions. Listings see only
// the tags of resources that still exist (the `taggable_resources` view).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "store/database.h"

namespace cvm::store {

struct TagPair {
  std::string key, value;
  bool operator==(const TagPair&) const = default;
};

// A live resource a tag can name, as the Tag service spells it.
struct TaggableResource {
  std::string service;  // cvm | vpc
  std::string prefix;   // instance, volume, snapshot, image, keypair, sg, vpc, subnet
  std::string resource_id;
  std::string region;
};

// At most this many tags on one resource (Tencent's limit).
inline constexpr size_t kMaxTagsPerResource = 50;

// `owner_uin`'s live resource `resource_id` of kind (service, prefix); nullopt when there is
// none (another account's resource included).
Result<std::optional<TaggableResource>> FindTaggableResource(Transaction& tx,
                                                             const std::string& owner_uin,
                                                             const std::string& service,
                                                             const std::string& prefix,
                                                             const std::string& resource_id);

// Sets each key of `tags` on the resource (replacing the value of a key it has). Fails with
// `limit_code`, writing nothing, when the resource would then carry more than
// kMaxTagsPerResource.
Status SetTags(Transaction& tx, const std::string& owner_uin, const std::string& resource_id,
               const std::vector<TagPair>& tags, std::string_view limit_code);
Result<bool> HasTagKey(Transaction& tx, const std::string& resource_id, const std::string& key);
// Removes the keys from the resource; keys it does not carry are ignored.
Status RemoveTags(Transaction& tx, const std::string& resource_id,
                  const std::vector<std::string>& keys);
// Removes every tag of the resources (they are being deleted).
Status RemoveAllTags(Transaction& tx, const std::vector<std::string>& resource_ids);

// The tags of each of `resource_ids`, ordered by key; every id has an entry.
Result<std::map<std::string, std::vector<TagPair>>> TagsOf(Database& db,
                                                           const std::vector<std::string>& ids);

// One tag on one live resource.
struct ResourceTag {
  TaggableResource resource;
  TagPair tag;
};

// Which live resources of an account a listing covers; empty fields do not restrict.
struct TaggedResourceQuery {
  std::string owner_uin;
  std::string region, service, prefix;
  std::vector<std::string> resource_ids;
  // key -> accepted values (an empty list: any value); a resource matches when it has every key.
  std::map<std::string, std::vector<std::string>> tag_filters;
};

// Every tag of the matching resources, ordered by resource then key.
Result<std::vector<ResourceTag>> ListResourceTags(Database& db, const TaggedResourceQuery& q);

}  // namespace cvm::store
