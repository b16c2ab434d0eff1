#include "api/schema.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>
#include <system_error>

#include "api/schema/embedded_schema.h"
#include "common/error_codes.h"
#include "common/utf8.h"

namespace cvm::api {
namespace {

using nlohmann::json;

constexpr std::array<std::string_view, 6> kServiceOrder = {"cvm", "cbs", "vpc",
                                                           "cam", "tag", "tat"};

std::optional<FieldType> ParseScalarType(std::string_view name) {
  if (name == "string") return FieldType::kString;
  if (name == "int64") return FieldType::kInt64;
  if (name == "uint64") return FieldType::kUint64;
  if (name == "float") return FieldType::kFloat;
  if (name == "bool") return FieldType::kBool;
  if (name == "datetime") return FieldType::kDatetime;
  if (name == "datetime_iso") return FieldType::kDatetimeIso;
  if (name == "date") return FieldType::kDate;
  if (name == "binary") return FieldType::kBinary;
  return std::nullopt;
}

Status SchemaError(std::string message) {
  return Status(err::kInternalError, "API schema: " + std::move(message));
}

const std::string* StringMember(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
}

// ---------------------------------------------------------------------------------------------
// Parameter paths. Frames live on the stack of the recursive walk, so the happy path allocates
// nothing; the dotted string is only built for an error message.

struct PathFrame {
  const PathFrame* parent = nullptr;
  std::string_view key;  // member name; unused for list elements
  size_t index = 0;
  bool is_index = false;
};

// Names echoed in messages come from the caller; keep the message valid UTF-8 (the envelope is
// JSON) and short.
void AppendSanitized(std::string& out, std::string_view s) {
  constexpr size_t kMaxEchoedName = 100;
  size_t n = std::min(s.size(), kMaxEchoedName);
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    out.push_back(c > 0x20 && c < 0x7f && c != '`' ? static_cast<char>(c) : '?');
  }
  if (s.size() > n) out += "...";
}

std::string RenderPath(const PathFrame* frame) {
  std::vector<const PathFrame*> frames;
  for (; frame != nullptr; frame = frame->parent) frames.push_back(frame);
  std::string out;
  for (auto it = frames.rbegin(); it != frames.rend(); ++it) {
    if (!out.empty()) out.push_back('.');
    if ((*it)->is_index) {
      out += std::to_string((*it)->index);
    } else {
      AppendSanitized(out, (*it)->key);
    }
  }
  return out;
}

std::string Quoted(const PathFrame* path) { return "`" + RenderPath(path) + "`"; }

std::string QuotedName(std::string_view name) {
  std::string out = "`";
  AppendSanitized(out, name);
  out.push_back('`');
  return out;
}

const char* JsonTypeName(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "a list";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a bool";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "an integer";
    case json::value_t::number_float:
      return "a floating-point number";
    default:
      return "binary data";
  }
}

Status WrongType(const PathFrame* path, FieldType expected, const json& got) {
  return Status(err::kInvalidParameter, "The parameter " + Quoted(path) + " must be of type " +
                                            std::string(FieldTypeName(expected)) + ", got " +
                                            JsonTypeName(got) + ".");
}

Status WrongTypeString(const PathFrame* path, FieldType expected, std::string_view what) {
  return Status(err::kInvalidParameter, "The parameter " + Quoted(path) + " must be of type " +
                                            std::string(FieldTypeName(expected)) + ", got " +
                                            std::string(what) + ".");
}

Status OutOfRange(const PathFrame* path, FieldType expected) {
  return Status(err::kInvalidParameterValue, "The value of parameter " + Quoted(path) +
                                                 " is out of range for type " +
                                                 std::string(FieldTypeName(expected)) + ".");
}

Status Negative(const PathFrame* path) {
  return Status(err::kInvalidParameterValue,
                "The value of parameter " + Quoted(path) + " must not be negative (uint64).");
}

// ---------------------------------------------------------------------------------------------
// Scalars.

enum class NumParse { kOk, kNotNumber, kFloat, kNegative, kOutOfRange };

bool ParsesAsDouble(std::string_view s, double* out) {
  double d = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(d)) return false;
  *out = d;
  return true;
}

