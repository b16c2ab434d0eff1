// The Tag service (tag 2018-08-13): one tag store for every resource, read and written by name.
// A resource is named qcs::SERVICE:REGION:uin/OWNER:PREFIX/ID (ModifyResourceTags, TagResources,
// GetResources) or by ServiceType, ResourcePrefix, ResourceRegion and ids (the Describe calls).
// Only an account's own live resources can be tagged; the pipeline has already checked CAM on
// every named resource, and listings show what the caller's policies let it see.
#include <algorithm>
#include <charconv>
#include <functional>
#include <set>

#include "common/error_codes.h"
#include "common/utf8.h"
#include "services/service_deps.h"
#include "store/tag_records.h"

namespace cvm::services {
namespace {

using nlohmann::json;
using store::TagPair;

constexpr size_t kMaxResourcesPerRequest = 50;
constexpr size_t kMaxTagsPerRequest = 50;
constexpr size_t kMaxKeyBytes = 127, kMaxValueBytes = 255;

bool HasControlCharacter(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

Status CheckTagKey(const std::string& key) {
  if (key.empty()) return Status(err::kTagKeyEmpty, "A tag key is empty.");
  if (key.size() > kMaxKeyBytes) {
    return Status(err::kTagKeyLengthExceeded,
                  "Tag key `" + key.substr(0, 32) + "...` is longer than 127 bytes.");
  }
  if (!IsValidUtf8(key) || HasControlCharacter(key)) {
    return Status(err::kTagKeyCharacterIllegal, "A tag key holds characters that are not allowed.");
  }
  std::string lower(key);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* reserved : {"qcloud", "tencent", "project"}) {
    if (lower.rfind(reserved, 0) == 0) {
      return Status(
          err::kTagReservedTagKey,
          "Tag keys starting with qcloud, tencent or project are reserved: `" + key + "`.");
    }
  }
  return Status::Ok();
}

Status CheckTagValue(const std::string& value) {
  if (value.size() > kMaxValueBytes) {
    return Status(err::kTagValueLengthExceeded, "A tag value is longer than 255 bytes.");
  }
  if (!IsValidUtf8(value) || HasControlCharacter(value)) {
    return Status(err::kTagValueCharacterIllegal,
                  "A tag value holds characters that are not allowed.");
  }
  return Status::Ok();
}

// A list of Tag {TagKey, TagValue} objects, checked: at most 50, each key once.
Result<std::vector<TagPair>> TagsParam(const json& p, const char* name) {
  std::vector<TagPair> out;
  auto it = p.find(name);
  if (it == p.end()) return out;
  if (it->size() > kMaxTagsPerRequest) {
    return Status(err::kTagNumPerRequest, "At most 50 tags in one request.");
  }
  std::set<std::string> keys;
  for (const auto& t : *it) {
    TagPair tag{t.value("TagKey", ""), t.value("TagValue", "")};
    CVM_RETURN_IF_ERROR(CheckTagKey(tag.key));
    CVM_RETURN_IF_ERROR(CheckTagValue(tag.value));
    if (!keys.insert(tag.key).second) {
      return Status(err::kTagKeyDuplicate, "Tag key `" + tag.key + "` is given twice.");
    }
    out.push_back(std::move(tag));
  }
  return out;
}

// A list of tag keys (strings or TagKeyObject {TagKey}), checked, at most 50.
Result<std::vector<std::string>> KeysParam(const json& p, const char* name) {
  std::vector<std::string> out;
  auto it = p.find(name);
  if (it == p.end()) return out;
  if (it->size() > kMaxTagsPerRequest) {
    return Status(err::kTagNumPerRequest, "At most 50 tag keys in one request.");
  }
  for (const auto& k : *it) {
    std::string key = k.is_object() ? k.value("TagKey", "") : k.get<std::string>();
    if (key.empty()) return Status(err::kTagKeyEmpty, "A tag key is empty.");
    out.push_back(std::move(key));
  }
  return out;
}

std::string ResourceNameOf(const store::TaggableResource& r, const std::string& owner_uin) {
  return "qcs::" + r.service + ":" + r.region + ":uin/" + owner_uin + ":" + r.prefix + "/" +
         r.resource_id;
}

// The caller's live resource a six-segment name designates, or why it is refused.
Result<store::TaggableResource> ResolveResource(store::Transaction& tx,
                                                const api::RequestContext& ctx,
                                                const std::string& name) {
  auto parsed = iam::ParseResourceName(name);
  if (!parsed) {
    return Status(err::kTagResourceDescriptionError,
                  "`" + name.substr(0, 128) +
                      "` is not a resource name of the form qcs::SERVICE:REGION:uin/OWNER:"
                      "PREFIX/ID for a resource that takes tags.");
  }
  if (!parsed->owner_uin.empty() && parsed->owner_uin != ctx.owner_uin) {
    return Status(err::kTagUinInvalid,
                  "`" + name.substr(0, 128) + "` names another account's resource.");
  }
  auto found = store::FindTaggableResource(tx, ctx.owner_uin, std::string(parsed->kind->service),
                                           std::string(parsed->kind->type), parsed->id);
  if (!found.ok()) return found.status();
  if (!*found || (*found)->region != parsed->region) {
    return Status(err::kTagResourceIdInvalid,
                  "The resource " + parsed->id + " does not exist in " + parsed->region + ".");
  }
  return **found;
}

// ServiceType and ResourcePrefix of a Describe call: both known, and known together.
Status CheckServiceAndPrefix(const std::string& service, const std::string& prefix) {
  if (service.empty() && prefix.empty()) return Status::Ok();
  if (service != "cvm" && service != "vpc") {
    return Status(err::kTagServiceTypeInvalid, "ServiceType `" + service.substr(0, 32) +
                                                   "` is not one that takes tags here "
                                                   "(cvm, vpc).");
  }
  if (!prefix.empty() && !iam::FindRegionalKind(service, prefix)) {
    return Status(err::kTagResourcePrefixInvalid,
                  "ResourcePrefix `" + prefix.substr(0, 32) + "` is not one of " + service + "'s.");
  }
  return Status::Ok();
}

// The query's tags the caller may see, one entry per tag.
Result<std::vector<store::ResourceTag>> VisibleTags(store::Database& db,
                                                    const api::RequestContext& ctx,
                                                    store::TaggedResourceQuery q) {
  q.owner_uin = ctx.owner_uin;
  auto all = store::ListResourceTags(db, q);
  if (!all.ok() || ctx.visible.SeesAll()) return all;
  std::vector<store::ResourceTag> out;
  for (auto& t : *all) {
    const iam::ResourceKind* kind = iam::FindRegionalKind(t.resource.service, t.resource.prefix);
    if (kind && ctx.visible.Sees(*kind, t.resource.resource_id, t.resource.region)) {
      out.push_back(std::move(t));
    }
  }
  return out;
}

// Offset/Limit of the Describe calls (Limit default 15, at most 1000).
struct Window {
  size_t offset = 0, limit = 15;
};
Result<Window> WindowParam(const json& p) {
  Window w;
  w.offset = p.value("Offset", uint64_t{0});
  w.limit = p.value("Limit", uint64_t{15});
  if (w.limit == 0 || w.limit > 1000) {
    return Status(err::kInvalidParameterValue, "Limit is 1 to 1000.");
  }
  return w;
}

template <typename T>
json Slice(const std::vector<T>& items, size_t offset, size_t limit, json (*to_json)(const T&)) {
  json out = json::array();
  for (size_t i = offset; i < items.size() && i < offset + limit; ++i) {
    out.push_back(to_json(items[i]));
  }
  return out;
}

// What the Describe calls start from: their window, and the query's tags the caller may see.
struct WindowedTags {
  Window window;
  std::vector<store::ResourceTag> tags;
};
Result<WindowedTags> WindowOfTags(store::Database& db, const api::RequestContext& ctx,
                                  const json& p, store::TaggedResourceQuery q) {
  auto window = WindowParam(p);
  if (!window.ok()) return window.status();
  auto tags = VisibleTags(db, ctx, std::move(q));
  if (!tags.ok()) return tags.status();
  return WindowedTags{*window, std::move(*tags)};
}

// A Describe call's answer: the total, the window and the window's items under `list_name`.
template <typename T>
json DescribedPage(const Window& w, const std::vector<T>& items, const char* list_name,
                   json (*to_json)(const T&)) {
  return json{{"TotalCount", items.size()},
              {"Offset", w.offset},
              {"Limit", w.limit},
              {list_name, Slice(items, w.offset, w.limit, to_json)}};
}

// PaginationToken/MaxResults of the Get calls: the token is the offset an earlier answer gave.
struct Cursor {
  size_t offset = 0, max = 50;
};
Result<Cursor> CursorParam(const json& p) {
  Cursor c;
  std::string token = p.value("PaginationToken", "");
  if (!token.empty()) {
    auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), c.offset);
    if (ec != std::errc() || end != token.data() + token.size()) {
      return Status(err::kTagPaginationTokenInvalid,
                    "The PaginationToken was not given by an earlier answer.");
    }
  }
  c.max = p.value("MaxResults", uint64_t{50});
  if (c.max == 0 || c.max > 1000) {
    return Status(err::kInvalidParameterValue, "MaxResults is 1 to 1000.");
  }
  return c;
}
std::string NextToken(const Cursor& c, size_t total) {
  return c.offset + c.max < total ? std::to_string(c.offset + c.max) : "";
}

