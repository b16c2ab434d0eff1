// DescribeImages over the public catalogue and the caller's own images.
#include "common/error_codes.h"
#include "common/ids.h"
#include "common/time_format.h"
#include "services/filters.h"
#include "services/service_deps.h"

namespace cvm::services {

using nlohmann::json;

void RegisterCvmImageHandlers(api::Router& router, ServiceDeps& deps) {
  auto& db = deps.db;
  router.Register("DescribeImages", [&db](const api::RequestContext& ctx, json& p) -> Result<json> {
    std::set<std::string> wanted;
    if (p.contains("ImageIds")) {
      for (const auto& v : p["ImageIds"]) {
        std::string id = v.get<std::string>();
        if (!IsWellFormedId("img", id)) {
          return Status("InvalidImageId.Malformed",
                        "The image id `" + id.substr(0, 32) + "` is malformed.");
        }
        wanted.insert(id);
      }
    }
    auto filters =
        Filters::Parse(p, {"image-id", "image-type", "image-name", "platform", "image-state"});
    if (!filters.ok()) return filters.status();
    if (!wanted.empty() && !filters->empty()) {
      return Status("InvalidParameter.InvalidParameterCoexistImageIdsFilters",
                    "ImageIds and Filters cannot be used together.");
    }
    auto paging = Paging::Parse(p);
    if (!paging.ok()) return paging.status();
    auto rows = db.Query(
        "SELECT image_id, os_name, image_type, created_at, name, description, size_gb, "
        "architecture, state, platform, image_source, owner_uin FROM images WHERE deleted = 0 "
        "AND (owner_uin IS NULL OR owner_uin = ?) ORDER BY image_type, name",
        {ctx.owner_uin});
    if (!rows.ok()) return rows.status();
    auto contains_ci = [](const std::vector<std::string>* vals, const std::string& s) {
      if (!vals) return true;
      auto lower = [](std::string x) {
        for (auto& c : x) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return x;
      };
      for (const auto& v : *vals) {
        if (lower(s).find(lower(v)) != std::string::npos) return true;
      }
      return false;
    };
    json set = json::array();
    size_t matched = 0;
    for (const auto& r : *rows) {
      if (!wanted.empty() && !wanted.count(r.Str(0))) continue;
      if (!filters->Matches("image-id", r.Str(0)) || !filters->Matches("image-type", r.Str(2)) ||
          !filters->Matches("image-state", r.Str(8)) ||
          !contains_ci(filters->Values("image-name"), r.Str(4)) ||
          !contains_ci(filters->Values("platform"), r.Str(9))) {
        continue;
      }
      if (matched++ < paging->offset || set.size() >= paging->limit) continue;
      bool official = r.IsNull(11);
      set.push_back({{"ImageId", r.Str(0)},
                     {"OsName", r.Str(1)},
                     {"ImageType", r.Str(2)},
                     {"CreatedTime", FormatIsoTime(r.Int(3))},
                     {"ImageName", r.Str(4)},
                     {"ImageDescription", r.Str(5)},
                     {"ImageSize", r.Int(6)},
                     {"Architecture", r.Str(7)},
                     {"ImageState", r.Str(8)},
                     {"Platform", r.Str(9)},
                     {"ImageCreator", official ? "opencvm" : r.Str(11)},
                     {"ImageSource", r.Str(10)},
                     {"SyncPercent", 100},
                     {"IsSupportCloudinit", true},
                     {"SnapshotSet", json::array()},
                     {"Tags", json::array()},
                     {"LicenseType", "TencentCloud"},
                     {"ImageFamily", ""},
                     {"ImageDeprecated", false}});
    }
    return json{{"TotalCount", matched}, {"ImageSet", std::move(set)}};
  });
}

}  // namespace cvm::services