NumParse ParseInt64(std::string_view s, int64_t* out) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  bool whole = ptr == s.data() + s.size();
  if (ec == std::errc() && whole) return NumParse::kOk;
  if (ec == std::errc::result_out_of_range && whole) return NumParse::kOutOfRange;
  double d;
  return ParsesAsDouble(s, &d) ? NumParse::kFloat : NumParse::kNotNumber;
}

NumParse ParseUint64(std::string_view s, uint64_t* out) {
  if (!s.empty() && s[0] == '-') {
    int64_t v = 0;
    NumParse r = ParseInt64(s, &v);
    if (r == NumParse::kOk && v == 0) {
      *out = 0;
      return NumParse::kOk;
    }
    return r == NumParse::kOk || r == NumParse::kOutOfRange ? NumParse::kNegative : r;
  }
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  bool whole = ptr == s.data() + s.size();
  if (ec == std::errc() && whole) return NumParse::kOk;
  if (ec == std::errc::result_out_of_range && whole) return NumParse::kOutOfRange;
  double d;
  return ParsesAsDouble(s, &d) ? NumParse::kFloat : NumParse::kNotNumber;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (x != b[i]) return false;
  }
  return true;
}

Status NumericStringError(NumParse r, const PathFrame* path, FieldType t) {
  switch (r) {
    case NumParse::kFloat:
      return WrongTypeString(path, t, "a floating-point number");
    case NumParse::kNegative:
      return Negative(path);
    case NumParse::kOutOfRange:
      return OutOfRange(path, t);
    default:
      return WrongTypeString(path, t, "a non-numeric string");
  }
}

Status CheckString(json& v, FieldType t, const PathFrame* path) {
  switch (v.type()) {
    case json::value_t::string:
      if (!IsValidUtf8(v.get_ref<const std::string&>())) {
        return Status(err::kInvalidParameterValue,
                      "The value of parameter " + Quoted(path) + " is not valid UTF-8.");
      }
      return Status::Ok();
    // Tencent accepts numbers for string parameters (e.g. VPC's string Offset/Limit).
    case json::value_t::number_integer:
      v = std::to_string(v.get<int64_t>());
      return Status::Ok();
    case json::value_t::number_unsigned:
      v = std::to_string(v.get<uint64_t>());
      return Status::Ok();
    default:
      return WrongType(path, t, v);
  }
}

Status CheckInt64(json& v, const PathFrame* path) {
  constexpr FieldType t = FieldType::kInt64;
  switch (v.type()) {
    case json::value_t::number_integer:
      return Status::Ok();
    case json::value_t::number_unsigned:
      if (v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return OutOfRange(path, t);
      }
      return Status::Ok();
    case json::value_t::string: {
      int64_t n = 0;
      NumParse r = ParseInt64(v.get_ref<const std::string&>(), &n);
      if (r != NumParse::kOk) return NumericStringError(r, path, t);
      v = n;
      return Status::Ok();
    }
    default:
      return WrongType(path, t, v);
  }
}

Status CheckUint64(json& v, const PathFrame* path) {
  constexpr FieldType t = FieldType::kUint64;
  switch (v.type()) {
    case json::value_t::number_unsigned:
      return Status::Ok();
    case json::value_t::number_integer: {
      int64_t n = v.get<int64_t>();
      if (n < 0) return Negative(path);
      v = static_cast<uint64_t>(n);
      return Status::Ok();
    }
    case json::value_t::string: {
      uint64_t n = 0;
      NumParse r = ParseUint64(v.get_ref<const std::string&>(), &n);
      if (r != NumParse::kOk) return NumericStringError(r, path, t);
      v = n;
      return Status::Ok();
    }
    default:
      return WrongType(path, t, v);
  }
}

Status CheckFloat(json& v, const PathFrame* path) {
  if (v.is_number()) return Status::Ok();
  if (v.is_string()) {
    double d = 0;
    if (!ParsesAsDouble(v.get_ref<const std::string&>(), &d)) {
      return WrongTypeString(path, FieldType::kFloat, "a non-numeric string");
    }
    v = d;
    return Status::Ok();
  }
  return WrongType(path, FieldType::kFloat, v);
}

