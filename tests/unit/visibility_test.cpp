// What a list answer may show: the visibility predicate CAM builds from a sub-user's policies,
// and paging through it (TotalCount counts the visible, a page fills up to Limit).
#include "iam/visibility.h"

#include <gtest/gtest.h>

#include "services/filters.h"

namespace cvm::iam {
namespace {

constexpr const char* kOwner = "100000000001";

Visibility VisibilityOf(const std::string& document, const std::string& action,
                        const std::string& region = "ap-guangzhou") {
  auto parsed = ParsePolicyDocument(document);
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  auto set = std::make_shared<PolicySet>(
      PolicySet::Compile({&*parsed}, PolicyIdentity{"100000000002", kOwner, 1250000001}));
  VisibilityScope scope;
  scope.action = action;
  scope.region = region;
  scope.account = std::string("uin/") + kOwner;
  scope.source_ip = "127.0.0.1";
  scope.now_unix = 1800000000;
  return Visibility::Allowed(std::move(set), std::move(scope));
}

std::string Allow(const std::string& action, const std::string& resource) {
  return R"({"version":"2.0","statement":[{"effect":"allow","action":")" + action +
         R"(","resource":")" + resource + R"("}]})";
}

TEST(VisibilityTest, DefaultSeesNothingAndEverythingSeesAll) {
  Visibility none;
  EXPECT_FALSE(none.SeesAll());
  EXPECT_FALSE(none.Sees(kind::kInstance, "ins-aaaaaaaa"));
  Visibility all = Visibility::Everything();
  EXPECT_TRUE(all.SeesAll());
  EXPECT_TRUE(all.Sees(kind::kVolume, "disk-aaaaaaaa"));
}

TEST(VisibilityTest, AnExactResourceShowsThatItemOnly) {
  auto v = VisibilityOf(Allow("cvm:DescribeInstances", std::string("qcs::cvm:ap-guangzhou:uin/") +
                                                           kOwner + ":instance/ins-aaaaaaaa"),
                        "cvm:DescribeInstances");
  EXPECT_FALSE(v.SeesAll());
  EXPECT_TRUE(v.Sees(kind::kInstance, "ins-aaaaaaaa"));
  EXPECT_FALSE(v.Sees(kind::kInstance, "ins-bbbbbbbb"));
  // Same id, another kind: a policy on an instance shows no disk.
  EXPECT_FALSE(v.Sees(kind::kVolume, "ins-aaaaaaaa"));
  EXPECT_FALSE(v.Sees(kind::kInstance, ""));
}

TEST(VisibilityTest, ThePolicyMustCoverTheListAction) {
  auto v = VisibilityOf(Allow("cvm:StopInstances", "*"), "cvm:DescribeInstances");
  EXPECT_FALSE(v.Sees(kind::kInstance, "ins-aaaaaaaa"));
}

TEST(VisibilityTest, WildcardsRegionsAndOtherAccounts) {
  auto v = VisibilityOf(Allow("cvm:Describe*", "qcs::cvm::uin/100000000001:volume/disk-a*"),
                        "cvm:DescribeDisks");
  EXPECT_TRUE(v.Sees(kind::kVolume, "disk-aaaaaaaa"));
  EXPECT_FALSE(v.Sees(kind::kVolume, "disk-bbbbbbbb"));
  // A region in the policy shows nothing of another region's listing.
  auto beijing =
      VisibilityOf(Allow("vpc:DescribeVpcs", "qcs::vpc:ap-beijing::vpc/*"), "vpc:DescribeVpcs");
  EXPECT_FALSE(beijing.Sees(kind::kVpc, "vpc-aaaaaaaa"));
  auto other =
      VisibilityOf(Allow("vpc:DescribeVpcs", "qcs::vpc::uin/999:vpc/*"), "vpc:DescribeVpcs");
  EXPECT_FALSE(other.Sees(kind::kVpc, "vpc-aaaaaaaa"));
}

TEST(VisibilityTest, ADenyHidesAnItemAnAllowOnStarWouldShow) {
  auto v = VisibilityOf(R"({"version":"2.0","statement":[
      {"effect":"allow","action":"cam:ListUsers","resource":"*"},
      {"effect":"deny","action":"cam:ListUsers","resource":"qcs::cam::uin/100000000001:uin/2*"}]})",
                        "cam:ListUsers", "");
  EXPECT_TRUE(v.Sees(kind::kCamUser, "100000000003"));
  EXPECT_FALSE(v.Sees(kind::kCamUser, "200000000003"));
}

TEST(VisibilityTest, PagingCountsOnlyTheVisibleAndFillsThePage) {
  auto v = VisibilityOf(Allow("cvm:DescribeKeyPairs", "qcs::cvm::uin/100000000001:keypair/skey-a*"),
                        "cvm:DescribeKeyPairs");
  const std::vector<std::string> ids = {"skey-b1", "skey-a1", "skey-b2", "skey-a2", "skey-a3"};
  auto page_of = [&](size_t offset, size_t limit) {
    services::Paging paging(offset, limit, v, kind::kKeyPair);
    std::vector<std::string> page;
    for (const auto& id : ids) {
      if (paging.Take(id)) page.push_back(id);
    }
    EXPECT_EQ(paging.total(), 3u);
    return page;
  };
  EXPECT_EQ(page_of(0, 1), std::vector<std::string>{"skey-a1"});
  EXPECT_EQ(page_of(1, 1), std::vector<std::string>{"skey-a2"});
  EXPECT_EQ(page_of(1, 5), (std::vector<std::string>{"skey-a2", "skey-a3"}));
  EXPECT_EQ(page_of(3, 1), std::vector<std::string>{});
}

}  // namespace
}  // namespace cvm::iam
