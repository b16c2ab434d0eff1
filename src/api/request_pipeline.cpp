#include "api/request_pipeline.h"

#include <chrono>
#include <map>
#include <set>

#include "api/envelope.h"
#include "api/schema.h"
#include "api/signing.h"
#include "common/error_codes.h"
#include "common/ids.h"
#include "common/time_format.h"
#include "common/utf8.h"

namespace cvm::api {
namespace {

// Parameters of the v1 protocol that are not the action's own.
bool IsCommonV1Param(const std::string& k) {
  static const std::set<std::string> kCommon = {
      "Action",    "Version",         "Region", "Timestamp", "Nonce",        "SecretId",
      "Signature", "SignatureMethod", "Token",  "Language",  "RequestClient"};
  return kCommon.count(k) > 0;
}

bool IsKnownService(std::string_view s) { return !ApiSchema::Embedded().ServiceVersion(s).empty(); }

// The first label of the Host names a service when clients use per-product endpoints
// ("cvm.example.internal"); "127" or "localhost" do not.
std::string ServiceFromHost(std::string_view host) {
  if (auto p = host.find("://"); p != std::string_view::npos) host.remove_prefix(p + 3);
  auto dot = host.find('.');
  if (dot == std::string_view::npos) return "";
  std::string first(host.substr(0, dot));
  return IsKnownService(first) ? first : "";
}

// Parses a JSON body, refusing duplicate keys: with two values for one parameter, any choice
// would be a guess about what the caller meant.
Result<nlohmann::json> ParseJsonBody(const std::string& body) {
  // What the SDKs send for a call without parameters (most Describe calls): no parser needed.
  if (body == "{}") return nlohmann::json::object();
  std::vector<std::set<std::string>> keys_per_object;
  std::string duplicate;
  auto cb = [&](int, nlohmann::json::parse_event_t ev, nlohmann::json& parsed) {
    using E = nlohmann::json::parse_event_t;
    if (ev == E::object_start) keys_per_object.emplace_back();
    if (ev == E::object_end) keys_per_object.pop_back();
    if (ev == E::key && !keys_per_object.back().insert(parsed.get<std::string>()).second &&
        duplicate.empty()) {
      duplicate = parsed.get<std::string>();
    }
    return true;
  };
  if (!IsValidUtf8(body)) {
    return Status(err::kInvalidParameterValue, "The request body is not valid UTF-8.");
  }
  auto params = nlohmann::json::parse(body, cb, /*allow_exceptions=*/false);
  if (params.is_discarded()) {
    return Status(err::kInvalidParameter, "The request body is not valid JSON.");
  }
  if (!duplicate.empty()) {
    return Status(err::kInvalidParameter,
                  "The parameter `" + duplicate.substr(0, 64) + "` is given more than once.");
  }
  if (!params.is_object()) {
    return Status(err::kInvalidParameter, "The request body must be a JSON object.");
  }
  return params;
}

}  // namespace

Status RequestPipeline::Authenticate(const HttpRequest& req, RequestContext& ctx,
                                     std::vector<std::pair<std::string, std::string>>& v1_params,
                                     bool& is_v1) {
  const std::string& authorization = req.Header("authorization");
  int64_t now = NowUnix();
  if (!authorization.empty()) {
    if (authorization == "SKIP") {
      return Status(err::kAuthFailureSignatureFailure, "Unsigned requests are not accepted.");
    }
    auto cred = ParseTc3Authorization(authorization);
    if (!cred.ok()) return cred.status();
    if (!iam::IsWellFormedSecretId(cred->secret_id)) {
      return Status(err::kAuthFailureInvalidSecretId, "The SecretId is not a valid API key.");
    }
    auto key = accounts_.LookupActiveKey(cred->secret_id);
    if (!key.ok()) return key.status();
    CVM_RETURN_IF_ERROR(VerifyTc3(req, *cred, key->secret_key, now));
    ctx.action = req.Header("x-tc-action");
    ctx.region = req.Header("x-tc-region");
    ctx.language = req.Header("x-tc-language");
    ctx.owner_uin = key->owner_uin;
    ctx.caller_uin = key->user_uin;
    ctx.secret_id = key->secret_id;
    ctx.timestamp = std::strtoll(req.Header("x-tc-timestamp").c_str(), nullptr, 10);
    if (!req.Header("x-tc-token").empty()) {
      return Status(err::kAuthFailureTokenFailure,
                    "Temporary credentials (X-TC-Token) are not issued by this service.");
    }
    // Python upper-cases the action's first letter; others send it as written.
    return Status::Ok();
  }

  // Signature v1: every parameter, common ones included, is in the query (GET) or the form body.
  is_v1 = true;
  v1_params = ParseFormEncoded(req.method == "GET" ? req.Query() : req.body);
  std::map<std::string, std::string> all;
  for (const auto& [k, v] : v1_params) {
    if (!all.emplace(k, v).second) {
      return Status(err::kInvalidParameter, "duplicate parameter '" + k + "'");
    }
  }
  if (!all.count("Signature") || !all.count("SecretId")) {
    return Status(err::kAuthFailureSignatureFailure,
                  "The request carries no signature (no Authorization header).");
  }
  const std::string& secret_id = all["SecretId"];
  if (!iam::IsWellFormedSecretId(secret_id)) {
    return Status(err::kAuthFailureInvalidSecretId, "The SecretId is not a valid API key.");
  }
  auto key = accounts_.LookupActiveKey(secret_id);
  if (!key.ok()) return key.status();
  std::string host = req.Header("host");
  CVM_RETURN_IF_ERROR(VerifyV1(all, req.method, host, key->secret_key, now));
  if (all.count("Token")) {
    return Status(err::kAuthFailureTokenFailure,
                  "Temporary credentials (Token) are not issued by this service.");
  }
  ctx.action = all["Action"];
  ctx.region = all["Region"];
  ctx.language = all["Language"];
  ctx.owner_uin = key->owner_uin;
  ctx.caller_uin = key->user_uin;
  ctx.secret_id = secret_id;
  ctx.timestamp = std::strtoll(all["Timestamp"].c_str(), nullptr, 10);
  return Status::Ok();
}

HttpResponse RequestPipeline::Handle(const HttpRequest& req) {
  RequestContext ctx;
  ctx.request_id = NewUuid();
  ctx.source_ip = req.peer_address;
  ctx.host = req.Header("host");
  if (auto p = ctx.host.find("://"); p != std::string::npos) ctx.host.erase(0, p + 3);
  iam::AuditRecord audit;
  HttpResponse resp = Process(req, ctx, audit);
  resp.authenticated = !ctx.caller_uin.empty();  // set only once the signature verified
  if (audit_) {
    audit.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    // The context is not read again: its strings move into the record.
    audit.request_id = std::move(ctx.request_id);
    audit.owner_uin = std::move(ctx.owner_uin);
    audit.caller_uin = std::move(ctx.caller_uin);
    audit.secret_id = std::move(ctx.secret_id);
    audit.service = std::move(ctx.service);
    audit.action = ctx.action.size() > 64 ? ctx.action.substr(0, 64) : std::move(ctx.action);
    audit.region = ctx.region.size() > 32 ? ctx.region.substr(0, 32) : std::move(ctx.region);
    audit.source_ip = std::move(ctx.source_ip);
    audit_->Record(audit);
  }
  return resp;
}

HttpResponse RequestPipeline::Process(const HttpRequest& req, RequestContext& ctx,
                                      iam::AuditRecord& audit) {
  HttpResponse resp;
  auto fail = [&](const Status& st) {
    audit.result_code = err::WireCode(st.code());
    resp.body = ErrorBody(st, ctx.request_id);
    return resp;
  };

  if (req.method != "POST" && req.method != "GET") {
    return fail(Status(err::kUnsupportedProtocol,
                       "HTTP method " + req.method + " is not supported; use GET or POST."));
  }

  std::vector<std::pair<std::string, std::string>> v1_params;
  bool is_v1 = false;
  Status auth = Authenticate(req, ctx, v1_params, is_v1);
  if (!auth.ok()) return fail(auth);

  if (ctx.action.empty()) return fail(Status(err::kMissingParameter, "Action is missing."));
  const ApiSchema& schema = ApiSchema::Embedded();
  const ActionSpec* spec = schema.FindAction(ctx.action);
  // An OpenCVM extension action is accepted only where the Tencent schema has no such action,
  // so an extension can never shadow or loosen a Tencent action's validation.
  const Router::Extension* extension = spec ? nullptr : router_.FindExtension(ctx.action);
  if (!spec && !extension) {
    return fail(Status(err::kInvalidAction, "The action " + ctx.action + " does not exist."));
  }
  ctx.service = spec ? spec->service : extension->service;
  const std::string& action_version = spec ? spec->version : extension->version;
  if (auto host_service = ServiceFromHost(req.Header("host"));
      !host_service.empty() && host_service != ctx.service) {
    return fail(
        Status(err::kInvalidAction,
               "The action " + ctx.action + " does not exist in service " + host_service + "."));
  }
  const std::string version = is_v1 ? "" : req.Header("x-tc-version");
  if (!version.empty() && version != action_version) {
    return fail(Status(err::kNoSuchVersion, "Version " + version + " of " + ctx.service +
                                                " does not exist; use " + action_version + "."));
  }
  // CAM and Tag are global services: the region, if any, is not theirs (a tag names its
  // resource's region inside the resource name).
  if (ctx.service != "cam" && ctx.service != "tag") {
    if (ctx.region.empty()) return fail(Status(err::kMissingParameter, "Region is missing."));
    const RegionConfig* region = config_.FindRegion(ctx.region);
    if (!region) {
      return fail(Status(err::kUnsupportedRegion,
                         "Region " + ctx.region + " is not served by this deployment."));
    }
  }
  auto account = accounts_.FindAccount(ctx.owner_uin);
  if (account.ok()) ctx.owner_app_id = account->app_id;

  // Parameters: JSON body (TC3 POST), flattened query (TC3 GET) or form fields (v1).
  nlohmann::json params;
  if (is_v1 || req.method == "GET") {
    std::vector<std::pair<std::string, std::string>> flat;
    if (is_v1) {
      for (auto& kv : v1_params) {
        if (!IsCommonV1Param(kv.first)) flat.push_back(std::move(kv));
      }
    } else {
      flat = ParseFormEncoded(req.Query());
    }
    if (spec) {
      auto unflat = UnflattenParams(*spec, flat);
      if (!unflat.ok()) return fail(unflat.status());
      params = std::move(*unflat);
    } else {
      // Without a schema there are no types to unflatten by: an extension gets flat string
      // values (its handler accepts them where it takes numbers).
      params = nlohmann::json::object();
      for (auto& [k, v] : flat) {
        if (params.contains(k)) {
          return fail(Status(err::kInvalidParameter,
                             "The parameter `" + k.substr(0, 64) + "` is given more than once."));
        }
        if (!IsValidUtf8(k) || !IsValidUtf8(v)) {
          return fail(Status(err::kInvalidParameterValue, "Parameters must be valid UTF-8."));
        }
        params[k] = std::move(v);
      }
    }
  } else if (req.body.empty()) {
    params = nlohmann::json::object();
  } else {
    auto parsed = ParseJsonBody(req.body);
    if (!parsed.ok()) return fail(parsed.status());
    params = std::move(*parsed);
  }
  if (spec) {
    Status valid = ValidateParams(*spec, params);
    if (!valid.ok()) return fail(valid);
  }

  // CAM: after the parameters are known to be well-formed (they name the resources), before
  // any handler looks anything up, so a denied caller learns nothing about what exists.
  iam::AccessRequest access{ctx.service,   ctx.action,     ctx.region,
                            ctx.owner_uin, ctx.caller_uin, ctx.owner_app_id,
                            ctx.source_ip, NowUnix(),      &params};
  if (authorizer_) {
    iam::AccessOutcome outcome = authorizer_->Authorize(access);
    for (const auto& r : outcome.resources) audit.resources.push_back(r.id);
    if (!outcome.status.ok()) return fail(outcome.status);
    ctx.visible = std::move(outcome.visible);
  } else if (ctx.caller_uin != ctx.owner_uin) {
    return fail(Status(err::kUnauthorizedOperation,
                       "Sub-users are not served: access control is not configured."));
  } else {
    ctx.visible = iam::Visibility::Everything();
  }

  const Handler* handler = router_.Find(ctx.action);
  if (!handler) {
    return fail(Status(err::kUnsupportedOperation,
                       "The action " + ctx.action + " is not implemented by OpenCVM yet."));
  }
  Result<nlohmann::json> result = Status(err::kInternalError, "handler did not run");
  try {
    result = (*handler)(ctx, params);
  } catch (const std::exception& e) {
    // An exception here is a bug in a handler; answer cleanly and keep serving.
    result = Status(err::kInternalError, std::string("internal error: ") + e.what());
  }
  if (!result.ok()) return fail(result.status());
  resp.body = SuccessBody(std::move(*result), ctx.request_id);
  return resp;
}

}  // namespace cvm::api
