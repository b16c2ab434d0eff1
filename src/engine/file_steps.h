// File steps shared by the engine's disk and image operations (engine/disk_operations.cpp).
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "common/status.h"

namespace cvm::engine {

// `qemu-img <args>`; a non-zero exit is an InternalError carrying its stderr.
Status RunQemuImg(std::vector<std::string> args,
                  std::chrono::seconds timeout = std::chrono::seconds(600));
Result<int64_t> VirtualSize(const std::filesystem::path& file);
// Replaces `dest` by `tmp` atomically; a crash leaves one or the other, never half of one.
Status PlaceFile(const std::filesystem::path& tmp, const std::filesystem::path& dest);
std::filesystem::path TmpPath(const std::filesystem::path& p);
// `qemu-img convert` of a qcow2 `source` into `out` in `format`, through a fresh TmpPath(out)
// (a qemu-img orphaned by a crash may still hold an old one's lock) placed only when complete;
// on failure nothing is left.
Status ConvertFile(const std::filesystem::path& source, const std::string& format,
                   const std::filesystem::path& out);

}  // namespace cvm::engine
