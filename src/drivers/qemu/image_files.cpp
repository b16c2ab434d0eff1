#include "drivers/qemu/image_files.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "common/error_codes.h"
#include "common/subprocess.h"

namespace cvm::drivers::qemu {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

Status Refuse(const fs::path& file, const std::string& why) {
  return Status(kind::kBadImage,
                "The file " + file.filename().string() + " is refused: " + why + ".");
}

// Offsets 510-511 hold 0x55 0xAA in an MBR and in GPT's protective MBR: a bootable disk has it.
bool HasBootSignature(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  char sig[2] = {};
  in.seekg(510);
  return in.read(sig, 2) && static_cast<unsigned char>(sig[0]) == 0x55 &&
         static_cast<unsigned char>(sig[1]) == 0xAA;
}

}  // namespace

std::vector<std::string> LimitedQemuImg(std::vector<std::string> args) {
  std::vector<std::string> argv = {"prlimit", "--as=4294967296", "--cpu=1800", "--core=0",
                                   "--",      "qemu-img"};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

Result<ImageFileInfo> InspectUntrustedImage(const fs::path& file, int64_t max_virtual_bytes) {
  std::error_code ec;
  if (!fs::is_regular_file(fs::symlink_status(file, ec))) {
    return Refuse(file, "it is not a regular file");
  }
  auto r = RunProcess(LimitedQemuImg({"info", "--output=json", file.string()}), 60s);
  if (!r.ok()) return r.status();
  auto info = nlohmann::json::parse(r->stdout_data, nullptr, false);
  if (r->exit_code != 0 || !info.is_object()) {
    std::string err = r->stderr_data.substr(0, 200);
    while (!err.empty() && err.back() == '\n') err.pop_back();
    return Refuse(file, "qemu-img cannot read it (" + err + ")");
  }
  ImageFileInfo out{info.value("format", ""), info.value("virtual-size", int64_t{0})};
  static const std::set<std::string> kFormats = {"qcow2", "raw", "vmdk", "vpc", "vhdx"};
  if (!kFormats.count(out.format)) {
    return Refuse(file, "format `" + out.format + "` is not one of qcow2, raw, vmdk, vhd, vhdx");
  }
  if (info.contains("backing-filename") || info.contains("full-backing-filename")) {
    return Refuse(file, "it names a backing file, which is never followed");
  }
  const auto data = info.value("format-specific", nlohmann::json::object())
                        .value("data", nlohmann::json::object());
  if (data.contains("data-file")) return Refuse(file, "it names an external data file");
  if (data.contains("extents")) {
    for (const auto& e : data["extents"]) {
      if (fs::path(e.value("filename", "")) != file) {
        return Refuse(file, "its vmdk extents live in other files");
      }
    }
  }
  if (info.value("corrupt", false) || data.value("corrupt", false)) {
    return Refuse(file, "the image is marked corrupt");
  }
  if (out.virtual_size <= 0) return Refuse(file, "its virtual size is zero");
  if (out.virtual_size > max_virtual_bytes) {
    return Status(kind::kTooLarge, "The image's virtual size (" +
                                       std::to_string(out.virtual_size >> 20) +
                                       " MiB) exceeds the limit of " +
                                       std::to_string(max_virtual_bytes >> 20) + " MiB.");
  }
  if (out.format == "raw" && !HasBootSignature(file)) {
    return Refuse(file, "it is not a disk image (no boot sector)");
  }
  // A truncated or damaged qcow2 passes `info`; `check` reads its whole metadata.
  if (out.format == "qcow2") {
    auto c = RunProcess(LimitedQemuImg({"check", "-q", "-f", "qcow2", file.string()}), 300s);
    if (!c.ok()) return c.status();
    // 3: leaked clusters only, harmless.
    if (c->exit_code != 0 && c->exit_code != 3) {
      return Refuse(file, "its qcow2 metadata is damaged or truncated");
    }
  }
  return out;
}

}  // namespace cvm::drivers::qemu