Status CheckBool(json& v, const PathFrame* path) {
  switch (v.type()) {
    case json::value_t::boolean:
      return Status::Ok();
    case json::value_t::string: {
      const std::string& s = v.get_ref<const std::string&>();
      if (s == "1" || EqualsIgnoreCase(s, "true")) {
        v = true;
        return Status::Ok();
      }
      if (s == "0" || EqualsIgnoreCase(s, "false")) {
        v = false;
        return Status::Ok();
      }
      return WrongTypeString(path, FieldType::kBool, "a string other than true/false/1/0");
    }
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: {
      int64_t n = v.get<int64_t>();
      if (n == 0 || n == 1) {
        v = n == 1;
        return Status::Ok();
      }
      return WrongTypeString(path, FieldType::kBool, "an integer other than 1/0");
    }
    default:
      return WrongType(path, FieldType::kBool, v);
  }
}

// ---------------------------------------------------------------------------------------------
// Structures and lists.

Status ValidateStruct(const StructSpec& spec, json& obj, const PathFrame* path);

Status ValidateValue(FieldType type, const StructSpec* object, json& v, const PathFrame* path) {
  switch (type) {
    case FieldType::kString:
    case FieldType::kDatetime:
    case FieldType::kDatetimeIso:
    case FieldType::kDate:
    case FieldType::kBinary:
      return CheckString(v, type, path);
    case FieldType::kInt64:
      return CheckInt64(v, path);
    case FieldType::kUint64:
      return CheckUint64(v, path);
    case FieldType::kFloat:
      return CheckFloat(v, path);
    case FieldType::kBool:
      return CheckBool(v, path);
    case FieldType::kObject:
      if (!v.is_object()) return WrongType(path, type, v);
      return ValidateStruct(*object, v, path);
    case FieldType::kList:
      break;  // handled by ValidateField: a list's elements are never lists
  }
  return SchemaError("nested list at " + RenderPath(path));
}

Status ValidateField(const FieldSpec& field, json& v, const PathFrame* path) {
  if (field.type != FieldType::kList) return ValidateValue(field.type, field.object, v, path);
  if (!v.is_array()) return WrongType(path, FieldType::kList, v);
  auto& items = v.get_ref<json::array_t&>();
  if (items.size() > kMaxListLength) {
    return Status(err::kInvalidParameterValue,
                  "The parameter " + Quoted(path) + " has " + std::to_string(items.size()) +
                      " elements; at most " + std::to_string(kMaxListLength) + " are allowed.");
  }
  PathFrame elem{path, {}, 0, true};
  for (size_t i = 0; i < items.size(); ++i) {
    elem.index = i;
    if (items[i].is_null()) {
      return Status(err::kInvalidParameter,
                    "The list element " + Quoted(&elem) + " must not be null.");
    }
    CVM_RETURN_IF_ERROR(ValidateValue(field.element_type, field.object, items[i], &elem));
  }
  return Status::Ok();
}

