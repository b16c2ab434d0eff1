// The CAM policy document parser (the text a CreatePolicy carries), then compiling what it
// accepts and evaluating it for a few requests, as the authorizer does.
#include <vector>

#include "api/schema.h"
#include "fuzz_support.h"
#include "iam/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = cvm::fuzz::AsView(data, size);
  cvm::iam::ParseOptions options;
  options.action_exists = [](std::string_view service, std::string_view action) {
    return cvm::api::ApiSchema::Embedded().FindAction(service, action) != nullptr;
  };
  auto parsed = cvm::iam::ParsePolicyDocument(text, options);
  if (!parsed.ok()) {
    CVM_FUZZ_CHECK(!parsed.status().code().empty());
    return 0;
  }
  CVM_FUZZ_CHECK(size <= cvm::iam::kMaxPolicyDocumentBytes);
  const cvm::iam::PolicyIdentity identity{"100000000011", "100000000001", 1300000001};
  cvm::iam::PolicySet set = cvm::iam::PolicySet::Compile({&*parsed}, identity);
  const std::vector<std::pair<std::string, std::string>> extra = {{"qcs:tag", "env&prod"}};
  const cvm::iam::RequestFacts facts{"127.0.0.1",      1795719248,  "ap-guangzhou",
                                     "ap-guangzhou-3", "S5.SMALL1", &extra};
  const cvm::iam::ResourceRef any{"cvm", "ap-guangzhou", "uin/100000000001", ""};
  const cvm::iam::ResourceRef one{"cvm", "ap-guangzhou", "uin/100000000001",
                                  "instance/ins-abcdefgh"};
  for (std::string_view action :
       {"cvm:DescribeInstances", "cvm:RunInstances", "cam:AddUser", "vpc:CreateVpc"}) {
    const auto whole = set.Evaluate(action, any, facts);
    const auto item = set.Evaluate(action, one, facts);
    // A deny that holds for the account's every resource holds for one of them.
    if (whole == cvm::iam::Decision::kExplicitDeny) CVM_FUZZ_CHECK(set.HasDenyFor(action));
    if (item == cvm::iam::Decision::kAllow) CVM_FUZZ_CHECK(set.MayAllowSomeResource(action, facts));
  }
  return 0;
}
