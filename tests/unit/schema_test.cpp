#include "api/schema.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "api/schema/embedded_schema.h"
#include "common/error_codes.h"

namespace cvm::api {
namespace {

using nlohmann::json;
using FlatParams = std::vector<std::pair<std::string, std::string>>;

const ActionSpec& Action(std::string_view name) {
  const ActionSpec* a = ApiSchema::Embedded().FindAction(name);
  EXPECT_NE(a, nullptr) << name;
  return *a;
}

// Validates `params` for `action` and returns the status; `params` is normalised in place.
Status Validate(std::string_view action, json& params) {
  return ValidateParams(Action(action), params);
}

void ExpectError(const Status& s, std::string_view code, std::string_view needle) {
  EXPECT_EQ(s.code(), code) << s.ToString();
  EXPECT_NE(s.message().find(needle), std::string::npos) << s.ToString();
}

// ---------------------------------------------------------------------------------------------

TEST(SchemaEmbedded, KnowsActionsOfAllServices) {
  const ApiSchema& schema = ApiSchema::Embedded();
  EXPECT_GT(schema.actions().size(), 400u);
  struct Known {
    const char* action;
    const char* service;
    const char* version;
  };
  for (const Known& k :
       {Known{"DescribeInstances", "cvm", "2017-03-12"}, Known{"RunInstances", "cvm", "2017-03-12"},
        Known{"DescribeZones", "cvm", "2017-03-12"},
        Known{"DescribeZoneInstanceConfigInfos", "cvm", "2017-03-12"},
        Known{"CreateDisks", "cbs", "2017-03-12"}, Known{"DescribeVpcs", "vpc", "2017-03-12"},
        Known{"CreateSecurityGroupPolicies", "vpc", "2017-03-12"},
        Known{"AddUser", "cam", "2019-01-16"}, Known{"GetUserAppId", "cam", "2019-01-16"}}) {
    const ActionSpec* a = schema.FindAction(k.action);
    ASSERT_NE(a, nullptr) << k.action;
    EXPECT_EQ(a->service, k.service);
    EXPECT_EQ(a->version, k.version);
    EXPECT_EQ(a->name, k.action);
    ASSERT_NE(a->input, nullptr);
    ASSERT_NE(a->output, nullptr);
    EXPECT_EQ(a->input->name, std::string(k.action) + "Request");
    EXPECT_EQ(a->output->name, std::string(k.action) + "Response");
    EXPECT_EQ(schema.FindAction(k.service, k.action), a);
  }
  EXPECT_EQ(schema.FindAction("NoSuchAction"), nullptr);
  EXPECT_EQ(schema.FindAction("describeinstances"), nullptr);
  EXPECT_EQ(schema.FindAction("cbs", "DescribeInstances"), nullptr);
  EXPECT_EQ(schema.ServiceVersion("cam"), "2019-01-16");
  EXPECT_EQ(schema.ServiceVersion("vpc"), "2017-03-12");
  EXPECT_EQ(schema.ServiceVersion("nope"), "");
}

// The parsed schema holds every action and every member of the committed file, with its type
// and required flag; the counts are those of the API descriptions the file was generated from
// (cvm, cbs, vpc 2017-03-12; cam 2019-01-16; tag 2018-08-13), so a truncated regeneration fails
// here too.
TEST(SchemaEmbedded, HoldsEveryActionAndMemberOfTheCommittedFile) {
  const json file = json::parse(EmbeddedSchemaJson());
  const ApiSchema& schema = ApiSchema::Embedded();
  const std::map<std::string, std::pair<size_t, size_t>> counts = {
      {"cvm", {106, 286}}, {"cbs", {61, 148}}, {"vpc", {448, 1081}},
      {"cam", {95, 224}},  {"tag", {31, 72}},  {"tat", {29, 76}}};
  ASSERT_EQ(file["services"].size(), counts.size());
  size_t total = 0;
  for (const auto& [service, expected] : counts) {
    SCOPED_TRACE(service);
    const json& svc = file["services"][service];
    EXPECT_EQ(svc["actions"].size(), expected.first);
    EXPECT_EQ(svc["objects"].size(), expected.second);
    EXPECT_EQ(schema.ServiceVersion(service), svc["version"].get<std::string>());
    for (const auto& [name, action] : svc["actions"].items()) {
      ++total;
      const ActionSpec* a = schema.FindAction(service, name);
      ASSERT_NE(a, nullptr) << name;
      ASSERT_NE(a->input, nullptr) << name;
      ASSERT_NE(a->output, nullptr) << name;
      EXPECT_EQ(a->input->name, action["input"].get<std::string>());
      EXPECT_EQ(a->output->name, action["output"].get<std::string>());
    }
    for (const auto& [name, members] : svc["objects"].items()) {
      const StructSpec* st = schema.FindStruct(service, name);
      ASSERT_NE(st, nullptr) << name;
      ASSERT_EQ(st->fields.size(), members.size()) << name;
      for (size_t i = 0; i < members.size(); ++i) {
        const FieldSpec& f = st->fields[i];
        const json& m = members[i];
        EXPECT_EQ(f.name, m["name"].get<std::string>()) << name;
        EXPECT_EQ(f.required, m.value("required", false)) << name << "." << f.name;
        EXPECT_EQ(FieldTypeName(f.type), m["type"].get<std::string>()) << name << "." << f.name;
        if (f.type == FieldType::kObject || f.element_type == FieldType::kObject) {
          ASSERT_NE(f.object, nullptr) << name << "." << f.name;
          EXPECT_EQ(f.object->name, m["member"].get<std::string>()) << name << "." << f.name;
        } else if (f.type == FieldType::kList) {
          EXPECT_EQ(FieldTypeName(f.element_type), m["member"].get<std::string>())
              << name << "." << f.name;
        }
      }
    }
  }
  EXPECT_EQ(schema.actions().size(), total);

  // A few facts of the descriptions, checked member by member.
  const StructSpec* create_disks = Action("CreateDisks").input;
  for (const char* required : {"Placement", "DiskChargeType", "DiskType"}) {
    ASSERT_NE(create_disks->Find(required), nullptr) << required;
    EXPECT_TRUE(create_disks->Find(required)->required) << required;
  }
  EXPECT_FALSE(create_disks->Find("DiskSize")->required);
  EXPECT_TRUE(Action("AddUser").input->Find("Name")->required);
}

TEST(SchemaEmbedded, IsTheCommittedFileAndParsedOnce) {
  std::string_view text = EmbeddedSchemaJson();
  ASSERT_GT(text.size(), 100000u);
  EXPECT_EQ(text.substr(0, 11), "{\"format\":1");
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(&ApiSchema::Embedded(), &ApiSchema::Embedded());
}

TEST(SchemaEmbedded, StructuresCarryTypesAndRequiredFlags) {
  const ApiSchema& schema = ApiSchema::Embedded();
  const StructSpec* filter = schema.FindStruct("cvm", "Filter");
  ASSERT_NE(filter, nullptr);
  ASSERT_EQ(filter->fields.size(), 2u);
  EXPECT_EQ(filter->fields[0].name, "Name");
  EXPECT_TRUE(filter->fields[0].required);
  const FieldSpec* values = filter->Find("Values");
  ASSERT_NE(values, nullptr);
  EXPECT_EQ(values->type, FieldType::kList);
  EXPECT_EQ(values->element_type, FieldType::kString);

  const ActionSpec& run = Action("RunInstances");
  const FieldSpec* placement = run.input->Find("Placement");
  ASSERT_NE(placement, nullptr);
  EXPECT_EQ(placement->type, FieldType::kObject);
  EXPECT_EQ(placement->object, schema.FindStruct("cvm", "Placement"));
  const FieldSpec* disks = run.input->Find("DataDisks");
  ASSERT_NE(disks, nullptr);
  EXPECT_EQ(disks->element_type, FieldType::kObject);
  EXPECT_EQ(disks->object->name, "DataDisk");

  // Object names are per service: CBS's Placement is a different structure.
  const StructSpec* cbs_placement = schema.FindStruct("cbs", "Placement");
  ASSERT_NE(cbs_placement, nullptr);
  EXPECT_NE(cbs_placement, schema.FindStruct("cvm", "Placement"));
  EXPECT_NE(cbs_placement->Find("CageId"), nullptr);

  const StructSpec* instance = schema.FindStruct("cvm", "Instance");
  ASSERT_NE(instance, nullptr);
  EXPECT_EQ(instance->Find("CreatedTime")->type, FieldType::kDatetimeIso);
  EXPECT_EQ(schema.FindStruct("cbs", "Disk")->Find("CreateTime")->type, FieldType::kDatetime);
  EXPECT_EQ(FieldTypeName(FieldType::kDatetimeIso), "datetime_iso");
}

// ---------------------------------------------------------------------------------------------

TEST(SchemaValidate, DescribeInstancesWithFilters) {
  json p = json::parse(R"({"InstanceIds":null,"Filters":[{"Name":"zone","Values":["ap-1","ap-2"]}],
                          "Offset":0,"Limit":"20"})");
  ASSERT_TRUE(Validate("DescribeInstances", p).ok());
  EXPECT_FALSE(p.contains("InstanceIds"));  // null counts as absent
  EXPECT_EQ(p["Limit"], 20);
  EXPECT_TRUE(p["Limit"].is_number_integer());
  EXPECT_EQ(p["Filters"][0]["Values"][1], "ap-2");
}

TEST(SchemaValidate, RunInstancesNestedObjectsAndLists) {
  json p = json::parse(R"({
    "Placement": {"Zone": "ap-guangzhou-3", "ProjectId": "0"},
    "InstanceType": "S5.MEDIUM2", "ImageId": "img-abcdefgh",
    "SystemDisk": {"DiskType": "CLOUD_PREMIUM", "DiskSize": 50},
    "DataDisks": [{"DiskSize": "100", "DiskType": "CLOUD_SSD", "DeleteWithInstance": "true"},
                  {"DiskSize": 20, "Encrypt": false}],
    "LoginSettings": {"Password": "Passw0rd!", "KeyIds": []},
    "EnhancedService": {"MonitorService": {"Enabled": "1"}},
    "TagSpecification": [{"ResourceType": "instance", "Tags": [{"Key": "k", "Value": "v"}]}],
    "InstanceCount": 2, "DryRun": "false"})");
  Status s = Validate("RunInstances", p);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(p["Placement"]["ProjectId"], 0);
  EXPECT_EQ(p["DataDisks"][0]["DiskSize"], 100);
  EXPECT_EQ(p["DataDisks"][0]["DeleteWithInstance"], true);
  EXPECT_EQ(p["EnhancedService"]["MonitorService"]["Enabled"], true);
  EXPECT_EQ(p["DryRun"], false);
}