Status ValidateStruct(const StructSpec& spec, json& obj, const PathFrame* path) {
  auto& members = obj.get_ref<json::object_t&>();
  for (auto it = members.begin(); it != members.end();) {
    if (it->second.is_null()) {  // absent, whatever the name
      it = members.erase(it);
      continue;
    }
    PathFrame frame{path, it->first, 0, false};
    const FieldSpec* field = spec.Find(it->first);
    if (field == nullptr) {
      return Status(err::kUnknownParameter,
                    "The parameter " + Quoted(&frame) + " is not recognized.");
    }
    CVM_RETURN_IF_ERROR(ValidateField(*field, it->second, &frame));
    ++it;
  }
  for (uint32_t i : spec.required) {
    const FieldSpec& field = spec.fields[i];
    if (members.find(field.name) == members.end()) {
      PathFrame frame{path, field.name, 0, false};
      return Status(err::kMissingParameter,
                    "The request is missing a required parameter " + Quoted(&frame) + ".");
    }
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Unflattening.

constexpr std::array<std::string_view, 11> kCommonParams = {
    "Action",          "Version",   "Region", "Timestamp", "Nonce",        "SecretId",
    "SignatureMethod", "Signature", "Token",  "Language",  "RequestClient"};

bool IsCommonParam(std::string_view key) {
  return std::find(kCommonParams.begin(), kCommonParams.end(), key) != kCommonParams.end();
}

// Only canonical decimal indices ("0", "12"; not "01" or "+1"), so two spellings cannot name
// the same element.
std::optional<size_t> ParseIndex(std::string_view s) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  size_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range && ptr == s.data() + s.size()) {
    return std::numeric_limits<size_t>::max();
  }
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

Status CheckNoGaps(const json& v, const PathFrame* path) {
  if (v.is_object()) {
    for (const auto& [key, child] : v.get_ref<const json::object_t&>()) {
      PathFrame frame{path, key, 0, false};
      CVM_RETURN_IF_ERROR(CheckNoGaps(child, &frame));
    }
  } else if (v.is_array()) {
    const auto& items = v.get_ref<const json::array_t&>();
    for (size_t i = 0; i < items.size(); ++i) {
      if (items[i].is_null()) {
        return Status(err::kInvalidParameter,
                      "The list parameter " + Quoted(path) + " has no element " +
                          std::to_string(i) +
                          "; indices must start at 0 and must not skip any number.");
      }
      PathFrame frame{path, {}, i, true};
      CVM_RETURN_IF_ERROR(CheckNoGaps(items[i], &frame));
    }
  }
  return Status::Ok();
}

Status Duplicate(std::string_view key) {
  return Status(err::kInvalidParameter, "The parameter " + QuotedName(key) +
                                            " is given more than once (duplicate parameter).");
}

// Places one flattened parameter into root.
Status PlaceFlatParam(const StructSpec& input, std::string_view key, const std::string& value,
                      json& root) {
  const StructSpec* spec = &input;
  json* node = &root;
  size_t pos = 0;
  // Returns the next dot-separated segment of key; `last` tells whether it ends the key.
  auto next_segment = [&](bool* last) {
    size_t dot = key.find('.', pos);
    std::string_view seg =
        key.substr(pos, dot == std::string_view::npos ? std::string_view::npos : dot - pos);
    *last = dot == std::string_view::npos;
    pos = *last ? key.size() : dot + 1;
    return seg;
  };
  bool last = false;
  // The key up to the end of the segment just read, for messages.
  auto prefix = [&]() { return key.substr(0, last ? key.size() : pos - 1); };
  for (;;) {
    std::string_view name = next_segment(&last);
    const FieldSpec* field = spec->Find(name);
    if (field == nullptr) {
      return Status(err::kUnknownParameter,
                    "The parameter " + QuotedName(prefix()) + " is not recognized.");
    }
    json& slot = (*node)[std::string(name)];
    FieldType type = field->type;
    json* target = &slot;
    if (type == FieldType::kList) {
      if (last) {
        return Status(err::kInvalidParameter,
                      "The parameter " + QuotedName(prefix()) + " is a list; name its elements " +
                          QuotedName(std::string(prefix()) + ".0") + ", " +
                          QuotedName(std::string(prefix()) + ".1") + ", ...");
      }
      std::string_view index_text = next_segment(&last);
      std::optional<size_t> index = ParseIndex(index_text);
      if (!index) {
        return Status(err::kInvalidParameter,
                      "The list index in parameter " + QuotedName(key) + " is not a number.");
      }
      if (*index >= kMaxListLength) {
        return Status(err::kInvalidParameterValue,
                      "The list index in parameter " + QuotedName(key) + " exceeds the limit of " +
                          std::to_string(kMaxListLength) + " elements.");
      }
      if (slot.is_null()) slot = json::array();
      auto& items = slot.get_ref<json::array_t&>();
      if (items.size() <= *index) items.resize(*index + 1);
      target = &items[*index];
      type = field->element_type;
    }
    if (type == FieldType::kObject) {
      if (last) {
        return Status(err::kInvalidParameter, "The parameter " + QuotedName(prefix()) +
                                                  " is an object; name its members, e.g. " +
                                                  QuotedName(std::string(prefix()) + ".<Member>") +
                                                  ".");
      }
      if (target->is_null()) *target = json::object();
      node = target;
      spec = field->object;
      continue;
    }
    if (!last) {
      return Status(err::kInvalidParameter, "The parameter " + QuotedName(prefix()) +
                                                " is of type " + std::string(FieldTypeName(type)) +
                                                " and has no members or elements.");
    }
    if (!target->is_null()) return Duplicate(key);
    *target = value;
    return Status::Ok();
  }
}

}  // namespace

std::string_view FieldTypeName(FieldType type) {
  switch (type) {
    case FieldType::kString:
      return "string";
    case FieldType::kInt64:
      return "int64";
    case FieldType::kUint64:
      return "uint64";
    case FieldType::kFloat:
      return "float";
    case FieldType::kBool:
      return "bool";
    case FieldType::kDatetime:
      return "datetime";
    case FieldType::kDatetimeIso:
      return "datetime_iso";
    case FieldType::kDate:
      return "date";
    case FieldType::kBinary:
      return "binary";
    case FieldType::kObject:
      return "object";
    case FieldType::kList:
      return "list";
  }
  return "unknown";
}

