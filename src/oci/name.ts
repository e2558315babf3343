import { RegistryError } from '../errors.ts';
import type { Brand } from './brand.ts';
import { type Digest, parseDigest } from './digest.ts';

/** A validated repository name, e.g. `acme/charts/web`. */
export type RepoName = Brand<string, 'RepoName'>;
/** A validated tag, e.g. `1.0.0`. */
export type Tag = Brand<string, 'Tag'>;
export type Reference = { kind: 'tag'; tag: Tag } | { kind: 'digest'; digest: Digest };

// OCI Distribution Spec name grammar, with the 255-character limit clients enforce.
const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const NAME = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
export const MAX_NAME_LENGTH = 255;

export function parseRepoName(value: string): RepoName {
  if (value.length === 0 || value.length > MAX_NAME_LENGTH || !NAME.test(value)) {
    throw new RegistryError('NAME_INVALID', 'invalid repository name', { name: value });
  }
  return value as RepoName;
}

export function isRepoName(value: string): boolean {
  return value.length > 0 && value.length <= MAX_NAME_LENGTH && NAME.test(value);
}

export function parseTag(value: string): Tag {
  if (!TAG.test(value)) {
    throw new RegistryError('TAG_INVALID', 'invalid tag', { tag: value });
  }
  return value as Tag;
}

/** A manifest reference is a digest when it contains ':', otherwise a tag. */
export function parseReference(value: string): Reference {
  if (value.includes(':')) return { kind: 'digest', digest: parseDigest(value) };
  return { kind: 'tag', tag: parseTag(value) };
}

export function referenceString(ref: Reference): string {
  return ref.kind === 'tag' ? ref.tag : ref.digest;
}

/** The owner of a repository is its first path segment (a user or an organization). */
export function ownerOf(name: RepoName): string {
  const idx = name.indexOf('/');
  return idx === -1 ? name : name.slice(0, idx);
}
