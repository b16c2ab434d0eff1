// Resource ids, RequestIds (UUID v4) and random secrets.
#include "common/ids.h"

#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace cvm {
namespace {

TEST(ResourceIdTest, HasPrefixDashAndEightLowerAlnum) {
  for (std::string_view prefix : {"ins", "disk", "img", "skey", "vpc", "subnet", "sg"}) {
    std::string id = NewResourceId(prefix);
    EXPECT_TRUE(std::regex_match(id, std::regex(std::string(prefix) + "-[a-z0-9]{8}"))) << id;
    EXPECT_TRUE(IsWellFormedId(prefix, id)) << id;
  }
}

TEST(ResourceIdTest, AreUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) seen.insert(NewResourceId("ins"));
  EXPECT_EQ(seen.size(), 10000u);
}

TEST(ResourceIdTest, WellFormedChecksShape) {
  EXPECT_TRUE(IsWellFormedId("ins", "ins-r8hr2upy"));
  EXPECT_TRUE(IsWellFormedId("ins", "ins-00000000"));
  EXPECT_FALSE(IsWellFormedId("ins", ""));
  EXPECT_FALSE(IsWellFormedId("ins", "ins-"));
  EXPECT_FALSE(IsWellFormedId("ins", "ins-r8hr2up"));    // 7 characters
  EXPECT_FALSE(IsWellFormedId("ins", "ins-r8hr2upyz"));  // 9 characters
  EXPECT_FALSE(IsWellFormedId("ins", "ins-R8HR2UPY"));   // upper case
  EXPECT_FALSE(IsWellFormedId("ins", "ins_r8hr2upy"));   // wrong separator
  EXPECT_FALSE(IsWellFormedId("ins", "insxr8hr2upy"));
  EXPECT_FALSE(IsWellFormedId("ins", "disk-r8hr2upy"));  // another prefix
  EXPECT_FALSE(IsWellFormedId("disk", "ins-r8hr2upy"));
  EXPECT_FALSE(IsWellFormedId("ins", "ins-r8hr-upy"));
  EXPECT_FALSE(IsWellFormedId("ins", "ins-r8hr2up\xc3"));
  EXPECT_FALSE(IsWellFormedId("ins", std::string("ins-r8hr2up\0", 12)));
  EXPECT_FALSE(IsWellFormedId("ins", " ins-r8hr2upy"));
}

// Lower-case 8-4-4-4-12 hex, version nibble 4, RFC 4122 variant (8, 9, a or b).
const std::regex kUuidV4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");

TEST(UuidTest, IsVersion4Shaped) {
  for (int i = 0; i < 1000; ++i) {
    std::string u = NewUuid();
    ASSERT_EQ(u.size(), 36u) << u;
    ASSERT_TRUE(std::regex_match(u, kUuidV4)) << u;
  }
}

TEST(UuidTest, RandomBitsVary) {
  // Every non-fixed hex position takes more than one value across a few hundred UUIDs.
  std::vector<std::set<char>> seen(36);
  for (int i = 0; i < 500; ++i) {
    std::string u = NewUuid();
    for (size_t p = 0; p < u.size(); ++p) seen[p].insert(u[p]);
  }
  for (size_t p = 0; p < 36; ++p) {
    if (p == 8 || p == 13 || p == 18 || p == 23 || p == 14) {
      EXPECT_EQ(seen[p].size(), 1u) << "position " << p;
    } else if (p == 19) {
      EXPECT_EQ(seen[p].size(), 4u) << "variant nibble";
    } else {
      EXPECT_GT(seen[p].size(), 8u) << "position " << p;
    }
  }
}

TEST(UuidTest, UniqueAcrossThreads) {
  // Each thread has its own generator; they must not be seeded alike.
  constexpr int kThreads = 4, kEach = 5000;
  std::vector<std::vector<std::string>> out(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&out, t] {
      for (int i = 0; i < kEach; ++i) out[t].push_back(NewUuid());
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> all;
  for (const auto& v : out) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kEach));
}

TEST(RandomAlnumTest, LengthAndAlphabet) {
  EXPECT_EQ(RandomAlnum(0), "");
  for (size_t n : {1u, 32u, 100u, 1000u}) {
    std::string s = RandomAlnum(n);
    EXPECT_EQ(s.size(), n);
    EXPECT_TRUE(std::regex_match(s, std::regex("[A-Za-z0-9]*"))) << s;
  }
  EXPECT_NE(RandomAlnum(32), RandomAlnum(32));
}

TEST(RandomAlnumTest, UsesAllSixtyTwoSymbols) {
  // 20,000 draws: the chance that any one symbol never shows is about 62 * e^-322.
  std::string s = RandomAlnum(20000);
  std::set<char> symbols(s.begin(), s.end());
  EXPECT_EQ(symbols.size(), 62u);
}

}  // namespace
}  // namespace cvm