// ---------------------------------------------------------------------------------------------
// ApiSchema

const ApiSchema& ApiSchema::Embedded() {
  static const ApiSchema* const schema = [] {
    Result<std::unique_ptr<ApiSchema>> parsed = Parse(EmbeddedSchemaJson());
    if (!parsed.ok()) {
      // The blob is a build artifact checked by the unit tests; failing here is a broken build.
      std::fprintf(stderr, "embedded API schema: %s\n", parsed.status().ToString().c_str());
      std::abort();
    }
    return std::move(parsed).value().release();
  }();
  return *schema;
}

Result<std::unique_ptr<ApiSchema>> ApiSchema::Parse(std::string_view json_text) {
  json doc = json::parse(json_text.begin(), json_text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return SchemaError("not a JSON object");
  auto format = doc.find("format");
  if (format == doc.end() || !format->is_number_integer() || format->get<int64_t>() != 1) {
    return SchemaError("unsupported format");
  }
  auto services = doc.find("services");
  if (services == doc.end() || !services->is_object()) return SchemaError("no services");

  // Known services first, in kServiceOrder, so FindAction's preference is explicit.
  std::vector<std::string> names;
  for (const auto& [name, unused] : services->items()) names.push_back(name);
  auto rank = [](const std::string& n) {
    auto it = std::find(kServiceOrder.begin(), kServiceOrder.end(), n);
    return static_cast<size_t>(it - kServiceOrder.begin());
  };
  std::stable_sort(names.begin(), names.end(),
                   [&](const std::string& a, const std::string& b) { return rank(a) < rank(b); });

  std::unique_ptr<ApiSchema> schema(new ApiSchema());
  for (const std::string& service_name : names) {
    const json& sdoc = (*services)[service_name];
    if (!sdoc.is_object()) return SchemaError(service_name + ": not an object");
    auto svc = std::make_unique<Service>();
    svc->name = service_name;
    const std::string* version = StringMember(sdoc, "version");
    if (version == nullptr) return SchemaError(service_name + ": no version");
    svc->version = *version;
    auto objects = sdoc.find("objects");
    auto actions = sdoc.find("actions");
    if (objects == sdoc.end() || !objects->is_object() || actions == sdoc.end() ||
        !actions->is_object()) {
      return SchemaError(service_name + ": no objects or actions");
    }

    // Two passes: create every structure first so members can point at any of them.
    std::unordered_map<std::string_view, StructSpec*> mutable_structs;
    for (const auto& [name, unused] : objects->items()) {
      auto spec = std::make_unique<StructSpec>();
      spec->name = name;
      mutable_structs.emplace(spec->name, spec.get());
      svc->structs.emplace(spec->name, spec.get());
      svc->struct_storage.push_back(std::move(spec));
    }
    for (const auto& [name, members] : objects->items()) {
      StructSpec& spec = *mutable_structs.at(name);
      std::string where = service_name + " " + name;
      if (!members.is_array()) return SchemaError(where + ": members not a list");
      spec.fields.reserve(members.size());
      for (const json& m : members) {
        if (!m.is_object()) return SchemaError(where + ": member not an object");
        const std::string* mname = StringMember(m, "name");
        const std::string* mtype = StringMember(m, "type");
        const std::string* msub = StringMember(m, "member");
        if (mname == nullptr || mtype == nullptr) return SchemaError(where + ": bad member");
        FieldSpec field;
        field.name = *mname;
        auto req = m.find("required");
        field.required = req != m.end() && req->is_boolean() && req->get<bool>();
        auto resolve_object = [&](const std::string& object_name) -> const StructSpec* {
          auto it = svc->structs.find(object_name);
          return it == svc->structs.end() ? nullptr : it->second;
        };
        if (*mtype == "object") {
          field.type = field.element_type = FieldType::kObject;
          field.object = msub ? resolve_object(*msub) : nullptr;
          if (field.object == nullptr) return SchemaError(where + "." + *mname + ": bad object");
        } else if (*mtype == "list") {
          field.type = FieldType::kList;
          if (msub == nullptr) return SchemaError(where + "." + *mname + ": list without member");
          if (auto scalar = ParseScalarType(*msub)) {
            field.element_type = *scalar;
          } else {
            field.element_type = FieldType::kObject;
            field.object = resolve_object(*msub);
            if (field.object == nullptr) return SchemaError(where + "." + *mname + ": bad list");
          }
        } else if (auto scalar = ParseScalarType(*mtype)) {
          field.type = field.element_type = *scalar;
        } else {
          return SchemaError(where + "." + *mname + ": unknown type " + *mtype);
        }
        spec.fields.push_back(std::move(field));
      }
      for (size_t i = 0; i < spec.fields.size(); ++i) {
        if (!spec.by_name.emplace(spec.fields[i].name, &spec.fields[i]).second) {
          return SchemaError(where + ": duplicate member " + spec.fields[i].name);
        }
        if (spec.fields[i].required) spec.required.push_back(static_cast<uint32_t>(i));
      }
    }

    for (const auto& [name, adoc] : actions->items()) {
      if (!adoc.is_object()) return SchemaError(service_name + " " + name + ": bad action");
      const std::string* input = StringMember(adoc, "input");
      const std::string* output = StringMember(adoc, "output");
      auto in = input ? svc->structs.find(*input) : svc->structs.end();
      auto out = output ? svc->structs.find(*output) : svc->structs.end();
      if (in == svc->structs.end() || out == svc->structs.end()) {
        return SchemaError(service_name + " " + name + ": unknown input or output structure");
      }
      auto action = std::make_unique<ActionSpec>();
      action->service = svc->name;
      action->version = svc->version;
      action->name = name;
      action->input = in->second;
      action->output = out->second;
      svc->actions.emplace(action->name, action.get());
      svc->action_storage.push_back(std::move(action));
    }
    std::sort(svc->action_storage.begin(), svc->action_storage.end(),
              [](const auto& a, const auto& b) { return a->name < b->name; });
    for (const auto& action : svc->action_storage) {
      schema->action_list_.push_back(action.get());
      schema->actions_by_name_.emplace(action->name, action.get());  // first service wins
    }
    schema->services_.push_back(std::move(svc));
  }
  return schema;
}

const ApiSchema::Service* ApiSchema::FindService(std::string_view service) const {
  for (const auto& s : services_) {
    if (s->name == service) return s.get();
  }
  return nullptr;
}

const ActionSpec* ApiSchema::FindAction(std::string_view action) const {
  auto it = actions_by_name_.find(action);
  return it == actions_by_name_.end() ? nullptr : it->second;
}

const ActionSpec* ApiSchema::FindAction(std::string_view service, std::string_view action) const {
  const Service* s = FindService(service);
  if (s == nullptr) return nullptr;
  auto it = s->actions.find(action);
  return it == s->actions.end() ? nullptr : it->second;
}

const StructSpec* ApiSchema::FindStruct(std::string_view service, std::string_view name) const {
  const Service* s = FindService(service);
  if (s == nullptr) return nullptr;
  auto it = s->structs.find(name);
  return it == s->structs.end() ? nullptr : it->second;
}

std::string_view ApiSchema::ServiceVersion(std::string_view service) const {
  const Service* s = FindService(service);
  return s == nullptr ? std::string_view() : std::string_view(s->version);
}

// ---------------------------------------------------------------------------------------------

Status ValidateParams(const ActionSpec& action, nlohmann::json& params) {
  if (params.is_null()) params = json::object();
  if (!params.is_object()) {
    return Status(err::kInvalidParameter, "The request parameters must be a JSON object.");
  }
  return ValidateStruct(*action.input, params, nullptr);
}

Result<nlohmann::json> UnflattenParams(
    const ActionSpec& action, const std::vector<std::pair<std::string, std::string>>& flat) {
  json root = json::object();
  for (const auto& [key, value] : flat) {
    if (value.empty()) continue;  // SDKs send undefined properties as "Name=" (REFERENCE 1.6)
    if (IsCommonParam(key) && action.input->Find(key) == nullptr) continue;
    CVM_RETURN_IF_ERROR(PlaceFlatParam(*action.input, key, value, root));
  }
  CVM_RETURN_IF_ERROR(CheckNoGaps(root, nullptr));
  return root;
}

}  // namespace cvm::api
