// Configuration: the embedded defaults and a TOML file over them.
#include "config/config.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "common/error_codes.h"

namespace cvm {
namespace {

namespace fs = std::filesystem;

class ConfigFileTest : public ::testing::Test {
 protected:
  ConfigFileTest() {
    std::string t = "/tmp/cvm-config-XXXXXX";
    dir_ = ::mkdtemp(t.data());
  }
  ~ConfigFileTest() override { fs::remove_all(dir_); }

  Result<Config> Load(const std::string& toml) {
    fs::path p = dir_ / "cvmd.toml";
    std::ofstream(p) << toml;
    return LoadConfig(p);
  }

  // The load fails with InvalidParameterValue and a message that names `needle`.
  void ExpectRefused(const std::string& toml, const std::string& needle) {
    auto c = Load(toml);
    ASSERT_FALSE(c.ok()) << "accepted:\n" << toml;
    EXPECT_EQ(c.status().code(), err::kInvalidParameterValue);
    EXPECT_NE(c.status().message().find(needle), std::string::npos) << c.status().message();
  }

  fs::path dir_;
};

TEST(DefaultConfigTest, HasRegionsZonesAndTypes) {
  Config c = DefaultConfig();
  ASSERT_FALSE(c.regions.empty());
  for (const auto& r : c.regions) {
    EXPECT_FALSE(r.name.empty()) << r.region;
    ASSERT_FALSE(r.zones.empty()) << r.region;
    for (const auto& z : r.zones) {
      EXPECT_EQ(z.zone.rfind(r.region + "-", 0), 0u) << z.zone << " outside " << r.region;
      EXPECT_FALSE(z.zone_id.empty()) << z.zone;
      const RegionConfig* owner = nullptr;
      EXPECT_EQ(c.FindZone(z.zone, &owner), &z);
      EXPECT_EQ(owner, &r);
    }
    EXPECT_EQ(c.FindRegion(r.region), &r);
  }
  EXPECT_NE(c.FindRegion("ap-guangzhou"), nullptr);
  EXPECT_EQ(c.FindRegion("mars-north-1"), nullptr);
  EXPECT_EQ(c.FindZone("mars-north-1-1"), nullptr);
}

TEST(DefaultConfigTest, InstanceTypesFollowTencentSizes) {
  Config c = DefaultConfig();
  const InstanceTypeConfig* small = c.FindInstanceType("S5.SMALL1");
  ASSERT_NE(small, nullptr);
  EXPECT_EQ(small->family, "S5");
  EXPECT_EQ(small->cpu, 1);
  EXPECT_EQ(small->memory_mib, 1024);
  const InstanceTypeConfig* medium = c.FindInstanceType("S5.MEDIUM4");
  ASSERT_NE(medium, nullptr);
  EXPECT_EQ(medium->cpu, 2);
  EXPECT_EQ(medium->memory_mib, 4096);
  EXPECT_EQ(c.FindInstanceType("S5.HUGE999"), nullptr);
  for (const auto& t : c.instance_types) {
    EXPECT_EQ(t.family, t.type.substr(0, t.type.find('.'))) << t.type;
    EXPECT_GE(t.cpu, 1) << t.type;
    EXPECT_GE(t.memory_mib, 64) << t.type;
  }
}

TEST(DefaultConfigTest, ListensOnLoopbackWithLimits) {
  Config c = DefaultConfig();
  EXPECT_EQ(c.listen_address, "127.0.0.1");
  EXPECT_GT(c.listen_port, 0);
  EXPECT_EQ(c.max_body_bytes, size_t{1} << 20);
  EXPECT_TRUE(c.tls_cert_file.empty());
}

TEST_F(ConfigFileTest, FileOverridesDefaults) {
  auto c = Load(R"(
listen = "127.0.0.2"
port = 12345
max_body_bytes = 4096
cpu_overcommit = 2.5

[[regions]]
region = "eu-test"
name = "Test Europe"
zones = [ { zone = "eu-test-1", zone_id = "900001", name = "Test Zone 1" },
          { zone = "eu-test-2", zone_id = "900002", name = "Test Zone 2" } ]

[[instance_types]]
type = "X1.TINY"
cpu = 1
memory_mib = 128
)");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->listen_address, "127.0.0.2");
  EXPECT_EQ(c->listen_port, 12345);
  EXPECT_EQ(c->max_body_bytes, 4096u);
  EXPECT_DOUBLE_EQ(c->cpu_overcommit, 2.5);
  // Lists are replaced, not merged.
  ASSERT_EQ(c->regions.size(), 1u);
  EXPECT_EQ(c->regions[0].region, "eu-test");
  EXPECT_EQ(c->regions[0].name, "Test Europe");
  ASSERT_EQ(c->regions[0].zones.size(), 2u);
  EXPECT_EQ(c->regions[0].zones[1].zone_id, "900002");
  EXPECT_EQ(c->FindRegion("ap-guangzhou"), nullptr);
  ASSERT_EQ(c->instance_types.size(), 1u);
  EXPECT_EQ(c->instance_types[0].family, "X1");
  EXPECT_EQ(c->instance_types[0].memory_mib, 128);
  // What the file does not mention keeps its default.
  EXPECT_DOUBLE_EQ(c->memory_overcommit, DefaultConfig().memory_overcommit);
}

TEST_F(ConfigFileTest, PartialFileKeepsDefaultLists) {
  auto c = Load("port = 9999\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->listen_port, 9999);
  Config d = DefaultConfig();
  EXPECT_EQ(c->regions.size(), d.regions.size());
  EXPECT_EQ(c->instance_types.size(), d.instance_types.size());
  EXPECT_NE(c->FindInstanceType("S5.SMALL1"), nullptr);
}

TEST_F(ConfigFileTest, EmptyFileIsTheDefaults) {
  auto c = Load("");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->listen_port, DefaultConfig().listen_port);
  EXPECT_EQ(c->regions.size(), DefaultConfig().regions.size());
}

TEST_F(ConfigFileTest, UnknownKeysAreRefused) {
  ExpectRefused("prot = 1\n", "prot");
  ExpectRefused(R"(
[[regions]]
region = "eu-test"
zone = "eu-test-1"
)",
                "zone");
  ExpectRefused(R"(
[[regions]]
region = "eu-test"
zones = [ { zone = "eu-test-1", zoneid = "1" } ]
)",
                "zoneid");
  ExpectRefused(R"(
[[instance_types]]
type = "X1.TINY"
cpus = 2
)",
                "cpus");
}