json TagJson(const TagPair& t) { return {{"TagKey", t.key}, {"TagValue", t.value}}; }
json KeyJson(const std::string& k) { return k; }
json ResourceTagJson(const store::ResourceTag& t) {
  return {{"TagKey", t.tag.key},
          {"TagValue", t.tag.value},
          {"ResourceId", t.resource.resource_id},
          {"ServiceType", t.resource.service},
          {"TagKeyMd5", ""},
          {"TagValueMd5", ""},
          {"Category", "Custom"}};
}

std::vector<std::string> DistinctKeys(const std::vector<store::ResourceTag>& tags) {
  std::set<std::string> keys;
  for (const auto& t : tags) keys.insert(t.tag.key);
  return {keys.begin(), keys.end()};
}
std::vector<TagPair> DistinctPairs(const std::vector<store::ResourceTag>& tags,
                                   const std::vector<std::string>& only_keys) {
  std::set<std::pair<std::string, std::string>> pairs;
  for (const auto& t : tags) {
    if (only_keys.empty() ||
        std::find(only_keys.begin(), only_keys.end(), t.tag.key) != only_keys.end()) {
      pairs.emplace(t.tag.key, t.tag.value);
    }
  }
  std::vector<TagPair> out;
  for (const auto& [k, v] : pairs) out.push_back({k, v});
  return out;
}

