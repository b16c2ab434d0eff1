// The CAM policy language: every malformed document is refused with its precise code, and the
// compiled evaluator follows CAM's rules (wildcards, explicit deny wins, conditions, variables).
#include "iam/policy.h"

#include <gtest/gtest.h>

#include <string>

namespace cvm::iam {
namespace {

std::string ParseError(const std::string& doc, const ParseOptions& options = {}) {
  auto p = ParsePolicyDocument(doc, options);
  return p.ok() ? "OK" : p.status().code();
}

std::string Doc(const std::string& statements) {
  return R"({"version":"2.0","statement":[)" + statements + "]}";
}

TEST(PolicyParse, AcceptsTheDocumentedShapes) {
  EXPECT_EQ(ParseError(Doc(R"({"effect":"allow","action":"*","resource":"*"})")), "OK");
  EXPECT_EQ(ParseError(Doc(R"({"effect":"deny","action":["name/cvm:RunInstances","cvm:Describe*"],
      "resource":["qcs::cvm:ap-guangzhou:uin/100000000001:instance/ins-abcdefgh"],
      "condition":{"ip_equal":{"qcs:ip":["10.217.182.3/24","127.0.0.1"]},
                   "for_any_value:string_equal_if_exist":{"qcs:tag/env":"prod"}}})")),
            "OK");
  // A single statement object instead of a list is accepted too.
  EXPECT_EQ(ParseError(R"({"version":"2.0","statement":{"effect":"allow","action":"cvm:*",
      "resource":"*"}})"),
            "OK");
}

TEST(PolicyParse, EachProblemHasItsCode) {
  EXPECT_EQ(ParseError("not json"), "InvalidParameter.PolicyDocumentError");
  EXPECT_EQ(ParseError("[]"), "InvalidParameter.PolicyDocumentError");
  EXPECT_EQ(ParseError(R"({"statement":[]})"), "InvalidParameter.VersionError");
  EXPECT_EQ(ParseError(R"({"version":"1.0","statement":[]})"), "InvalidParameter.VersionError");
  EXPECT_EQ(ParseError(R"({"version":"2.0"})"), "InvalidParameter.StatementError");
  EXPECT_EQ(ParseError(R"({"version":"2.0","statement":[]})"), "InvalidParameter.StatementError");
  EXPECT_EQ(ParseError(Doc(R"({"effect":"permit","action":"*","resource":"*"})")),
            "InvalidParameter.EffectError");
  EXPECT_EQ(ParseError(Doc(R"({"action":"*","resource":"*"})")), "InvalidParameter.EffectError");
  EXPECT_EQ(ParseError(Doc(R"({"effect":"allow","resource":"*"})")),
            "InvalidParameter.ActionError");
  EXPECT_EQ(ParseError(Doc(R"({"effect":"allow","action":"RunInstances","resource":"*"})")),
            "InvalidParameter.ActionError");
  EXPECT_EQ(ParseError(Doc(R"({"effect":"allow","action":[],"resource":"*"})")),
            "InvalidParameter.ActionError");
  EXPECT_EQ(ParseError(Doc(R"({"effect":"allow","action":"cvm:*"})")),
            "InvalidParameter.ResourceError");
  EXPECT_EQ(ParseError(Doc(R"({"effect":"allow","action":"cvm:*","resource":"qcs::cvm:x"})")),
            "InvalidParameter.ResourceError");
  EXPECT_EQ(ParseError(Doc(R"({"effect":"allow","action":"cvm:*",
      "resource":"qcs::cvm:ap-guangzhou:account/1:instance/*"})")),
            "InvalidParameter.ResourceError");
  EXPECT_EQ(ParseError(Doc(R"({"effect":"allow","action":"cvm:*","resource":"*",
      "condition":{"ip_like":{"qcs:ip":"1.2.3.4"}}})")),
            "InvalidParameter.ConditionTypeError");
  EXPECT_EQ(ParseError(Doc(R"({"effect":"allow","action":"cvm:*","resource":"*",
      "condition":{"ip_equal":{"qcs:ip":"not-an-ip"}}})")),
            "InvalidParameter.ConditionError");
  EXPECT_EQ(ParseError(Doc(R"({"effect":"allow","action":"cvm:*","resource":"*",
      "condition":"x"})")),
            "InvalidParameter.ConditionError");
  EXPECT_EQ(ParseError(Doc(R"({"effect":"allow","action":"cvm:*","resource":"*",
      "principal":{"qcs":["qcs::cam::uin/1:root"]}})")),
            "InvalidParameter.PrincipalError");
  EXPECT_EQ(ParseError(Doc(R"({"effect":"allow","action":"cvm:*","resource":"*","x":1})")),
            "InvalidParameter.StatementError");
  std::string huge = Doc(R"({"effect":"allow","action":"cvm:*","resource":"*"})") +
                     std::string(kMaxPolicyDocumentBytes, ' ');
  EXPECT_EQ(ParseError(huge), "InvalidParameter.PolicyDocumentLengthOverLimit");
}

