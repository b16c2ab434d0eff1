#include "iam/policy.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "common/error_codes.h"

namespace cvm::iam {
namespace {

using nlohmann::json;

// Error codes of CreatePolicy / UpdatePolicy for a malformed document.
constexpr std::string_view kDocumentError = err::kCamPolicyDocumentError;
constexpr std::string_view kLengthError = err::kCamPolicyDocumentLengthOverLimit;
constexpr std::string_view kVersionError = err::kCamVersionError;
constexpr std::string_view kStatementError = err::kCamStatementError;
constexpr std::string_view kEffectError = err::kCamEffectError;
constexpr std::string_view kActionError = err::kCamActionError;
constexpr std::string_view kActionNotExist = err::kCamActionNotExist;
constexpr std::string_view kResourceError = err::kCamResourceError;
constexpr std::string_view kConditionError = err::kCamConditionError;
constexpr std::string_view kConditionTypeError = err::kCamConditionTypeError;
constexpr std::string_view kPrincipalError = err::kCamPrincipalError;

enum class Op {
  kStringEqual,
  kStringNotEqual,
  kStringEqualIgnoreCase,
  kStringNotEqualIgnoreCase,
  kStringLike,
  kStringNotLike,
  kBinaryEqual,
  kDateEqual,
  kDateNotEqual,
  kDateGreaterThan,
  kDateGreaterThanEqual,
  kDateLessThan,
  kDateLessThanEqual,
  kIpEqual,
  kIpNotEqual,
  kNumericEqual,
  kNumericNotEqual,
  kNumericGreaterThan,
  kNumericGreaterThanEqual,
  kNumericLessThan,
  kNumericLessThanEqual,
  kBoolEqual,
  kNullEqual,
};

const std::unordered_map<std::string_view, Op>& Operators() {
  static const std::unordered_map<std::string_view, Op> kOps = {
      {"string_equal", Op::kStringEqual},
      {"string_not_equal", Op::kStringNotEqual},
      {"string_equal_ignore_case", Op::kStringEqualIgnoreCase},
      {"string_not_equal_ignore_case", Op::kStringNotEqualIgnoreCase},
      {"string_like", Op::kStringLike},
      {"string_not_like", Op::kStringNotLike},
      {"binary_equal", Op::kBinaryEqual},
      {"date_equal", Op::kDateEqual},
      {"date_not_equal", Op::kDateNotEqual},
      {"date_greater_than", Op::kDateGreaterThan},
      {"date_greater_than_equal", Op::kDateGreaterThanEqual},
      {"date_less_than", Op::kDateLessThan},
      {"date_less_than_equal", Op::kDateLessThanEqual},
      {"ip_equal", Op::kIpEqual},
      {"ip_not_equal", Op::kIpNotEqual},
      {"numeric_equal", Op::kNumericEqual},
      {"numeric_not_equal", Op::kNumericNotEqual},
      {"numeric_greater_than", Op::kNumericGreaterThan},
      {"numeric_greater_than_equal", Op::kNumericGreaterThanEqual},
      {"numeric_less_than", Op::kNumericLessThan},
      {"numeric_less_than_equal", Op::kNumericLessThanEqual},
      {"bool_equal", Op::kBoolEqual},
      {"null_equal", Op::kNullEqual},
  };
  return kOps;
}

bool IsNegated(Op op) {
  return op == Op::kStringNotEqual || op == Op::kStringNotEqualIgnoreCase ||
         op == Op::kStringNotLike || op == Op::kDateNotEqual || op == Op::kIpNotEqual ||
         op == Op::kNumericNotEqual;
}

bool IsDateOp(Op op) { return op >= Op::kDateEqual && op <= Op::kDateLessThanEqual; }
bool IsNumericOp(Op op) { return op >= Op::kNumericEqual && op <= Op::kNumericLessThanEqual; }
bool IsIpOp(Op op) { return op == Op::kIpEqual || op == Op::kIpNotEqual; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// '*' matches any run of characters, '?' one character.
bool GlobMatch(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p, ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++, mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1, t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

// A pattern classified once so the common shapes (exact, "*", "prefix*") cost one comparison.
class Matcher {
 public:
  Matcher() = default;
  explicit Matcher(std::string pattern) : text_(std::move(pattern)) {
    size_t first_wild = text_.find_first_of("*?");
    if (first_wild == std::string::npos) {
      kind_ = Kind::kExact;
    } else if (text_ == "*") {
      kind_ = Kind::kAny;
    } else if (first_wild == text_.size() - 1 && text_.back() == '*') {
      kind_ = Kind::kPrefix;
      text_.pop_back();
    } else {
      kind_ = Kind::kGlob;
      // The literal ends rule most candidates out before the backtracking match runs.
      head_ = first_wild;
      tail_ = text_.size() - 1 - text_.find_last_of("*?");
    }
  }
  bool Match(std::string_view s) const {
    switch (kind_) {
      case Kind::kAny:
        return true;
      case Kind::kExact:
        return s == text_;
      case Kind::kPrefix:
        return s.substr(0, text_.size()) == text_;
      case Kind::kGlob:
        if (s.size() < head_ + tail_ ||
            std::string_view(text_).substr(0, head_) != s.substr(0, head_) ||
            std::string_view(text_).substr(text_.size() - tail_) != s.substr(s.size() - tail_)) {
          return false;
        }
        return GlobMatch(text_, s);
    }
    return false;
  }
  bool IsAny() const { return kind_ == Kind::kAny; }

 private:
  enum class Kind { kAny, kExact, kPrefix, kGlob } kind_ = Kind::kAny;
  std::string text_;
  size_t head_ = 0, tail_ = 0;  // literal characters before the first / after the last wildcard
};

struct Cidr {
  bool v6 = false;
  std::array<uint8_t, 16> addr{};
  int prefix = 0;
};

std::optional<Cidr> ParseCidr(std::string_view text) {
  std::string s(text);
  Cidr c;
  auto slash = s.find('/');
  std::string host = slash == std::string::npos ? s : s.substr(0, slash);
  if (inet_pton(AF_INET, host.c_str(), c.addr.data()) == 1) {
    c.prefix = 32;
  } else if (inet_pton(AF_INET6, host.c_str(), c.addr.data()) == 1) {
    c.v6 = true;
    c.prefix = 128;
  } else {
    return std::nullopt;
  }
  if (slash != std::string::npos) {
    std::string bits = s.substr(slash + 1);
    if (bits.empty() || bits.size() > 3 || bits.find_first_not_of("0123456789") != bits.npos) {
      return std::nullopt;
    }
    int n = std::stoi(bits);
    if (n > c.prefix) return std::nullopt;
    c.prefix = n;
  }
  return c;
}

// An address as the HTTP server reports it; an IPv4-mapped IPv6 address counts as IPv4.
std::optional<Cidr> ParseAddress(std::string_view text) {
  if (text.substr(0, 7) == "::ffff:" && text.find('.') != std::string_view::npos) {
    text.remove_prefix(7);
  }
  if (text.find('/') != std::string_view::npos) return std::nullopt;
  return ParseCidr(text);
}

bool CidrContains(const Cidr& net, const Cidr& ip) {
  if (net.v6 != ip.v6) return false;
  int full = net.prefix / 8, rest = net.prefix % 8;
  if (std::memcmp(net.addr.data(), ip.addr.data(), static_cast<size_t>(full)) != 0) return false;
  if (rest == 0) return true;
  auto mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return (net.addr[full] & mask) == (ip.addr[full] & mask);
}

// ISO 8601 in UTC ("2026-11-26T18:44:06Z", seconds and zone optional) or Unix seconds.
std::optional<int64_t> ParseTime(std::string_view text) {
  std::string s(text);
  if (!s.empty() && s.find_first_not_of("0123456789") == std::string::npos && s.size() <= 12) {
    return std::stoll(s);
  }
  std::tm tm{};
  const char* end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end) {
    tm = {};
    end = strptime(s.c_str(), "%Y-%m-%dT%H:%M", &tm);
  }
  if (!end) {
    tm = {};
    end = strptime(s.c_str(), "%Y-%m-%d", &tm);
  }
  if (!end) return std::nullopt;
  std::string_view rest(end);
  if (!rest.empty() && rest != "Z" && rest != "+00:00") return std::nullopt;
  return static_cast<int64_t>(timegm(&tm));
}

std::optional<double> ParseNumber(std::string_view text) {
  std::string s(text);
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<bool> ParseBool(std::string_view text) {
  if (EqualsIgnoreCase(text, "true")) return true;
  if (EqualsIgnoreCase(text, "false")) return false;
  return std::nullopt;
}

// Values in a condition: a scalar or an array of scalars, kept in their text form.
Result<std::vector<std::string>> ConditionValues(const json& v) {
  std::vector<std::string> out;
  auto one = [&](const json& x) -> bool {
    if (x.is_string()) {
      out.push_back(x.get<std::string>());
    } else if (x.is_number() || x.is_boolean()) {
      out.push_back(x.dump());
    } else {
      return false;
    }
    return true;
  };
  if (v.is_array()) {
    if (v.empty()) return Status(kConditionError, "A condition lists no values.");
    for (const auto& x : v) {
      if (!one(x)) return Status(kConditionError, "Condition values must be scalars.");
    }
  } else if (!one(v)) {
    return Status(kConditionError, "Condition values must be scalars or arrays of scalars.");
  }
  return out;
}

// "string or array of strings", refused with `code` otherwise.
Result<std::vector<std::string>> StringList(const json& v, std::string_view code,
                                            const std::string& what) {
  std::vector<std::string> out;
  if (v.is_string()) {
    out.push_back(v.get<std::string>());
  } else if (v.is_array() && !v.empty()) {
    for (const auto& x : v) {
      if (!x.is_string()) return Status(code, "Every " + what + " must be a string.");
      out.push_back(x.get<std::string>());
    }
  } else {
    return Status(code, "The " + what + " must be a string or a non-empty array of strings.");
  }
  for (const auto& s : out) {
    if (s.empty() || s.size() > 512) {
      return Status(code, "A " + what + " must be 1 to 512 characters.");
    }
  }
  return out;
}

bool ValidName(std::string_view s, bool allow_wild) {
  if (s.empty()) return false;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.') continue;
    if (allow_wild && (c == '*' || c == '?')) continue;
    return false;
  }
  return true;
}

// "service:Action" or "name/service:Action"; split into (service, action).
std::optional<std::pair<std::string, std::string>> SplitAction(std::string_view a) {
  if (a == "*") return std::make_pair(std::string("*"), std::string("*"));
  if (a.substr(0, 5) == "name/") a.remove_prefix(5);
  auto colon = a.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view service = a.substr(0, colon), action = a.substr(colon + 1);
  if (!ValidName(service, true) || !ValidName(action, true)) return std::nullopt;
  return std::make_pair(std::string(service), std::string(action));
}

Status CheckAction(const std::string& a, const ParseOptions& options) {
  auto split = SplitAction(a);
  if (!split) {
    return Status(kActionError, "The action `" + a.substr(0, 128) +
                                    "` is not of the form service:Action or name/service:Action.");
  }
  const auto& [service, action] = *split;
  bool wild = action.find_first_of("*?") != std::string::npos ||
              service.find_first_of("*?") != std::string::npos;
  static const std::set<std::string> kChecked = {"cvm", "cbs", "vpc", "cam", "tag", "tat"};
  if (!wild && options.action_exists && kChecked.count(Lower(service)) &&
      !options.action_exists(Lower(service), action)) {
    return Status(kActionNotExist, "The action `" + a.substr(0, 128) + "` does not exist.");
  }
  return Status::Ok();
}

// Six colon-separated segments: qcs:PROJECT:SERVICE:REGION:ACCOUNT:RESOURCE (the last may hold
// colons of its own).
std::optional<std::array<std::string, 6>> SplitResource(std::string_view r) {
  std::array<std::string, 6> seg;
  for (size_t i = 0; i < 5; ++i) {
    auto colon = r.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    seg[i] = std::string(r.substr(0, colon));
    r.remove_prefix(colon + 1);
  }
  seg[5] = std::string(r);
  return seg;
}

Status CheckResource(const std::string& r) {
  if (r == "*") return Status::Ok();
  auto seg = SplitResource(r);
  auto bad = [&](const std::string& why) {
    return Status(kResourceError, "The resource `" + r.substr(0, 128) + "` " + why);
  };
  if (!seg) return bad("does not have six colon-separated segments.");
  if ((*seg)[0] != "qcs") return bad("does not start with qcs.");
  if ((*seg)[2].empty()) return bad("names no service.");
  const std::string& account = (*seg)[4];
  if (!account.empty() && account != "*" && account.substr(0, 4) != "uin/" &&
      account.substr(0, 4) != "uid/") {
    return bad("has an account segment that is neither uin/… nor uid/….");
  }
  if ((*seg)[5].empty()) return bad("names no resource.");
  return Status::Ok();
}

Result<ParsedCondition> ParseOperator(const std::string& full_op) {
  ParsedCondition c;
  std::string_view op = full_op;
  if (op.substr(0, 14) == "for_any_value:") {
    c.qualifier = ParsedCondition::Qualifier::kForAnyValue;
    op.remove_prefix(14);
  } else if (op.substr(0, 14) == "for_all_value:") {
    c.qualifier = ParsedCondition::Qualifier::kForAllValue;
    op.remove_prefix(14);
  }
  constexpr std::string_view kIfExist = "_if_exist";
  if (op.size() > kIfExist.size() && op.substr(op.size() - kIfExist.size()) == kIfExist) {
    c.if_exist = true;
    op.remove_suffix(kIfExist.size());
  }
  if (!Operators().count(op)) {
    return Status(kConditionTypeError,
                  "The condition operator `" + full_op.substr(0, 64) + "` is not supported.");
  }
  c.op = std::string(op);
  return c;
}

Status CheckConditionValue(Op op, const std::string& key, const std::string& v) {
  auto bad = [&](const std::string& what) {
    return Status(kConditionError, "The value `" + v.substr(0, 64) + "` of key " +
                                       key.substr(0, 64) + " is not " + what + ".");
  };
  if (IsIpOp(op) && !ParseCidr(v)) return bad("an IP address or CIDR block");
  if (IsDateOp(op) && !ParseTime(v)) return bad("an ISO 8601 UTC time");
  if (IsNumericOp(op) && !ParseNumber(v)) return bad("a number");
  if ((op == Op::kBoolEqual || op == Op::kNullEqual) && !ParseBool(v)) return bad("true or false");
  return Status::Ok();
}

Result<std::vector<ParsedCondition>> ParseConditions(const json& cond) {
  if (!cond.is_object()) return Status(kConditionError, "The condition must be an object.");
  std::vector<ParsedCondition> out;
  for (auto it = cond.begin(); it != cond.end(); ++it) {
    auto head = ParseOperator(it.key());
    if (!head.ok()) return head.status();
    if (!it.value().is_object() || it.value().empty()) {
      return Status(kConditionError, "The operator " + it.key().substr(0, 64) +
                                         " must map condition keys to values.");
    }
    Op op = Operators().at(head->op);
    for (auto kv = it.value().begin(); kv != it.value().end(); ++kv) {
      if (kv.key().empty() || kv.key().size() > 128) {
        return Status(kConditionError, "A condition key must be 1 to 128 characters.");
      }
      ParsedCondition c = *head;
      c.key = kv.key();
      auto values = ConditionValues(kv.value());
      if (!values.ok()) return values.status();
      for (const auto& v : *values) CVM_RETURN_IF_ERROR(CheckConditionValue(op, c.key, v));
      c.values = std::move(*values);
      out.push_back(std::move(c));
    }
  }
  return out;
}

Result<ParsedStatement> ParseStatement(const json& st, const ParseOptions& options) {
  if (!st.is_object()) return Status(kStatementError, "Each statement must be an object.");
  static const std::set<std::string> kKnown = {"effect", "action", "resource", "condition",
                                               "principal"};
  for (auto it = st.begin(); it != st.end(); ++it) {
    if (!kKnown.count(it.key())) {
      return Status(kStatementError,
                    "A statement has the unknown element `" + it.key().substr(0, 64) + "`.");
    }
  }
  ParsedStatement out;
  auto effect = st.find("effect");
  if (effect == st.end() || !effect->is_string() || (*effect != "allow" && *effect != "deny")) {
    return Status(kEffectError, "Each statement's effect must be \"allow\" or \"deny\".");
  }
  out.deny = *effect == "deny";
  if (st.contains("principal")) {
    return Status(kPrincipalError, "A principal belongs in a role's trust policy, not here.");
  }
  auto action = st.find("action");
  if (action == st.end()) return Status(kActionError, "A statement has no action.");
  auto actions = StringList(*action, kActionError, "action");
  if (!actions.ok()) return actions.status();
  for (const auto& a : *actions) CVM_RETURN_IF_ERROR(CheckAction(a, options));
  out.actions = std::move(*actions);
  auto resource = st.find("resource");
  if (resource == st.end()) return Status(kResourceError, "A statement has no resource.");
  auto resources = StringList(*resource, kResourceError, "resource");
  if (!resources.ok()) return resources.status();
  for (const auto& r : *resources) CVM_RETURN_IF_ERROR(CheckResource(r));
  out.resources = std::move(*resources);
  if (auto cond = st.find("condition"); cond != st.end()) {
    auto conditions = ParseConditions(*cond);
    if (!conditions.ok()) return conditions.status();
    out.conditions = std::move(*conditions);
  }
  return out;
}

}  // namespace

Result<ParsedPolicy> ParsePolicyDocument(std::string_view text, const ParseOptions& options) {
  if (text.size() > kMaxPolicyDocumentBytes) {
    return Status(kLengthError, "The policy document is longer than " +
                                    std::to_string(kMaxPolicyDocumentBytes) + " bytes.");
  }
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Status(kDocumentError, "The policy document is not a JSON object.");
  }
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    if (it.key() != "version" && it.key() != "statement") {
      return Status(kDocumentError, "The policy document has the unknown element `" +
                                        it.key().substr(0, 64) + "`.");
    }
  }
  auto version = doc.find("version");
  if (version == doc.end() || !version->is_string() || *version != "2.0") {
    return Status(kVersionError, "The policy document's version must be \"2.0\".");
  }
  auto statement = doc.find("statement");
  if (statement == doc.end() || !(statement->is_array() || statement->is_object()) ||
      statement->empty()) {
    return Status(kStatementError, "The policy document needs a non-empty statement list.");
  }
  ParsedPolicy out;
  auto add = [&](const json& st) -> Status {
    auto parsed = ParseStatement(st, options);
    if (!parsed.ok()) return parsed.status();
    out.statements.push_back(std::move(*parsed));
    return Status::Ok();
  };
  if (statement->is_object()) {
    CVM_RETURN_IF_ERROR(add(*statement));
  } else {
    for (const auto& st : *statement) CVM_RETURN_IF_ERROR(add(st));
  }
  return out;
}

