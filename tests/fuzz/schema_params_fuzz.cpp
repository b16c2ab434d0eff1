// Parameter validation against the embedded API schema: a JSON body (POST) or flattened form
// parameters (GET) for one action. Validation either refuses with a code or leaves parameters that
// validate again unchanged (normalisation is idempotent). Input: the action's name, a line "form"
// for GET parameters (else JSON), then the body; an unknown name picks an action by its hash.
#include <functional>

#include <nlohmann/json.hpp>

#include "api/schema.h"
#include "api/signing.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::string_view> f = cvm::fuzz::Fields(cvm::fuzz::AsView(data, size), 3);
  if (f.size() < 3) return 0;
  const cvm::api::ApiSchema& schema = cvm::api::ApiSchema::Embedded();
  const cvm::api::ActionSpec* action = schema.FindAction(f[0]);
  if (action == nullptr) {
    action = schema.actions()[std::hash<std::string_view>()(f[0]) % schema.actions().size()];
  }
  const bool form = f[1] == "form";
  const std::string_view body = f[2];
  nlohmann::json params;
  if (form) {
    auto flat = cvm::api::ParseFormEncoded(body);
    auto unflat = cvm::api::UnflattenParams(*action, flat);
    if (!unflat.ok()) {
      CVM_FUZZ_CHECK(!unflat.status().code().empty());
      return 0;
    }
    params = std::move(*unflat);
  } else {
    params = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (params.is_discarded()) return 0;
  }
  cvm::Status first = cvm::api::ValidateParams(*action, params);
  if (!first.ok()) {
    CVM_FUZZ_CHECK(!first.code().empty());
    return 0;
  }
  CVM_FUZZ_CHECK(params.is_object());
  nlohmann::json again = params;
  cvm::Status second = cvm::api::ValidateParams(*action, again);
  CVM_FUZZ_CHECK(second.ok());
  CVM_FUZZ_CHECK(again == params);
  return 0;
}