TEST(PolicyParse, UnknownActionsOfKnownServicesAreRefused) {
  ParseOptions options;
  options.action_exists = [](std::string_view, std::string_view action) {
    return action == "RunInstances";
  };
  EXPECT_EQ(
      ParseError(Doc(R"({"effect":"allow","action":"cvm:RunInstances","resource":"*"})"), options),
      "OK");
  EXPECT_EQ(ParseError(Doc(R"({"effect":"allow","action":"cvm:Fly","resource":"*"})"), options),
            "InvalidParameter.ActionNotExist");
  // Wildcards and services OpenCVM does not serve are not checked.
  EXPECT_EQ(ParseError(Doc(R"({"effect":"allow","action":"cvm:Fly*","resource":"*"})"), options),
            "OK");
  EXPECT_EQ(
      ParseError(Doc(R"({"effect":"allow","action":"cos:GetObject","resource":"*"})"), options),
      "OK");
}

constexpr const char* kOwner = "100000000001";
constexpr const char* kUser = "200000000042";

class PolicyEval : public ::testing::Test {
 protected:
  void Use(const std::vector<std::string>& docs) {
    parsed_.clear();
    for (const auto& d : docs) {
      auto p = ParsePolicyDocument(d);
      ASSERT_TRUE(p.ok()) << p.status().ToString() << " in " << d;
      parsed_.push_back(std::move(*p));
    }
    std::vector<const ParsedPolicy*> ptrs;
    for (const auto& p : parsed_) ptrs.push_back(&p);
    set_ = PolicySet::Compile(ptrs, PolicyIdentity{kUser, kOwner, 1250000001});
  }

  Decision On(const std::string& action, const std::string& type_and_id,
              const std::string& region = "ap-guangzhou") {
    account_ = std::string("uin/") + kOwner;
    return set_.Evaluate(action, ResourceRef{"cvm", region, account_, type_and_id}, facts_);
  }

  std::vector<ParsedPolicy> parsed_;
  PolicySet set_;
  RequestFacts facts_{"127.0.0.1", 1800000000, "ap-guangzhou", "", "", nullptr};
  std::string account_;
};

TEST_F(PolicyEval, NoPolicyMatchesNothing) {
  Use({});
  EXPECT_EQ(On("cvm:DescribeInstances", ""), Decision::kNoMatch);
}