std::string ResourceRef::ToString() const {
  if (IsAny()) return "*";
  std::string s = "qcs::";
  s.append(service).append(":").append(region).append(":").append(account).append(":");
  s.append(type_and_id);
  return s;
}

namespace detail {

struct ActionMatcher {
  Matcher service, action;  // lower case
};

// A policy resource; an empty project, region or account segment matches any.
struct ResourceMatcher {
  bool any = false;  // the literal "*": the only pattern an operation-level call matches
  // Index keys: the whole TYPE/ID when it has no wildcard, else TYPE when that part has none.
  std::string exact_key, type_key;
  Matcher service, region, account, resource;
  bool region_any = true, account_any = true;
};

enum class Key { kIp, kCurrentTime, kRegion, kZone, kInstanceType, kOther };

struct CompiledCondition {
  Op op;
  ParsedCondition::Qualifier qualifier;
  bool if_exist;
  Key key;
  std::string key_name;
  std::vector<std::string> strings;
  std::vector<Matcher> likes;
  std::vector<Cidr> cidrs;
  std::vector<double> numbers;
  bool flag = false;
};

// Candidate statements for one action. A request resource TYPE/ID needs only the statements
// under its exact key, under its TYPE, and those whose resources cannot be indexed; a "*"
// request only those naming "*". Candidates are still matched in full.
struct ActionIndex {
  bool has_deny = false;
  std::vector<uint32_t> all;
  std::vector<uint32_t> star;
  std::vector<uint32_t> unindexed;
  std::unordered_map<std::string, std::vector<uint32_t>> by_exact;
  std::unordered_map<std::string, std::vector<uint32_t>> by_type;
};

struct CompiledStatement {
  bool deny = false;
  std::vector<ActionMatcher> actions;
  std::vector<ResourceMatcher> resources;
  std::vector<CompiledCondition> conditions;
};

}  // namespace detail

