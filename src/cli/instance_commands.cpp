#include "cli/instance_commands.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <map>
#include <thread>

#include "cli/cli_support.h"
#include "cli/image_commands.h"
#include "cli/output.h"
#include "cli/ssh_support.h"
#include "common/error_codes.h"
#include "common/ids.h"

namespace cvm::cli {
namespace {

using nlohmann::json;
std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// --image: an image id as given, else the one image whose name or OS name contains the text
// (case-insensitively); without --image the first public image.
Result<std::string> ResolveImage(ApiClient& client, const std::string& wanted) {
  if (IsWellFormedId("img", wanted)) return wanted;
  json params = json::object();
  if (wanted.empty()) {
    json filter = {{"Name", "image-type"}, {"Values", json::array({"PUBLIC_IMAGE"})}};
    params["Filters"] = json::array({filter});
  }
  auto images = DescribeAll(client, "DescribeImages", params, "ImageSet");
  if (!images.ok()) return images.status();
  if (wanted.empty()) {
    if (images->empty()) {
      return Status(err::kInvalidImageIdNotFound,
                    "no public image is installed; give one with --image");
    }
    return Str(images->front(), "ImageId");
  }
  std::vector<const json*> matches;
  for (const auto& img : *images) {
    std::string name = Str(img, "ImageName"), os = Str(img, "OsName");
    if (Lower(name) == Lower(wanted)) return Str(img, "ImageId");  // an exact name wins
    if (Lower(name).find(Lower(wanted)) != std::string::npos ||
        Lower(os).find(Lower(wanted)) != std::string::npos) {
      matches.push_back(&img);
    }
  }
  if (matches.size() == 1) return Str(*matches[0], "ImageId");
  if (matches.empty()) {
    return Status(err::kInvalidImageIdNotFound,
                  "no image has `" + wanted + "` in its name; see `cvm images`");
  }
  std::string names;
  for (const auto* m : matches) names += "\n  " + Str(*m, "ImageId") + "  " + Str(*m, "ImageName");
  return Status(err::kInvalidParameterValue,
                "`" + wanted + "` matches several images; give one of their ids:" + names);
}

// The id of a key pair holding the user's ~/.ssh/id_ed25519.pub: an existing one with the same
// key, else one imported now under this machine's name.
Result<std::string> EnsureKeyPair(ApiClient& client) {
  const std::string key_path = DefaultKeyPath();
  auto pub = EnsureLocalSshKey(key_path);
  if (!pub.ok()) return pub.status();
  const std::string body = PublicKeyBody(*pub);
  auto pairs = DescribeAll(client, "DescribeKeyPairs", json::object(), "KeyPairSet");
  if (!pairs.ok()) return pairs.status();
  for (const auto& kp : *pairs) {
    if (PublicKeyBody(Str(kp, "PublicKey")) == body) return Str(kp, "KeyId");
  }
  // The plain name may belong to another key of this user (say, from an older ~/.ssh): number
  // the new one instead of failing.
  const std::string base = KeyPairNameForHost();
  for (int n = 1; n <= 20; ++n) {
    std::string suffix = n == 1 ? "" : "_" + std::to_string(n);
    std::string name = base.substr(0, 25 - suffix.size()) + suffix;
    auto r =
        client.Call("ImportKeyPair", {{"KeyName", name}, {"ProjectId", 0}, {"PublicKey", *pub}});
    if (r.ok()) {
      std::cerr << "cvm: imported " << key_path << ".pub as key pair " << name << "\n";
      return Str(*r, "KeyId");
    }
    if (r.status().code() != err::kInvalidKeyPairNameDuplicate) return r.status();
  }
  return Status(err::kInvalidKeyPairNameDuplicate, "no free key pair name like " + base);
}

// Polls DescribeInstances until every instance of `ids` is in `target` state, or gone when
// `target` is empty. An operation of `request_id` that failed ends the wait with its message.
Status WaitForState(ApiClient& client, const std::vector<std::string>& ids,
                    const std::string& target, const std::string& request_id, double timeout_s) {
  Progress progress;
  while (true) {
    auto r = client.Call("DescribeInstances", {{"InstanceIds", ids}, {"Limit", 100}});
    if (!r.ok()) return r.status();
    std::map<std::string, json> found;
    for (auto& inst : r->value("InstanceSet", json::array())) found[Str(inst, "InstanceId")] = inst;
    bool all_done = true;
    std::string line;
    for (const auto& id : ids) {
      auto it = found.find(id);
      std::string state = it == found.end() ? "TERMINATED" : Str(it->second, "InstanceState");
      line += (line.empty() ? "" : "  ") + id + " " + state;
      if (it == found.end()) {
        if (!target.empty()) {
          return Status(err::kInvalidInstanceIdNotFound, "the instance " + id + " is gone");
        }
        continue;
      }
      const json& inst = it->second;
      bool ours = Str(inst, "LatestOperationRequestId") == request_id;
      std::string op_state = Str(inst, "LatestOperationState");
      if (ours && op_state == "FAILED") {
        return Status(err::kFailedOperation,
                      id + ": " + Str(inst, "LatestOperation") +
                          " failed: " + Str(inst, "LatestOperationErrorMsg"));
      }
      if (state == "LAUNCH_FAILED" && target != "LAUNCH_FAILED" && !target.empty()) {
        return Status(err::kFailedOperation,
                      id + " is LAUNCH_FAILED: " + Str(inst, "LatestOperationErrorMsg"));
      }
      if (target.empty() || state != target || (ours && op_state == "OPERATING")) {
        all_done = false;
      }
    }
    progress.Show(line);
    if (all_done) return Status::Ok();
    if (progress.Seconds() > timeout_s) {
      return TimedOut(target.empty() ? "termination" : target, timeout_s);
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

}  // namespace

InstanceCommands::InstanceCommands(CLI::App& app) {
  run_cmd_ = app.add_subcommand("run", "launch instances and wait until SSH answers");
  run_cmd_->add_option("--name", name_, "instance name (Tencent's {R:1} numbering works)");
  run_cmd_->add_option("--type", type_, "instance type, e.g. T1.NANO1 (default: the API's)");
  run_cmd_->add_option("--image", image_,
                       "image id or a part of its name (default: the first public image)");
  run_cmd_->add_option("--zone", zone_, "zone (default: the region's first zone)");
  run_cmd_->add_option("--count", count_, "how many instances")->check(CLI::Range(1, 100));
  run_cmd_->add_option("--password", password_,
                       "log in with this password instead of ~/.ssh/id_ed25519");
  run_cmd_->add_option("--disk-size", disk_size_, "system disk size, GiB")
      ->check(CLI::Range(1, 16384));
  run_cmd_->add_flag("--no-wait", no_wait_, "print the ids at once, do not wait for SSH");
  run_cmd_->add_option("--timeout", timeout_s_, "seconds to wait (default 600)");

  ls_cmd_ = app.add_subcommand("ls", "list instances");

  auto lifecycle = [&](const char* verb, const char* help) {
    CLI::App* cmd = app.add_subcommand(verb, help);
    cmd->add_option("ids", ids_, "instance ids")->required();
    cmd->add_flag("--wait", wait_, "wait until the instances reach the target state");
    cmd->add_option("--timeout", timeout_s_, "seconds to wait with --wait (default 600)");
    return cmd;
  };
  start_cmd_ = lifecycle("start", "start stopped instances");
  stop_cmd_ = lifecycle("stop", "stop instances (soft by default)");
  auto* hard = stop_cmd_->add_flag("--hard", hard_, "power off at once");
  stop_cmd_->add_flag("--soft", soft_, "ask the guest to shut down (ACPI)")->excludes(hard);
  reboot_cmd_ = lifecycle("reboot", "reboot instances (soft by default)");
  reboot_cmd_->add_flag("--hard", hard_, "reset at once");
  rm_cmd_ = lifecycle("rm", "terminate instances (TerminateInstances)");

  ssh_cmd_ = app.add_subcommand("ssh", "log in to an instance with ssh");
  ssh_cmd_->add_option("id", id_, "instance id")->required();
  ssh_cmd_->add_option(
      "command", remote_command_,
      "command to run, after --; as with ssh, its words form one remote shell command line");

  console_cmd_ = app.add_subcommand("console", "print an instance's serial console log");
  console_cmd_->add_option("id", id_, "instance id")->required();
  console_cmd_->add_flag("-f,--follow", follow_, "keep printing what the console prints");

  images_cmd_ = app.add_subcommand("images", "list images (as `cvm image ls`)");
  keys_cmd_ = app.add_subcommand("keys", "list SSH key pairs");
}

std::optional<int> InstanceCommands::Run(ApiClient& client, const std::string& output) {
  if (run_cmd_->parsed()) return DoRun(client, output);
  if (ls_cmd_->parsed()) return DoList(client, output);
  if (start_cmd_->parsed()) return DoLifecycle(client, "start");
  if (stop_cmd_->parsed()) return DoLifecycle(client, "stop");
  if (reboot_cmd_->parsed()) return DoLifecycle(client, "reboot");
  if (rm_cmd_->parsed()) return DoLifecycle(client, "rm");
  if (ssh_cmd_->parsed()) return DoSsh(client);
  if (console_cmd_->parsed()) return DoConsole(client);
  if (images_cmd_->parsed()) return ListImages(client, output);
  if (keys_cmd_->parsed()) return DoKeys(client, output);
  return std::nullopt;
}

int InstanceCommands::DoRun(ApiClient& client, const std::string& output) {
  json params = json::object();
  auto image = ResolveImage(client, image_);
  if (!image.ok()) return ReportError(image.status());
  params["ImageId"] = *image;
  if (zone_.empty()) {
    auto zone = DefaultZone(client);
    if (!zone.ok()) return ReportError(zone.status());
    zone_ = *zone;
  }
  params["Placement"] = {{"Zone", zone_}};
  if (!type_.empty()) params["InstanceType"] = type_;
  if (!name_.empty()) params["InstanceName"] = name_;
  params["InstanceCount"] = count_;
  if (disk_size_ > 0) params["SystemDisk"] = {{"DiskSize", disk_size_}};
  if (!password_.empty()) {
    params["LoginSettings"] = {{"Password", password_}};
  } else {
    auto key_id = EnsureKeyPair(client);
    if (!key_id.ok()) return ReportError(key_id.status());
    params["LoginSettings"] = {{"KeyIds", json::array({*key_id})}};
  }
  auto r = client.Call("RunInstances", params);
  if (!r.ok()) return ReportError(r.status());
  std::vector<std::string> ids = r->value("InstanceIdSet", std::vector<std::string>{});
  auto print_ids = [&] {
    if (output == "json") {
      std::cout << json{{"InstanceIdSet", ids}}.dump(2) << "\n";
    } else {
      for (const auto& id : ids) std::cout << id << "\n";
    }
    std::cout.flush();
  };
  if (no_wait_) {
    print_ids();
    return 0;
  }

  // PENDING -> RUNNING, watched through DescribeInstancesStatus (cheap: no full records).
  Progress progress;
  std::map<std::string, std::string> states;
  while (true) {
    auto st = client.Call("DescribeInstancesStatus", {{"InstanceIds", ids}, {"Limit", 100}});
    if (!st.ok()) return ReportError(st.status());
    for (const auto& s : st->value("InstanceStatusSet", json::array())) {
      states[Str(s, "InstanceId")] = Str(s, "InstanceState");
    }
    std::string line;
    bool all_running = true;
    for (const auto& id : ids) {
      const std::string& state = states[id];
      line += (line.empty() ? "" : "  ") + id + " " + (state.empty() ? "?" : state);
      if (state == "LAUNCH_FAILED") {
        progress.Finish();
        auto d = client.Call("DescribeInstances", {{"InstanceIds", json::array({id})}});
        std::string why = d.ok() && !d->value("InstanceSet", json::array()).empty()
                              ? Str((*d)["InstanceSet"][0], "LatestOperationErrorMsg")
                              : "";
        return ReportError(Status(err::kFailedOperation,
                                  id + " failed to launch" + (why.empty() ? "" : ": " + why)));
      }
      all_running = all_running && state == "RUNNING";
    }
    progress.Show(line);
    if (all_running) break;
    if (progress.Seconds() > timeout_s_) {
      progress.Finish();
      return ReportError(TimedOut("RUNNING", timeout_s_));
    }
    std::this_thread::sleep_for(kPollInterval);
  }

  // RUNNING only means QEMU started; a login works once the guest's SSH server answers.
  for (const auto& id : ids) {
    while (true) {
      auto ep = client.Call("DescribeInstanceLoginEndpoint", {{"InstanceId", id}});
      // Only a missing forward may still appear; any other answer is final.
      if (!ep.ok() && ep.status().code() != err::kResourceUnavailable) {
        progress.Finish();
        return ReportError(ep.status());
      }
      if (ep.ok()) {
        std::string host = Str(*ep, "Host");
        int port = ep->value("Port", 0);
        progress.Show(id + " RUNNING, waiting for SSH on " + host + ":" + std::to_string(port));
        if (SshAnswers(host, port, std::chrono::seconds(2))) break;
      }
      if (progress.Seconds() > timeout_s_) {
        progress.Finish();
        return ReportError(TimedOut("SSH on " + id, timeout_s_));
      }
      std::this_thread::sleep_for(kPollInterval);
    }
  }
  char took[32];
  std::snprintf(took, sizeof took, "%.1f", progress.Seconds());
  progress.Show(std::string(ids.size() == 1 ? "ready" : "all ready") + " in " + took + " s",
                /*with_elapsed=*/false);
  progress.Finish();
  print_ids();
  for (const auto& id : ids) std::cerr << "log in with: cvm ssh " << id << "\n";
  return 0;
}

int InstanceCommands::DoList(ApiClient& client, const std::string& output) {
  return ListItems(client, "DescribeInstances", "InstanceSet", output,
                   {"ID", "NAME", "STATE", "TYPE", "IMAGE", "PRIVATE IP", "CREATED"},
                   [](const json& i) -> std::vector<std::string> {
                     auto ips = i.value("PrivateIpAddresses", json::array());
                     return {Str(i, "InstanceId"),
                             Str(i, "InstanceName"),
                             Str(i, "InstanceState"),
                             Str(i, "InstanceType"),
                             Str(i, "ImageId"),
                             ips.is_array() && !ips.empty() && ips[0].is_string()
                                 ? ips[0].get<std::string>()
                                 : "",
                             Str(i, "CreatedTime")};
                   });
}

int InstanceCommands::DoLifecycle(ApiClient& client, const std::string& verb) {
  struct Verb {
    const char* action;
    const char* target;  // state to wait for; "" = gone
    const char* requested;
  };
  static const std::map<std::string, Verb> kVerbs = {
      {"start", {"StartInstances", "RUNNING", "starting"}},
      {"stop", {"StopInstances", "STOPPED", "stopping"}},
      {"reboot", {"RebootInstances", "RUNNING", "rebooting"}},
      {"rm", {"TerminateInstances", "", "terminating"}}};
  const Verb& v = kVerbs.at(verb);
  json params = {{"InstanceIds", ids_}};
  if (verb == "stop" && (hard_ || soft_)) params["StopType"] = hard_ ? "HARD" : "SOFT";
  if (verb == "reboot" && hard_) params["StopType"] = "HARD";
  auto r = client.Call(v.action, params);
  if (!r.ok()) return ReportError(r.status());
  if (wait_) {
    Status st = WaitForState(client, ids_, v.target, Str(*r, "RequestId"), timeout_s_);
    if (!st.ok()) return ReportError(st);
    for (const auto& id : ids_)
      std::cout << id << " " << (*v.target ? v.target : "TERMINATED") << "\n";
  } else {
    for (const auto& id : ids_) std::cout << id << " " << v.requested << "\n";
  }
  return 0;
}

int InstanceCommands::DoSsh(ApiClient& client) {
  auto ep = client.Call("DescribeInstanceLoginEndpoint", {{"InstanceId", id_}});
  if (!ep.ok()) return ReportError(ep.status());
  std::vector<std::string> argv = {"ssh",
                                   "-p",
                                   std::to_string(ep->value("Port", 0)),
                                   "-o",
                                   "StrictHostKeyChecking=no",
                                   "-o",
                                   "UserKnownHostsFile=" + KnownHostsPath(),
                                   "-o",
                                   "LogLevel=ERROR"};
  // Only a key that exists: an instance launched with --password has none to offer.
  if (std::string key = DefaultKeyPath(); ::access(key.c_str(), R_OK) == 0) {
    argv.insert(argv.end(), {"-i", key});
  }
  argv.push_back(Str(*ep, "User") + "@" + Str(*ep, "Host"));
  // Everything after the destination is the remote command; "--" keeps ssh from reading it
  // as its own options.
  if (!remote_command_.empty()) {
    argv.push_back("--");
    argv.insert(argv.end(), remote_command_.begin(), remote_command_.end());
  }
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  std::cout.flush();
  // exec, not spawn: ssh's exit code (the remote command's) becomes ours.
  ::execvp("ssh", args.data());
  return ReportError(
      Status(err::kFailedOperation, std::string("cannot run ssh: ") + std::strerror(errno)));
}

int InstanceCommands::DoConsole(ApiClient& client) {
  json params = {{"InstanceId", id_}};
  while (true) {
    auto r = client.Call("GetInstanceConsoleOutput", params);
    if (!r.ok()) {
      // Following an instance until it is terminated is a normal end.
      bool gone = follow_ && params.contains("Offset") &&
                  r.status().code() == err::kInvalidInstanceIdNotFound;
      if (gone) return 0;
      return ReportError(r.status());
    }
    std::cout << Str(*r, "Output") << std::flush;
    if (!follow_) return 0;
    params["Offset"] = r->value("Offset", int64_t{0});
    std::this_thread::sleep_for(kPollInterval);
  }
}

int InstanceCommands::DoKeys(ApiClient& client, const std::string& output) {
  return ListItems(client, "DescribeKeyPairs", "KeyPairSet", output,
                   {"ID", "NAME", "KEY", "CREATED"}, [](const json& k) -> std::vector<std::string> {
                     // The key's type and the end of its body tell keys apart without a full line.
                     std::string body = PublicKeyBody(Str(k, "PublicKey"));
                     auto space = body.find(' ');
                     std::string key =
                         space == std::string::npos
                             ? body
                             : body.substr(0, space) + " ..." +
                                   body.substr(std::max(
                                       space + 1, body.size() - std::min<size_t>(body.size(), 12)));
                     return {Str(k, "KeyId"), Str(k, "KeyName"), key, Str(k, "CreatedTime")};
                   });
}

}  // namespace cvm::cli