Result<std::vector<std::string>> ResourceListParam(const json& p) {
  std::vector<std::string> out = p.value("ResourceList", std::vector<std::string>{});
  if (out.size() > kMaxResourcesPerRequest) {
    return Status(err::kTagResourceNumPerRequest, "At most 50 resources in one request.");
  }
  return out;
}

// ---- Actions ----

Result<json> ModifyResourceTags(store::Database& db, const api::RequestContext& ctx, json& p) {
  auto replace = TagsParam(p, "ReplaceTags");
  if (!replace.ok()) return replace.status();
  auto remove = KeysParam(p, "DeleteTags");
  if (!remove.ok()) return remove.status();
  for (const auto& k : *remove) {
    bool both =
        std::any_of(replace->begin(), replace->end(), [&](const TagPair& t) { return t.key == k; });
    if (both) {
      return Status(err::kTagDeleteTagsParamError,
                    "Tag key `" + k + "` is both in ReplaceTags and in DeleteTags.");
    }
  }
  Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
    auto resource = ResolveResource(tx, ctx, p.value("Resource", ""));
    if (!resource.ok()) return resource.status();
    CVM_RETURN_IF_ERROR(store::RemoveTags(tx, resource->resource_id, *remove));
    return store::SetTags(tx, ctx.owner_uin, resource->resource_id, *replace,
                          err::kTagResourceAttachedTags);
  });
  if (!st.ok()) return st;
  return json::object();
}

