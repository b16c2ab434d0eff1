// Which URLs ImportImage may download from: http(s) only, on an allowed host, without
// credentials. (Downloads themselves are tested against a real server in
// tests/integration/images.test.js.)
#include "drivers/http/download.h"

#include "common/error_codes.h"
#include "drivers/http/upload.h"

#include <gtest/gtest.h>

namespace cvm::drivers::http {
namespace {

const std::vector<std::string> kLoopback = {"127.0.0.1", "localhost", "::1"};

TEST(DownloadUrl, HttpAndHttpsOnAllowedHostsPass) {
  EXPECT_TRUE(CheckDownloadUrl("http://127.0.0.1:8080/a.qcow2", kLoopback).ok());
  EXPECT_TRUE(CheckDownloadUrl("https://localhost/a.qcow2", kLoopback).ok());
  EXPECT_TRUE(CheckDownloadUrl("HTTP://LOCALHOST/a.qcow2", kLoopback).ok());
  EXPECT_TRUE(CheckDownloadUrl("http://[::1]:9/a", kLoopback).ok());
}

TEST(DownloadUrl, OtherSchemesHostsAndCredentialsAreRefused) {
  for (const char* url : {"file:///etc/passwd", "ftp://127.0.0.1/a", "gopher://127.0.0.1/",
                          "http://10.0.0.1/a", "http://127.0.0.2/a", "http://localhost.example/a",
                          "http://user:pw@127.0.0.1/a", "http:///a", "not a url", ""}) {
    Status st = CheckDownloadUrl(url, kLoopback);
    EXPECT_EQ(st.code(), cvm::kind::kBadUrl) << url;
  }
  EXPECT_EQ(CheckDownloadUrl("http://127.0.0.1/a", {}).code(), cvm::kind::kBadUrl);
}

TEST(DownloadUrl, IsHttpUrlTellsUrlsFromFileNames) {
  EXPECT_TRUE(IsHttpUrl("http://x/"));
  EXPECT_TRUE(IsHttpUrl("HTTPS://x/"));
  EXPECT_FALSE(IsHttpUrl("file:///x"));
  EXPECT_FALSE(IsHttpUrl("disk.qcow2"));
  EXPECT_FALSE(IsHttpUrl("httpdisk.qcow2"));
}

TEST(UploadUrl, PlainHttpUrlsOnly) {
  EXPECT_TRUE(IsUploadUrl("http://127.0.0.1:9000/bucket"));
  EXPECT_TRUE(IsUploadUrl("HTTPS://store.example/a/b?sig=1"));
  for (const char* url : {"file:///tmp/x", "ftp://127.0.0.1/", "http:///x",
                          "http://user:pw@127.0.0.1/", "http://user@127.0.0.1/", "", "x"}) {
    EXPECT_FALSE(IsUploadUrl(url)) << url;
  }
}

TEST(UploadUrl, NothingListeningFailsWithTheReason) {
  // Port 1 on loopback: nothing listens there (connection refused at once).
  Status st = UploadFile("/etc/hostname", "http://127.0.0.1:1/x", UploadLimits{});
  EXPECT_EQ(st.code(), cvm::kind::kRemoteFailed);
  EXPECT_NE(st.message().find("http://127.0.0.1:1/x"), std::string::npos) << st.message();
  EXPECT_EQ(UploadFile("/etc/hostname", "ftp://127.0.0.1/x", UploadLimits{}).code(),
            cvm::kind::kRemoteFailed);
}

}  // namespace
}  // namespace cvm::drivers::http
