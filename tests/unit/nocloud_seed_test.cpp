#include "drivers/guest/nocloud_seed.h"

#include <crypt.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/error_codes.h"
#include "common/subprocess.h"
#include "test_files.h"

namespace cvm::drivers::guest {
namespace {

namespace fs = std::filesystem;
using testutil::ReadFile;
using testutil::TempDir;
using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr char kKey[] = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq0 alice@laptop";
constexpr char kHash[] = "$6$saltsalt$abcdefghijklmnopqrstuvwxyz0123456789./";

SeedConfig BaseConfig() {
  SeedConfig c;
  c.instance_id = "ins-abc123";
  c.hostname = "web-1";
  c.ssh_authorized_keys = {kKey};
  c.root_password_hash = kHash;
  return c;
}

bool HavePython() {
  static const bool have = [] {
    auto r = RunProcess({"python3", "-c", "import yaml, email"}, 30s);
    return r.ok() && r->exit_code == 0;
  }();
  return have;
}

// Runs a Python script over a JSON list of documents (one interpreter start: they are slow on a
// busy host) and returns its JSON output.
json Py(const char* script, const std::vector<std::string>& docs) {
  auto r = RunProcess({"python3", "-c", script}, 30s, json(docs).dump());
  EXPECT_TRUE(r.ok() && r->exit_code == 0) << (r.ok() ? r->stderr_data : r.status().message());
  if (!r.ok() || r->exit_code != 0) return json::array();
  return json::parse(r->stdout_data);
}

// Loads each YAML document with PyYAML (a strict, real parser), as JSON.
json PyYaml(const std::vector<std::string>& docs) {
  return Py(
      "import sys, json, yaml\n"
      "print(json.dumps([yaml.safe_load(d) for d in json.load(sys.stdin)]))",
      docs);
}

// Splits MIME documents the way cloud-init does (email.message_from_string, then
// get_payload(decode=True)): per document [[content type, decoded text], ...].
json PyMimeParts(const std::vector<std::string>& docs) {
  return Py(R"(
import sys, json, email
def parts(doc):
    out = []
    for part in email.message_from_string(doc).walk():
        if not part.is_multipart():
            out.append([part.get_content_type(), part.get_payload(decode=True).decode('utf-8')])
    return out
print(json.dumps([parts(d) for d in json.load(sys.stdin)]))
)",
            docs);
}

TEST(NoCloudSeedTest, RendersMetaData) {
  EXPECT_EQ(RenderMetaData(BaseConfig()),
            "instance-id: \"ins-abc123\"\n"
            "local-hostname: \"web-1\"\n");
}

TEST(NoCloudSeedTest, RendersCloudConfig) {
  EXPECT_EQ(RenderUserData(BaseConfig()),
            "#cloud-config\n"
            "hostname: \"web-1\"\n"
            "manage_etc_hosts: true\n"
            "disable_root: false\n"
            "ssh_authorized_keys:\n"
            "  - \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq0 alice@laptop\"\n"
            "ssh_pwauth: true\n"
            "chpasswd:\n"
            "  expire: false\n"
            "  users:\n"
            "    - name: root\n"
            "      password: \"$6$saltsalt$abcdefghijklmnopqrstuvwxyz0123456789./\"\n"
            "      type: hash\n");
  SeedConfig c = BaseConfig();
  c.root_password_hash.reset();
  c.ssh_authorized_keys.clear();
  EXPECT_EQ(RenderUserData(c),
            "#cloud-config\n"
            "hostname: \"web-1\"\n"
            "manage_etc_hosts: true\n"
            "disable_root: false\n");
}

TEST(NoCloudSeedTest, RendersNetworkConfig) {
  SeedConfig c = BaseConfig();
  EXPECT_EQ(RenderNetworkConfig(c), "");
  c.nics = {{.mac = "52:54:00:AB:CD:EF",
             .address_cidr = "10.0.0.5/24",
             .gateway = "10.0.0.1",
             .dns = {"10.0.0.2", "10.0.0.3"}},
            {.mac = "52:54:00:00:00:02", .dhcp = true}};
  EXPECT_EQ(RenderNetworkConfig(c),
            "version: 2\n"
            "ethernets:\n"
            "  eth0:\n"
            "    match:\n"
            "      macaddress: \"52:54:00:ab:cd:ef\"\n"
            "    set-name: eth0\n"
            "    addresses:\n"
            "      - \"10.0.0.5/24\"\n"
            "    gateway4: \"10.0.0.1\"\n"
            "    nameservers:\n"
            "      addresses:\n"
            "        - \"10.0.0.2\"\n"
            "        - \"10.0.0.3\"\n"
            "  eth1:\n"
            "    match:\n"
            "      macaddress: \"52:54:00:00:00:02\"\n"
            "    set-name: eth1\n"
            "    dhcp4: true\n");
}

TEST(NoCloudSeedTest, PasswordLoginCanBeTurnedOffWithAHashKept) {
  SeedConfig c = BaseConfig();
  c.ssh_pwauth = false;  // keys bound: the hash stays for the console, SSH takes keys only
  std::string ud = RenderUserData(c);
  EXPECT_NE(ud.find("ssh_pwauth: false\n"), std::string::npos) << ud;
  EXPECT_EQ(ud.find("ssh_pwauth: true"), std::string::npos);
  EXPECT_NE(ud.find(kHash), std::string::npos);
  c.root_password_hash.reset();
  c.ssh_pwauth.reset();
  EXPECT_EQ(RenderUserData(c).find("ssh_pwauth"), std::string::npos);  // the image decides
}

TEST(NoCloudSeedTest, QuotingSurvivesARealYamlParser) {
  if (!HavePython()) GTEST_SKIP() << "python3 with PyYAML not installed";
  SeedConfig c = BaseConfig();
  c.ssh_authorized_keys = {kKey, "ssh-rsa AAAAB3 \"quoted\" back\\slash: #not-a-comment 'x'"};
  c.nics = {{.mac = "52:54:00:ab:cd:ef", .address_cidr = "10.0.0.5/24", .gateway = "10.0.0.1"}};
  json docs = PyYaml({RenderUserData(c), RenderMetaData(c), RenderNetworkConfig(c)});
  ASSERT_EQ(docs.size(), 3u);
  const json& ud = docs[0];
  EXPECT_EQ(ud["hostname"], "web-1");
  EXPECT_EQ(ud["disable_root"], false);
  EXPECT_EQ(ud["ssh_pwauth"], true);
  EXPECT_EQ(ud["ssh_authorized_keys"], json(c.ssh_authorized_keys));
  EXPECT_EQ(ud["chpasswd"],
            json({{"expire", false},
                  {"users", {{{"name", "root"}, {"password", kHash}, {"type", "hash"}}}}}));
  EXPECT_EQ(docs[1], json({{"instance-id", "ins-abc123"}, {"local-hostname", "web-1"}}));
  const json& nc = docs[2];
  EXPECT_EQ(nc["version"], 2);
  EXPECT_EQ(nc["ethernets"]["eth0"]["match"]["macaddress"], "52:54:00:ab:cd:ef");
  EXPECT_EQ(nc["ethernets"]["eth0"]["addresses"], json({"10.0.0.5/24"}));
  EXPECT_EQ(nc["ethernets"]["eth0"]["gateway4"], "10.0.0.1");
  EXPECT_EQ(YamlQuote("a\"b\\c\nd\x01"), "\"a\\\"b\\\\c\\nd\"");
}

TEST(NoCloudSeedTest, TinyImageParserReadsOurYaml) {
  // The tiny image's init parses seeds with busybox awk; check the contract from our side.
  fs::path awk =
      fs::path(__FILE__).parent_path() / "../../images/tiny/rootfs/usr/lib/opencvm/yaml.awk";
  if (!fs::exists(awk)) GTEST_SKIP() << "no " << awk;
  auto has_busybox = RunProcess({"busybox", "true"}, 5s);
  if (!has_busybox.ok() || has_busybox->exit_code != 0) GTEST_SKIP() << "busybox not installed";
  SeedConfig c = BaseConfig();
  c.nics = {{.mac = "52:54:00:ab:cd:ef",
             .address_cidr = "10.0.0.5/24",
             .gateway = "10.0.0.1",
             .dns = {"10.0.0.2"}}};
  auto flat = [&](const std::string& doc) {
    auto r = RunProcess({"busybox", "awk", "-f", awk.string()}, 10s, doc);
    EXPECT_TRUE(r.ok() && r->exit_code == 0);
    return r.ok() ? r->stdout_data : std::string();
  };
  std::string ud = flat(RenderUserData(c));
  EXPECT_NE(ud.find("hostname\tweb-1\n"), std::string::npos) << ud;
  EXPECT_NE(ud.find(std::string("ssh_authorized_keys.0\t") + kKey + "\n"), std::string::npos) << ud;
  EXPECT_NE(ud.find("chpasswd.users.0.name\troot\n"), std::string::npos) << ud;
  EXPECT_NE(ud.find(std::string("chpasswd.users.0.password\t") + kHash + "\n"), std::string::npos)
      << ud;
  std::string md = flat(RenderMetaData(c));
  EXPECT_NE(md.find("instance-id\tins-abc123\n"), std::string::npos) << md;
  EXPECT_NE(md.find("local-hostname\tweb-1\n"), std::string::npos) << md;
  std::string nc = flat(RenderNetworkConfig(c));
  EXPECT_NE(nc.find("ethernets.eth0.match.macaddress\t52:54:00:ab:cd:ef\n"), std::string::npos)
      << nc;
  EXPECT_NE(nc.find("ethernets.eth0.addresses.0\t10.0.0.5/24\n"), std::string::npos) << nc;
  EXPECT_NE(nc.find("ethernets.eth0.gateway4\t10.0.0.1\n"), std::string::npos) << nc;
  EXPECT_NE(nc.find("ethernets.eth0.nameservers.addresses.0\t10.0.0.2\n"), std::string::npos) << nc;

  fs::path mime = awk.parent_path() / "mime.awk";
  if (!fs::exists(mime)) return;
  TempDir dir;
  c.user_data = "#!/bin/sh\necho hi\n";
  auto r = RunProcess({"busybox", "awk", "-v", "dir=" + dir.path().string(), "-f", mime.string()},
                      10s, RenderUserData(c));
  ASSERT_TRUE(r.ok() && r->exit_code == 0);
  EXPECT_EQ(r->stdout_data,
            dir.path().string() + "/part-1\ttext/cloud-config\t7bit\topencvm.cfg\n" +
                dir.path().string() + "/part-2\ttext/x-shellscript\t7bit\tuser-data.sh\n");
  // awk rewrites lines, so the boundary's line break comes back as one blank line at the end.
  EXPECT_EQ(ReadFile(dir.path() / "part-1"), RenderUserData(BaseConfig()) + "\n");
  EXPECT_EQ(ReadFile(dir.path() / "part-2"), c.user_data + "\n");
}

TEST(NoCloudSeedTest, UserDataBecomesMultipartOursFirst) {
  SeedConfig c = BaseConfig();
  c.user_data = "#!/bin/sh\necho hello > /tmp/hello\n";
  std::string ud = RenderUserData(c);
  EXPECT_EQ(ud.rfind("Content-Type: multipart/mixed; boundary=\"==OPENCVM-BOUNDARY==\"\n", 0), 0u)
      << ud;
  EXPECT_NE(ud.find("MIME-Version: 1.0\n"), std::string::npos);
  size_t ours = ud.find("Content-Type: text/cloud-config");
  size_t theirs = ud.find("Content-Type: text/x-shellscript");
  ASSERT_NE(ours, std::string::npos);
  ASSERT_NE(theirs, std::string::npos);
  EXPECT_LT(ours, theirs);
  EXPECT_NE(ud.find("\n#!/bin/sh\necho hello > /tmp/hello\n\n--==OPENCVM-BOUNDARY==--\n"),
            std::string::npos)
      << ud;

  if (!HavePython()) GTEST_SKIP() << "python3 not installed";
  // The user's own cloud-config keeps its type; anything else runs as a script; text without a
  // final newline, non-ASCII text and a body that contains the boundary all survive intact.
  std::vector<std::string> user_datas = {c.user_data, "#cloud-config\npackages: [nginx]\n",
                                         "echo no newline at the end",
                                         "echo 你好 ==OPENCVM-BOUNDARY==\n"};
  std::vector<std::string> docs;
  for (const auto& u : user_datas) {
    c.user_data = u;
    docs.push_back(RenderUserData(c));
  }
  EXPECT_NE(docs[3].find("boundary=\"==OPENCVM-BOUNDARY-1==\""), std::string::npos);
  json parsed = PyMimeParts(docs);
  ASSERT_EQ(parsed.size(), docs.size());
  const char* types[] = {"text/x-shellscript", "text/cloud-config", "text/x-shellscript",
                         "text/x-shellscript"};
  for (size_t i = 0; i < docs.size(); ++i) {
    const json& parts = parsed[i];
    ASSERT_EQ(parts.size(), 2u) << docs[i];
    EXPECT_EQ(parts[0][0], "text/cloud-config");
    EXPECT_EQ(parts[0][1], RenderUserData(BaseConfig()));
    EXPECT_EQ(parts[1][0], types[i]) << docs[i];
    EXPECT_EQ(parts[1][1], user_datas[i]) << docs[i];
  }
}

TEST(NoCloudSeedTest, RejectsUnsafeInput) {
  EXPECT_TRUE(ValidateSeedConfig(BaseConfig()).ok());
  auto bad = [](auto mutate) {
    SeedConfig c = BaseConfig();
    mutate(c);
    return ValidateSeedConfig(c).code();
  };
  EXPECT_EQ(bad([](SeedConfig& c) { c.hostname = "web\nruncmd: [x]"; }), cvm::kind::kBug);
  EXPECT_EQ(bad([](SeedConfig& c) { c.hostname = "a\"b"; }), cvm::kind::kBug);
  EXPECT_EQ(bad([](SeedConfig& c) { c.hostname = "-x"; }), cvm::kind::kBug);
  EXPECT_EQ(bad([](SeedConfig& c) { c.hostname = ""; }), cvm::kind::kBug);
  EXPECT_EQ(bad([](SeedConfig& c) { c.ssh_authorized_keys = {"ssh-rsa AAA\nssh_pwauth: true"}; }),
            cvm::kind::kBug);
  EXPECT_EQ(bad([](SeedConfig& c) { c.root_password_hash = "plaintext"; }), cvm::kind::kBug);
  EXPECT_EQ(bad([](SeedConfig& c) { c.instance_id = "ins x"; }), cvm::kind::kBug);
  EXPECT_EQ(bad([](SeedConfig& c) { c.nics = {{.mac = "zz:54:00:ab:cd:ef", .dhcp = true}}; }),
            cvm::kind::kBug);
  EXPECT_EQ(bad([](SeedConfig& c) {
              c.nics = {{.mac = "52:54:00:ab:cd:ef", .address_cidr = "10.0.0.5/33"}};
            }),
            cvm::kind::kBug);
  EXPECT_EQ(
      bad([](SeedConfig& c) {
        c.nics = {
            {.mac = "52:54:00:ab:cd:ef", .address_cidr = "10.0.0.5/24", .gateway = "10.0.0.1\n"}};
      }),
      cvm::kind::kBug);
}

TEST(NoCloudSeedTest, HashPasswordIsSha512Crypt) {
  auto h = HashPassword("Passw0rd!");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->rfind("$6$", 0), 0u);
  crypt_data data{};
  EXPECT_EQ(std::string(crypt_r("Passw0rd!", h->c_str(), &data)), *h);
  EXPECT_NE(std::string(crypt_r("wrong", h->c_str(), &data)), *h);
  auto h2 = HashPassword("Passw0rd!");
  ASSERT_TRUE(h2.ok());
  EXPECT_NE(*h, *h2);  // random salt
}

