// TAT (tat 2020-10-28): commands run inside instances through their guest agent. Handlers
// record commands, invocations and one task per instance; the engine's TAT runner carries the
// tasks out. CAM applies per instance: the pipeline has checked every InstanceIds entry, and
// listings of tasks show only those on instances the caller may see.
#include <algorithm>
#include <set>

#include "common/base64.h"
#include "common/error_codes.h"
#include "common/ids.h"
#include "common/time_format.h"
#include "engine/guest_agent.h"
#include "services/extension_params.h"
#include "services/filters.h"
#include "services/service_deps.h"
#include "services/tat/tat_handlers.h"
#include "store/instance_records.h"
#include "store/tat_records.h"

namespace cvm::services {
namespace {

using nlohmann::json;

// What the handlers use; copied into each registered handler (references to daemon-lifetime
// objects).
struct Tat {
  store::Database& db;
  engine::Engine& engine;
  engine::TatRunner& runner;
};

constexpr size_t kMaxContentBytes = 64 * 1024;  // base64 text
constexpr size_t kMaxInstances = 200;
constexpr int64_t kDefaultTimeout = 60, kMaxTimeout = 86400;

std::vector<std::string> Strings(const json& p, const char* key) {
  std::vector<std::string> out;
  if (auto it = p.find(key); it != p.end() && it->is_array()) {
    for (const auto& v : *it) out.push_back(v.get<std::string>());
  }
  return out;
}

// What RunCommand and CreateCommand share: the command itself.
Result<store::TatCommand> CommandFrom(const api::RequestContext& ctx, const json& p) {
  store::TatCommand c;
  c.command_id = NewResourceId("cmd");
  c.owner_uin = ctx.owner_uin;
  c.region = ctx.region;
  c.content = p.value("Content", "");
  auto script = Base64Decode(c.content);
  if (c.content.empty() || c.content.size() > kMaxContentBytes || !script) {
    return Status(err::kTatInvalidContent,
                  "Content must be base64 of a script, at most 64 KB encoded.");
  }
  c.name = p.value("CommandName", "");
  c.description = p.value("Description", "");
  c.command_type = p.value("CommandType", "SHELL");
  if (c.command_type != "SHELL") {
    return Status(err::kTatUnsupportedCommandType,
                  "Only SHELL commands run on these instances (Linux).");
  }
  c.working_directory = p.value("WorkingDirectory", "");
  if (c.working_directory.find_first_of(std::string("\n\r\0", 3)) != std::string::npos ||
      c.working_directory.size() > 512) {
    return Status(err::kTatInvalidWorkingDirectory, "WorkingDirectory is not a usable path.");
  }
  c.timeout = p.value("Timeout", kDefaultTimeout);
  if (c.timeout < 1 || c.timeout > kMaxTimeout) {
    return Status(err::kInvalidParameterValueRange, "Timeout must be 1 to 86400 seconds.");
  }
  c.username = p.value("Username", "root");
  if (c.username.empty() || c.username.size() > 32 ||
      c.username.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-.") !=
          std::string::npos ||
      c.username[0] == '-') {
    return Status(err::kTatInvalidUsername,
                  "Username must be a Linux user name (lower-case letters, digits, _ - .).");
  }
  c.created_at = c.updated_at = NowUnix();
  return c;
}

// Records an invocation of `c` on the instances, which must be the caller's, running, and have
// an agent that answers now.
Result<std::string> Invoke(Tat& deps, const api::RequestContext& ctx, const store::TatCommand& c,
                           std::vector<std::string> instance_ids) {
  std::sort(instance_ids.begin(), instance_ids.end());
  instance_ids.erase(std::unique(instance_ids.begin(), instance_ids.end()), instance_ids.end());
  if (instance_ids.empty() || instance_ids.size() > kMaxInstances) {
    return Status(err::kInvalidParameterValueLimitExceeded,
                  "InstanceIds names 1 to 200 instances.");
  }
  for (const auto& id : instance_ids) {
    if (!IsWellFormedId("ins", id)) {
      return Status(err::kTatInvalidInstanceId, "Instance id `" + id + "` is malformed.");
    }
    auto inst = store::LoadInstance(deps.db, ScopeOf(ctx), id);
    if (!inst.ok()) return inst.status();
    if (!*inst) {
      return Status(err::kTatInstanceNotFound, "Instance " + id + " does not exist.");
    }
    if ((*inst)->state != "RUNNING") {
      return Status(err::kTatInstanceNotRunning,
                    "Instance " + id + " is " + (*inst)->state + ", not RUNNING.");
    }
    if (!engine::ProbeGuestAgent(deps.engine, id).online) {
      return Status(err::kTatAgentNotOnline, "The agent of instance " + id + " does not answer.");
    }
  }
  store::TatInvocation inv{.invocation_id = NewResourceId("inv"),
                           .owner_uin = ctx.owner_uin,
                           .region = ctx.region,
                           .command_id = c.command_id,
                           .content = c.content,
                           .command_type = c.command_type,
                           .working_directory = c.working_directory,
                           .username = c.username,
                           .timeout = c.timeout,
                           .created_at = NowUnix()};
  std::vector<store::TatTask> tasks;
  for (const auto& id : instance_ids) {
    tasks.push_back({.task_id = NewResourceId("invt"),
                     .invocation_id = inv.invocation_id,
                     .owner_uin = ctx.owner_uin,
                     .region = ctx.region,
                     .instance_id = id,
                     .command_id = c.command_id,
                     .created_at = inv.created_at,
                     .updated_at = inv.created_at});
  }
  CVM_RETURN_IF_ERROR(store::WithTransaction(
      deps.db, [&](store::Transaction& tx) { return store::InsertTatInvocation(tx, inv, tasks); }));
  deps.runner.Wake();
  return inv.invocation_id;
}

json CommandJson(const store::TatCommand& c) {
  return {{"CommandId", c.command_id},
          {"CommandName", c.name},
          {"Description", c.description},
          {"Content", c.content},
          {"CommandType", c.command_type},
          {"WorkingDirectory", c.working_directory},
          {"Timeout", c.timeout},
          {"Username", c.username},
          {"CreatedBy", c.created_by == "RUN" ? "USER" : c.created_by},
          {"CreatedTime", FormatIsoTime(c.created_at)},
          {"UpdatedTime", FormatIsoTime(c.updated_at)},
          {"EnableParameter", false},
          {"DefaultParameters", "{}"},
          {"DefaultParameterConfs", json::array()},
          {"Scenes", json::array()},
          {"FormattedDescription", ""},
          {"Tags", json::array()},
          {"OutputCOSBucketUrl", ""},
          {"OutputCOSKeyPrefix", ""}};
}

json TaskJson(const store::TatTask& t, const store::TatInvocation* inv, bool hide_output) {
  auto time_or_null = [](int64_t at) { return at ? json(FormatIsoTime(at)) : json(nullptr); };
  json doc = json::object();
  if (inv) {
    doc = {{"Content", inv->content},   {"CommandType", inv->command_type},
           {"Timeout", inv->timeout},   {"WorkingDirectory", inv->working_directory},
           {"Username", inv->username}, {"OutputCOSBucketUrl", ""},
           {"OutputCOSKeyPrefix", ""}};
  }
  return {{"InvocationId", t.invocation_id},
          {"InvocationTaskId", t.task_id},
          {"CommandId", t.command_id},
          {"TaskStatus", t.status},
          {"InstanceId", t.instance_id},
          {"TaskResult",
           {{"ExitCode", t.exit_code},
            {"Output", hide_output ? "" : t.output},
            {"ExecStartTime", time_or_null(t.start_time)},
            {"ExecEndTime", time_or_null(t.end_time)},
            {"Dropped", t.dropped},
            {"OutputUrl", ""},
            {"OutputUploadCOSErrorInfo", ""}}},
          {"StartTime", time_or_null(t.start_time)},
          {"EndTime", time_or_null(t.end_time)},
          {"CreatedTime", FormatIsoTime(t.created_at)},
          {"UpdatedTime", FormatIsoTime(t.updated_at)},
          {"CommandDocument", doc},
          {"ErrorInfo", t.error_info},
          {"InvocationSource", "USER"},
          {"CommandName", ""}};
}

// An invocation's status from its tasks' (Tencent's InvocationStatus).
std::string InvocationStatus(const std::vector<store::TatTask>& tasks) {
  std::set<std::string> s;
  for (const auto& t : tasks) s.insert(t.status);
  if (s.count(store::kTatPending) && s.size() == 1) return "PENDING";
  if (s.count(store::kTatCancelling)) return "CANCELLING";
  if (s.count(store::kTatPending) || s.count(store::kTatRunning)) return "RUNNING";
  if (s.size() == 1 && s.count(store::kTatSuccess)) return "SUCCESS";
  if (s.size() == 1 && s.count(store::kTatTimeout)) return "TIMEOUT";
  if (s.count(store::kTatCancelled) || s.count(store::kTatTerminated)) {
    return s.count(store::kTatSuccess) ? "PARTIAL_CANCELLED" : "CANCELLED";
  }
  return s.count(store::kTatSuccess) ? "PARTIAL_FAILED" : "FAILED";
}

Result<json> RunCommand(Tat& deps, const api::RequestContext& ctx, json& p) {
  auto c = CommandFrom(ctx, p);
  if (!c.ok()) return c.status();
  c->created_by = p.value("SaveCommand", false) ? "USER" : "RUN";
  if (c->name.empty()) c->name = "run-" + c->command_id;
  auto inv = Invoke(deps, ctx, *c, Strings(p, "InstanceIds"));
  if (!inv.ok()) return inv.status();
  Status saved = store::WithTransaction(
      deps.db, [&](store::Transaction& tx) { return store::InsertTatCommand(tx, *c); });
  if (!saved.ok()) return saved;
  return json{{"CommandId", c->command_id}, {"InvocationId", *inv}};
}

Result<json> CreateCommand(Tat& deps, const api::RequestContext& ctx, json& p) {
  auto c = CommandFrom(ctx, p);
  if (!c.ok()) return c.status();
  if (c->name.empty()) return Status(err::kMissingParameter, "CommandName is missing.");
  CVM_RETURN_IF_ERROR(store::WithTransaction(
      deps.db, [&](store::Transaction& tx) { return store::InsertTatCommand(tx, *c); }));
  return json{{"CommandId", c->command_id}};
}

Result<store::TatCommand> FindCommand(Tat& deps, const api::RequestContext& ctx,
                                      const std::string& id) {
  if (!IsWellFormedId("cmd", id)) {
    return Status(err::kTatInvalidCommandId, "CommandId `" + id + "` is malformed.");
  }
  std::optional<store::TatCommand> found;
  CVM_RETURN_IF_ERROR(store::WithTransaction(deps.db, [&](store::Transaction& tx) -> Status {
    auto c = store::FindTatCommand(tx, ScopeOf(ctx), id);
    if (!c.ok()) return c.status();
    found = std::move(*c);
    return Status::Ok();
  }));
  if (!found) return Status(err::kTatCommandNotFound, "Command " + id + " does not exist.");
  return *found;
}

Result<json> InvokeCommand(Tat& deps, const api::RequestContext& ctx, json& p) {
  auto c = FindCommand(deps, ctx, p.value("CommandId", ""));
  if (!c.ok()) return c.status();
  if (p.contains("Timeout")) c->timeout = p.value("Timeout", c->timeout);
  if (p.contains("WorkingDirectory")) c->working_directory = p.value("WorkingDirectory", "");
  if (p.contains("Username")) c->username = p.value("Username", c->username);
  auto inv = Invoke(deps, ctx, *c, Strings(p, "InstanceIds"));
  if (!inv.ok()) return inv.status();
  return json{{"InvocationId", *inv}};
}

Result<json> DeleteCommand(Tat& deps, const api::RequestContext& ctx, json& p) {
  auto c = FindCommand(deps, ctx, p.value("CommandId", ""));
  if (!c.ok()) return c.status();
  CVM_RETURN_IF_ERROR(store::WithTransaction(deps.db, [&](store::Transaction& tx) -> Status {
    auto deleted = store::DeleteTatCommand(tx, ScopeOf(ctx), c->command_id);
    if (!deleted.ok()) return deleted.status();
    return Status::Ok();
  }));
  return json::object();
}

Result<json> DescribeCommands(Tat& deps, const api::RequestContext& ctx, json& p) {
  auto filters = Filters::Parse(p, {"command-id", "command-name", "created-by"});
  if (!filters.ok()) return filters.status();
  store::TatCommandQuery q{.scope = ScopeOf(ctx), .created_by = "USER"};
  q.command_ids = Strings(p, "CommandIds");
  if (auto v = filters->Values("command-id"))
    q.command_ids.insert(q.command_ids.end(), v->begin(), v->end());
  if (auto v = filters->Values("command-name")) q.command_names = *v;
  q.offset = p.value("Offset", 0);
  q.limit = std::min<int64_t>(p.value("Limit", 20), 100);
  auto page = store::ListTatCommands(deps.db, q);
  if (!page.ok()) return page.status();
  json set = json::array();
  for (const auto& c : page->commands) set.push_back(CommandJson(c));
  return json{{"TotalCount", page->total}, {"CommandSet", set}};
}

// The tasks of the scope the caller may see, newest first, after the request's filters.
Result<std::vector<store::TatTask>> VisibleTasks(Tat& deps, store::TatTaskQuery q, Paging& paging) {
  q.limit = 0;
  auto all = store::ListTatTasks(deps.db, q);
  if (!all.ok()) return all.status();
  std::vector<store::TatTask> out;
  for (auto& t : all->tasks) {
    if (paging.Take(t.instance_id)) out.push_back(std::move(t));
  }
  return out;
}

Result<json> DescribeInvocationTasks(Tat& deps, const api::RequestContext& ctx, json& p) {
  auto filters = Filters::Parse(
      p, {"invocation-id", "invocation-task-id", "instance-kind", "instance-id", "command-id"});
  if (!filters.ok()) return filters.status();
  auto paging = Paging::Parse(p, ctx.visible, iam::kind::kInstance);
  if (!paging.ok()) return paging.status();
  store::TatTaskQuery q{.scope = ScopeOf(ctx), .task_ids = Strings(p, "InvocationTaskIds")};
  if (auto v = filters->Values("invocation-task-id"))
    q.task_ids.insert(q.task_ids.end(), v->begin(), v->end());
  if (auto v = filters->Values("invocation-id")) q.invocation_ids = *v;
  if (auto v = filters->Values("instance-id")) q.instance_ids = *v;
  auto tasks = VisibleTasks(deps, q, *paging);
  if (!tasks.ok()) return tasks.status();
  std::vector<std::string> inv_ids;
  for (const auto& t : *tasks) inv_ids.push_back(t.invocation_id);
  auto invs = store::ListTatInvocations(
      deps.db, {.scope = ScopeOf(ctx), .invocation_ids = inv_ids, .limit = 0});
  if (!invs.ok()) return invs.status();
  const bool hide = p.value("HideOutput", false);
  json set = json::array();
  for (const auto& t : *tasks) {
    if (filters->Has("command-id") && !filters->Matches("command-id", t.command_id)) continue;
    const store::TatInvocation* inv = nullptr;
    for (const auto& i : invs->invocations) {
      if (i.invocation_id == t.invocation_id) inv = &i;
    }
    set.push_back(TaskJson(t, inv, hide));
  }
  return json{{"TotalCount", paging->total()}, {"InvocationTaskSet", set}};
}

Result<json> DescribeInvocations(Tat& deps, const api::RequestContext& ctx, json& p) {
  auto filters =
      Filters::Parse(p, {"invocation-id", "command-id", "command-created-by", "instance-kind"});
  if (!filters.ok()) return filters.status();
  store::TatInvocationQuery q{.scope = ScopeOf(ctx), .invocation_ids = Strings(p, "InvocationIds")};
  if (auto v = filters->Values("invocation-id"))
    q.invocation_ids.insert(q.invocation_ids.end(), v->begin(), v->end());
  if (auto v = filters->Values("command-id")) q.command_ids = *v;
  q.offset = p.value("Offset", 0);
  q.limit = std::min<int64_t>(p.value("Limit", 20), 100);
  auto page = store::ListTatInvocations(deps.db, q);
  if (!page.ok()) return page.status();
  json set = json::array();
  for (const auto& inv : page->invocations) {
    auto tasks = store::ListTatTasks(
        deps.db, {.scope = ScopeOf(ctx), .invocation_ids = {inv.invocation_id}, .limit = 0});
    if (!tasks.ok()) return tasks.status();
    json task_set = json::array(), instances = json::array();
    for (const auto& t : tasks->tasks) {
      instances.push_back(t.instance_id);
      task_set.push_back(
          {{"InvocationTaskId", t.task_id},
           {"TaskStatus", t.status},
           {"InstanceId", t.instance_id},
           {"InstanceKind", "CVM"},
           {"TaskResult",
            {{"ExitCode", t.exit_code},
             {"Output", ""},
             {"ExecStartTime", t.start_time ? json(FormatIsoTime(t.start_time)) : json(nullptr)},
             {"ExecEndTime", t.end_time ? json(FormatIsoTime(t.end_time)) : json(nullptr)},
             {"Dropped", t.dropped},
             {"OutputUrl", ""},
             {"OutputUploadCOSErrorInfo", ""}}},
           {"ErrorInfo", t.error_info}});
    }
    set.push_back({{"InvocationId", inv.invocation_id},
                   {"CommandId", inv.command_id},
                   {"InvocationStatus", InvocationStatus(tasks->tasks)},
                   {"InvocationTaskBasicInfoSet", task_set},
                   {"Description", ""},
                   {"StartTime", FormatIsoTime(inv.created_at)},
                   {"EndTime", nullptr},
                   {"CreatedTime", FormatIsoTime(inv.created_at)},
                   {"UpdatedTime", FormatIsoTime(inv.created_at)},
                   {"Parameters", "{}"},
                   {"DefaultParameters", "{}"},
                   {"InstanceKind", "CVM"},
                   {"Username", inv.username},
                   {"InvocationSource", inv.source},
                   {"CommandContent", inv.content},
                   {"CommandType", inv.command_type},
                   {"Timeout", inv.timeout},
                   {"WorkingDirectory", inv.working_directory},
                   {"OutputCOSBucketUrl", ""},
                   {"OutputCOSKeyPrefix", ""}});
  }
  return json{{"TotalCount", page->total}, {"InvocationSet", set}};
}

Result<json> CancelInvocation(Tat& deps, const api::RequestContext& ctx, json& p) {
  const std::string id = p.value("InvocationId", "");
  if (!IsWellFormedId("inv", id)) {
    return Status(err::kTatInvalidInvocationId, "InvocationId `" + id + "` is malformed.");
  }
  auto found = store::ListTatInvocations(deps.db, {.scope = ScopeOf(ctx), .invocation_ids = {id}});
  if (!found.ok()) return found.status();
  if (found->invocations.empty()) {
    return Status(err::kTatInvocationNotFound, "Invocation " + id + " does not exist.");
  }
  CVM_RETURN_IF_ERROR(store::WithTransaction(deps.db, [&](store::Transaction& tx) -> Status {
    auto n = store::CancelTatTasks(tx, ScopeOf(ctx), id, NowUnix());
    return n.ok() ? Status::Ok() : n.status();
  }));
  deps.runner.Wake();
  return json::object();
}

Result<json> DescribeAutomationAgentStatus(Tat& deps, const api::RequestContext& ctx, json& p) {
  auto filters = Filters::Parse(p, {"agent-status", "environment", "instance-id"});
  if (!filters.ok()) return filters.status();
  auto paging = Paging::Parse(p, ctx.visible, iam::kind::kInstance);
  if (!paging.ok()) return paging.status();
  std::vector<std::string> ids = Strings(p, "InstanceIds");
  if (auto v = filters->Values("instance-id")) ids.insert(ids.end(), v->begin(), v->end());
  json set = json::array();
  for (const auto& id : ids) {
    auto inst = store::LoadInstance(deps.db, ScopeOf(ctx), id);
    if (!inst.ok()) return inst.status();
    if (!*inst) continue;
    const bool running = (*inst)->state == "RUNNING";
    auto agent = running ? engine::ProbeGuestAgent(deps.engine, id) : engine::LastGuestAgent(id);
    const std::string status = running && agent.online ? "Online" : "Offline";
    if (!filters->Matches("agent-status", status)) continue;
    if (!paging->Take(id)) continue;
    set.push_back({{"InstanceId", id},
                   {"Version", agent.version},
                   {"LastHeartbeatTime",
                    agent.last_seen ? json(FormatIsoTime(agent.last_seen)) : json(nullptr)},
                   {"AgentStatus", status},
                   {"Environment", "Linux"},
                   {"SupportFeatures", json::array()}});
  }
  return json{{"TotalCount", paging->total()}, {"AutomationAgentSet", set}};
}

}  // namespace

void RegisterTatHandlers(api::Router& router, ServiceDeps& deps, engine::TatRunner& runner) {
  using Action = Result<json> (*)(Tat&, const api::RequestContext&, json&);
  static constexpr std::pair<const char*, Action> kActions[] = {
      {"RunCommand", &RunCommand},
      {"CreateCommand", &CreateCommand},
      {"InvokeCommand", &InvokeCommand},
      {"DeleteCommand", &DeleteCommand},
      {"DescribeCommands", &DescribeCommands},
      {"DescribeInvocations", &DescribeInvocations},
      {"DescribeInvocationTasks", &DescribeInvocationTasks},
      {"CancelInvocation", &CancelInvocation},
      {"DescribeAutomationAgentStatus", &DescribeAutomationAgentStatus},
  };
  // Guest metrics, read through the agent when asked. Tencent has them in Cloud Monitor, not on
  // the instance; until a monitoring service exists they are offered here.
  router.RegisterExtension(
      "DescribeInstancesGuestMetrics", "cvm", "2017-03-12",
      [&db = deps.db, &eng = deps.engine](const api::RequestContext& ctx, json& p) -> Result<json> {
        CVM_RETURN_IF_ERROR(CheckKnownParams(p, {"InstanceIds"}));
        auto ids = p.find("InstanceIds");
        if (ids == p.end() || !ids->is_array() || ids->empty() || ids->size() > 20) {
          return Status(err::kInvalidParameterValue, "InstanceIds names 1 to 20 instances.");
        }
        json set = json::array();
        for (const auto& v : *ids) {
          if (!v.is_string() || !IsWellFormedId("ins", v.get<std::string>())) {
            return Status(err::kInvalidInstanceIdMalformed, "An instance id is malformed.");
          }
          const std::string id = v.get<std::string>();
          auto inst = store::LoadInstance(db, ScopeOf(ctx), id);
          if (!inst.ok()) return inst.status();
          if (!*inst) {
            return Status(err::kInvalidInstanceIdNotFound, "Instance " + id + " does not exist.");
          }
          json item = {{"InstanceId", id}, {"AgentStatus", "Offline"}};
          if ((*inst)->state == "RUNNING") {
            auto m = engine::ReadGuestMetrics(eng, id);
            if (m.ok()) {
              item = {{"InstanceId", id},
                      {"AgentStatus", "Online"},
                      {"MemTotal", m->mem_total_mb},
                      {"MemUsed", m->mem_used_mb},
                      {"MemUsage", m->mem_usage},
                      {"CpuLoadavg", m->cpu_loadavg},
                      {"TcpCurrEstab", m->tcp_curr_estab}};
            }
          }
          set.push_back(item);
        }
        return json{{"TotalCount", set.size()}, {"GuestMetricsSet", set}};
      });
  for (const auto& entry : kActions) {
    router.Register(entry.first, [tat = Tat{deps.db, deps.engine, runner}, action = entry.second](
                                     const api::RequestContext& ctx, json& p) mutable {
      return action(tat, ctx, p);
    });
  }
}

}  // namespace cvm::services
