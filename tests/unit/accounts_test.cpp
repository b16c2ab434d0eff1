// Root accounts, access keys and the secret box, on a real SQLite store in a temp dir.
#include "iam/accounts.h"

#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "common/error_codes.h"
#include "iam/secret_box.h"
#include "store/sqlite/sqlite_database.h"

namespace cvm::iam {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string t = "/tmp/cvm-acct-XXXXXX";
    path_ = ::mkdtemp(t.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

class AccountsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::OpenSqliteDatabase(dir_.path() / "cvmd.db");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    auto box = SecretBox::LoadOrCreate(key_path());
    ASSERT_TRUE(box.ok()) << box.status().ToString();
    accounts_ = std::make_unique<AccountStore>(*db_, std::move(*box));
  }

  fs::path key_path() const { return dir_.path() / "master.key"; }

  Account MustCreate(const std::string& name, bool admin = false) {
    auto a = accounts_->CreateRootAccount(name, admin);
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() ? *a : Account{};
  }

  AccessKey MustKey(const Account& a) {
    auto k = accounts_->CreateAccessKey(a.uin, a.uin);
    EXPECT_TRUE(k.ok()) << k.status().ToString();
    return k.ok() ? *k : AccessKey{};
  }

  TempDir dir_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<AccountStore> accounts_;
};

TEST_F(AccountsTest, RootAccountHasTencentShapedIds) {
  Account a = MustCreate("alice", /*admin=*/true);
  EXPECT_TRUE(std::regex_match(a.uin, std::regex("[1-9][0-9]{11}"))) << a.uin;
  EXPECT_GT(a.app_id, 0);
  EXPECT_TRUE(std::regex_match(std::to_string(a.app_id), std::regex("[1-9][0-9]{9}"))) << a.app_id;
  EXPECT_EQ(a.name, "alice");
  EXPECT_TRUE(a.is_admin);
  EXPECT_GT(a.created_at, 0);

  auto found = accounts_->FindAccount(a.uin);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->uin, a.uin);
  EXPECT_EQ(found->app_id, a.app_id);
  EXPECT_EQ(found->name, "alice");
  EXPECT_TRUE(found->is_admin);
  auto by_name = accounts_->FindAccountByName("alice");
  ASSERT_TRUE(by_name.ok());
  EXPECT_EQ(by_name->uin, a.uin);
}

TEST_F(AccountsTest, AccountsGetDistinctIds) {
  std::set<std::string> uins;
  std::set<int64_t> app_ids;
  for (int i = 0; i < 5; ++i) {
    Account a = MustCreate("tenant" + std::to_string(i));
    EXPECT_FALSE(a.is_admin);
    uins.insert(a.uin);
    app_ids.insert(a.app_id);
  }
  EXPECT_EQ(uins.size(), 5u);
  EXPECT_EQ(app_ids.size(), 5u);
  auto all = accounts_->ListAccounts();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 5u);
}

TEST_F(AccountsTest, DuplicateNameIsRefused) {
  Account first = MustCreate("bob");
  auto again = accounts_->CreateRootAccount("bob", false);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), err::kInvalidParameterValue);
  EXPECT_NE(again.status().message().find("bob"), std::string::npos);
  auto all = accounts_->ListAccounts();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front().uin, first.uin);
}

TEST_F(AccountsTest, NameLengthIsChecked) {
  EXPECT_EQ(accounts_->CreateRootAccount("", false).status().code(), err::kInvalidParameterValue);
  EXPECT_EQ(accounts_->CreateRootAccount(std::string(65, 'n'), false).status().code(),
            err::kInvalidParameterValue);
  EXPECT_TRUE(accounts_->CreateRootAccount(std::string(64, 'n'), false).ok());
}

TEST_F(AccountsTest, UnknownAccountIsNotFound) {
  EXPECT_EQ(accounts_->FindAccount("999999999999").status().code(), err::kResourceNotFound);
  EXPECT_EQ(accounts_->FindAccountByName("nobody").status().code(), err::kResourceNotFound);
}

TEST_F(AccountsTest, AccessKeysHaveTencentFormats) {
  Account a = MustCreate("carol");
  AccessKey k1 = MustKey(a);
  AccessKey k2 = MustKey(a);
  for (const AccessKey& k : {k1, k2}) {
    EXPECT_TRUE(std::regex_match(k.secret_id, std::regex("AKID[A-Za-z0-9]{32}"))) << k.secret_id;
    EXPECT_TRUE(std::regex_match(k.secret_key, std::regex("[A-Za-z0-9]{32}")));
    EXPECT_TRUE(IsWellFormedSecretId(k.secret_id));
    EXPECT_EQ(k.owner_uin, a.uin);
    EXPECT_EQ(k.user_uin, a.uin);
    EXPECT_EQ(k.status, "Active");
  }
  EXPECT_NE(k1.secret_id, k2.secret_id);
  EXPECT_NE(k1.secret_key, k2.secret_key);

  auto keys = accounts_->ListKeys(a.uin);
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  ASSERT_EQ(keys->size(), 2u);
  std::set<std::pair<std::string, std::string>> listed,
      created = {{k1.secret_id, k1.secret_key}, {k2.secret_id, k2.secret_key}};
  for (const auto& k : *keys) listed.insert({k.secret_id, k.secret_key});
  EXPECT_EQ(listed, created);
}

