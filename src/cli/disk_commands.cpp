#include "cli/disk_commands.h"

#include <iostream>
#include <map>
#include <thread>

#include "cli/cli_support.h"
#include "cli/output.h"
#include "common/error_codes.h"

namespace cvm::cli {
namespace {

using nlohmann::json;

// Waits until every disk is listed (a new one appears once its file is made) and at rest
// (UNATTACHED or ATTACHED, and for `size_gb` that size); fails with the disk's ErrorPrompt when
// the action it waited for did not take.
Status WaitForDisks(ApiClient& client, const std::vector<std::string>& ids,
                    const std::string& want_state, int64_t size_gb, double timeout_s) {
  Progress progress;
  while (true) {
    auto r = client.Call("DescribeDisks", {{"DiskIds", ids}, {"Limit", 100}});
    if (!r.ok()) return r.status();
    const json disks = r->value("DiskSet", json::array());
    bool done = disks.size() == ids.size();
    std::string line;
    for (const auto& disk : disks) {
      std::string state = Str(disk, "DiskState");
      line += (line.empty() ? "" : "  ") + Str(disk, "DiskId") + " " + state;
      bool at_rest = state == "UNATTACHED" || state == "ATTACHED";
      if (!at_rest) {
        done = false;
        continue;
      }
      bool reached = (want_state.empty() || state == want_state) &&
                     (size_gb == 0 || disk.value("DiskSize", int64_t{0}) == size_gb);
      if (!reached) {
        std::string why = Str(disk, "ErrorPrompt");
        return Status(err::kFailedOperation,
                      Str(disk, "DiskId") + " is " + state + (why.empty() ? "" : ": " + why));
      }
    }
    progress.Show(line);
    if (done) return Status::Ok();
    if (progress.Seconds() > timeout_s) return TimedOut("the disks", timeout_s);
    std::this_thread::sleep_for(kPollInterval);
  }
}

}  // namespace

DiskCommands::DiskCommands(CLI::App& app) {
  disk_cmd_ = app.add_subcommand("disk", "cloud disks (CBS): create, attach, grow, snapshot");
  disk_cmd_->require_subcommand(1);
  auto wait_opts = [&](CLI::App* cmd) { AddWaitOptions(cmd, no_wait_, timeout_s_, "disk", 300); };
  create_cmd_ = disk_cmd_->add_subcommand("create", "create data disks");
  create_cmd_->add_option("--size", size_, "size in GiB (default: the snapshot's)");
  create_cmd_->add_option("--type", type_, "CLOUD_PREMIUM (default), CLOUD_SSD, CLOUD_HSSD, ...");
  create_cmd_->add_option("--zone", zone_, "zone (default: the region's first zone)");
  create_cmd_->add_option("--name", name_, "disk name");
  create_cmd_->add_option("--snapshot", snapshot_id_, "fill the disk from this snapshot");
  wait_opts(create_cmd_);
  create_cmd_->add_option("--count", count_, "how many disks")->check(CLI::Range(1, 50));

  ls_cmd_ = disk_cmd_->add_subcommand("ls", "list disks");

  attach_cmd_ = disk_cmd_->add_subcommand("attach", "attach disks to an instance (hot-plug)");
  attach_cmd_->add_option("instance", instance_id_, "instance id")->required();
  attach_cmd_->add_option("disks", ids_, "disk ids")->required();
  wait_opts(attach_cmd_);

  detach_cmd_ = disk_cmd_->add_subcommand("detach", "detach disks from their instance");
  detach_cmd_->add_option("disks", ids_, "disk ids")->required();
  wait_opts(detach_cmd_);

  resize_cmd_ = disk_cmd_->add_subcommand("resize", "grow a disk (online when attached)");
  resize_cmd_->add_option("disk", disk_id_, "disk id")->required();
  resize_cmd_->add_option("size", size_, "new size in GiB")->required();
  wait_opts(resize_cmd_);

  rm_cmd_ = disk_cmd_->add_subcommand("rm", "terminate unattached disks");
  rm_cmd_->add_option("disks", ids_, "disk ids")->required();

  snapshot_cmd_ = disk_cmd_->add_subcommand("snapshot", "snapshot a disk (running or not)");
  snapshot_cmd_->add_option("disk", disk_id_, "disk id")->required();
  snapshot_cmd_->add_option("--name", name_, "snapshot name");
}

std::optional<int> DiskCommands::Run(ApiClient& client, const std::string& output) {
  if (!disk_cmd_->parsed()) return std::nullopt;
  auto print = [&](const json& r) { return PrintResponse(r, output); };
  auto call = [&](const std::string& action, const json& params) -> Result<json> {
    return client.Call(action, params);
  };

  if (create_cmd_->parsed()) {
    if (zone_.empty()) {
      auto zone = DefaultZone(client);
      if (!zone.ok()) return ReportError(zone.status());
      zone_ = *zone;
    }
    json p = {{"Placement", {{"Zone", zone_}}},
              {"DiskChargeType", "POSTPAID_BY_HOUR"},
              {"DiskType", type_},
              {"DiskCount", count_}};
    if (size_ > 0) p["DiskSize"] = size_;
    if (!name_.empty()) p["DiskName"] = name_;
    if (!snapshot_id_.empty()) p["SnapshotId"] = snapshot_id_;
    auto r = call("CreateDisks", p);
    if (!r.ok()) return ReportError(r.status());
    if (!no_wait_) {
      Status st = WaitForDisks(client, r->value("DiskIdSet", std::vector<std::string>()),
                               "UNATTACHED", 0, timeout_s_);
      if (!st.ok()) return ReportError(st);
    }
    return print(*r);
  }
  if (ls_cmd_->parsed()) {
    return ListItems(
        client, "DescribeDisks", "DiskSet", output,
        {"ID", "NAME", "TYPE", "SIZE", "STATE", "USAGE", "INSTANCE", "ZONE"},
        [](const json& d) -> std::vector<std::string> {
          return {Str(d, "DiskId"),     Str(d, "DiskName"),
                  Str(d, "DiskType"),   std::to_string(d.value("DiskSize", 0)) + " GiB",
                  Str(d, "DiskState"),  Str(d, "DiskUsage"),
                  Str(d, "InstanceId"), d.value("Placement", json::object()).value("Zone", "")};
        });
  }
  if (attach_cmd_->parsed() || detach_cmd_->parsed()) {
    bool attach = attach_cmd_->parsed();
    json p = {{"DiskIds", ids_}};
    if (attach) p["InstanceId"] = instance_id_;
    auto r = call(attach ? "AttachDisks" : "DetachDisks", p);
    if (!r.ok()) return ReportError(r.status());
    if (!no_wait_) {
      Status st = WaitForDisks(client, ids_, attach ? "ATTACHED" : "UNATTACHED", 0, timeout_s_);
      if (!st.ok()) return ReportError(st);
    }
    return 0;
  }
  if (resize_cmd_->parsed()) {
    auto r = call("ResizeDisk", {{"DiskId", disk_id_}, {"DiskSize", size_}});
    if (!r.ok()) return ReportError(r.status());
    if (!no_wait_) {
      Status st = WaitForDisks(client, {disk_id_}, "", size_, timeout_s_);
      if (!st.ok()) return ReportError(st);
    }
    return 0;
  }
  if (rm_cmd_->parsed()) {
    auto r = call("TerminateDisks", {{"DiskIds", ids_}});
    if (!r.ok()) return ReportError(r.status());
    return 0;
  }
  if (snapshot_cmd_->parsed()) {
    json p = {{"DiskId", disk_id_}};
    if (!name_.empty()) p["SnapshotName"] = name_;
    auto r = call("CreateSnapshot", p);
    if (!r.ok()) return ReportError(r.status());
    return print(*r);
  }
  return 0;
}

}  // namespace cvm::cli
