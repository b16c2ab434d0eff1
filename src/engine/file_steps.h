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
// The name operation `operation_id` builds `p` under: its own, so two operations aimed at one
// file never share (nor delete) each other's partial copy.
std::filesystem::path OperationTmpPath(const std::filesystem::path& p,
                                       const std::string& operation_id);
// Gives `tmp` the name `dest` too, unless `dest` exists (link(2): never replaces a file, whoever
// made it). `tmp` keeps its name: the caller removes it once the placement is recorded.
Status LinkNoReplace(const std::filesystem::path& tmp, const std::filesystem::path& dest);
// True when `a` and `b` are one file (a LinkNoReplace done before a crash).
bool SameFile(const std::filesystem::path& a, const std::filesystem::path& b);
// `qemu-img convert` of a qcow2 `source` into `format` at `tmp` (removed first: a qemu-img
// orphaned by a crash may still hold an old one's lock); on failure nothing is left.
Status ConvertFile(const std::filesystem::path& source, const std::string& format,
                   const std::filesystem::path& tmp);

}  // namespace cvm::engine
