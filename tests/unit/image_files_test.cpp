// Untrusted image files: what InspectUntrustedImage accepts and refuses (files made with
// qemu-img here, a few KiB each).
#include "drivers/qemu/image_files.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/error_codes.h"
#include "common/subprocess.h"
#include "config/config.h"
#include "test_files.h"

namespace cvm::drivers::qemu {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
constexpr int64_t kGiB = int64_t{1} << 30;

void QemuImg(std::vector<std::string> args) {
  args.insert(args.begin(), "qemu-img");
  auto r = RunProcess(args, 30s);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->exit_code, 0) << r->stderr_data;
}

// A raw disk with an MBR boot signature, as a real disk image has.
fs::path BootableRaw(const fs::path& dir) {
  fs::path raw = dir / "disk.raw";
  std::ofstream out(raw, std::ios::binary);
  std::string sector(1 << 20, '\0');
  sector[510] = static_cast<char>(0x55);
  sector[511] = static_cast<char>(0xAA);
  out << sector;
  return raw;
}

TEST(ImageFilesTest, AcceptsSelfContainedImagesOfKnownFormats) {
  testutil::TempDir dir;
  fs::path raw = BootableRaw(dir.path());
  auto info = InspectUntrustedImage(raw, kGiB);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->format, "raw");
  EXPECT_EQ(info->virtual_size, 1 << 20);
  for (const std::string fmt : {"qcow2", "vmdk", "vpc", "vhdx"}) {
    fs::path f = dir.path() / ("disk." + fmt);
    QemuImg({"convert", "-q", "-f", "raw", "-O", fmt, raw.string(), f.string()});
    auto i = InspectUntrustedImage(f, kGiB);
    ASSERT_TRUE(i.ok()) << fmt << ": " << i.status().ToString();
    EXPECT_EQ(i->format, fmt);
  }
}

TEST(ImageFilesTest, RefusesWhatIsNotOneSaneDiskImage) {
  testutil::TempDir dir;
  auto code = [](const fs::path& f, int64_t max = kGiB) {
    return InspectUntrustedImage(f, max).status().code();
  };
  const std::string bad = std::string(cvm::kind::kBadImage);
  fs::path text = dir.path() / "notes.txt";
  std::ofstream(text) << std::string(4096, 'x');
  EXPECT_EQ(code(text), bad);  // "raw" to qemu-img, but no boot sector
  EXPECT_EQ(code(dir.path()), bad);
  EXPECT_EQ(code(dir.path() / "missing"), bad);

  fs::path backed = dir.path() / "backed.qcow2";
  QemuImg(
      {"create", "-q", "-f", "qcow2", "-F", "raw", "-b", "/etc/hostname", backed.string(), "1M"});
  EXPECT_EQ(code(backed), bad);

  fs::path big = dir.path() / "big.qcow2";
  QemuImg({"create", "-q", "-f", "qcow2", big.string(), "2G"});
  EXPECT_EQ(code(big), cvm::kind::kTooLarge);
  EXPECT_EQ(code(big, 4 * kGiB), "");

  fs::path link = dir.path() / "link.qcow2";
  fs::create_symlink(big, link);
  EXPECT_EQ(code(link, 4 * kGiB), bad);  // the caller resolves links; a link here is refused
}

}  // namespace
}  // namespace cvm::drivers::qemu

namespace cvm {
namespace {

TEST(ImagesConfigTest, ImagesTableSetsDirectoriesAndLimits) {
  testutil::TempDir dir;
  auto file = dir.path() / "cvmd.toml";
  std::ofstream(file) << "[images]\nimport_dir = \"/srv/in\"\nexport_dir = \"/srv/out\"\n"
                         "max_virtual_gb = 64\nquota = 7\n";
  auto c = LoadConfig(file);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->image_import_dir, "/srv/in");
  EXPECT_EQ(c->image_export_dir, "/srv/out");
  EXPECT_EQ(c->image_max_virtual_gb, 64);
  EXPECT_EQ(c->image_quota, 7);
  EXPECT_TRUE(DefaultConfig().image_import_dir.empty());  // importing is opt-in

  std::ofstream(file) << "[images]\nimport = \"/srv/in\"\n";
  EXPECT_FALSE(LoadConfig(file).ok());
}

}  // namespace
}  // namespace cvm