TEST_F(AccountsTest, SecretIsStoredEncrypted) {
  Account a = MustCreate("dave");
  AccessKey k = MustKey(a);
  auto rows = db_->Query("SELECT * FROM access_keys WHERE secret_id = ?", {k.secret_id});
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  bool saw_sealed_column = false;
  for (const auto& v : rows->front().columns) {
    if (auto s = std::get_if<std::string>(&v)) {
      EXPECT_EQ(s->find(k.secret_key), std::string::npos) << "plaintext secret in a column";
      saw_sealed_column = saw_sealed_column || s->size() > k.secret_key.size();
    }
  }
  EXPECT_TRUE(saw_sealed_column);
  // Nor anywhere in the database files (main file and write-ahead log).
  for (const auto& entry : fs::directory_iterator(dir_.path())) {
    EXPECT_EQ(ReadFile(entry.path()).find(k.secret_key), std::string::npos)
        << "plaintext secret in " << entry.path();
  }
}

TEST_F(AccountsTest, LookupActiveKeyFindsTheOwner) {
  Account a = MustCreate("erin");
  Account b = MustCreate("frank");
  AccessKey ka = MustKey(a);
  AccessKey kb = MustKey(b);
  for (int round = 0; round < 2; ++round) {  // the second round is served from the cache
    auto la = accounts_->LookupActiveKey(ka.secret_id);
    ASSERT_TRUE(la.ok()) << la.status().ToString();
    EXPECT_EQ(la->secret_key, ka.secret_key);
    EXPECT_EQ(la->owner_uin, a.uin);
    auto lb = accounts_->LookupActiveKey(kb.secret_id);
    ASSERT_TRUE(lb.ok());
    EXPECT_EQ(lb->secret_key, kb.secret_key);
    EXPECT_EQ(lb->owner_uin, b.uin);
  }
}

TEST_F(AccountsTest, UnknownSecretIdIsSecretIdNotFound) {
  MustKey(MustCreate("gina"));
  auto k = accounts_->LookupActiveKey("AKID" + std::string(32, 'Z'));
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.status().code(), err::kAuthFailureSecretIdNotFound);
}

TEST_F(AccountsTest, DisabledKeyIsSecretIdNotFoundOnceForgotten) {
  AccessKey k = MustKey(MustCreate("hank"));
  ASSERT_TRUE(accounts_->LookupActiveKey(k.secret_id).ok());
  ASSERT_TRUE(store::WithTransaction(*db_, [&](store::Transaction& tx) {
                return tx.Exec("UPDATE access_keys SET status = 'Inactive' WHERE secret_id = ?",
                               {k.secret_id});
              }).ok());
  accounts_->ForgetCachedKeys();
  EXPECT_EQ(accounts_->LookupActiveKey(k.secret_id).status().code(),
            err::kAuthFailureSecretIdNotFound);
}

// Each request thread answers from its own copy of the key cache: a key disabled through one
// thread must fail on another thread that had it cached, and two stores in one thread must not
// answer from each other's copy.
TEST_F(AccountsTest, DisabledKeyFailsOnEveryThreadThatCachedIt) {
  AccessKey k = MustKey(MustCreate("hope"));
  auto lookup_on_other_thread = [&] {
    Status st;
    std::thread t([&] { st = accounts_->LookupActiveKey(k.secret_id).status(); });
    t.join();
    return st;
  };
  // A thread that stays alive keeps its copy between lookups.
  std::mutex mu;
  std::condition_variable cv;
  int step = 0;
  Status before, after;
  std::thread worker([&] {
    before = accounts_->LookupActiveKey(k.secret_id).status();
    std::unique_lock lock(mu);
    step = 1;
    cv.notify_all();
    cv.wait(lock, [&] { return step == 2; });
    after = accounts_->LookupActiveKey(k.secret_id).status();
  });
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return step == 1; });
  }
  ASSERT_TRUE(before.ok()) << before.ToString();
  ASSERT_TRUE(accounts_->LookupActiveKey(k.secret_id).ok());  // cached on this thread too
  ASSERT_TRUE(accounts_->SetKeyStatus(k.secret_id, "Inactive").ok());
  {
    std::lock_guard lock(mu);
    step = 2;
  }
  cv.notify_all();
  worker.join();
  EXPECT_EQ(after.code(), err::kAuthFailureSecretIdNotFound);
  EXPECT_EQ(accounts_->LookupActiveKey(k.secret_id).status().code(),
            err::kAuthFailureSecretIdNotFound);
  EXPECT_EQ(lookup_on_other_thread().code(), err::kAuthFailureSecretIdNotFound);

  // Another store on the same database and thread sees its own state, not this thread's copy.
  auto box = SecretBox::LoadOrCreate(dir_.path() / "other.key");
  ASSERT_TRUE(box.ok());
  AccountStore other(*db_, std::move(*box));
  EXPECT_FALSE(other.LookupActiveKey(k.secret_id).ok());
  ASSERT_TRUE(accounts_->SetKeyStatus(k.secret_id, "Active").ok());
  EXPECT_TRUE(accounts_->LookupActiveKey(k.secret_id).ok());
}

