#include "cli/image_commands.h"

#include <algorithm>
#include <iostream>
#include <map>
#include <thread>

#include "cli/cli_support.h"
#include "cli/output.h"
#include "common/error_codes.h"

namespace cvm::cli {
namespace {

using nlohmann::json;

std::string Bar(int64_t percent) {
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(percent * kWidth / 100);
  return "[" + std::string(filled, '#') + std::string(kWidth - filled, '.') + "] " +
         std::to_string(percent) + "%";
}

// The progress of the image's newest task of `action` (DescribeImageTasks), -1 when none.
// A failed task ends the wait with its reason.
Result<int64_t> TaskProgress(ApiClient& client, const std::string& image_id,
                             const std::string& action) {
  auto r = client.Call("DescribeImageTasks", {{"ImageId", image_id}});
  if (!r.ok()) return r.status();
  json newest;
  for (const auto& t : r->value("TaskSet", json::array())) {
    if (Str(t, "Action") == action) newest = t;
  }
  if (newest.is_null()) return int64_t{-1};
  if (Str(newest, "State") == "FAILED") {
    return Status(err::kFailedOperation, image_id + ": " + Str(newest, "ErrorMessage"));
  }
  return newest.value("Progress", int64_t{0});
}

// Waits until the image leaves `busy_state` (CREATING or IMPORTING): NORMAL is success, a
// failed state ends with the reason the image's description carries.
Status WaitForImage(ApiClient& client, const std::string& image_id, const std::string& busy_state,
                    const std::string& action, double timeout_s) {
  Progress progress;
  while (true) {
    auto r = client.Call("DescribeImages", {{"ImageIds", json::array({image_id})}});
    if (!r.ok()) return r.status();
    auto set = r->value("ImageSet", json::array());
    if (set.empty())
      return Status(err::kInvalidImageIdNotFound, "the image " + image_id + " is gone");
    const std::string state = Str(set[0], "ImageState");
    if (state == "NORMAL") {
      progress.Show(image_id + " " + Bar(100));
      return Status::Ok();
    }
    if (state != busy_state) {
      // A failed image's description is "<state>: <reason>".
      const std::string why = Str(set[0], "ImageDescription");
      return Status(err::kFailedOperation,
                    image_id + ": " + (why.rfind(state, 0) == 0 ? why : state + ": " + why));
    }
    auto pct = TaskProgress(client, image_id, action);
    if (!pct.ok()) return pct.status();
    progress.Show(image_id + " " + state + " " + Bar(std::max<int64_t>(0, *pct)));
    if (progress.Seconds() > timeout_s) return TimedOut("the image " + image_id, timeout_s);
    std::this_thread::sleep_for(kPollInterval);
  }
}

// Waits until every export task of the images has ended: one per file in `paths` (an image's
// system disk and each of its data disks), drawn as one bar per image.
Status WaitForExports(ApiClient& client, const std::vector<std::string>& ids,
                      const std::vector<std::string>& paths, double timeout_s) {
  Progress progress;
  while (true) {
    bool done = true;
    std::string line;
    for (const auto& id : ids) {
      auto r = client.Call("DescribeImageTasks", {{"ImageId", id}});
      if (!r.ok()) return r.status();
      std::map<std::string, json> newest;  // per file: its latest task (oldest come first)
      for (const auto& t : r->value("TaskSet", json::array())) {
        const std::string target = Str(t, "Target");
        if (Str(t, "Action") == "ExportImages" &&
            std::find(paths.begin(), paths.end(), target) != paths.end()) {
          newest[target] = t;
        }
      }
      int64_t sum = 0;
      for (const auto& [target, t] : newest) {
        if (Str(t, "State") == "FAILED") {
          return Status(err::kFailedOperation, id + ": " + Str(t, "ErrorMessage"));
        }
        sum += t.value("Progress", int64_t{0});
      }
      const int64_t pct = newest.empty() ? 0 : sum / static_cast<int64_t>(newest.size());
      if (pct < 100) done = false;
      line += (line.empty() ? "" : "  ") + id + " " + Bar(pct);
    }
    progress.Show(line);
    if (done) return Status::Ok();
    if (progress.Seconds() > timeout_s) return TimedOut("the export", timeout_s);
    std::this_thread::sleep_for(kPollInterval);
  }
}

}  // namespace

int ListImages(ApiClient& client, const std::string& output) {
  return ListItems(client, "DescribeImages", "ImageSet", output,
                   {"ID", "NAME", "TYPE", "OS", "SIZE", "STATE", "CREATED"},
                   [](const json& i) -> std::vector<std::string> {
                     return {Str(i, "ImageId"),
                             Str(i, "ImageName"),
                             Str(i, "ImageType"),
                             Str(i, "OsName"),
                             std::to_string(i.value("ImageSize", int64_t{0})) + " GB",
                             Str(i, "ImageState"),
                             Str(i, "CreatedTime")};
                   });
}

ImageCommands::ImageCommands(CLI::App& app) {
  image_cmd_ = app.add_subcommand("image", "custom images: capture, import, export, share");
  image_cmd_->require_subcommand(1);
  auto wait_opts = [&](CLI::App* cmd) { AddWaitOptions(cmd, no_wait_, timeout_s_, "image", 3600); };
  ls_cmd_ = image_cmd_->add_subcommand("ls", "list the images you may use");

  create_cmd_ = image_cmd_->add_subcommand("create", "capture an instance's system disk");
  create_cmd_->add_option("instance", instance_id_, "instance id")->required();
  create_cmd_->add_option("--name", name_, "image name")->required();
  create_cmd_->add_option("--description", description_, "image description");
  create_cmd_->add_option("--data-disk", data_disks_, "also snapshot this data disk (repeatable)");
  create_cmd_->add_flag("--force", force_, "capture a running instance as it runs");
  wait_opts(create_cmd_);

  import_cmd_ = image_cmd_->add_subcommand("import", "import an image file or URL");
  import_cmd_->add_option("url", url_, "http(s):// URL, file:// URL or a file in import_dir")
      ->required();
  import_cmd_->add_option("--name", name_, "image name")->required();
  import_cmd_->add_option("--os-type", os_type_, "e.g. Debian (see DescribeImportImageOs)")
      ->required();
  import_cmd_->add_option("--os-version", os_version_, "e.g. 12")->required();
  import_cmd_->add_option("--arch", arch_, "architecture (default x86_64)");
  import_cmd_->add_option("--description", description_, "image description");
  wait_opts(import_cmd_);

  export_cmd_ = image_cmd_->add_subcommand(
      "export", "export images into export_dir/APPID/BUCKET, or upload them to BUCKET's URL");
  export_cmd_->add_option("images", ids_, "image ids")->required();
  export_cmd_
      ->add_option("--bucket", bucket_,
                   "a directory of export_dir/APPID, or a bucket of [images.export_targets]")
      ->required();
  export_cmd_->add_option("--format", format_, "raw (default), qcow2, vhd or vmdk")
      ->check(CLI::IsMember({"raw", "qcow2", "vhd", "vmdk"}, CLI::ignore_case));
  export_cmd_->add_option("--prefix", prefixes_, "file name per image (default: its id)");
  export_cmd_->add_flag("--system-disk-only", system_disk_only_,
                        "leave out the data disks the images carry");
  wait_opts(export_cmd_);

  share_cmd_ = image_cmd_->add_subcommand(
      "share", "share an image with root accounts; without accounts, list its shares");
  share_cmd_->add_option("image", image_id_, "image id")->required();
  share_cmd_->add_option("accounts", accounts_, "root account ids (Uin)");
  share_cmd_->add_flag("--cancel", cancel_, "stop sharing with these accounts");

  rm_cmd_ = image_cmd_->add_subcommand("rm", "delete custom images");
  rm_cmd_->add_option("images", ids_, "image ids")->required();
}

std::optional<int> ImageCommands::Run(ApiClient& client, const std::string& output) {
  if (!image_cmd_->parsed()) return std::nullopt;
  auto report = [&](const Status& st) { return st.ok() ? 0 : ReportError(st); };

  if (ls_cmd_->parsed()) return ListImages(client, output);
  if (create_cmd_->parsed() || import_cmd_->parsed()) {
    const bool create = create_cmd_->parsed();
    json p = {{"ImageName", name_}};
    if (!description_.empty()) p["ImageDescription"] = description_;
    if (create) {
      p["InstanceId"] = instance_id_;
      if (!data_disks_.empty()) p["DataDiskIds"] = data_disks_;
      if (force_) p["ForcePoweroff"] = "true";
    } else {
      p.update({{"ImageUrl", url_},
                {"OsType", os_type_},
                {"OsVersion", os_version_},
                {"Architecture", arch_}});
    }
    const std::string action = create ? "CreateImage" : "ImportImage";
    auto r = client.Call(action, p);
    if (!r.ok()) return ReportError(r.status());
    const std::string id = Str(*r, "ImageId");
    std::cout << id << "\n" << std::flush;
    if (no_wait_) return 0;
    return report(WaitForImage(client, id, create ? "CREATING" : "IMPORTING", action, timeout_s_));
  }
  if (export_cmd_->parsed()) {
    json p = {{"ImageIds", ids_}, {"BucketName", bucket_}};
    if (!format_.empty()) p["ExportFormat"] = format_;
    if (!prefixes_.empty()) p["FileNamePrefixList"] = prefixes_;
    if (system_disk_only_) p["OnlyExportRootDisk"] = true;
    auto r = client.Call("ExportImages", p);
    if (!r.ok()) return ReportError(r.status());
    auto paths = r->value("CosPaths", std::vector<std::string>{});
    for (const auto& path : paths) std::cout << path << "\n";
    std::cout << std::flush;
    if (no_wait_) return 0;
    return report(WaitForExports(client, ids_, paths, timeout_s_));
  }
  if (share_cmd_->parsed()) {
    if (accounts_.empty()) {
      auto r = client.Call("DescribeImageSharePermission", {{"ImageId", image_id_}});
      if (!r.ok()) return ReportError(r.status());
      if (output == "json") {
        std::cout << r->value("SharePermissionSet", json::array()).dump(2) << "\n";
        return 0;
      }
      std::vector<std::vector<std::string>> rows;
      for (const auto& s : r->value("SharePermissionSet", json::array())) {
        rows.push_back({Str(s, "AccountId"), Str(s, "CreatedTime")});
      }
      PrintColumns(std::cout, {"ACCOUNT", "SHARED"}, rows);
      return 0;
    }
    auto r =
        client.Call("ModifyImageSharePermission", {{"ImageId", image_id_},
                                                   {"AccountIds", accounts_},
                                                   {"Permission", cancel_ ? "CANCEL" : "SHARE"}});
    return report(r.status());
  }
  if (rm_cmd_->parsed()) return report(client.Call("DeleteImages", {{"ImageIds", ids_}}).status());
  return 0;
}

}  // namespace cvm::cli
