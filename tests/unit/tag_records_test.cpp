// The tag store on a real migrated SQLite database, and the Tag service's resource names: a
// refused SetTags writes nothing, listings see only live resources of the account with their
// region and kind, tag filters need every key, and names parse only in the six-segment form of
// a kind that takes tags.
#include <gtest/gtest.h>

#include "iam/visibility.h"
#include "store/instance_records.h"
#include "store/tag_records.h"
#include "store_fixture.h"

namespace cvm::store {
namespace {

class TagRecordsTest : public testutil::StoreTransactionTest {
 protected:
  void AddInstance(const std::string& id, const std::string& owner, const std::string& region) {
    InstanceRecord r;
    r.instance_id = id;
    r.uuid = id;
    r.owner_uin = owner;
    r.region = region;
    r.state = "RUNNING";
    ASSERT_TRUE(InsertInstance(*tx_, r).ok());
  }
  void Commit() {
    ASSERT_TRUE(tx_->Commit().ok());
    tx_.reset();
  }
  std::vector<std::string> Listed(TaggedResourceQuery q) {
    auto rows = ListResourceTags(*db_, q);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    std::vector<std::string> out;
    for (const auto& r : *rows) {
      out.push_back(r.resource.resource_id + "@" + r.resource.region + ":" + r.tag.key + "=" +
                    r.tag.value);
    }
    return out;
  }
};

TEST_F(TagRecordsTest, ARefusedSetTagsLeavesTheResourceAsItWas) {
  AddInstance("ins-aaaaaaaa", "100", "ap-guangzhou");
  ASSERT_TRUE(SetTags(*tx_, "100", "ins-aaaaaaaa", {{"a", "1"}, {"b", "2"}}, "Limit").ok());
  std::vector<TagPair> many;
  for (int i = 0; i < 49; ++i) many.push_back({"k" + std::to_string(i), "v"});
  Status st = SetTags(*tx_, "100", "ins-aaaaaaaa", many, "Limit");
  EXPECT_EQ(st.code(), "Limit");  // 2 + 49 > 50
  // Replacing a value of a key it has does not count twice.
  EXPECT_TRUE(SetTags(*tx_, "100", "ins-aaaaaaaa", {{"a", "3"}}, "Limit").ok());
  Commit();
  EXPECT_EQ(
      Listed({.owner_uin = "100"}),
      (std::vector<std::string>{"ins-aaaaaaaa@ap-guangzhou:a=3", "ins-aaaaaaaa@ap-guangzhou:b=2"}));
}

TEST_F(TagRecordsTest, ListingsSeeOnlyTheAccountsLiveResources) {
  AddInstance("ins-aaaaaaaa", "100", "ap-guangzhou");
  AddInstance("ins-bbbbbbbb", "100", "ap-shanghai");
  AddInstance("ins-cccccccc", "200", "ap-guangzhou");
  AddInstance("ins-dddddddd", "100", "ap-guangzhou");
  for (const char* id : {"ins-aaaaaaaa", "ins-bbbbbbbb", "ins-dddddddd"}) {
    ASSERT_TRUE(SetTags(*tx_, "100", id, {{"env", id}}, "Limit").ok());
  }
  ASSERT_TRUE(SetTags(*tx_, "200", "ins-cccccccc", {{"env", "theirs"}}, "Limit").ok());
  ASSERT_TRUE(
      tx_->Exec("UPDATE instances SET deleted = 1 WHERE instance_id = 'ins-dddddddd'").ok());
  auto found = FindTaggableResource(*tx_, "100", "cvm", "instance", "ins-cccccccc");
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());  // another account's
  found = FindTaggableResource(*tx_, "100", "cvm", "volume", "ins-aaaaaaaa");
  EXPECT_FALSE(found->has_value());  // not of that kind
  found = FindTaggableResource(*tx_, "100", "cvm", "instance", "ins-bbbbbbbb");
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->region, "ap-shanghai");
  Commit();
  EXPECT_EQ(Listed({.owner_uin = "100"}),
            (std::vector<std::string>{"ins-aaaaaaaa@ap-guangzhou:env=ins-aaaaaaaa",
                                      "ins-bbbbbbbb@ap-shanghai:env=ins-bbbbbbbb"}));
  EXPECT_EQ(Listed({.owner_uin = "100", .region = "ap-shanghai"}),
            (std::vector<std::string>{"ins-bbbbbbbb@ap-shanghai:env=ins-bbbbbbbb"}));
  EXPECT_TRUE(Listed({.owner_uin = "100", .service = "vpc"}).empty());
}

TEST_F(TagRecordsTest, TagFiltersNeedEveryKeyWithOneOfItsValues) {
  AddInstance("ins-aaaaaaaa", "100", "ap-guangzhou");
  AddInstance("ins-bbbbbbbb", "100", "ap-guangzhou");
  ASSERT_TRUE(SetTags(*tx_, "100", "ins-aaaaaaaa", {{"env", "prod"}, {"team", "a"}}, "L").ok());
  ASSERT_TRUE(SetTags(*tx_, "100", "ins-bbbbbbbb", {{"env", "prod"}}, "L").ok());
  Commit();
  TaggedResourceQuery q{.owner_uin = "100"};
  q.tag_filters = {{"env", {"prod", "test"}}, {"team", {}}};
  EXPECT_EQ(Listed(q), (std::vector<std::string>{"ins-aaaaaaaa@ap-guangzhou:env=prod",
                                                 "ins-aaaaaaaa@ap-guangzhou:team=a"}));
  q.tag_filters = {{"env", {"test"}}};
  EXPECT_TRUE(Listed(q).empty());
}

TEST(ResourceNames, SixSegmentsOfAKindThatTakesTags) {
  auto n = iam::ParseResourceName("qcs::cvm:ap-guangzhou:uin/100:instance/ins-aaaaaaaa");
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->kind, &iam::kind::kInstance);
  EXPECT_EQ(n->region, "ap-guangzhou");
  EXPECT_EQ(n->owner_uin, "100");
  EXPECT_EQ(n->id, "ins-aaaaaaaa");
  n = iam::ParseResourceName("qcs::vpc:ap-guangzhou:uin/:subnet/subnet-aaaaaaaa");
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->owner_uin, "");  // the caller's account
  for (const char* bad :
       {"qcs::cvm:ap-guangzhou:uin/100:instance", "qcs::cvm::uin/100:sg/sg-1",
        "qcs:1:cvm:ap-guangzhou:uin/100:sg/sg-1", "qcs::cdb:ap-guangzhou:uin/1:instance/x",
        "qcs::cvm:ap-guangzhou:100:sg/sg-1", "qcs::vpc:ap-guangzhou:uin/1:sg/sg-1",
        "qcs::cvm:ap-guangzhou:uin/1:sg/", ""}) {
    EXPECT_FALSE(iam::ParseResourceName(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace cvm::store