TEST_F(AccountsTest, KeysSurviveARestartWithTheSameMasterKey) {
  AccessKey k = MustKey(MustCreate("ivy"));
  auto box = SecretBox::LoadOrCreate(key_path());
  ASSERT_TRUE(box.ok());
  AccountStore reopened(*db_, std::move(*box));
  auto found = reopened.LookupActiveKey(k.secret_id);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->secret_key, k.secret_key);
}

TEST_F(AccountsTest, AnotherMasterKeyCannotOpenTheSecrets) {
  AccessKey k = MustKey(MustCreate("jack"));
  auto rows = db_->Query("SELECT secret_enc FROM access_keys WHERE secret_id = ?", {k.secret_id});
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  const std::string sealed = rows->front().Str(0);

  auto other = SecretBox::LoadOrCreate(dir_.path() / "other.key");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->Open(sealed).ok());
  AccountStore with_other_key(*db_, std::move(*other));
  EXPECT_FALSE(with_other_key.LookupActiveKey(k.secret_id).ok());

  auto same = SecretBox::LoadOrCreate(key_path());
  ASSERT_TRUE(same.ok());
  auto opened = same->Open(sealed);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, k.secret_key);
}

TEST(SecretBoxTest, SealsWithAFreshNonceAndDetectsTampering) {
  SecretBox box(std::string(32, 'k'));
  std::string a = box.Seal("secret"), b = box.Seal("secret");
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find("secret"), std::string::npos);
  ASSERT_TRUE(box.Open(a).ok());
  EXPECT_EQ(*box.Open(a), "secret");
  EXPECT_EQ(*box.Open(box.Seal("")), "");

  std::string tampered = a;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(box.Open(tampered).ok());
  EXPECT_FALSE(box.Open("not base64!").ok());
  EXPECT_FALSE(box.Open("").ok());
  EXPECT_FALSE(SecretBox(std::string(32, 'x')).Open(a).ok());
}

TEST(SecretBoxTest, MasterKeyFileIsOwnerOnlyAndStable) {
  TempDir dir;
  fs::path path = dir.path() / "master.key";
  auto box = SecretBox::LoadOrCreate(path);
  ASSERT_TRUE(box.ok()) << box.status().ToString();
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  EXPECT_EQ(st.st_size, 32);
  const std::string key = ReadFile(path);

  // Loading again reuses the file instead of replacing it.
  auto again = SecretBox::LoadOrCreate(path);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(ReadFile(path), key);
  EXPECT_EQ(*again->Open(box->Seal("x")), "x");
}

TEST(SecretBoxTest, MasterKeyOfTheWrongSizeIsRefused) {
  TempDir dir;
  fs::path path = dir.path() / "master.key";
  std::ofstream(path) << "too short";
  EXPECT_EQ(SecretBox::LoadOrCreate(path).status().code(), err::kInternalError);
}

TEST(SecretIdFormatTest, WellFormedSecretIds) {
  EXPECT_TRUE(IsWellFormedSecretId("AKID" + std::string(32, 'a')));
  EXPECT_TRUE(IsWellFormedSecretId("AKIDabcdEFGH1234"));
  EXPECT_FALSE(IsWellFormedSecretId(""));
  EXPECT_FALSE(IsWellFormedSecretId("AKID1234567"));                  // too short
  EXPECT_FALSE(IsWellFormedSecretId("AKID" + std::string(61, 'a')));  // too long
  EXPECT_FALSE(IsWellFormedSecretId("akid" + std::string(32, 'a')));
  EXPECT_FALSE(IsWellFormedSecretId("XKID" + std::string(32, 'a')));
  EXPECT_FALSE(IsWellFormedSecretId("AKID" + std::string(31, 'a') + "-"));
  EXPECT_FALSE(IsWellFormedSecretId("AKID" + std::string(31, 'a') + " "));
}

}  // namespace
}  // namespace cvm::iam