TEST(SchemaValidate, NoParamsAndNullParams) {
  json empty = json::object();
  EXPECT_TRUE(Validate("DescribeZones", empty).ok());
  json null_params;
  EXPECT_TRUE(Validate("DescribeZones", null_params).ok());
  EXPECT_TRUE(null_params.is_object());
  json not_object = json::array();
  ExpectError(Validate("DescribeZones", not_object), err::kInvalidParameter, "JSON object");
  json unknown = {{"Zone", "x"}};
  ExpectError(Validate("DescribeZones", unknown), err::kUnknownParameter, "`Zone`");
}

TEST(SchemaValidate, CamActions) {
  json add = {{"Name", "alice"}, {"ConsoleLogin", "1"}, {"UseApi", 0}};
  ASSERT_TRUE(Validate("AddUser", add).ok());
  EXPECT_EQ(add["ConsoleLogin"], 1u);
  EXPECT_TRUE(add["ConsoleLogin"].is_number_unsigned());
  EXPECT_TRUE(add["UseApi"].is_number_unsigned());

  json group = json::parse(R"({"Info":[{"GroupId":"7","Uin":100001}]})");
  ASSERT_TRUE(Validate("AddUserToGroup", group).ok());
  EXPECT_EQ(group["Info"][0]["GroupId"], 7u);
  json missing = json::parse(R"({"Info":[{"GroupId":1},{"Uid":5}]})");
  ExpectError(Validate("AddUserToGroup", missing), err::kMissingParameter, "`Info.1.GroupId`");

  json policies = json::parse(R"({"PolicyId":["1", 2]})");
  ASSERT_TRUE(Validate("DeletePolicy", policies).ok());
  EXPECT_EQ(policies["PolicyId"], json::parse("[1,2]"));
}