// TagResources and UnTagResources: each resource succeeds or is listed in FailedResources.
Result<json> ForEachResource(
    store::Database& db, const api::RequestContext& ctx, const json& p,
    const std::function<Status(store::Transaction&, const store::TaggableResource&)>& change) {
  auto resources = ResourceListParam(p);
  if (!resources.ok()) return resources.status();
  json failed = json::array();
  Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
    for (const auto& name : *resources) {
      auto resource = ResolveResource(tx, ctx, name);
      Status done = resource.ok() ? change(tx, *resource) : resource.status();
      if (done.ok()) continue;
      // What is wrong with one resource is reported for it; anything else fails the request.
      static constexpr std::string_view kPerResource[] = {
          err::kTagResourceDescriptionError, err::kTagUinInvalid, err::kTagResourceIdInvalid,
          err::kTagResourceAttachedTags};
      if (std::find(std::begin(kPerResource), std::end(kPerResource), done.code()) ==
          std::end(kPerResource)) {
        return done;
      }
      failed.push_back({{"Resource", name}, {"Code", done.code()}, {"Message", done.message()}});
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return json{{"FailedResources", std::move(failed)}};
}

Result<json> TagResources(store::Database& db, const api::RequestContext& ctx, json& p) {
  auto tags = TagsParam(p, "Tags");
  if (!tags.ok()) return tags.status();
  return ForEachResource(db, ctx, p, [&](store::Transaction& tx, const auto& r) {
    return store::SetTags(tx, ctx.owner_uin, r.resource_id, *tags, err::kTagResourceAttachedTags);
  });
}

Result<json> UnTagResources(store::Database& db, const api::RequestContext& ctx, json& p) {
  auto keys = KeysParam(p, "TagKeys");
  if (!keys.ok()) return keys.status();
  return ForEachResource(db, ctx, p, [&](store::Transaction& tx, const auto& r) {
    return store::RemoveTags(tx, r.resource_id, *keys);
  });
}

Result<json> AddResourceTag(store::Database& db, const api::RequestContext& ctx, json& p) {
  TagPair tag{p.value("TagKey", ""), p.value("TagValue", "")};
  CVM_RETURN_IF_ERROR(CheckTagKey(tag.key));
  CVM_RETURN_IF_ERROR(CheckTagValue(tag.value));
  Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
    auto resource = ResolveResource(tx, ctx, p.value("Resource", ""));
    if (!resource.ok()) return resource.status();
    auto held = store::HasTagKey(tx, resource->resource_id, tag.key);
    if (!held.ok()) return held.status();
    if (*held) {
      return Status(err::kTagKeyAttached,
                    resource->resource_id + " already carries tag key `" + tag.key + "`.");
    }
    return store::SetTags(tx, ctx.owner_uin, resource->resource_id, {tag},
                          err::kTagResourceAttachedTags);
  });
  if (!st.ok()) return st;
  return json::object();
}

Result<json> DeleteResourceTag(store::Database& db, const api::RequestContext& ctx, json& p) {
  std::string key = p.value("TagKey", "");
  if (key.empty()) return Status(err::kTagKeyEmpty, "TagKey is empty.");
  Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
    auto resource = ResolveResource(tx, ctx, p.value("Resource", ""));
    if (!resource.ok()) return resource.status();
    auto held = store::HasTagKey(tx, resource->resource_id, key);
    if (!held.ok()) return held.status();
    if (!*held) {
      return Status(err::kTagAttachedTagKeyNotFound,
                    resource->resource_id + " carries no tag key `" + key + "`.");
    }
    return store::RemoveTags(tx, resource->resource_id, {key});
  });
  if (!st.ok()) return st;
  return json::object();
}

