// Every Tencent error code the daemon answers with, in one registry (ClickHouse ErrorCodes style).
// Use these constants instead of string literals so a typo cannot invent a new code.
#pragma once

#include <string_view>

namespace cvm::err {

// Common codes of every service.
inline constexpr std::string_view kAuthFailureInvalidSecretId = "AuthFailure.InvalidSecretId";
inline constexpr std::string_view kAuthFailureMFAFailure = "AuthFailure.MFAFailure";
inline constexpr std::string_view kAuthFailureSecretIdNotFound = "AuthFailure.SecretIdNotFound";
inline constexpr std::string_view kAuthFailureSignatureExpire = "AuthFailure.SignatureExpire";
inline constexpr std::string_view kAuthFailureSignatureFailure = "AuthFailure.SignatureFailure";
inline constexpr std::string_view kAuthFailureTokenFailure = "AuthFailure.TokenFailure";
inline constexpr std::string_view kAuthFailureUnauthorizedOperation =
    "AuthFailure.UnauthorizedOperation";
inline constexpr std::string_view kDryRunOperation = "DryRunOperation";
inline constexpr std::string_view kFailedOperation = "FailedOperation";
inline constexpr std::string_view kInternalError = "InternalError";
inline constexpr std::string_view kInvalidAction = "InvalidAction";
inline constexpr std::string_view kInvalidParameter = "InvalidParameter";
inline constexpr std::string_view kInvalidParameterValue = "InvalidParameterValue";
inline constexpr std::string_view kInvalidParameterCombination = "InvalidParameterCombination";
inline constexpr std::string_view kLimitExceeded = "LimitExceeded";
inline constexpr std::string_view kMissingParameter = "MissingParameter";
inline constexpr std::string_view kNoSuchVersion = "NoSuchVersion";
inline constexpr std::string_view kRequestLimitExceeded = "RequestLimitExceeded";
inline constexpr std::string_view kRequestSizeLimitExceeded = "RequestSizeLimitExceeded";
inline constexpr std::string_view kResourceInUse = "ResourceInUse";
inline constexpr std::string_view kResourceInsufficient = "ResourceInsufficient";
inline constexpr std::string_view kResourceNotFound = "ResourceNotFound";
inline constexpr std::string_view kResourceUnavailable = "ResourceUnavailable";
inline constexpr std::string_view kUnauthorizedOperation = "UnauthorizedOperation";
inline constexpr std::string_view kUnknownParameter = "UnknownParameter";
inline constexpr std::string_view kUnsupportedOperation = "UnsupportedOperation";
inline constexpr std::string_view kUnsupportedProtocol = "UnsupportedProtocol";
inline constexpr std::string_view kUnsupportedRegion = "UnsupportedRegion";
inline constexpr std::string_view kInvalidFilter = "InvalidFilter";

// CVM instance codes.
inline constexpr std::string_view kInvalidInstanceIdNotFound = "InvalidInstanceId.NotFound";
inline constexpr std::string_view kInvalidDiskIdNotFound = "InvalidDiskId.NotFound";
inline constexpr std::string_view kInvalidInstanceIdMalformed = "InvalidInstanceId.Malformed";
inline constexpr std::string_view kInvalidZoneMismatchRegion = "InvalidZone.MismatchRegion";
inline constexpr std::string_view kInvalidInstanceTypeUnsupported =
    "InvalidInstanceType.Unsupported";
inline constexpr std::string_view kOperationDeniedInstanceOperationInProgress =
    "OperationDenied.InstanceOperationInProgress";

// CAM codes.
inline constexpr std::string_view kCamPolicyDocumentError = "InvalidParameter.PolicyDocumentError";
inline constexpr std::string_view kCamPolicyDocumentLengthOverLimit =
    "InvalidParameter.PolicyDocumentLengthOverLimit";
inline constexpr std::string_view kCamVersionError = "InvalidParameter.VersionError";
inline constexpr std::string_view kCamStatementError = "InvalidParameter.StatementError";
inline constexpr std::string_view kCamEffectError = "InvalidParameter.EffectError";
inline constexpr std::string_view kCamActionError = "InvalidParameter.ActionError";
inline constexpr std::string_view kCamActionNotExist = "InvalidParameter.ActionNotExist";
inline constexpr std::string_view kCamResourceError = "InvalidParameter.ResourceError";
inline constexpr std::string_view kCamConditionError = "InvalidParameter.ConditionError";
inline constexpr std::string_view kCamConditionTypeError = "InvalidParameter.ConditionTypeError";
inline constexpr std::string_view kCamPrincipalError = "InvalidParameter.PrincipalError";
inline constexpr std::string_view kCamPolicyNameError = "InvalidParameter.PolicyNameError";
inline constexpr std::string_view kCamPolicyNameInUse = "FailedOperation.PolicyNameInUse";
inline constexpr std::string_view kCamPolicyFull = "FailedOperation.PolicyFull";
inline constexpr std::string_view kCamPolicyIdNotFound = "ResourceNotFound.PolicyIdNotFound";
inline constexpr std::string_view kCamPolicyIdNotExist = "InvalidParameter.PolicyIdNotExist";
inline constexpr std::string_view kCamScopeError = "InvalidParameter.ScopeError";
inline constexpr std::string_view kCamDescriptionLengthOverlimit =
    "InvalidParameter.DescriptionLengthOverlimit";
inline constexpr std::string_view kCamUserNotExist = "ResourceNotFound.UserNotExist";
inline constexpr std::string_view kCamUserNameIllegal = "InvalidParameter.UserNameIllegal";
inline constexpr std::string_view kCamSubUserNameInUse = "InvalidParameter.SubUserNameInUse";
inline constexpr std::string_view kCamSubUserFull = "InvalidParameter.SubUserFull";
inline constexpr std::string_view kCamGroupNameInUse = "InvalidParameter.GroupNameInUse";
inline constexpr std::string_view kCamGroupFull = "InvalidParameter.GroupFull";
inline constexpr std::string_view kCamGroupNotExist = "InvalidParameter.GroupNotExist";
inline constexpr std::string_view kCamGroupNotExistResource = "ResourceNotFound.GroupNotExist";
inline constexpr std::string_view kCamUserUinAndUinNotAllNull =
    "InvalidParameter.UserUinAndUinNotAllNull";
inline constexpr std::string_view kCamHaveKeys = "OperationDenied.HaveKeys";
inline constexpr std::string_view kCamAccessKeyOverLimit = "OperationDenied.AccessKeyOverLimit";
inline constexpr std::string_view kCamSubUin = "OperationDenied.SubUin";
inline constexpr std::string_view kCamUinNotMatch = "OperationDenied.UinNotMatch";
inline constexpr std::string_view kCamSecretNotExist = "ResourceNotFound.SecretNotExist";
inline constexpr std::string_view kCamInvalidUserNotExist = "InvalidParameter.UserNotExist";
inline constexpr std::string_view kCamAttachmentFull = "InvalidParameter.AttachmentFull";
inline constexpr std::string_view kCamUnmodifiable = "FailedOperation.Unmodifiable";

}  // namespace cvm::err