TEST(SchemaValidate, UnknownParameterNamesFullPath) {
  json p =
      json::parse(R"({"Filters":[{"Name":"zone","Values":["a"]},{"Nme":"x","Values":["b"]}]})");
  ExpectError(Validate("DescribeInstances", p), err::kUnknownParameter, "`Filters.1.Nme`");
  json top = {{"Limits", 1}};
  ExpectError(Validate("DescribeInstances", top), err::kUnknownParameter, "`Limits`");
  json nested = json::parse(R"({"Placement":{"Zone":"z","Zoen":"y"},"ImageId":"img-1"})");
  ExpectError(Validate("RunInstances", nested), err::kUnknownParameter, "`Placement.Zoen`");
  // Parameter names are case-sensitive, as on Tencent Cloud.
  json lower = {{"limit", 1}};
  EXPECT_EQ(Validate("DescribeInstances", lower).code(), err::kUnknownParameter);
  // An absent (null) unknown parameter is no parameter at all.
  json null_unknown = {{"Bogus", nullptr}};
  EXPECT_TRUE(Validate("DescribeInstances", null_unknown).ok());
}

TEST(SchemaValidate, UnknownParameterNameIsSanitised) {
  json p = {{std::string("Bad\xff`Name\n"), 1}};
  Status s = Validate("DescribeZones", p);
  EXPECT_EQ(s.code(), err::kUnknownParameter);
  EXPECT_NE(s.message().find("`Bad??Name?`"), std::string::npos) << s.message();
  json long_name = {{std::string(5000, 'A'), 1}};
  s = Validate("DescribeZones", long_name);
  EXPECT_LT(s.message().size(), 200u);
}

