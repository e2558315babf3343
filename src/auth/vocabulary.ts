/**
 * The words access is decided in. They belong to auth (the policy reasons in them); the stores
 * keep them, so this file sits below both and imports nothing.
 */
export type Visibility = 'public' | 'internal' | 'private';
export type PackageRole = 'read' | 'write' | 'admin';
