#include "drivers/guest/iso9660.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/subprocess.h"
#include "test_files.h"

namespace cvm::drivers::guest {
namespace {

namespace fs = std::filesystem;
using testutil::ReadFile;
using testutil::TempDir;
using namespace std::chrono_literals;

fs::path WriteImage(const fs::path& dir, const std::string& bytes) {
  fs::path p = dir / "x.iso";
  std::ofstream(p, std::ios::binary) << bytes;
  return p;
}

// xorriso reads the volume the way the kernel does: Joliet names when there is no Rock Ridge;
// with -read_fs ecma119 the primary tree.
std::string Ls(const fs::path& iso, const char* tree) {
  auto r = RunProcess({"xorriso", "-read_fs", tree, "-indev", iso.string(), "-ls", "/"}, 30s);
  EXPECT_TRUE(r.ok() && r->exit_code == 0) << (r.ok() ? r->stderr_data : r.status().message());
  return r.ok() ? r->stdout_data : "";
}

TEST(Iso9660Test, BothTreesHoldTheFilesAndTheLabel) {
  TempDir dir;
  std::string big(5000, 'x');  // spans three sectors
  big[4999] = 'y';
  auto img = BuildIso9660("cidata", {{"user-data", big}, {"meta-data", "instance-id: i\n"}},
                          1'700'000'000);
  ASSERT_TRUE(img.ok()) << img.status().ToString();
  EXPECT_EQ(img->size() % 2048, 0u);
  fs::path iso = WriteImage(dir.path(), *img);

  std::string joliet = Ls(iso, "any");
  EXPECT_NE(joliet.find("'meta-data'"), std::string::npos) << joliet;
  EXPECT_NE(joliet.find("'user-data'"), std::string::npos) << joliet;
  std::string primary = Ls(iso, "ecma119");
  EXPECT_NE(primary.find("'META-DATA'"), std::string::npos) << primary;

  fs::path out = dir.path() / "out";
  auto x = RunProcess(
      {"xorriso", "-osirrox", "on", "-indev", iso.string(), "-extract", "/", out.string()}, 30s);
  ASSERT_TRUE(x.ok() && x->exit_code == 0) << (x.ok() ? x->stderr_data : x.status().message());
  EXPECT_EQ(ReadFile(out / "meta-data"), "instance-id: i\n");
  EXPECT_EQ(ReadFile(out / "user-data"), big);

  auto pvd = RunProcess({"xorriso", "-indev", iso.string(), "-pvd_info"}, 30s);
  ASSERT_TRUE(pvd.ok());
  EXPECT_NE(pvd->stdout_data.find("Volume Id    : cidata"), std::string::npos) << pvd->stdout_data;
  auto label = RunProcess({"blkid", "-p", "-o", "value", "-s", "LABEL", iso.string()}, 10s);
  if (label.ok() && label->exit_code == 0) {
    EXPECT_EQ(label->stdout_data, "cidata\n");
  }
}

TEST(Iso9660Test, DirectoriesSpanSectorsWithoutSplittingRecords) {
  TempDir dir;
  std::vector<IsoFile> files;
  for (int i = 0; i < 40; ++i) {  // 40 Joliet records of ~160 bytes: four sectors
    files.push_back({fmt::format("{:02}-{}", i, std::string(58, 'a')), fmt::format("file {}", i)});
  }
  auto img = BuildIso9660("cidata", files, 0);
  ASSERT_TRUE(img.ok());
  fs::path iso = WriteImage(dir.path(), *img);
  fs::path out = dir.path() / "out";
  auto x = RunProcess(
      {"xorriso", "-osirrox", "on", "-indev", iso.string(), "-extract", "/", out.string()}, 30s);
  ASSERT_TRUE(x.ok() && x->exit_code == 0) << (x.ok() ? x->stderr_data : x.status().message());
  for (const auto& f : files) EXPECT_EQ(ReadFile(out / f.name), f.data) << f.name;
}

TEST(Iso9660Test, RefusesBadNames) {
  EXPECT_FALSE(BuildIso9660("cidata", {{"Upper", ""}}, 0).ok());
  EXPECT_FALSE(BuildIso9660("cidata", {{"a/b", ""}}, 0).ok());
  EXPECT_FALSE(BuildIso9660("cidata", {{"", ""}}, 0).ok());
  EXPECT_FALSE(BuildIso9660("cidata", {{"a", ""}, {"a", ""}}, 0).ok());
  EXPECT_FALSE(BuildIso9660("ci data", {{"a", ""}}, 0).ok());
  EXPECT_TRUE(BuildIso9660("cidata", {{"empty", ""}}, 0).ok());
}

}  // namespace
}  // namespace cvm::drivers::guest