TEST(SchemaValidate, MissingRequiredParameters) {
  json none = json::object();
  ExpectError(Validate("StartInstances", none), err::kMissingParameter, "`InstanceIds`");
  json null_required = {{"InstanceIds", nullptr}};
  ExpectError(Validate("StartInstances", null_required), err::kMissingParameter, "`InstanceIds`");
  json filter = json::parse(R"({"Filters":[{"Name":"zone"}]})");
  ExpectError(Validate("DescribeInstances", filter), err::kMissingParameter, "`Filters.0.Values`");
  json zone = json::parse(R"({"Placement":{"ProjectId":0}})");
  ExpectError(Validate("RunInstances", zone), err::kMissingParameter, "`Placement.Zone`");
  json disk = json::parse(R"({"Placement":{"Zone":"z"},"DataDisks":[{"DiskType":"CLOUD_SSD"}]})");
  ExpectError(Validate("RunInstances", disk), err::kMissingParameter, "`DataDisks.0.DiskSize`");
  json cam = json::object();
  ExpectError(Validate("GetUser", cam), err::kMissingParameter, "`Name`");
}

TEST(SchemaValidate, WrongTypes) {
  struct Case {
    const char* action;
    const char* params;
    const char* needle;
  };
  for (const Case& c : {
           Case{"DescribeInstances", R"({"Limit":"ten"})", "`Limit` must be of type int64"},
           Case{"DescribeInstances", R"({"Limit":true})", "`Limit` must be of type int64"},
           Case{"DescribeInstances", R"({"Limit":[1]})", "`Limit` must be of type int64"},
           Case{"DescribeInstances", R"({"Limit":""})", "`Limit` must be of type int64"},
           Case{"DescribeInstances", R"({"Limit":" 1"})", "`Limit`"},
           Case{"DescribeInstances", R"({"Filters":{"Name":"zone"}})",
                "`Filters` must be of type list"},
           Case{"DescribeInstances", R"({"InstanceIds":"ins-1"})",
                "`InstanceIds` must be of type list"},
           Case{"DescribeInstances", R"({"InstanceIds":[{"a":1}]})",
                "`InstanceIds.0` must be of type string"},
           Case{"DescribeInstances", R"({"InstanceIds":[true]})",
                "`InstanceIds.0` must be of type string"},
           Case{"DescribeInstances", R"({"InstanceIds":[1.5]})",
                "`InstanceIds.0` must be of type string"},
           Case{"DescribeInstances", R"({"InstanceIds":["a",null]})",
                "`InstanceIds.1` must not be null"},
           Case{"DescribeInstances", R"({"Filters":["zone"]})",
                "`Filters.0` must be of type object"},
           Case{"RunInstances", R"({"Placement":"ap-guangzhou-3"})",
                "`Placement` must be of type object"},
           Case{"RunInstances", R"({"DryRun":"yes"})", "`DryRun` must be of type bool"},
           Case{"RunInstances", R"({"DryRun":2})", "`DryRun` must be of type bool"},
           Case{"RunInstances", R"({"DryRun":1.0})", "`DryRun` must be of type bool"},
           Case{"AddUser", R"({"Name":"a","ConsoleLogin":"x1"})",
                "`ConsoleLogin` must be of type uint64"},
       }) {
    json p = json::parse(c.params);
    ExpectError(Validate(c.action, p), err::kInvalidParameter, c.needle);
  }
}