TEST(NoCloudSeedTest, WritesACidataIso) {
  TempDir dir;
  SeedConfig c = BaseConfig();
  c.user_data = "#!/bin/sh\necho hi\n";
  c.nics = {{.mac = "52:54:00:ab:cd:ef", .dhcp = true}};
  fs::path iso = dir.path() / "instances" / "ins-abc123" / "seed.iso";
  ASSERT_TRUE(WriteSeedIso(c, iso).ok());
  ASSERT_TRUE(fs::exists(iso));
  EXPECT_EQ(fs::status(iso).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  // Nothing but the ISO is left next to it.
  EXPECT_EQ(std::distance(fs::directory_iterator(iso.parent_path()), fs::directory_iterator()), 1);

  auto ls = RunProcess({"xorriso", "-indev", iso.string(), "-ls", "/"}, 30s);
  ASSERT_TRUE(ls.ok() && ls->exit_code == 0);
  EXPECT_NE(ls->stdout_data.find("'meta-data'"), std::string::npos) << ls->stdout_data;
  EXPECT_NE(ls->stdout_data.find("'user-data'"), std::string::npos);
  EXPECT_NE(ls->stdout_data.find("'network-config'"), std::string::npos);

  auto label = RunProcess({"blkid", "-o", "value", "-s", "LABEL", iso.string()}, 10s);
  if (label.ok() && label->exit_code == 0) {
    EXPECT_EQ(label->stdout_data, "cidata\n");
  }
  auto pvd = RunProcess({"xorriso", "-indev", iso.string(), "-pvd_info"}, 30s);
  ASSERT_TRUE(pvd.ok());
  EXPECT_NE(pvd->stdout_data.find("Volume Id    : cidata"), std::string::npos) << pvd->stdout_data;

  fs::path out = dir.path() / "extract";
  auto x = RunProcess(
      {"xorriso", "-osirrox", "on", "-indev", iso.string(), "-extract", "/", out.string()}, 30s);
  ASSERT_TRUE(x.ok() && x->exit_code == 0) << (x.ok() ? x->stderr_data : x.status().message());
  EXPECT_EQ(ReadFile(out / "meta-data"), RenderMetaData(c));
  EXPECT_EQ(ReadFile(out / "user-data"), RenderUserData(c));
  EXPECT_EQ(ReadFile(out / "network-config"), RenderNetworkConfig(c));

  // Rewriting replaces atomically; an invalid config leaves the old ISO in place.
  c.hostname = "bad\nhost";
  EXPECT_FALSE(WriteSeedIso(c, iso).ok());
  EXPECT_TRUE(fs::exists(iso));
  EXPECT_EQ(std::distance(fs::directory_iterator(iso.parent_path()), fs::directory_iterator()), 1);
}

}  // namespace
}  // namespace cvm::drivers::guest
