#include "common/json_writer.h"

#include <gtest/gtest.h>

#include "api/envelope.h"

namespace cvm::api {
namespace {

using nlohmann::json;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

TEST(JsonWriterTest, StringsAreEscapedAsNlohmannDumpsThem) {
  for (std::string s :
       {std::string("plain"), std::string("q\"b\\s/"), std::string("\n\r\t\b\f"),
        std::string("\x01\x1f\x7f", 3), std::string("ü € 𝄞"), std::string("\0nul", 4)}) {
    JsonWriter w;
    w.String(s);
    EXPECT_EQ(w.str(), Dump(json(s))) << s;
  }
}

TEST(JsonWriterTest, InvalidUtf8IsReplaced) {
  JsonWriter w;
  w.String("bad \xff utf8 \xe2\x82");
  json j = json::parse(w.str());  // throws on invalid UTF-8
  EXPECT_EQ(j.get<std::string>().rfind("bad \xEF\xBF\xBD utf8 \xEF\xBF\xBD", 0), 0u);
}

TEST(JsonWriterTest, NestedContainersGetCommas) {
  JsonWriter w;
  w.BeginObject().Member("a", 1).Key("b").BeginArray().Int(1).String("x").Null().Bool(true);
  w.BeginObject().EndObject().BeginArray().EndArray().EndArray();
  w.Member("c", "d").Key("e").Value(json{{"f", {1, 2}}}).Member("g", false).EndObject();
  EXPECT_EQ(
      json::parse(w.str()),
      json::parse(R"({"a":1,"b":[1,"x",null,true,{},[]],"c":"d","e":{"f":[1,2]},"g":false})"));
}

TEST(JsonWriterTest, RawResponsesAreSplicedIntoTheEnvelope) {
  JsonWriter w;
  w.BeginObject().Member("TotalCount", 2).EndObject();
  json body = json::parse(SuccessBody(RawResponse(w.Take()), "req-1"));
  EXPECT_EQ(body, json::parse(R"({"Response":{"TotalCount":2,"RequestId":"req-1"}})"));
  body = json::parse(SuccessBody(RawResponse("{}"), "req-2"));
  EXPECT_EQ(body, json::parse(R"({"Response":{"RequestId":"req-2"}})"));
  // An ordinary answer is untouched.
  EXPECT_EQ(RawResponseText(json{{"TotalCount", 1}}), nullptr);
}

}  // namespace
}  // namespace cvm::api