TEST(SchemaValidate, FloatWhereIntegerExpectedIsInvalidParameter) {
  json p = {{"Limit", 1.5}};
  ExpectError(Validate("DescribeInstances", p), err::kInvalidParameter, "floating-point");
  json whole = {{"Limit", 2.0}};
  ExpectError(Validate("DescribeInstances", whole), err::kInvalidParameter, "int64");
  json s = {{"Limit", "2.5"}};
  ExpectError(Validate("DescribeInstances", s), err::kInvalidParameter, "floating-point");
  json u = {{"Name", "a"}, {"UseApi", "1e3"}};
  ExpectError(Validate("AddUser", u), err::kInvalidParameter, "floating-point");
}

TEST(SchemaValidate, NumericRangesAndNegativeUnsigned) {
  json neg = {{"Name", "a"}, {"ConsoleLogin", -1}};
  ExpectError(Validate("AddUser", neg), err::kInvalidParameterValue, "`ConsoleLogin`");
  json neg_string = {{"Name", "a"}, {"ConsoleLogin", "-3"}};
  ExpectError(Validate("AddUser", neg_string), err::kInvalidParameterValue, "negative");
  json minus_zero = {{"Name", "a"}, {"ConsoleLogin", "-0"}};
  EXPECT_TRUE(Validate("AddUser", minus_zero).ok());
  EXPECT_EQ(minus_zero["ConsoleLogin"], 0u);
  json neg_list = json::parse(R"({"PolicyId":[1,-2]})");
  ExpectError(Validate("DeletePolicy", neg_list), err::kInvalidParameterValue, "`PolicyId.1`");

  json big = json::parse(R"({"Limit":18446744073709551615})");
  ExpectError(Validate("DescribeInstances", big), err::kInvalidParameterValue, "out of range");
  json big_string = {{"Limit", "9223372036854775808"}};
  ExpectError(Validate("DescribeInstances", big_string), err::kInvalidParameterValue,
              "out of range");
  json max_string = {{"Limit", "-9223372036854775808"}};
  EXPECT_TRUE(Validate("DescribeInstances", max_string).ok());
  json huge_unsigned = {{"Name", "a"}, {"UseApi", "18446744073709551616"}};
  ExpectError(Validate("AddUser", huge_unsigned), err::kInvalidParameterValue, "out of range");
  json max_unsigned = {{"Name", "a"}, {"UseApi", "18446744073709551615"}};
  EXPECT_TRUE(Validate("AddUser", max_unsigned).ok());
  EXPECT_EQ(max_unsigned["UseApi"].get<uint64_t>(), 18446744073709551615ull);
}

TEST(SchemaValidate, LenientCoercions) {
  // Integers where strings are expected become strings (VPC's Offset/Limit are strings).
  json vpc = json::parse(R"({"Offset":0,"Limit":20,"VpcIds":[123]})");
  ASSERT_TRUE(Validate("DescribeVpcs", vpc).ok());
  EXPECT_EQ(vpc["Offset"], "0");
  EXPECT_EQ(vpc["Limit"], "20");
  EXPECT_EQ(vpc["VpcIds"][0], "123");
  json negative_string = {{"Offset", -5}};
  ASSERT_TRUE(Validate("DescribeVpcs", negative_string).ok());
  EXPECT_EQ(negative_string["Offset"], "-5");

  for (const char* truthy : {"true", "TRUE", "True", "1"}) {
    json p = {{"DryRun", truthy}};
    ASSERT_TRUE(Validate("RunInstances", p).ok()) << truthy;
    EXPECT_EQ(p["DryRun"], true);
  }
  for (const char* falsy : {"false", "False", "0"}) {
    json p = {{"DryRun", falsy}};
    ASSERT_TRUE(Validate("RunInstances", p).ok()) << falsy;
    EXPECT_EQ(p["DryRun"], false);
  }
  json num_bool = {{"DryRun", 1}};
  ASSERT_TRUE(Validate("RunInstances", num_bool).ok());
  EXPECT_EQ(num_bool["DryRun"], true);

  json negative_int = {{"Offset", "-1"}};
  ASSERT_TRUE(Validate("DescribeInstances", negative_int).ok());
  EXPECT_EQ(negative_int["Offset"], -1);
}

