// The CAM policy language (version 2.0): parsing with Tencent's InvalidParameter.*Error codes,
// and a compiled form that answers "may this identity do this action on this resource" without
// re-reading documents. A PolicySet is compiled once per sub-user (policy variables are
// substituted then) and cached until a CAM change invalidates it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/status.h"

namespace cvm::iam {

// Longest accepted policy document, in bytes.
inline constexpr size_t kMaxPolicyDocumentBytes = 6144;

struct ParsedCondition {
  std::string op;  // e.g. "string_equal", without qualifier and "_if_exist"
  enum class Qualifier { kNone, kForAnyValue, kForAllValue } qualifier = Qualifier::kNone;
  bool if_exist = false;
  std::string key;
  std::vector<std::string> values;  // numbers and booleans in their JSON text
};

struct ParsedStatement {
  bool deny = false;
  std::vector<std::string> actions;    // as written
  std::vector<std::string> resources;  // as written
  std::vector<ParsedCondition> conditions;
};

struct ParsedPolicy {
  std::vector<ParsedStatement> statements;
};

struct ParseOptions {
  // When set, a non-wildcard action of a known service must exist (InvalidParameter.
  // ActionNotExist otherwise); the schema lives in api/, which iam/ does not depend on.
  std::function<bool(std::string_view service, std::string_view action)> action_exists;
};

// Parses and checks a policy document; a malformed one yields the precise
// InvalidParameter.*Error code of the first problem found.
Result<ParsedPolicy> ParsePolicyDocument(std::string_view text, const ParseOptions& options = {});

// Values of the policy variables ${uin}, ${owner_uin} and ${app_id}.
struct PolicyIdentity {
  std::string uin;
  std::string owner_uin;
  int64_t app_id = 0;
};

// One resource a request touches: qcs::SERVICE:REGION:uin/OWNER:TYPE/ID. The operation-level
// resource "*" has an empty type_and_id.
struct ResourceRef {
  std::string_view service;  // "cvm" | "vpc" | ...
  std::string_view region;
  std::string_view account;      // "uin/100000000001"
  std::string_view type_and_id;  // "instance/ins-abcdefgh"; empty for "*"
  bool IsAny() const { return type_and_id.empty(); }
  std::string ToString() const;
};

// Condition keys a request can supply. Everything else is read from `extra`.
struct RequestFacts {
  std::string_view source_ip;
  int64_t now_unix = 0;
  std::string_view region;
  std::string_view zone;
  std::string_view instance_type;
  const std::vector<std::pair<std::string, std::string>>* extra = nullptr;  // key, value
};

enum class Decision { kNoMatch, kAllow, kExplicitDeny };

namespace detail {
struct CompiledStatement;
struct ActionIndex;
}  // namespace detail

class PolicySet {
 public:
  PolicySet();
  ~PolicySet();
  PolicySet(PolicySet&&) noexcept;
  PolicySet& operator=(PolicySet&&) noexcept;

  // Compiles already-parsed policies, substituting the identity's policy variables.
  static PolicySet Compile(const std::vector<const ParsedPolicy*>& policies,
                           const PolicyIdentity& identity);

  // `action` is "service:Action" (any case).
  Decision Evaluate(std::string_view action, const ResourceRef& resource,
                    const RequestFacts& facts) const;
  // True when some allow statement for `action` holds under `facts`, whatever its resource:
  // a Describe call may then run and its answer is filtered per resource.
  bool MayAllowSomeResource(std::string_view action, const RequestFacts& facts) const;
  // True when some deny statement names `action` (whatever its resource or conditions).
  bool HasDenyFor(std::string_view action) const;
  size_t statement_count() const;

 private:
  // The statements whose action patterns match `action`, indexed by the resources they name;
  // built on first use per action and kept (actions are bounded by the schema).
  const detail::ActionIndex& IndexFor(std::string_view action) const;

  std::vector<detail::CompiledStatement> statements_;
  mutable std::unique_ptr<std::shared_mutex> memo_mu_;
  mutable std::unordered_map<std::string, std::unique_ptr<detail::ActionIndex>> by_action_;
};

}  // namespace cvm::iam
