#include "services/cvm/ssh_keys.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "common/subprocess.h"
#include "test_files.h"

namespace cvm::services {
namespace {

namespace fs = std::filesystem;
using testutil::ReadFile;
using testutil::TempDir;
using namespace std::chrono_literals;

// OpenSSH itself must read the private key and derive the same public key from it.
void ExpectOpenSshAgrees(const SshKeyPair& pair) {
  TempDir dir;
  fs::path f = dir.path() / "key";
  std::ofstream(f) << pair.private_key;
  ::chmod(f.c_str(), 0600);
  auto r = RunProcess({"ssh-keygen", "-y", "-f", f.string()}, 30s);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->exit_code, 0) << r->stderr_data << pair.private_key;
  std::string derived = r->stdout_data.substr(0, r->stdout_data.find_last_not_of("\n") + 1);
  // ssh-keygen -y prints "TYPE BASE64 COMMENT"; compare type and key data.
  auto head = [](const std::string& s) { return s.substr(0, s.find(' ', s.find(' ') + 1)); };
  EXPECT_EQ(head(derived), head(pair.public_key));
}

TEST(SshKeysTest, GeneratesEd25519KeysOpenSshReads) {
  auto pair = GenerateSshKeyPair("ed25519", "alice_key");
  ASSERT_TRUE(pair.ok()) << pair.status().ToString();
  EXPECT_EQ(pair->public_key.rfind("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5", 0), 0u);
  EXPECT_EQ(pair->public_key.substr(pair->public_key.rfind(' ') + 1), "alice_key");
  EXPECT_EQ(pair->private_key.rfind("-----BEGIN OPENSSH PRIVATE KEY-----\n", 0), 0u);
  ExpectOpenSshAgrees(*pair);
  EXPECT_TRUE(NormalizePublicKey(pair->public_key).ok());
  auto other = GenerateSshKeyPair("ed25519", "alice_key");
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->public_key, pair->public_key);
}

TEST(SshKeysTest, GeneratesRsaKeysOpenSshReads) {
  auto pair = GenerateSshKeyPair("rsa", "bob");
  ASSERT_TRUE(pair.ok()) << pair.status().ToString();
  EXPECT_EQ(pair->public_key.rfind("ssh-rsa AAAAB3NzaC1yc2E", 0), 0u);
  ExpectOpenSshAgrees(*pair);
  EXPECT_TRUE(NormalizePublicKey(pair->public_key).ok());
  EXPECT_FALSE(GenerateSshKeyPair("dsa", "x").ok());
}

TEST(SshKeysTest, NormalizesAndRefusesPublicKeys) {
  const std::string ed =
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJfa7Hj+2QAC0vL5f/HlhL7atJVqh8ZIzegAp3KyBy8Y";
  std::string blob;
  auto k = NormalizePublicKey("  " + ed + "   my  laptop \r\n", &blob);
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ(*k, ed + " my  laptop");
  EXPECT_EQ(blob, ed);
  EXPECT_EQ(*NormalizePublicKey(ed), ed);

  auto code = [](const std::string& line) { return NormalizePublicKey(line).status().code(); };
  EXPECT_EQ(code(""), "InvalidPublicKey.Malformed");
  EXPECT_EQ(code("ssh-ed25519"), "InvalidPublicKey.Malformed");
  EXPECT_EQ(code("ssh-ed25519 not-base64!"), "InvalidPublicKey.Malformed");
  EXPECT_EQ(code("command=\"/bin/sh\" " + ed), "InvalidPublicKey.Malformed");  // no options
  EXPECT_EQ(code("ssh-rsa " + ed.substr(12)), "InvalidPublicKey.Malformed");   // type mismatch
  EXPECT_EQ(code(ed + "\nssh-ed25519 AAAA"), "InvalidPublicKey.Malformed");    // two lines
  EXPECT_EQ(code(ed + " comment\x01"), "InvalidPublicKey.Malformed");
  EXPECT_EQ(code("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAEJfa7Hj+2QAC0vL5f/HlhL4="),
            "InvalidPublicKey.Malformed");  // 16-byte key
  EXPECT_EQ(code("ssh-dss AAAAB3NzaC1kc3MAAACBAP"), "InvalidPublicKey.Malformed");
}

TEST(SshKeysTest, AcceptsWhatSshKeygenMakes) {
  TempDir dir;
  for (const char* type : {"ecdsa", "ed25519", "rsa"}) {
    fs::path f = dir.path() / type;
    auto r = RunProcess({"ssh-keygen", "-q", "-t", type, "-N", "", "-f", f.string()}, 60s);
    ASSERT_TRUE(r.ok() && r->exit_code == 0);
    std::ifstream in(f.string() + ".pub");
    std::string line;
    std::getline(in, line);
    EXPECT_TRUE(NormalizePublicKey(line).ok()) << line;
  }
}

}  // namespace
}  // namespace cvm::services