TEST(SchemaValidate, NonUtf8StringsAreInvalidParameterValue) {
  for (const char* bad : {"\xff", "ab\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80"}) {
    json p = {{"InstanceIds", json::array({std::string(bad)})}};
    ExpectError(Validate("DescribeInstances", p), err::kInvalidParameterValue, "`InstanceIds.0`");
  }
  json good = {{"InstanceName", "未命名-\xF0\x9F\x98\x80"}};
  EXPECT_TRUE(Validate("RunInstances", good).ok());
}

TEST(SchemaValidate, ListLengthCap) {
  json ok = {{"InstanceIds", json::array()}};
  for (size_t i = 0; i < kMaxListLength; ++i) ok["InstanceIds"].push_back("ins-x");
  EXPECT_TRUE(Validate("DescribeInstances", ok).ok());
  ok["InstanceIds"].push_back("ins-y");
  ExpectError(Validate("DescribeInstances", ok), err::kInvalidParameterValue, "`InstanceIds`");
}

// A hand-written schema covers the types no real request uses (float).
TEST(SchemaValidate, FloatParametersFromCustomSchema) {
  auto schema = ApiSchema::Parse(R"({"format":1,"services":{"t":{"version":"2020-01-01",
      "actions":{"Go":{"input":"GoRequest","output":"GoResponse"}},
      "objects":{"GoRequest":[{"name":"Ratio","type":"float"},
                              {"name":"Ratios","type":"list","member":"float"},
                              {"name":"When","type":"datetime"}],
                 "GoResponse":[{"name":"RequestId","type":"string"}]}}}})");
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  const ActionSpec* go = (*schema)->FindAction("Go");
  ASSERT_NE(go, nullptr);
  EXPECT_EQ(go->service, "t");
  json p =
      json::parse(R"({"Ratio":"1.5","Ratios":[1,"2",3.25,"-4e2"],"When":"2024-01-01 00:00:00"})");
  ASSERT_TRUE(ValidateParams(*go, p).ok());
  EXPECT_DOUBLE_EQ(p["Ratio"].get<double>(), 1.5);
  EXPECT_DOUBLE_EQ(p["Ratios"][1].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(p["Ratios"][3].get<double>(), -400.0);
  for (const char* bad :
       {R"({"Ratio":"abc"})", R"({"Ratio":"nan"})", R"({"Ratio":true})", R"({"Ratio":"1.5x"})"}) {
    json b = json::parse(bad);
    ExpectError(ValidateParams(*go, b), err::kInvalidParameter, "`Ratio` must be of type float");
  }
}

TEST(SchemaParse, RejectsMalformedSchemas) {
  EXPECT_FALSE(ApiSchema::Parse("").ok());
  EXPECT_FALSE(ApiSchema::Parse("[]").ok());
  EXPECT_FALSE(ApiSchema::Parse(R"({"format":2,"services":{}})").ok());
  EXPECT_FALSE(ApiSchema::Parse(R"({"format":1,"services":{"t":{"version":"v","actions":{
      "Go":{"input":"Missing","output":"Missing"}},"objects":{}}}})")
                   .ok());
  EXPECT_FALSE(ApiSchema::Parse(R"({"format":1,"services":{"t":{"version":"v","actions":{},
      "objects":{"A":[{"name":"X","type":"object","member":"Nope"}]}}}})")
                   .ok());
  EXPECT_FALSE(ApiSchema::Parse(R"({"format":1,"services":{"t":{"version":"v","actions":{},
      "objects":{"A":[{"name":"X","type":"int"}]}}}})")
                   .ok());
  EXPECT_FALSE(ApiSchema::Parse(R"({"format":1,"services":{"t":{"version":"v","actions":{},
      "objects":{"A":[{"name":"X","type":"string"},{"name":"X","type":"string"}]}}}})")
                   .ok());
}

// ---------------------------------------------------------------------------------------------

