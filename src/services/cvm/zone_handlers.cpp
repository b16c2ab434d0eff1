// DescribeRegions, DescribeZones, DescribeInstanceTypeConfigs, DescribeZoneInstanceConfigInfos:
// answered from configuration alone.
#include <map>
#include <memory>

#include "api/envelope.h"
#include "common/json_writer.h"
#include "services/filters.h"
#include "services/service_deps.h"

namespace cvm::services {
namespace {

using nlohmann::json;

int MemoryGiB(const InstanceTypeConfig& t) { return (t.memory_mib + 1023) / 1024; }

const RegionConfig& RegionOf(const ServiceDeps& deps, const api::RequestContext& ctx) {
  // The pipeline has checked the region exists.
  return *deps.config.FindRegion(ctx.region);
}

}  // namespace

void RegisterCvmZoneHandlers(api::Router& router, ServiceDeps& deps) {
  // Regions and zones come from configuration, which does not change while cvmd runs: both
  // answers are written once, and a request only copies them (DescribeZones is the API's
  // most frequent call, and the benchmark's).
  auto regions = std::make_shared<std::string>([&] {
    JsonWriter w;
    w.BeginObject().Member("TotalCount", static_cast<int64_t>(deps.config.regions.size()));
    w.Key("RegionSet").BeginArray();
    for (const auto& r : deps.config.regions) {
      w.BeginObject()
          .Member("Region", r.region)
          .Member("RegionName", r.name)
          .Member("RegionState", "AVAILABLE")
          .EndObject();
    }
    w.EndArray().EndObject();
    return w.Take();
  }());
  auto zones = std::make_shared<std::map<std::string, std::string, std::less<>>>();
  for (const auto& r : deps.config.regions) {
    JsonWriter w;
    w.BeginObject().Member("TotalCount", static_cast<int64_t>(r.zones.size()));
    w.Key("ZoneSet").BeginArray();
    for (const auto& z : r.zones) {
      w.BeginObject()
          .Member("Zone", z.zone)
          .Member("ZoneName", z.name)
          .Member("ZoneId", z.zone_id)
          .Member("ZoneState", "AVAILABLE")
          .EndObject();
    }
    w.EndArray().EndObject();
    (*zones)[r.region] = w.Take();
  }

  router.Register("DescribeRegions", [regions](const api::RequestContext&, json&) -> Result<json> {
    return api::RawResponse(*regions);
  });

  router.Register("DescribeZones", [zones](const api::RequestContext& ctx, json&) -> Result<json> {
    // The pipeline has checked the region exists.
    return api::RawResponse(zones->find(ctx.region)->second);
  });

  router.Register("DescribeInstanceTypeConfigs",
                  [&deps](const api::RequestContext& ctx, json& params) -> Result<json> {
                    auto filters = Filters::Parse(
                        params, {"zone", "instance-family", "instance-type"}, /*max_values=*/1);
                    if (!filters.ok()) return filters.status();
                    json set = json::array();
                    for (const auto& z : RegionOf(deps, ctx).zones) {
                      if (!filters->Matches("zone", z.zone)) continue;
                      for (const auto& t : deps.config.instance_types) {
                        if (!filters->Matches("instance-family", t.family) ||
                            !filters->Matches("instance-type", t.type)) {
                          continue;
                        }
                        set.push_back({{"Zone", z.zone},
                                       {"InstanceType", t.type},
                                       {"InstanceFamily", t.family},
                                       {"GPU", 0},
                                       {"CPU", t.cpu},
                                       {"Memory", MemoryGiB(t)},
                                       {"FPGA", 0},
                                       {"GpuCount", 0}});
                      }
                    }
                    return json{{"InstanceTypeConfigSet", std::move(set)}};
                  });

  router.Register("DescribeZoneInstanceConfigInfos",
                  [&deps](const api::RequestContext& ctx, json& params) -> Result<json> {
                    auto filters =
                        Filters::Parse(params, {"zone", "instance-family", "instance-type",
                                                "instance-charge-type", "sort-keys"});
                    if (!filters.ok()) return filters.status();
                    json set = json::array();
                    for (const auto& z : RegionOf(deps, ctx).zones) {
                      if (!filters->Matches("zone", z.zone)) continue;
                      for (const auto& t : deps.config.instance_types) {
                        if (!filters->Matches("instance-family", t.family) ||
                            !filters->Matches("instance-type", t.type) ||
                            !filters->Matches("instance-charge-type", "POSTPAID_BY_HOUR")) {
                          continue;
                        }
                        set.push_back({{"Zone", z.zone},
                                       {"InstanceType", t.type},
                                       {"InstanceChargeType", "POSTPAID_BY_HOUR"},
                                       {"NetworkCard", 1},
                                       {"Externals", json::object()},
                                       {"Cpu", t.cpu},
                                       {"Memory", MemoryGiB(t)},
                                       {"InstanceFamily", t.family},
                                       {"TypeName", t.family + " " + std::to_string(t.cpu) + "C" +
                                                        std::to_string(MemoryGiB(t)) + "G"},
                                       {"LocalDiskTypeList", json::array()},
                                       {"Status", "SELL"},
                                       {"Price", {{"UnitPrice", 0.0}, {"ChargeUnit", "HOUR"}}},
                                       {"SoldOutReason", ""},
                                       {"InstanceBandwidth", 1.0},
                                       {"InstancePps", 10},
                                       {"StorageBlockAmount", 0},
                                       {"CpuType", "QEMU Virtual CPU"},
                                       {"Gpu", 0},
                                       {"Fpga", 0},
                                       {"Remark", ""},
                                       {"GpuCount", 0.0},
                                       {"Frequency", ""},
                                       {"StatusCategory", "EnoughStock"}});
                      }
                    }
                    return json{{"InstanceTypeQuotaSet", std::move(set)}};
                  });
}

}  // namespace cvm::services
