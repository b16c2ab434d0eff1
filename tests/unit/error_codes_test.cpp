#include "common/error_codes.h"

#include <nlohmann/json.hpp>
#include <set>
#include <string_view>

#include <gtest/gtest.h>

#include "api/envelope.h"
#include "drivers/qemu/qemu_vm.h"

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

// Each internal kind is declared once, is not itself a wire code (so it cannot be mistaken for
// one) and answers as a registered wire code.
TEST(ErrorKinds, EachKindOnceAndMappedToARegisteredCode) {
  std::set<std::string_view> codes, ids;
  for (const CodeInfo& c : kAllCodes) codes.insert(c.code);
  for (const KindInfo& k : kAllKinds) {
    EXPECT_TRUE(ids.insert(k.id).second) << "kind declared twice: " << k.id;
    EXPECT_EQ(codes.count(k.id), 0u) << k.id;
    EXPECT_EQ(codes.count(k.wire), 1u) << k.id << " maps to an unregistered " << k.wire;
    EXPECT_EQ(WireCode(k.id), k.wire);
    EXPECT_FALSE(k.meaning.empty()) << k.id;
  }
  EXPECT_GE(ids.size(), 5u);
}

TEST(ErrorKinds, WireCodeMapsKindsAndKeepsWireCodes) {
  EXPECT_EQ(WireCode(kind::kBug), kInternalError);
  EXPECT_EQ(WireCode(kind::kExternal), kInternalError);
  EXPECT_EQ(WireCode(kind::kTimeout), kInternalError);
  EXPECT_EQ(WireCode(kind::kBadImage), kInvalidParameterValueInvalidImageFormat);
  EXPECT_EQ(WireCode(kind::kTooLarge), kInvalidImageIdTooLarge);
  EXPECT_EQ(WireCode(kind::kBusy), kResourceBusy);
  for (const CodeInfo& c : kAllCodes) EXPECT_EQ(WireCode(c.code), c.code);
}

std::string EnvelopeCode(const Status& st) {
  auto body = nlohmann::json::parse(api::ErrorBody(st, "req-1"));
  return body["Response"]["Error"]["Code"].get<std::string>();
}

// A malformed VM spec is a bug in the daemon: the driver says kind::kBug and the client sees
// InternalError, never the internal kind and never InvalidParameterValue.
TEST(ErrorKinds, ADriversKindReachingTheEnvelopeIsMapped) {
  drivers::qemu::VmSpec spec;
  spec.instance_id = "not a name";
  auto argv = drivers::qemu::BuildQemuArgv(spec);
  ASSERT_FALSE(argv.ok());
  EXPECT_EQ(argv.status().code(), kind::kBug);
  EXPECT_EQ(EnvelopeCode(argv.status()), kInternalError);
  for (const KindInfo& k : kAllKinds) {
    const std::string body = api::ErrorBody(Status(k.id, "m"), "req-1");
    EXPECT_EQ(body.find(k.id), std::string::npos) << body;
    EXPECT_EQ(EnvelopeCode(Status(k.id, "m")), k.wire);
  }
  EXPECT_EQ(EnvelopeCode(Status(kInvalidInstanceIdNotFound, "m")), kInvalidInstanceIdNotFound);
}

}  // namespace
}  // namespace cvm::err
