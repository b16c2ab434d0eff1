#include "common/error_codes.h"

#include <set>
#include <string_view>

#include <gtest/gtest.h>

namespace cvm::err {
namespace {

// Each code is declared once, under one name, with a meaning, in Tencent's shape.
TEST(ErrorCodes, EachCodeOnceWithNameAndMeaning) {
  std::set<std::string_view> names, codes;
  for (const CodeInfo& c : kAllCodes) {
    EXPECT_TRUE(names.insert(c.name).second) << "name declared twice: " << c.name;
    EXPECT_TRUE(codes.insert(c.code).second) << "code declared twice: " << c.code;
    EXPECT_EQ(c.name.substr(0, 1), "k") << c.name;
    EXPECT_FALSE(c.meaning.empty()) << c.code;
    EXPECT_EQ(c.meaning.back(), '.') << c.code;
    ASSERT_FALSE(c.code.empty());
    EXPECT_TRUE(c.code.front() >= 'A' && c.code.front() <= 'Z') << c.code;
    EXPECT_EQ(c.code.find(' '), std::string_view::npos) << c.code;
  }
  EXPECT_GT(codes.size(), 150u);
}

TEST(ErrorCodes, ConstantsAreTheRegisteredWireCodes) {
  EXPECT_EQ(kInternalError, "InternalError");
  EXPECT_EQ(kInvalidInstanceIdNotFound, "InvalidInstanceId.NotFound");
  EXPECT_EQ(kCamPolicyDocumentError, "InvalidParameter.PolicyDocumentError");
  bool found = false;
  for (const CodeInfo& c : kAllCodes)
    found |= c.name == "kInvalidDiskIdNotFound" && c.code == kInvalidDiskIdNotFound;
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace cvm::err
