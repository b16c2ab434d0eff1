#include "config/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <type_traits>

#include "common/error_codes.h"
#include "network/ipv4.h"

namespace cvm {

const RegionConfig* Config::FindRegion(std::string_view region) const {
  for (const auto& r : regions) {
    if (r.region == region) return &r;
  }
  return nullptr;
}

const ZoneConfig* Config::FindZone(std::string_view zone, const RegionConfig** region_out) const {
  for (const auto& r : regions) {
    for (const auto& z : r.zones) {
      if (z.zone == zone) {
        if (region_out) *region_out = &r;
        return &z;
      }
    }
  }
  return nullptr;
}

const InstanceTypeConfig* Config::FindInstanceType(std::string_view type) const {
  for (const auto& t : instance_types) {
    if (t.type == type) return &t;
  }
  return nullptr;
}

const StorageTypeConfig* Config::FindStorageType(std::string_view type) const {
  for (const auto& t : storage_types) {
    if (t.type == type) return &t;
  }
  return nullptr;
}

int64_t StorageTypeConfig::Iops(int64_t size_gb) const {
  if (max_iops <= 0) return 0;
  return std::min<int64_t>(max_iops, base_iops + static_cast<int64_t>(iops_per_gb * size_gb));
}

int64_t StorageTypeConfig::ThroughputMBps(int64_t size_gb) const {
  if (max_mbps <= 0) return 0;
  return static_cast<int64_t>(std::min(max_mbps, base_mbps + mbps_per_gb * size_gb));
}

Config DefaultConfig() {
  Config c;
  c.regions = {
      {"ap-guangzhou",
       "South China (Guangzhou)",
       {{"ap-guangzhou-3", "100003", "Guangzhou Zone 3"},
        {"ap-guangzhou-4", "100004", "Guangzhou Zone 4"}}},
      {"ap-shanghai", "East China (Shanghai)", {{"ap-shanghai-2", "200002", "Shanghai Zone 2"}}},
  };
  // Tencent's names and sizes, plus T1 types small enough for tests under
  // software emulation. Tencent reports memory in whole GiB; T1 types round up to 1.
  auto add = [&](std::string type, int cpu, int memory_mib) {
    std::string family = type.substr(0, type.find('.'));
    c.instance_types.push_back({std::move(type), std::move(family), cpu, memory_mib});
  };
  add("T1.NANO1", 1, 128);
  add("T1.MICRO1", 1, 256);
  add("T1.SMALL1", 2, 256);
  add("S5.SMALL1", 1, 1024);
  add("S5.SMALL2", 1, 2048);
  add("S5.SMALL4", 1, 4096);
  add("S5.MEDIUM2", 2, 2048);
  add("S5.MEDIUM4", 2, 4096);
  add("S5.MEDIUM8", 2, 8192);
  add("S5.LARGE8", 4, 8192);
  add("S5.LARGE16", 4, 16384);
  add("S5.2XLARGE16", 8, 16384);
  add("S5.2XLARGE32", 8, 32768);
  add("SA2.SMALL1", 1, 1024);
  add("SA2.MEDIUM4", 2, 4096);
  add("M5.MEDIUM16", 2, 16384);
  // Performance classes after Tencent's published per-type formulas (IOPS and MB/s growing with
  // the size up to each type's ceiling); local disks are not throttled.
  c.storage_types = {
      {"CLOUD_BASIC", true, 10, 32000, 1000, 2200, 2, 100, 0.1, 150},
      {"CLOUD_PREMIUM", true, 10, 32000, 1800, 6000, 30, 120, 0.2, 150},
      {"CLOUD_BSSD", true, 20, 32000, 1800, 15000, 30, 120, 0.2, 200},
      {"CLOUD_SSD", true, 20, 32000, 1800, 26000, 30, 120, 0.2, 260},
      {"CLOUD_HSSD", true, 20, 32000, 1800, 50000, 50, 120, 0.5, 350},
      {"CLOUD_TSSD", true, 20, 32000, 1800, 100000, 50, 120, 0.5, 1000},
      {"LOCAL_BASIC", false, 10, 16000},
      {"LOCAL_SSD", false, 10, 16000},
  };
  return c;
}

namespace {

Status ConfigError(const std::string& msg) {
  return Status(err::kInvalidParameterValue, "config: " + msg);
}

// http(s)://host[/path] with a host, no user or password (checked again by the uploader).
bool IsPlainHttpUrl(const std::string& url) {
  std::string lower = url.substr(0, 8);
  for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  size_t start = lower.rfind("http://", 0) == 0 ? 7 : lower.rfind("https://", 0) == 0 ? 8 : 0;
  if (start == 0) return false;
  const std::string authority = url.substr(start, url.find_first_of("/?#", start) - start);
  // A base URL: file names are appended to its path, so it has no query or fragment.
  return !authority.empty() && authority.find('@') == std::string::npos &&
         authority.front() != ':' && url.find_first_of("?#") == std::string::npos;
}

Status CheckKeys(const toml::table& t, const std::set<std::string>& allowed,
                 const std::string& where) {
  for (auto&& [k, v] : t) {
    if (!allowed.count(std::string(k.str()))) {
      return ConfigError("unknown key '" + std::string(k.str()) + "' in " + where);
    }
  }
  return Status::Ok();
}

// A setting of the wrong type, thrown by Integer and caught in LoadConfig (never further).
struct WrongType {
  std::string key;
};

// An integer setting: absent, or a TOML integer; anything else (a float, a string) is refused
// by name. toml++'s own value<int64_t>() would cast a float such as 9e80 unchecked (undefined
// behaviour) and silently skip a string.
std::optional<int64_t> Integer(const toml::table& t, std::string_view key) {
  const toml::node* n = t.get(key);
  if (!n) return std::nullopt;
  if (const auto* i = n->as_integer()) return i->get();
  throw WrongType{std::string(key)};
}

Result<Config> ConfigFrom(const toml::table& root);

}  // namespace

Result<Config> LoadConfig(const std::filesystem::path& path) {
  toml::table root;
  try {
    root = toml::parse_file(path.string());
  } catch (const toml::parse_error& e) {
    return ConfigError(path.string() + ": " + std::string(e.description()));
  }
  try {
    return ConfigFrom(root);
  } catch (const WrongType& e) {
    return ConfigError(path.string() + ": " + e.key + " must be an integer");
  }
}

namespace {

Result<Config> ConfigFrom(const toml::table& root) {
  Config c = DefaultConfig();
  CVM_RETURN_IF_ERROR(CheckKeys(root,
                                {"data_dir",
                                 "public_images_dir",
                                 "soft_stop_timeout",
                                 "disk_detach_timeout",
                                 "listen",
                                 "port",
                                 "tls_cert",
                                 "tls_key",
                                 "max_body_bytes",
                                 "api_threads",
                                 "cpu_overcommit",
                                 "memory_overcommit",
                                 "regions",
                                 "instance_types",
                                 "storage_types",
                                 "storage_capacity_gb",
                                 "max_data_disks_per_instance",
                                 "key_pair_type",
                                 "images",
                                 "network",
                                 "http",
                                 "store"},
                                "the top level"));
  if (auto v = root["data_dir"].value<std::string>()) c.data_dir = *v;
  if (auto v = root["public_images_dir"].value<std::string>()) c.public_images_dir = *v;
  if (auto v = Integer(root, "soft_stop_timeout")) c.soft_stop_timeout_seconds = *v;
  if (auto v = Integer(root, "disk_detach_timeout")) {
    c.disk_detach_timeout_seconds = static_cast<int>(*v);
  }
  if (auto v = root["listen"].value<std::string>()) c.listen_address = *v;
  if (auto v = Integer(root, "port")) {
    if (*v < 0 || *v > 65535) return ConfigError("port must be between 0 and 65535");
    c.listen_port = static_cast<uint16_t>(*v);
  }
  if (auto v = root["tls_cert"].value<std::string>()) c.tls_cert_file = *v;
  if (auto v = root["tls_key"].value<std::string>()) c.tls_key_file = *v;
  if (auto v = Integer(root, "max_body_bytes")) c.max_body_bytes = *v;
  if (auto v = Integer(root, "api_threads")) c.api_threads = static_cast<int>(*v);
  if (auto v = root["cpu_overcommit"].value<double>()) c.cpu_overcommit = *v;
  if (auto v = root["memory_overcommit"].value<double>()) c.memory_overcommit = *v;
  if (auto v = Integer(root, "storage_capacity_gb")) c.storage_capacity_gb = *v;
  if (auto v = Integer(root, "max_data_disks_per_instance")) {
    c.max_data_disks_per_instance = static_cast<int>(*v);
  }
  if (auto store = root["store"].as_table()) {
    CVM_RETURN_IF_ERROR(CheckKeys(*store, {"url"}, "[store]"));
    if (auto v = (*store)["url"].value<std::string>()) c.store_url = *v;
  }
  if (auto http = root["http"].as_table()) {
    CVM_RETURN_IF_ERROR(
        CheckKeys(*http,
                  {"max_connections", "max_connections_per_address", "body_budget_bytes",
                   "unauthenticated_timeout_s", "idle_timeout_s"},
                  "[http]"));
    // Each a positive whole number.
    auto positive = [&](const char* key, auto& out) -> Status {
      if (!(*http).contains(key)) return Status::Ok();
      auto v = Integer(*http, key);
      if (!v || *v < 1) return ConfigError(std::string("[http] ") + key + " must be at least 1");
      out = static_cast<std::remove_reference_t<decltype(out)>>(*v);
      return Status::Ok();
    };
    CVM_RETURN_IF_ERROR(positive("max_connections", c.http_max_connections));
    CVM_RETURN_IF_ERROR(
        positive("max_connections_per_address", c.http_max_connections_per_address));
    CVM_RETURN_IF_ERROR(positive("body_budget_bytes", c.http_body_budget_bytes));
    CVM_RETURN_IF_ERROR(positive("unauthenticated_timeout_s", c.http_unauthenticated_timeout_s));
    CVM_RETURN_IF_ERROR(positive("idle_timeout_s", c.http_idle_timeout_s));
  }
  if (c.http_body_budget_bytes < c.max_body_bytes) {
    return ConfigError("[http] body_budget_bytes must be at least max_body_bytes");
  }
  if (auto images = root["images"].as_table()) {
    CVM_RETURN_IF_ERROR(
        CheckKeys(*images,
                  {"import_dir", "export_dir", "max_virtual_gb", "quota", "url_hosts",
                   "download_stall_s", "export_targets", "upload_stall_s"},
                  "[images]"));
    if (auto v = (*images)["import_dir"].value<std::string>()) c.image_import_dir = *v;
    if (auto v = (*images)["export_dir"].value<std::string>()) c.image_export_dir = *v;
    if (auto v = Integer(*images, "max_virtual_gb")) c.image_max_virtual_gb = *v;
    if (auto v = Integer(*images, "quota")) c.image_quota = static_cast<int>(*v);
    if (auto hosts = (*images)["url_hosts"].as_array()) {
      c.image_url_hosts.clear();
      for (auto& h : *hosts) {
        auto name = h.value<std::string>();
        if (!name || name->empty()) return ConfigError("[images] url_hosts holds host names");
        c.image_url_hosts.push_back(*name);
      }
    }
    if (auto v = Integer(*images, "download_stall_s")) {
      if (*v < 1) return ConfigError("[images] download_stall_s must be at least 1");
      c.image_download_stall_s = *v;
    }
    if (auto v = Integer(*images, "upload_stall_s")) {
      if (*v < 1) return ConfigError("[images] upload_stall_s must be at least 1");
      c.image_upload_stall_s = *v;
    }
    if (auto targets = (*images)["export_targets"].as_table()) {
      for (auto& [bucket, node] : *targets) {
        auto url = node.value<std::string>();
        const std::string name(bucket.str());
        // A URL without credentials (they would show in CosPaths and task listings).
        if (!url || !IsPlainHttpUrl(*url)) {
          return ConfigError(
              "[images.export_targets] " + name +
              " must be an http:// or https:// URL without user, password, query or fragment");
        }
        if (name.empty() || name.size() > 64) {
          return ConfigError("[images.export_targets] bucket names are 1 to 64 bytes");
        }
        std::string base = *url;
        while (!base.empty() && base.back() == '/') base.pop_back();
        c.image_export_targets[name] = base;
      }
    } else if ((*images).contains("export_targets")) {
      return ConfigError("[images] export_targets is a table of bucket = \"url\"");
    }
  }
  if (auto net = root["network"].as_table()) {
    CVM_RETURN_IF_ERROR(CheckKeys(
        *net, {"namespace", "uplink_cidr", "public_ip_pool", "default_vpc_cidr"}, "[network]"));
    if (auto v = (*net)["namespace"].value<std::string>()) c.network_namespace = *v;
    if (auto v = (*net)["uplink_cidr"].value<std::string>()) c.uplink_cidr = *v;
    if (auto v = (*net)["public_ip_pool"].value<std::string>()) c.public_ip_pool = *v;
    if (auto v = (*net)["default_vpc_cidr"].value<std::string>()) c.default_vpc_cidr = *v;
  }
  if (auto v = root["key_pair_type"].value<std::string>()) {
    if (*v != "rsa" && *v != "ed25519") return ConfigError("key_pair_type is rsa or ed25519");
    c.key_pair_type = *v;
  }

  if (auto regions = root["regions"].as_array()) {
    c.regions.clear();
    for (auto& node : *regions) {
      auto t = node.as_table();
      if (!t) return ConfigError("regions must be an array of tables");
      CVM_RETURN_IF_ERROR(CheckKeys(*t, {"region", "name", "zones"}, "a region"));
      RegionConfig r;
      r.region = (*t)["region"].value_or(std::string());
      r.name = (*t)["name"].value_or(r.region);
      if (r.region.empty()) return ConfigError("a region needs 'region'");
      if (auto zones = (*t)["zones"].as_array()) {
        for (auto& zn : *zones) {
          auto zt = zn.as_table();
          if (!zt) return ConfigError("zones must be an array of tables");
          CVM_RETURN_IF_ERROR(CheckKeys(*zt, {"zone", "zone_id", "name"}, "a zone"));
          ZoneConfig z{(*zt)["zone"].value_or(std::string()),
                       (*zt)["zone_id"].value_or(std::string()),
                       (*zt)["name"].value_or(std::string())};
          if (z.zone.rfind(r.region + "-", 0) != 0) {
            return ConfigError("zone '" + z.zone + "' must start with its region's name");
          }
          r.zones.push_back(std::move(z));
        }
      }
      c.regions.push_back(std::move(r));
    }
  }
  if (auto types = root["instance_types"].as_array()) {
    c.instance_types.clear();
    for (auto& node : *types) {
      auto t = node.as_table();
      if (!t) return ConfigError("instance_types must be an array of tables");
      CVM_RETURN_IF_ERROR(CheckKeys(*t, {"type", "cpu", "memory_mib"}, "an instance type"));
      InstanceTypeConfig it;
      it.type = (*t)["type"].value_or(std::string());
      it.family = it.type.substr(0, it.type.find('.'));
      it.cpu = static_cast<int>(Integer(*t, "cpu").value_or(1));
      it.memory_mib = static_cast<int>(Integer(*t, "memory_mib").value_or(1024));
      if (it.type.find('.') == std::string::npos || it.cpu < 1 || it.memory_mib < 64) {
        return ConfigError("bad instance type '" + it.type + "'");
      }
      c.instance_types.push_back(std::move(it));
    }
  }
  if (auto types = root["storage_types"].as_array()) {
    c.storage_types.clear();
    for (auto& node : *types) {
      auto t = node.as_table();
      if (!t) return ConfigError("storage_types must be an array of tables");
      CVM_RETURN_IF_ERROR(
          CheckKeys(*t,
                    {"type", "cloud", "min_size_gb", "max_size_gb", "base_iops", "max_iops",
                     "iops_per_gb", "base_mbps", "mbps_per_gb", "max_mbps"},
                    "a storage type"));
      StorageTypeConfig st;
      st.type = (*t)["type"].value_or(std::string());
      st.cloud = (*t)["cloud"].value_or(true);
      st.min_size_gb = Integer(*t, "min_size_gb").value_or(10);
      st.max_size_gb = Integer(*t, "max_size_gb").value_or(32000);
      st.base_iops = Integer(*t, "base_iops").value_or(0);
      st.max_iops = Integer(*t, "max_iops").value_or(0);
      st.iops_per_gb = (*t)["iops_per_gb"].value_or(0.0);
      st.base_mbps = (*t)["base_mbps"].value_or(0.0);
      st.mbps_per_gb = (*t)["mbps_per_gb"].value_or(0.0);
      st.max_mbps = (*t)["max_mbps"].value_or(0.0);
      if (st.type.empty() || st.min_size_gb < 1 || st.max_size_gb < st.min_size_gb) {
        return ConfigError("bad storage type '" + st.type + "'");
      }
      c.storage_types.push_back(std::move(st));
    }
  }
  if (c.regions.empty()) return ConfigError("at least one region is required");
  // The namespace name prefixes the host's end of the uplink ("<name>-up", IFNAMSIZ 15).
  if (c.network_namespace.empty() || c.network_namespace.size() > 12 ||
      c.network_namespace.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") !=
          std::string::npos) {
    return ConfigError("[network] namespace: 1-12 characters of a-z, 0-9 and -");
  }
  auto uplink = network::ParseCidr(c.uplink_cidr, true);
  if (!uplink || uplink->prefix != 30) return ConfigError("[network] uplink_cidr must be a /30");
  auto pool = network::ParseCidr(c.public_ip_pool, true);
  if (!pool || pool->prefix < 16) {
    return ConfigError("[network] public_ip_pool must be a CIDR block of /16 or smaller");
  }
  auto vpc = network::ParseCidr(c.default_vpc_cidr, true);
  if (!vpc || !network::IsAllowedVpcRange(*vpc)) {
    return ConfigError("[network] default_vpc_cidr must be a private range a VPC may use");
  }
  return c;
}

}  // namespace

}  // namespace cvm
