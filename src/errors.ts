/**
 * The one error type of Wharf. Stores and services throw RegistryError with a spec code;
 * only http/ maps codes to statuses (see http/errors.ts), so no inner layer knows HTTP.
 */
export const ERROR_CODES = [
  // OCI Distribution Spec error codes
  'BLOB_UNKNOWN',
  'BLOB_UPLOAD_INVALID',
  'BLOB_UPLOAD_UNKNOWN',
  'DIGEST_INVALID',
  'MANIFEST_BLOB_UNKNOWN',
  'MANIFEST_INVALID',
  'MANIFEST_UNKNOWN',
  'NAME_INVALID',
  'NAME_UNKNOWN',
  'SIZE_INVALID',
  'UNAUTHORIZED',
  'DENIED',
  'UNSUPPORTED',
  'TOOMANYREQUESTS',
  // Internal refinements: http/errors.ts sends them as a spec code with a specific status
  'RANGE_INVALID',
  'RANGE_NOT_SATISFIABLE',
  'PAGINATION_NUMBER_INVALID',
  'TAG_INVALID',
  'MANIFEST_TOO_LARGE',
  'BODY_TOO_LARGE',
  'ROUTE_UNKNOWN',
  'METHOD_NOT_ALLOWED',
  /** Deleting a manifest that a remaining index of the repository lists (sent as DENIED, 409). */
  'MANIFEST_REFERENCED',
  // Non-registry API surfaces (/api, /charts, /token)
  'NOT_FOUND',
  'CONFLICT',
  'BAD_REQUEST',
  'UNAVAILABLE',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class RegistryError extends Error {
  readonly code: ErrorCode;
  readonly detail: unknown;

  constructor(code: ErrorCode, message: string, detail?: unknown) {
    super(message);
    this.name = 'RegistryError';
    this.code = code;
    this.detail = detail;
  }
}