Result<json> DescribeResourceTagsByResourceIds(store::Database& db, const api::RequestContext& ctx,
                                               json& p) {
  store::TaggedResourceQuery q;
  q.service = p.value("ServiceType", "");
  q.prefix = p.value("ResourcePrefix", "");
  q.region = p.value("ResourceRegion", "");
  q.resource_ids = p.value("ResourceIds", std::vector<std::string>{});
  CVM_RETURN_IF_ERROR(CheckServiceAndPrefix(q.service, q.prefix));
  if (q.prefix.empty()) {
    return Status(err::kTagResourcePrefixInvalid, "ResourcePrefix is empty.");
  }
  if (q.region.empty()) return Status(err::kTagRegionInvalid, "ResourceRegion is empty.");
  if (q.resource_ids.empty() || q.resource_ids.size() > kMaxResourcesPerRequest) {
    return Status(err::kTagResourceNumPerRequest, "ResourceIds names 1 to 50 resources.");
  }
  auto found = WindowOfTags(db, ctx, p, std::move(q));
  if (!found.ok()) return found.status();
  return DescribedPage(found->window, found->tags, "Tags", &ResourceTagJson);
}

Result<json> DescribeResourceTags(store::Database& db, const api::RequestContext& ctx, json& p) {
  if (p.contains("CreateUin") &&
      std::to_string(p.value("CreateUin", uint64_t{0})) != ctx.owner_uin) {
    return Status(err::kInvalidParameterValue, "CreateUin is not the caller's account.");
  }
  store::TaggedResourceQuery q;
  q.service = p.value("ServiceType", "");
  q.prefix = p.value("ResourcePrefix", "");
  q.region = p.value("ResourceRegion", "");
  if (std::string id = p.value("ResourceId", ""); !id.empty()) q.resource_ids.push_back(id);
  CVM_RETURN_IF_ERROR(CheckServiceAndPrefix(q.service, q.prefix));
  auto found = WindowOfTags(db, ctx, p, std::move(q));
  if (!found.ok()) return found.status();
  return DescribedPage(found->window, found->tags, "Rows", &ResourceTagJson);
}

Result<json> DescribeTagKeys(store::Database& db, const api::RequestContext& ctx, json& p) {
  auto found = WindowOfTags(db, ctx, p, {});
  if (!found.ok()) return found.status();
  auto keys = DistinctKeys(found->tags);
  return DescribedPage(found->window, keys, "Tags", &KeyJson);
}

Result<json> DescribeTagValues(store::Database& db, const api::RequestContext& ctx, json& p) {
  auto keys = KeysParam(p, "TagKeys");
  if (!keys.ok()) return keys.status();
  auto found = WindowOfTags(db, ctx, p, {});
  if (!found.ok()) return found.status();
  auto pairs = DistinctPairs(found->tags, *keys);
  return DescribedPage(found->window, pairs, "Tags", &TagJson);
}

Result<json> GetResources(store::Database& db, const api::RequestContext& ctx, json& p) {
  auto names = ResourceListParam(p);
  if (!names.ok()) return names.status();
  auto cursor = CursorParam(p);
  if (!cursor.ok()) return cursor.status();
  store::TaggedResourceQuery q;
  for (const auto& f : p.value("TagFilters", json::array())) {
    std::string key = f.value("TagKey", "");
    if (key.empty()) return Status(err::kTagKeyEmpty, "A TagFilters entry has no TagKey.");
    auto& values = q.tag_filters[key];
    for (const auto& v : f.value("TagValue", json::array())) values.push_back(v.get<std::string>());
  }
  // Named resources: only those, each as its name says (kind, region, account).
  std::vector<iam::ResourceName> wanted;
  for (const auto& n : *names) {
    auto parsed = iam::ParseResourceName(n);
    if (!parsed || (!parsed->owner_uin.empty() && parsed->owner_uin != ctx.owner_uin)) {
      return Status(err::kTagResourceDescriptionError,
                    "`" + n.substr(0, 128) + "` is not a resource name of the caller's.");
    }
    q.resource_ids.push_back(parsed->id);
    wanted.push_back(std::move(*parsed));
  }
  auto tags = VisibleTags(db, ctx, std::move(q));
  if (!tags.ok()) return tags.status();
  // Grouped per resource, in the store's order (by resource id).
  std::vector<std::pair<store::TaggableResource, std::vector<TagPair>>> resources;
  for (auto& t : *tags) {
    bool named = wanted.empty() ||
                 std::any_of(wanted.begin(), wanted.end(), [&](const iam::ResourceName& w) {
                   return w.id == t.resource.resource_id && w.region == t.resource.region &&
                          w.kind->type == t.resource.prefix;
                 });
    if (!named) continue;
    if (resources.empty() || resources.back().first.resource_id != t.resource.resource_id) {
      resources.push_back({t.resource, {}});
    }
    resources.back().second.push_back(std::move(t.tag));
  }
  json list = json::array();
  for (size_t i = cursor->offset; i < resources.size() && i < cursor->offset + cursor->max; ++i) {
    json tag_list = json::array();
    for (const auto& t : resources[i].second) tag_list.push_back(TagJson(t));
    list.push_back({{"Resource", ResourceNameOf(resources[i].first, ctx.owner_uin)},
                    {"Tags", std::move(tag_list)}});
  }
  return json{{"PaginationToken", NextToken(*cursor, resources.size())},
              {"ResourceTagMappingList", std::move(list)}};
}

