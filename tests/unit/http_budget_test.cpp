// HttpBudget: the caps on connections, whom they close to make room, and the body budget.
#include "api/http_budget.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace cvm::api {
namespace {

// Admits connections and records which were evicted (by name).
class HttpBudgetTest : public ::testing::Test {
 protected:
  std::unique_ptr<HttpBudget::Connection> Admit(HttpBudget& budget, const std::string& name,
                                                const std::string& address = "192.0.2.1") {
    return budget.Admit(address, [this, name] { evicted.push_back(name); });
  }
  std::vector<std::string> evicted;
};

TEST_F(HttpBudgetTest, AtTheCapTheOldestUnauthenticatedConnectionMakesRoom) {
  HttpBudget budget({.max_connections = 3});
  auto a = Admit(budget, "a");
  auto b = Admit(budget, "b");
  auto c = Admit(budget, "c");
  EXPECT_TRUE(evicted.empty());
  auto d = Admit(budget, "d");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(evicted, std::vector<std::string>{"a"});
  EXPECT_EQ(budget.connections(), 3u);
  a.reset();  // the evicted connection's session ends: its place was already given away
  EXPECT_EQ(budget.connections(), 3u);
  b.reset();
  EXPECT_EQ(budget.connections(), 2u);
}

TEST_F(HttpBudgetTest, AuthenticatedConnectionsGoOnlyWhenNoUnauthenticatedOneWaits) {
  HttpBudget budget({.max_connections = 2});
  auto signer = Admit(budget, "signer");
  signer->Busy();
  signer->Authenticated();
  signer->Reading();  // waits for its next request, older than the anonymous one
  auto anonymous = Admit(budget, "anonymous");
  auto next = Admit(budget, "next");
  EXPECT_EQ(evicted, std::vector<std::string>{"anonymous"});
  next->Busy();  // its request is being answered
  auto last = Admit(budget, "last");
  ASSERT_NE(last, nullptr);
  EXPECT_EQ(evicted, (std::vector<std::string>{"anonymous", "signer"}));
}

TEST_F(HttpBudgetTest, AConnectionBeingAnsweredIsNeverClosed) {
  HttpBudget budget({.max_connections = 2});
  auto a = Admit(budget, "a");
  auto b = Admit(budget, "b");
  a->Busy();
  b->Busy();
  EXPECT_EQ(Admit(budget, "c"), nullptr);
  EXPECT_FALSE(budget.EvictOne());
  EXPECT_TRUE(evicted.empty());
  b->Reading();  // answered, back to waiting for a request: evictable again
  EXPECT_NE(Admit(budget, "c"), nullptr);
  EXPECT_EQ(evicted, std::vector<std::string>{"b"});
}

TEST_F(HttpBudgetTest, AnAddressAtItsCapMakesRoomAmongItsOwnConnections) {
  HttpBudget budget({.max_connections = 10, .max_connections_per_address = 2});
  auto other = Admit(budget, "other", "192.0.2.9");  // the oldest of all
  auto x1 = Admit(budget, "x1", "192.0.2.1");
  auto x2 = Admit(budget, "x2", "192.0.2.1");
  auto x3 = Admit(budget, "x3", "192.0.2.1");
  EXPECT_EQ(evicted, std::vector<std::string>{"x1"});
  x2->Busy();
  x3->Busy();
  EXPECT_EQ(Admit(budget, "x4", "192.0.2.1"), nullptr);
  EXPECT_NE(Admit(budget, "y", "192.0.2.2"), nullptr);
  EXPECT_EQ(evicted, std::vector<std::string>{"x1"});
}

TEST_F(HttpBudgetTest, EvictOneFreesAPlaceInTheSameOrder) {
  HttpBudget budget(HttpLimits{});
  auto a = Admit(budget, "a");
  auto b = Admit(budget, "b");
  a->Busy();
  EXPECT_TRUE(budget.EvictOne());
  EXPECT_EQ(evicted, std::vector<std::string>{"b"});
  EXPECT_EQ(budget.connections(), 1u);
}

TEST_F(HttpBudgetTest, TheBodyBudgetIsClaimedAndGivenBack) {
  HttpBudget budget({.body_budget_bytes = 100});
  EXPECT_TRUE(budget.ClaimBody(60));
  EXPECT_FALSE(budget.ClaimBody(41));
  EXPECT_TRUE(budget.ClaimBody(40));
  EXPECT_EQ(budget.body_bytes(), 100u);
  budget.ReleaseBody(60);
  budget.ReleaseBody(40);
  EXPECT_EQ(budget.body_bytes(), 0u);
}

TEST_F(HttpBudgetTest, MemoryIsReturnedOnceABurstHasHalved) {
  HttpBudget budget(HttpLimits{});
  std::vector<std::unique_ptr<HttpBudget::Connection>> burst;
  for (int i = 0; i < 100; ++i) burst.push_back(Admit(budget, "c"));
  EXPECT_FALSE(budget.TakeShrink());
  burst.resize(60);
  EXPECT_FALSE(budget.TakeShrink());
  burst.resize(50);
  EXPECT_TRUE(budget.TakeShrink());
  EXPECT_FALSE(budget.TakeShrink());  // once per halving
  burst.clear();
  EXPECT_FALSE(budget.TakeShrink());  // 50 was too few to matter
}

}  // namespace
}  // namespace cvm::api