namespace {

using detail::CompiledCondition;
using detail::CompiledStatement;
using detail::Key;

std::string SubstituteVariables(std::string s, const PolicyIdentity& id) {
  if (s.find("${") == std::string::npos) return s;
  auto replace = [&](std::string_view var, const std::string& value) {
    for (size_t p = s.find(var); p != std::string::npos; p = s.find(var, p + value.size())) {
      s.replace(p, var.size(), value);
    }
  };
  replace("${uin}", id.uin);
  replace("${owner_uin}", id.owner_uin);
  replace("${app_id}", std::to_string(id.app_id));
  return s;
}

detail::ResourceMatcher CompileResource(const std::string& text) {
  detail::ResourceMatcher m;
  if (text == "*") {
    m.any = true;
    return m;
  }
  auto seg = SplitResource(text);  // checked at parse time
  m.service = Matcher(Lower((*seg)[2]));
  m.region_any = (*seg)[3].empty();
  m.region = Matcher((*seg)[3]);
  m.account_any = (*seg)[4].empty();
  m.account = Matcher((*seg)[4]);
  const std::string& res = (*seg)[5];
  m.resource = Matcher(res);
  auto slash = res.find('/');
  if (res.find_first_of("*?") == std::string::npos) {
    m.exact_key = res;
  } else if (slash != std::string::npos && res.find_first_of("*?") > slash) {
    m.type_key = res.substr(0, slash);
  }
  return m;
}

Key KeyOf(std::string_view key) {
  if (key == "qcs:ip") return Key::kIp;
  if (key == "qcs:current_time") return Key::kCurrentTime;
  if (key == "cvm:region" || key == "vpc:region" || key == "cbs:region") return Key::kRegion;
  if (key == "cvm:zone" || key == "cbs:zone") return Key::kZone;
  if (key == "cvm:instance_type") return Key::kInstanceType;
  return Key::kOther;
}

CompiledCondition CompileCondition(const ParsedCondition& pc, const PolicyIdentity& id) {
  CompiledCondition c{Operators().at(pc.op),
                      pc.qualifier,
                      pc.if_exist,
                      KeyOf(pc.key),
                      pc.key,
                      {},
                      {},
                      {},
                      {},
                      false};
  for (const auto& raw : pc.values) {
    std::string v = SubstituteVariables(raw, id);
    if (IsIpOp(c.op)) {
      c.cidrs.push_back(*ParseCidr(v));
    } else if (IsDateOp(c.op)) {
      c.numbers.push_back(static_cast<double>(*ParseTime(v)));
    } else if (IsNumericOp(c.op)) {
      c.numbers.push_back(*ParseNumber(v));
    } else if (c.op == Op::kBoolEqual || c.op == Op::kNullEqual) {
      c.flag = *ParseBool(v);
    } else if (c.op == Op::kStringLike || c.op == Op::kStringNotLike) {
      c.likes.emplace_back(v);
    } else {
      c.strings.push_back(std::move(v));
    }
  }
  return c;
}

// The request's values for a condition key (at most a few; most keys have one).
void ValuesOf(const CompiledCondition& c, const RequestFacts& f, std::vector<std::string_view>& out,
              std::string& time_buf) {
  auto add = [&](std::string_view v) {
    if (!v.empty()) out.push_back(v);
  };
  switch (c.key) {
    case Key::kIp:
      add(f.source_ip);
      break;
    case Key::kCurrentTime:
      time_buf = std::to_string(f.now_unix);
      out.push_back(time_buf);
      break;
    case Key::kRegion:
      add(f.region);
      break;
    case Key::kZone:
      add(f.zone);
      break;
    case Key::kInstanceType:
      add(f.instance_type);
      break;
    case Key::kOther:
      if (f.extra) {
        for (const auto& [k, v] : *f.extra) {
          if (k == c.key_name) out.push_back(v);
        }
      }
      break;
  }
}

// Does one request value satisfy the operator against the policy's values (any of them)?
// Per evaluation: the caller's address is parsed once, not once per ip condition.
struct ConditionCache {
  bool ip_parsed = false;
  std::optional<Cidr> ip;
  const std::optional<Cidr>& SourceIp(std::string_view v) {
    if (!ip_parsed) ip = ParseAddress(v), ip_parsed = true;
    return ip;
  }
};

bool ValueMatches(const CompiledCondition& c, std::string_view v, ConditionCache& cache) {
  switch (c.op) {
    case Op::kStringEqual:
    case Op::kStringNotEqual:
    case Op::kBinaryEqual:
      return std::any_of(c.strings.begin(), c.strings.end(), [&](auto& s) { return s == v; });
    case Op::kStringEqualIgnoreCase:
    case Op::kStringNotEqualIgnoreCase:
      return std::any_of(c.strings.begin(), c.strings.end(),
                         [&](auto& s) { return EqualsIgnoreCase(s, v); });
    case Op::kStringLike:
    case Op::kStringNotLike:
      return std::any_of(c.likes.begin(), c.likes.end(), [&](auto& m) { return m.Match(v); });
    case Op::kIpEqual:
    case Op::kIpNotEqual: {
      std::optional<Cidr> parsed;
      const std::optional<Cidr>& ip =
          c.key == Key::kIp ? cache.SourceIp(v) : (parsed = ParseAddress(v));
      return ip && std::any_of(c.cidrs.begin(), c.cidrs.end(),
                               [&](auto& n) { return CidrContains(n, *ip); });
    }
    case Op::kBoolEqual: {
      auto b = ParseBool(v);
      return b && *b == c.flag;
    }
    case Op::kNullEqual:
      return !c.flag;  // the key is present, so "is null" is false
    default:
      break;
  }
  std::optional<double> x;
  if (IsDateOp(c.op)) {
    if (auto t = ParseTime(v)) x = static_cast<double>(*t);
  } else {
    x = ParseNumber(v);
  }
  if (!x) return false;
  return std::any_of(c.numbers.begin(), c.numbers.end(), [&](double p) {
    switch (c.op) {
      case Op::kDateEqual:
      case Op::kDateNotEqual:
      case Op::kNumericEqual:
      case Op::kNumericNotEqual:
        return *x == p;
      case Op::kDateGreaterThan:
      case Op::kNumericGreaterThan:
        return *x > p;
      case Op::kDateGreaterThanEqual:
      case Op::kNumericGreaterThanEqual:
        return *x >= p;
      case Op::kDateLessThan:
      case Op::kNumericLessThan:
        return *x < p;
      case Op::kDateLessThanEqual:
      case Op::kNumericLessThanEqual:
        return *x <= p;
      default:
        return false;
    }
  });
}

bool ConditionHolds(const CompiledCondition& c, const RequestFacts& f, ConditionCache& cache) {
  std::vector<std::string_view> values;
  std::string time_buf;
  ValuesOf(c, f, values, time_buf);
  if (values.empty()) {
    if (c.op == Op::kNullEqual) return c.flag;
    return c.if_exist;
  }
  // Negated operators hold for a value that equals none of the policy's values.
  auto holds = [&](std::string_view v) { return ValueMatches(c, v, cache) != IsNegated(c.op); };
  if (c.qualifier == ParsedCondition::Qualifier::kForAllValue) {
    return std::all_of(values.begin(), values.end(), holds);
  }
  return std::any_of(values.begin(), values.end(), holds);
}

bool ConditionsHold(const CompiledStatement& s, const RequestFacts& f, ConditionCache& cache) {
  for (const auto& c : s.conditions) {
    if (!ConditionHolds(c, f, cache)) return false;
  }
  return true;
}

bool ResourceMatches(const CompiledStatement& s, const ResourceRef& r) {
  for (const auto& m : s.resources) {
    if (m.any) return true;
    if (r.IsAny()) continue;  // an operation-level call is covered only by "*"
    // The most selective segment first.
    if (!m.resource.Match(r.type_and_id)) continue;
    if (!m.service.Match(r.service)) continue;
    if (!m.region_any && !m.region.Match(r.region)) continue;
    if (!m.account_any && !m.account.Match(r.account)) continue;
    return true;
  }
  return false;
}

}  // namespace