TEST_F(ConfigFileTest, ZoneMustBelongToItsRegion) {
  ExpectRefused(R"(
[[regions]]
region = "eu-test"
zones = [ { zone = "ap-guangzhou-3", zone_id = "100003" } ]
)",
                "ap-guangzhou-3");
  // A bare prefix without the dash is not enough: "eu-testing-1" is not in "eu-test".
  ExpectRefused(R"(
[[regions]]
region = "eu-test"
zones = [ { zone = "eu-testing-1" } ]
)",
                "eu-testing-1");
}

TEST_F(ConfigFileTest, StructuralMistakesAreRefused) {
  ExpectRefused("regions = []\n", "at least one region");
  ExpectRefused("regions = [ 1 ]\n", "regions");
  ExpectRefused(R"(
[[regions]]
name = "no id"
)",
                "region");
  ExpectRefused(R"(
[[instance_types]]
type = "NODOT"
)",
                "NODOT");
  ExpectRefused(R"(
[[instance_types]]
type = "X1.ZERO"
cpu = 0
)",
                "X1.ZERO");
  ExpectRefused(R"(
[[instance_types]]
type = "X1.TINYMEM"
memory_mib = 16
)",
                "X1.TINYMEM");
}

// An integer setting given as a float or a string is refused by name; a float far outside the
// integer range once reached an unchecked cast (found by fuzz_config, kept in its corpus).
TEST_F(ConfigFileTest, IntegerSettingsOfAnotherTypeAreRefused) {
  ExpectRefused("port = 9e80\n", "port must be an integer");
  ExpectRefused("port = \"8080\"\n", "port must be an integer");
  ExpectRefused("port = 70000\n", "port must be between 0 and 65535");
  ExpectRefused("[http]\nmax_connections = 1.5\n", "max_connections must be an integer");
  ExpectRefused("[[instance_types]]\ntype = \"X1.F\"\ncpu = 2.0\n", "cpu must be an integer");
  auto c = Load("port = 8080\ncpu_overcommit = 2\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->listen_port, 8080);
  EXPECT_EQ(c->cpu_overcommit, 2.0);
}

TEST_F(ConfigFileTest, SyntaxErrorIsReportedWithThePath) {
  ExpectRefused("port = = 3\n", "cvmd.toml");
}

TEST_F(ConfigFileTest, MissingFileIsAnError) {
  auto c = LoadConfig(dir_ / "absent.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), err::kInvalidParameterValue);
}

// Disk types grow with size up to their ceiling, as Tencent's formulas do.
TEST(DefaultConfigTest, StorageTypesFollowThePublishedFormulas) {
  Config c = DefaultConfig();
  const StorageTypeConfig* premium = c.FindStorageType("CLOUD_PREMIUM");
  ASSERT_NE(premium, nullptr);
  EXPECT_EQ(premium->Iops(10), 1800 + 30 * 10);
  EXPECT_EQ(premium->Iops(1000), 6000);
  EXPECT_EQ(premium->ThroughputMBps(100), 140);
  EXPECT_EQ(premium->ThroughputMBps(1000), 150);
  const StorageTypeConfig* hssd = c.FindStorageType("CLOUD_HSSD");
  ASSERT_NE(hssd, nullptr);
  EXPECT_EQ(hssd->Iops(460), 1800 + 50 * 460);
  EXPECT_EQ(hssd->ThroughputMBps(460), 350);
  EXPECT_EQ(hssd->Iops(2000), 50000);
  const StorageTypeConfig* local = c.FindStorageType("LOCAL_BASIC");
  ASSERT_NE(local, nullptr);
  EXPECT_FALSE(local->cloud);
  EXPECT_EQ(local->Iops(100), 0);  // unthrottled
  EXPECT_EQ(c.FindStorageType("CLOUD_NOPE"), nullptr);
}

TEST_F(ConfigFileTest, StorageTypesAndPoolFromTheFile) {
  auto c = Load(R"(
storage_capacity_gb = 300
disk_detach_timeout = 7
[[storage_types]]
type = "CLOUD_FAST"
min_size_gb = 5
base_iops = 1000
iops_per_gb = 10
max_iops = 2000
base_mbps = 50
mbps_per_gb = 1
max_mbps = 80
)");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->storage_capacity_gb, 300);
  EXPECT_EQ(c->disk_detach_timeout_seconds, 7);
  ASSERT_EQ(c->storage_types.size(), 1u);
  EXPECT_EQ(c->storage_types[0].Iops(50), 1500);
  EXPECT_EQ(c->storage_types[0].ThroughputMBps(50), 80);
  ExpectRefused("[[storage_types]]\ntype = \"X\"\nspeed = 1\n", "speed");
  ExpectRefused("[[storage_types]]\ntype = \"X\"\nmin_size_gb = 0\n", "storage type");
}

TEST_F(ConfigFileTest, ExportTargetsMapBucketsToPlainHttpUrls) {
  auto c = Load(
      "[images]\nupload_stall_s = 5\n[images.export_targets]\n"
      "web = \"http://127.0.0.1:9000/up/\"\n\"b.2\" = \"https://store.example/x\"\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->image_upload_stall_s, 5);
  ASSERT_EQ(c->image_export_targets.size(), 2u);
  EXPECT_EQ(c->image_export_targets.at("web"), "http://127.0.0.1:9000/up");  // no trailing '/'
  EXPECT_EQ(c->image_export_targets.at("b.2"), "https://store.example/x");
  EXPECT_TRUE(DefaultConfig().image_export_targets.empty());

  ExpectRefused("[images.export_targets]\nb = \"ftp://127.0.0.1/\"\n", "export_targets");
  ExpectRefused("[images.export_targets]\nb = \"http://u:p@127.0.0.1/\"\n", "export_targets");
  ExpectRefused("[images.export_targets]\nb = \"http:///x\"\n", "export_targets");
  ExpectRefused("[images.export_targets]\nb = \"http://h/x?sig=1\"\n", "export_targets");
  ExpectRefused("[images.export_targets]\nb = 3\n", "export_targets");
  ExpectRefused("[images]\nexport_targets = \"http://127.0.0.1/\"\n", "export_targets");
  ExpectRefused("[images]\nupload_stall_s = 0\n", "upload_stall_s");
}

TEST_F(ConfigFileTest, HttpLimitsFromTheFile) {
  Config d = DefaultConfig();
  EXPECT_EQ(d.http_max_connections, 2048u);
  EXPECT_EQ(d.http_max_connections_per_address, 512u);
  EXPECT_EQ(d.http_body_budget_bytes, size_t{64} << 20);
  EXPECT_EQ(d.http_unauthenticated_timeout_s, 10);
  EXPECT_EQ(d.http_idle_timeout_s, 60);
  auto c = Load(R"(
[http]
max_connections = 100
max_connections_per_address = 10
body_budget_bytes = 2097152
unauthenticated_timeout_s = 3
idle_timeout_s = 30
)");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->http_max_connections, 100u);
  EXPECT_EQ(c->http_max_connections_per_address, 10u);
  EXPECT_EQ(c->http_body_budget_bytes, 2097152u);
  EXPECT_EQ(c->http_unauthenticated_timeout_s, 3);
  EXPECT_EQ(c->http_idle_timeout_s, 30);
  ExpectRefused("[http]\nmax_connections = 0\n", "max_connections");
  ExpectRefused("[http]\nidle_timeout_s = \"60\"\n", "idle_timeout_s");
  ExpectRefused("[http]\nmax_conections = 10\n", "max_conections");
  ExpectRefused("max_body_bytes = 4194304\n[http]\nbody_budget_bytes = 1048576\n",
                "body_budget_bytes");
}

}  // namespace
}  // namespace cvm