TEST(SchemaUnflatten, ListsObjectsAndNestedListsOfObjects) {
  FlatParams flat = {{"InstanceIds.0", "ins-1"},        {"InstanceIds.1", "ins-2"},
                     {"Filters.0.Name", "zone"},        {"Filters.0.Values.0", "ap-1"},
                     {"Filters.0.Values.1", "ap-2"},    {"Filters.1.Name", "instance-state"},
                     {"Filters.1.Values.0", "RUNNING"}, {"Limit", "10"}};
  auto r = UnflattenParams(Action("DescribeInstances"), flat);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, json::parse(R"({"InstanceIds":["ins-1","ins-2"],
      "Filters":[{"Name":"zone","Values":["ap-1","ap-2"]},
                 {"Name":"instance-state","Values":["RUNNING"]}],"Limit":"10"})"));
  ASSERT_TRUE(ValidateParams(Action("DescribeInstances"), *r).ok());
  EXPECT_EQ((*r)["Limit"], 10);
}

TEST(SchemaUnflatten, OutOfOrderKeysAndDeepObjects) {
  FlatParams flat = {{"DataDisks.1.DiskSize", "20"},
                     {"Placement.Zone", "ap-guangzhou-3"},
                     {"DataDisks.0.DiskSize", "10"},
                     {"DataDisks.0.DeleteWithInstance", "false"},
                     {"EnhancedService.MonitorService.Enabled", "true"},
                     {"TagSpecification.0.ResourceType", "instance"},
                     {"TagSpecification.0.Tags.0.Key", "k"},
                     {"TagSpecification.0.Tags.0.Value", "v"},
                     {"LoginSettings.KeyIds.0", "skey-1"}};
  auto r = UnflattenParams(Action("RunInstances"), flat);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["DataDisks"][1]["DiskSize"], "20");
  EXPECT_EQ((*r)["DataDisks"][0]["DeleteWithInstance"], "false");
  EXPECT_EQ((*r)["EnhancedService"]["MonitorService"]["Enabled"], "true");
  EXPECT_EQ((*r)["TagSpecification"][0]["Tags"][0]["Value"], "v");
  EXPECT_EQ((*r)["LoginSettings"]["KeyIds"][0], "skey-1");
  Status s = ValidateParams(Action("RunInstances"), *r);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ((*r)["DataDisks"][0]["DiskSize"], 10);
  EXPECT_EQ((*r)["DataDisks"][0]["DeleteWithInstance"], false);
}

TEST(SchemaUnflatten, EmptyValuesAndCommonParametersAreIgnored) {
  FlatParams flat = {{"Action", "DescribeInstances"},
                     {"Version", "2017-03-12"},
                     {"Region", "ap-guangzhou"},
                     {"Timestamp", "1700000000"},
                     {"Nonce", "1"},
                     {"SecretId", "AKID"},
                     {"SignatureMethod", "HmacSHA256"},
                     {"Signature", "x"},
                     {"Token", "t"},
                     {"Language", "en-US"},
                     {"RequestClient", "SDK"},
                     {"Filters", ""},
                     {"Limit", "10"},
                     {"Offset", ""}};
  auto r = UnflattenParams(Action("DescribeInstances"), flat);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, json::parse(R"({"Limit":"10"})"));
  auto none = UnflattenParams(Action("DescribeZones"), {});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, json::object());
}