PolicySet::PolicySet() : memo_mu_(std::make_unique<std::shared_mutex>()) {}
PolicySet::~PolicySet() = default;
PolicySet::PolicySet(PolicySet&&) noexcept = default;
PolicySet& PolicySet::operator=(PolicySet&&) noexcept = default;

PolicySet PolicySet::Compile(const std::vector<const ParsedPolicy*>& policies,
                             const PolicyIdentity& identity) {
  PolicySet set;
  for (const ParsedPolicy* p : policies) {
    for (const auto& ps : p->statements) {
      CompiledStatement cs;
      cs.deny = ps.deny;
      for (const auto& a : ps.actions) {
        auto split = SplitAction(Lower(SubstituteVariables(a, identity)));
        if (!split) continue;
        cs.actions.push_back({Matcher(split->first), Matcher(split->second)});
      }
      for (const auto& r : ps.resources) {
        cs.resources.push_back(CompileResource(SubstituteVariables(r, identity)));
      }
      for (const auto& c : ps.conditions) cs.conditions.push_back(CompileCondition(c, identity));
      set.statements_.push_back(std::move(cs));
    }
  }
  return set;
}

size_t PolicySet::statement_count() const { return statements_.size(); }

const detail::ActionIndex& PolicySet::IndexFor(std::string_view action) const {
  std::string key = Lower(action);
  {
    std::shared_lock lock(*memo_mu_);
    if (auto it = by_action_.find(key); it != by_action_.end()) return *it->second;
  }
  auto index = std::make_unique<detail::ActionIndex>();
  auto colon = key.find(':');
  std::string_view service = std::string_view(key).substr(0, colon);
  std::string_view name = colon == std::string::npos ? "" : std::string_view(key).substr(colon + 1);
  for (uint32_t i = 0; i < statements_.size(); ++i) {
    const CompiledStatement& st = statements_[i];
    bool matches = std::any_of(st.actions.begin(), st.actions.end(), [&](const auto& m) {
      return m.service.Match(service) && m.action.Match(name);
    });
    if (!matches) continue;
    index->all.push_back(i);
    index->has_deny = index->has_deny || st.deny;
    bool unindexed = false, star = false;
    for (const auto& r : st.resources) {
      if (r.any) {
        star = true;
      } else if (!r.exact_key.empty()) {
        index->by_exact[r.exact_key].push_back(i);
      } else if (!r.type_key.empty()) {
        index->by_type[r.type_key].push_back(i);
      } else {
        unindexed = true;
      }
    }
    if (star) index->star.push_back(i);
    if (star || unindexed) index->unindexed.push_back(i);
  }
  std::unique_lock lock(*memo_mu_);
  // The map owns each index through a pointer, so the reference outlives the lock.
  return *by_action_.try_emplace(key, std::move(index)).first->second;
}

