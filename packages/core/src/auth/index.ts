export {
  isLoopbackAddress,
  mayUseVhost,
  USER_TAGS,
  type HashingAlgorithm,
  type TopicPermission,
  type UserAccount,
  type UserTag,
  type VhostPermissions,
} from './accounts.js';
export {
  Authenticator,
  GUEST_USER,
  type AuthAttempt,
  type AuthDoor,
  type AuthenticatorOptions,
  type AuthFailure,
  type AuthFailureReason,
  type AuthResult,
} from './authenticator.js';
export { HASHING_ALGORITHMS, hashPassword, isPasswordHash, verifyPasswordHash } from './password-hash.js';
export { Principal, type Permission, type ResourceKind, type TopicVariables } from './principal.js';