TEST_F(PolicyEval, ActionWildcardsAndBothActionForms) {
  Use({Doc(R"({"effect":"allow","action":["cvm:Describe*","name/cvm:StopInstances"],
               "resource":"*"})")});
  EXPECT_EQ(On("cvm:DescribeInstances", ""), Decision::kAllow);
  EXPECT_EQ(On("cvm:DescribeZones", ""), Decision::kAllow);
  EXPECT_EQ(On("cvm:StopInstances", "instance/ins-aaaaaaaa"), Decision::kAllow);
  EXPECT_EQ(On("cvm:RunInstances", ""), Decision::kNoMatch);
  EXPECT_EQ(On("cbs:DescribeDisks", ""), Decision::kNoMatch);
}

TEST_F(PolicyEval, ResourceLevelAndOperationLevel) {
  Use({Doc(std::string(R"({"effect":"allow","action":"cvm:StopInstances","resource":
      "qcs::cvm:ap-guangzhou:uin/)") +
           kOwner + R"(:instance/ins-aaaaaaaa"})")});
  EXPECT_EQ(On("cvm:StopInstances", "instance/ins-aaaaaaaa"), Decision::kAllow);
  EXPECT_EQ(On("cvm:StopInstances", "instance/ins-bbbbbbbb"), Decision::kNoMatch);
  EXPECT_EQ(On("cvm:StopInstances", "instance/ins-aaaaaaaa", "ap-beijing"), Decision::kNoMatch);
  // A call that names no resource is covered only by "*".
  EXPECT_EQ(On("cvm:StopInstances", ""), Decision::kNoMatch);
}

TEST_F(PolicyEval, ResourceWildcardsAndEmptyRegion) {
  Use({Doc(R"({"effect":"allow","action":"cvm:*","resource":"qcs::cvm:::instance/ins-a*"})")});
  EXPECT_EQ(On("cvm:StartInstances", "instance/ins-aaaaaaaa", "ap-beijing"), Decision::kAllow);
  EXPECT_EQ(On("cvm:StartInstances", "instance/ins-abcdefgh"), Decision::kAllow);
  EXPECT_EQ(On("cvm:StartInstances", "instance/ins-bbbbbbbb"), Decision::kNoMatch);
  EXPECT_EQ(On("cvm:StartInstances", "volume/disk-aaaaaaaa"), Decision::kNoMatch);
}

TEST_F(PolicyEval, AnotherAccountsResourcesAreNeverMatched) {
  Use({Doc(R"({"effect":"allow","action":"cvm:*",
               "resource":"qcs::cvm::uin/100000000002:instance/*"})")});
  EXPECT_EQ(On("cvm:StopInstances", "instance/ins-aaaaaaaa"), Decision::kNoMatch);
}

TEST_F(PolicyEval, ExplicitDenyWins) {
  Use({Doc(R"({"effect":"allow","action":"*","resource":"*"})"),
       Doc(R"({"effect":"deny","action":"cvm:TerminateInstances",
               "resource":"qcs::cvm::uin/${owner_uin}:instance/ins-aaaaaaaa"})")});
  EXPECT_EQ(On("cvm:TerminateInstances", "instance/ins-aaaaaaaa"), Decision::kExplicitDeny);
  EXPECT_EQ(On("cvm:TerminateInstances", "instance/ins-bbbbbbbb"), Decision::kAllow);
  EXPECT_TRUE(set_.HasDenyFor("cvm:TerminateInstances"));
  EXPECT_FALSE(set_.HasDenyFor("cvm:StartInstances"));
  // The deny comes first in another order too.
  Use({Doc(R"({"effect":"deny","action":"cvm:*","resource":"*"})"),
       Doc(R"({"effect":"allow","action":"cvm:*","resource":"*"})")});
  EXPECT_EQ(On("cvm:DescribeInstances", ""), Decision::kExplicitDeny);
}

TEST_F(PolicyEval, IpConditionsOnTheCallersAddress) {
  Use({Doc(R"({"effect":"allow","action":"cvm:*","resource":"*",
               "condition":{"ip_equal":{"qcs:ip":["127.0.0.1/32"]}}})")});
  EXPECT_EQ(On("cvm:DescribeInstances", ""), Decision::kAllow);
  facts_.source_ip = "::ffff:127.0.0.1";
  EXPECT_EQ(On("cvm:DescribeInstances", ""), Decision::kAllow);
  facts_.source_ip = "127.0.0.2";
  EXPECT_EQ(On("cvm:DescribeInstances", ""), Decision::kNoMatch);

  Use({Doc(R"({"effect":"allow","action":"cvm:*","resource":"*",
               "condition":{"ip_equal":{"qcs:ip":"10.0.0.0/8"}}})")});
  facts_.source_ip = "127.0.0.1";
  EXPECT_EQ(On("cvm:DescribeInstances", ""), Decision::kNoMatch);
  facts_.source_ip = "10.200.3.4";
  EXPECT_EQ(On("cvm:DescribeInstances", ""), Decision::kAllow);

  Use({Doc(R"({"effect":"deny","action":"cvm:*","resource":"*",
               "condition":{"ip_not_equal":{"qcs:ip":"10.0.0.0/8"}}})"),
       Doc(R"({"effect":"allow","action":"cvm:*","resource":"*"})")});
  facts_.source_ip = "192.168.1.1";
  EXPECT_EQ(On("cvm:DescribeInstances", ""), Decision::kExplicitDeny);
  facts_.source_ip = "10.1.1.1";
  EXPECT_EQ(On("cvm:DescribeInstances", ""), Decision::kAllow);
}

TEST_F(PolicyEval, StringDateNumericBoolAndNullConditions) {
  Use({Doc(R"({"effect":"allow","action":"cvm:RunInstances","resource":"*","condition":{
      "string_equal":{"cvm:zone":["ap-guangzhou-3","ap-guangzhou-4"]},
      "string_like":{"cvm:instance_type":"S5.*"},
      "date_less_than":{"qcs:current_time":"2030-01-01T00:00:00Z"},
      "numeric_greater_than_equal":{"qcs:tag/level":2}}})")});
  std::vector<std::pair<std::string, std::string>> extra = {{"qcs:tag/level", "3"}};
  facts_.extra = &extra;
  facts_.zone = "ap-guangzhou-3";
  facts_.instance_type = "S5.SMALL1";
  EXPECT_EQ(On("cvm:RunInstances", ""), Decision::kAllow);
  facts_.instance_type = "SA2.SMALL1";
  EXPECT_EQ(On("cvm:RunInstances", ""), Decision::kNoMatch);
  facts_.instance_type = "S5.SMALL1";
  facts_.zone = "ap-guangzhou-1";
  EXPECT_EQ(On("cvm:RunInstances", ""), Decision::kNoMatch);
  facts_.zone = "ap-guangzhou-4";
  facts_.now_unix = 1900000000;  // 2030-03
  EXPECT_EQ(On("cvm:RunInstances", ""), Decision::kNoMatch);
  facts_.now_unix = 1800000000;
  extra[0].second = "1";
  EXPECT_EQ(On("cvm:RunInstances", ""), Decision::kNoMatch);

  Use({Doc(R"({"effect":"allow","action":"cvm:*","resource":"*","condition":{
      "bool_equal":{"qcs:tag/secure":"true"},"null_equal":{"qcs:tag/missing":true}}})")});
  extra = {{"qcs:tag/secure", "true"}};
  EXPECT_EQ(On("cvm:DescribeInstances", ""), Decision::kAllow);
  extra = {{"qcs:tag/secure", "true"}, {"qcs:tag/missing", "x"}};
  EXPECT_EQ(On("cvm:DescribeInstances", ""), Decision::kNoMatch);
}

TEST_F(PolicyEval, IfExistAndSetQualifiers) {
  Use({Doc(R"({"effect":"allow","action":"cvm:*","resource":"*","condition":{
      "string_equal_if_exist":{"cvm:zone":"ap-guangzhou-3"}}})")});
  EXPECT_EQ(On("cvm:DescribeInstances", ""), Decision::kAllow);  // no zone in the request
  facts_.zone = "ap-guangzhou-4";
  EXPECT_EQ(On("cvm:DescribeInstances", ""), Decision::kNoMatch);

  std::vector<std::pair<std::string, std::string>> extra = {{"qcs:tag/team", "a"},
                                                            {"qcs:tag/team", "b"}};
  facts_.extra = &extra;
  Use({Doc(R"({"effect":"allow","action":"cvm:*","resource":"*","condition":{
      "for_all_value:string_equal":{"qcs:tag/team":["a","b","c"]}}})")});
  EXPECT_EQ(On("cvm:DescribeInstances", ""), Decision::kAllow);
  extra.push_back({"qcs:tag/team", "z"});
  EXPECT_EQ(On("cvm:DescribeInstances", ""), Decision::kNoMatch);
  Use({Doc(R"({"effect":"allow","action":"cvm:*","resource":"*","condition":{
      "for_any_value:string_equal":{"qcs:tag/team":"z"}}})")});
  EXPECT_EQ(On("cvm:DescribeInstances", ""), Decision::kAllow);
}

TEST_F(PolicyEval, PolicyVariables) {
  Use({Doc(R"({"effect":"allow","action":"cvm:*",
               "resource":"qcs::cvm::uin/${owner_uin}:instance/*",
               "condition":{"string_equal":{"qcs:tag/creator":"${uin}"}}})")});
  std::vector<std::pair<std::string, std::string>> extra = {{"qcs:tag/creator", kUser}};
  facts_.extra = &extra;
  EXPECT_EQ(On("cvm:StopInstances", "instance/ins-aaaaaaaa"), Decision::kAllow);
  extra[0].second = "someone-else";
  EXPECT_EQ(On("cvm:StopInstances", "instance/ins-aaaaaaaa"), Decision::kNoMatch);
}

TEST_F(PolicyEval, DescribeMayRunWhenSomeResourceIsAllowed) {
  Use({Doc(R"({"effect":"allow","action":"cvm:DescribeInstances",
               "resource":"qcs::cvm:::instance/ins-aaaaaaaa"})")});
  EXPECT_EQ(On("cvm:DescribeInstances", ""), Decision::kNoMatch);
  EXPECT_TRUE(set_.MayAllowSomeResource("cvm:DescribeInstances", facts_));
  EXPECT_FALSE(set_.MayAllowSomeResource("cvm:DescribeImages", facts_));
}

}  // namespace
}  // namespace cvm::iam