Decision PolicySet::Evaluate(std::string_view action, const ResourceRef& resource,
                             const RequestFacts& facts) const {
  const detail::ActionIndex& index = IndexFor(action);
  bool allowed = false;
  ConditionCache cache;
  // Returns true when a deny settles the answer.
  auto consider = [&](const std::vector<uint32_t>& candidates) {
    for (uint32_t i : candidates) {
      const CompiledStatement& s = statements_[i];
      if (!s.deny && allowed) continue;  // only a deny can still change the answer
      if (!ResourceMatches(s, resource) || !ConditionsHold(s, facts, cache)) continue;
      if (s.deny) return true;
      allowed = true;
    }
    return false;
  };
  if (resource.IsAny()) {
    if (consider(index.star)) return Decision::kExplicitDeny;
  } else {
    if (consider(index.unindexed)) return Decision::kExplicitDeny;
    if (auto it = index.by_exact.find(std::string(resource.type_and_id));
        it != index.by_exact.end() && consider(it->second)) {
      return Decision::kExplicitDeny;
    }
    std::string_view type = resource.type_and_id.substr(0, resource.type_and_id.find('/'));
    if (auto it = index.by_type.find(std::string(type));
        it != index.by_type.end() && consider(it->second)) {
      return Decision::kExplicitDeny;
    }
  }
  return allowed ? Decision::kAllow : Decision::kNoMatch;
}

bool PolicySet::HasDenyFor(std::string_view action) const { return IndexFor(action).has_deny; }

bool PolicySet::MayAllowSomeResource(std::string_view action, const RequestFacts& facts) const {
  ConditionCache cache;
  for (uint32_t i : IndexFor(action).all) {
    const CompiledStatement& s = statements_[i];
    if (!s.deny && ConditionsHold(s, facts, cache)) return true;
  }
  return false;
}

}  // namespace cvm::iam