TEST(SchemaUnflatten, Errors) {
  struct Case {
    const char* action;
    FlatParams flat;
    std::string_view code;
    const char* needle;
  };
  const std::vector<Case> cases = {
      {"DescribeInstances",
       {{"InstanceIds.1", "ins-2"}},
       err::kInvalidParameter,
       "`InstanceIds` has no element 0"},
      {"DescribeInstances",
       {{"InstanceIds.0", "a"}, {"InstanceIds.2", "c"}},
       err::kInvalidParameter,
       "no element 1"},
      {"DescribeInstances",
       {{"Filters.0.Name", "a"}, {"Filters.0.Values.1", "c"}},
       err::kInvalidParameter,
       "`Filters.0.Values` has no element 0"},
      {"DescribeInstances", {{"InstanceIds.x", "a"}}, err::kInvalidParameter, "not a number"},
      {"DescribeInstances", {{"InstanceIds.01", "a"}}, err::kInvalidParameter, "not a number"},
      {"DescribeInstances", {{"InstanceIds.-1", "a"}}, err::kInvalidParameter, "not a number"},
      {"DescribeInstances", {{"InstanceIds.", "a"}}, err::kInvalidParameter, "not a number"},
      {"DescribeInstances", {{"InstanceIds.1000", "a"}}, err::kInvalidParameterValue, "limit"},
      {"DescribeInstances",
       {{"InstanceIds.99999999999999999999999", "a"}},
       err::kInvalidParameterValue,
       "limit"},
      {"DescribeInstances", {{"InstanceIds", "ins-1"}}, err::kInvalidParameter, "is a list"},
      {"DescribeInstances", {{"Filters.0", "zone"}}, err::kInvalidParameter, "is an object"},
      {"RunInstances", {{"Placement", "z"}}, err::kInvalidParameter, "`Placement` is an object"},
      {"DescribeInstances", {{"Limit.0", "1"}}, err::kInvalidParameter, "`Limit` is of type int64"},
      {"DescribeInstances",
       {{"InstanceIds.0.Id", "1"}},
       err::kInvalidParameter,
       "`InstanceIds.0` is of type string"},
      {"DescribeInstances",
       {{"Limit", "1"}, {"Limit", "2"}},
       err::kInvalidParameter,
       "duplicate parameter"},
      {"DescribeInstances",
       {{"Filters.0.Values.0", "1"}, {"Filters.0.Values.0", "2"}},
       err::kInvalidParameter,
       "`Filters.0.Values.0` is given more than once"},
      {"DescribeInstances", {{"Filters.0.Nme", "x"}}, err::kUnknownParameter, "`Filters.0.Nme`"},
      {"DescribeInstances", {{"Bogus", "x"}}, err::kUnknownParameter, "`Bogus`"},
      {"RunInstances", {{"Placement.Zone.X", "x"}}, err::kInvalidParameter, "`Placement.Zone`"},
      {"RunInstances", {{"Placement..Zone", "x"}}, err::kUnknownParameter, "`Placement.`"},
  };
  for (const Case& c : cases) {
    auto r = UnflattenParams(Action(c.action), c.flat);
    ASSERT_FALSE(r.ok()) << c.needle;
    ExpectError(r.status(), c.code, c.needle);
  }
}

// Flattens a JSON object the way the SDKs build GET query strings.
void Flatten(const json& v, const std::string& prefix, FlatParams& out) {
  if (v.is_object()) {
    for (const auto& [k, child] : v.items())
      Flatten(child, prefix.empty() ? k : prefix + "." + k, out);
  } else if (v.is_array()) {
    for (size_t i = 0; i < v.size(); ++i) Flatten(v[i], prefix + "." + std::to_string(i), out);
  } else if (v.is_string()) {
    out.emplace_back(prefix, v.get<std::string>());
  } else if (v.is_boolean()) {
    out.emplace_back(prefix, v.get<bool>() ? "true" : "false");
  } else {
    out.emplace_back(prefix, v.dump());
  }
}

TEST(SchemaUnflatten, RoundTripMatchesValidatedJson) {
  const json original = json::parse(R"({
    "Placement": {"Zone": "ap-guangzhou-3", "ProjectId": 3, "HostIds": ["host-1", "host-2"]},
    "ImageId": "img-1", "InstanceCount": 3, "DryRun": true,
    "DataDisks": [{"DiskSize": 10, "DiskType": "CLOUD_SSD"}, {"DiskSize": 20, "Encrypt": false},
                  {"DiskSize": 30}],
    "SecurityGroupIds": ["sg-1","sg-2","sg-3","sg-4","sg-5","sg-6","sg-7","sg-8","sg-9","sg-10",
                         "sg-11"],
    "TagSpecification": [{"ResourceType": "instance",
                          "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]}],
    "LoginSettings": {"KeyIds": ["skey-1"]},
    "InstanceName": "名字 with spaces & symbols=?"})");
  json expected = original;
  ASSERT_TRUE(ValidateParams(Action("RunInstances"), expected).ok());

  FlatParams flat;
  Flatten(original, "", flat);
  std::reverse(flat.begin(), flat.end());  // order must not matter
  auto r = UnflattenParams(Action("RunInstances"), flat);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Status s = ValidateParams(Action("RunInstances"), *r);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(*r, expected);
}

TEST(SchemaUnflatten, CamListOfObjects) {
  FlatParams flat = {{"Info.0.GroupId", "1"},
                     {"Info.0.Uid", "11"},
                     {"Info.1.GroupId", "2"},
                     {"Info.1.Uin", "100002"}};
  auto r = UnflattenParams(Action("AddUserToGroup"), flat);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(ValidateParams(Action("AddUserToGroup"), *r).ok());
  EXPECT_EQ(*r, json::parse(R"({"Info":[{"GroupId":1,"Uid":11},{"GroupId":2,"Uin":100002}]})"));
}

}  // namespace
}  // namespace cvm::api