// GetTags (every key unless TagKeys narrows it) and GetTagValues (TagKeys required).
Result<json> TagPairsPage(store::Database& db, const api::RequestContext& ctx, const json& p,
                          bool keys_required) {
  auto keys = KeysParam(p, "TagKeys");
  if (!keys.ok()) return keys.status();
  if (keys_required && keys->empty()) return Status(err::kMissingParameter, "TagKeys is empty.");
  auto cursor = CursorParam(p);
  if (!cursor.ok()) return cursor.status();
  auto tags = VisibleTags(db, ctx, {});
  if (!tags.ok()) return tags.status();
  auto pairs = DistinctPairs(*tags, *keys);
  return json{{"PaginationToken", NextToken(*cursor, pairs.size())},
              {"Tags", Slice(pairs, cursor->offset, cursor->max, &TagJson)}};
}

Result<json> GetTagKeys(store::Database& db, const api::RequestContext& ctx, json& p) {
  auto cursor = CursorParam(p);
  if (!cursor.ok()) return cursor.status();
  auto tags = VisibleTags(db, ctx, {});
  if (!tags.ok()) return tags.status();
  auto keys = DistinctKeys(*tags);
  return json{{"PaginationToken", NextToken(*cursor, keys.size())},
              {"TagKeys", Slice(keys, cursor->offset, cursor->max, &KeyJson)}};
}

Result<json> GetTags(store::Database& db, const api::RequestContext& ctx, json& p) {
  return TagPairsPage(db, ctx, p, false);
}

Result<json> GetTagValues(store::Database& db, const api::RequestContext& ctx, json& p) {
  return TagPairsPage(db, ctx, p, true);
}

}  // namespace

void RegisterTagHandlers(api::Router& router, ServiceDeps& deps) {
  using Action = Result<json> (*)(store::Database&, const api::RequestContext&, json&);
  static constexpr std::pair<const char*, Action> kActions[] = {
      {"ModifyResourceTags", &ModifyResourceTags},
      {"TagResources", &TagResources},
      {"UnTagResources", &UnTagResources},
      {"AddResourceTag", &AddResourceTag},
      {"DeleteResourceTag", &DeleteResourceTag},
      {"DescribeResourceTagsByResourceIds", &DescribeResourceTagsByResourceIds},
      {"DescribeResourceTags", &DescribeResourceTags},
      {"DescribeTagKeys", &DescribeTagKeys},
      {"DescribeTagValues", &DescribeTagValues},
      {"GetResources", &GetResources},
      {"GetTags", &GetTags},
      {"GetTagKeys", &GetTagKeys},
      {"GetTagValues", &GetTagValues},
  };
  for (const auto& entry : kActions) {
    router.Register(entry.first,
                    [&db = deps.db, action = entry.second](const api::RequestContext& ctx,
                                                           json& p) { return action(db, ctx, p); });
  }
}

}  // namespace cvm::services
