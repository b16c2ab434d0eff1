// File steps shared by the engine's disk and image operations (engine/disk_operations.cpp).
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "common/status.h"
#include "engine/host.h"

namespace cvm::engine {

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
// Makes `tmp` with `make` on a fresh name (a qemu-img orphaned by a crash may still hold an old
// file's lock); on failure nothing is left, whatever `make` left half-written.
Status MakeFile(const std::filesystem::path& tmp, const std::function<Status()>& make);
// `images.Convert` of a qcow2 `source` into `format` at `tmp`, as MakeFile.
Status ConvertFile(DiskImages& images, const std::filesystem::path& source,
                   const std::string& format, const std::filesystem::path& tmp);

}  // namespace cvm::engine
