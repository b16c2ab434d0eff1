// Daemon configuration: one TOML file, every value with a default so cvmd runs with none.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace cvm {

struct ZoneConfig {
  std::string zone;     // "ap-guangzhou-3"
  std::string zone_id;  // "100003"
  std::string name;     // display name
};

struct RegionConfig {
  std::string region;  // "ap-guangzhou"
  std::string name;
  std::vector<ZoneConfig> zones;
};

struct InstanceTypeConfig {
  std::string type;    // "S5.SMALL1"
  std::string family;  // part before the dot
  int cpu = 1;
  int memory_mib = 1024;
};

// A disk type as a performance class: IOPS and throughput grow with the size up to a ceiling,
// min(base + per_gb * size, max), the shape of Tencent's published formulas. Zero limits mean
// unthrottled (local disks).
struct StorageTypeConfig {
  std::string type;   // "CLOUD_PREMIUM"
  bool cloud = true;  // a CBS type: CreateDisks, portable data disks
  int64_t min_size_gb = 10;
  int64_t max_size_gb = 32000;
  int64_t base_iops = 0, max_iops = 0;
  double iops_per_gb = 0;
  double base_mbps = 0, mbps_per_gb = 0, max_mbps = 0;  // MB/s (MiB/s here)

  int64_t Iops(int64_t size_gb) const;
  int64_t ThroughputMBps(int64_t size_gb) const;
};

struct Config {
  std::filesystem::path data_dir = "/var/lib/opencvm";
  // Where the state lives: "sqlite:PATH" or a PostgreSQL URI (postgresql://...). Empty: the
  // SQLite database in data_dir.
  std::string store_url;
  std::filesystem::path public_images_dir;  // empty: <data_dir>/images/public
  int soft_stop_timeout_seconds = 60;
  int disk_detach_timeout_seconds = 20;  // how long a guest may take to release a disk
  std::string listen_address = "127.0.0.1";
  uint16_t listen_port = 9480;
  std::string tls_cert_file;  // TLS is on when both are set
  std::string tls_key_file;
  size_t max_body_bytes = 1 << 20;
  int api_threads = 0;  // 0: one per core
  // [http]: what API clients may hold. max_connections in all (lowered to what the descriptor
  // limit leaves room for) and max_connections_per_address from one source address; at a cap
  // the oldest connection that has not yet sent a validly signed request is closed first.
  // body_budget_bytes: request bodies buffered at once over all connections (a body of up to
  // 8 KiB does not count; at least max_body_bytes). unauthenticated_timeout_s: a connection
  // that has not yet sent a validly signed request must deliver each whole request within it;
  // idle_timeout_s: afterwards, each request within it.
  size_t http_max_connections = 2048;
  size_t http_max_connections_per_address = 512;
  size_t http_body_budget_bytes = 64 << 20;
  int64_t http_unauthenticated_timeout_s = 10;
  int64_t http_idle_timeout_s = 60;
  std::vector<RegionConfig> regions;
  std::vector<InstanceTypeConfig> instance_types;
  double cpu_overcommit = 4.0;
  double memory_overcommit = 1.0;
  std::vector<StorageTypeConfig> storage_types;
  // Provisioned GiB the storage pool (DATA_DIR/disks) may hold; 0: the size of its file system.
  int64_t storage_capacity_gb = 0;
  int max_data_disks_per_instance = 20;
  // What CreateKeyPair generates: "rsa" (3072 bits; Tencent's documented kind) or "ed25519".
  std::string key_pair_type = "rsa";
  // [images] import_dir: ImportImage reads only files inside it (empty: ImportImage is
  // refused); export_dir: ExportImages writes into <export_dir>/<AppId>/<BucketName>/, each
  // account's buckets its own (empty: refused);
  // max_virtual_gb: larger images (and larger downloads) are refused; quota: custom images per
  // account. url_hosts: the hosts an http(s) ImageUrl may name, each hop of a redirect included
  // (default: none). A name's addresses are checked as each connection is made: loopback,
  // link-local, unspecified and multicast ones are refused unless url_hosts lists that address
  // itself ("127.0.0.1", "::1"), never through a name ("localhost");
  // download_stall_s: a download sending nothing for this long fails.
  // [images.export_targets] maps a bucket name to the base URL of an http(s) server that takes
  // PUT (`bucket = "https://host/path"`, no query): ExportImages to that BucketName uploads each
  // file to <url>/<prefix>.<format> instead of writing into export_dir (a bucket named
  // "<name>-<AppId>" serves only that account, any other all of them); upload_stall_s: an upload
  // the receiver takes nothing of (or never answers) for this long fails.
  std::filesystem::path image_import_dir;
  std::filesystem::path image_export_dir;
  std::map<std::string, std::string> image_export_targets;
  int64_t image_upload_stall_s = 30;
  int64_t image_max_virtual_gb = 2048;
  int image_quota = 500;
  // Networks. Every instance's link, route and firewall lives in the network namespace
  // network_namespace, which cvmd creates and owns; uplink_cidr is the /30 of the veth pair
  // between it and the host (host side first address, namespace side second);
  // public_ip_pool is what PublicIpAssigned draws from, routed by the host into the namespace
  // and 1:1 NATed there (default: a range reserved for benchmarking, never one that leaves the
  // machine).
  std::string network_namespace = "opencvm";
  std::string uplink_cidr = "169.254.128.0/30";
  std::string public_ip_pool = "198.18.0.0/24";
  std::string default_vpc_cidr = "172.16.0.0/16";  // the default VPC Tencent creates
  std::vector<std::string> image_url_hosts;
  int64_t image_download_stall_s = 30;

  const RegionConfig* FindRegion(std::string_view region) const;
  const ZoneConfig* FindZone(std::string_view zone,
                             const RegionConfig** region_out = nullptr) const;
  const InstanceTypeConfig* FindInstanceType(std::string_view type) const;
  const StorageTypeConfig* FindStorageType(std::string_view type) const;
};

// The embedded defaults, used as-is when no file is given and as the base a file overrides.
Config DefaultConfig();
// Reads a TOML file over the defaults. Unknown keys are errors, so typos do not pass silently.
Result<Config> LoadConfig(const std::filesystem::path& path);

}  // namespace cvm
