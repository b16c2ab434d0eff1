// OpenCVM extension action DescribeAuditEvents (service cam): the account's audit log, newest
// first. Parameters (all optional): StartTime, EndTime (Unix seconds), ActionName, CallerUin,
// Offset, Limit (1..200, default 20). Answer: {TotalCount, Events: [{Time, RequestId, OwnerUin,
// CallerUin, SecretId, Service, Action, Region, Resources, SourceIp, ResultCode, Result}]}.
// Like every action it passes CAM: root accounts may read it, sub-users when a policy allows
// cam:DescribeAuditEvents, and then only the records of the users (resource
// qcs::cam::uin/OWNER:uin/CALLER) the policy allows it on.
#include "common/error_codes.h"
#include "common/time_format.h"
#include "services/extension_params.h"
#include "services/service_deps.h"

namespace cvm::services {

using nlohmann::json;

void RegisterCamAuditHandler(api::Router& router, ServiceDeps& deps) {
  iam::AuditLog& audit = deps.audit;
  router.RegisterExtension(
      "DescribeAuditEvents", "cam", "2019-01-16",
      [&audit](const api::RequestContext& ctx, json& p) -> Result<json> {
        CVM_RETURN_IF_ERROR(CheckKnownParams(
            p, {"StartTime", "EndTime", "ActionName", "CallerUin", "Offset", "Limit"}));
        iam::AuditQuery q;
        q.owner_uin = ctx.owner_uin;
        q.visible = ctx.visible;
        auto start = IntParam(p, "StartTime", 0);
        if (!start.ok()) return start.status();
        auto end = IntParam(p, "EndTime", -1);
        if (!end.ok()) return end.status();
        auto offset = IntParam(p, "Offset", 0);
        if (!offset.ok()) return offset.status();
        auto limit = IntParam(p, "Limit", 20);
        if (!limit.ok()) return limit.status();
        if (*offset < 0 || *limit < 1 || *limit > 200) {
          return Status(err::kInvalidParameterValue,
                        "Offset must not be negative and Limit must be between 1 and 200.");
        }
        q.start_ms = *start * 1000;
        if (*end >= 0) q.end_ms = *end * 1000 + 999;
        q.offset = static_cast<size_t>(*offset);
        q.limit = static_cast<size_t>(*limit);
        for (const char* name : {"ActionName", "CallerUin"}) {
          if (p.contains(name) && !p[name].is_string()) {
            return Status(err::kInvalidParameterValue, std::string(name) + " must be a string.");
          }
        }
        q.action = p.value("ActionName", "");
        q.caller_uin = p.value("CallerUin", "");
        auto found = audit.Find(q);
        if (!found.ok()) return found.status();
        json events = json::array();
        for (const auto& r : found->second) {
          events.push_back(json{{"Time", FormatIsoTime(r.time_ms / 1000)},
                                {"TimeMs", r.time_ms},
                                {"RequestId", r.request_id},
                                {"OwnerUin", r.owner_uin},
                                {"CallerUin", r.caller_uin},
                                {"SecretId", r.secret_id},
                                {"Service", r.service},
                                {"Action", r.action},
                                {"Region", r.region},
                                {"Resources", r.resources},
                                {"SourceIp", r.source_ip},
                                {"ResultCode", r.result_code},
                                {"Result", r.result_code.empty() ? "Success" : "Failure"}});
        }
        return json{{"TotalCount", found->first}, {"Events", std::move(events)}};
      });
}

}  // namespace cvm::services
