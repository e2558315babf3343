import { INDEX_TYPES, MediaType } from './mediatypes.ts';

/** What a manifest holds, as users think of it: a container image, a multi-platform index, a Helm chart, or any other artifact. */
export type ArtifactKind = 'image' | 'index' | 'chart' | 'artifact';

export interface KindFields {
  mediaType: string;
  configMediaType: string | null;
  /** `artifactType`, or for image manifests without one their config media type (as stored). */
  artifactType: string | null;
}

/**
 * The one classification of manifests by media types: Helm config → chart; an image config with
 * no distinct artifactType → image (signatures and SBOMs on an image config with an explicit
 * artifactType are artifacts); an index without artifactType → index; anything else → artifact.
 */
export function artifactKind(m: KindFields): ArtifactKind {
  if (m.configMediaType === MediaType.HelmConfig) return 'chart';
  if (m.configMediaType === MediaType.OciConfig || m.configMediaType === MediaType.DockerConfig) {
    const explicit = m.artifactType && m.artifactType !== m.configMediaType;
    return explicit ? 'artifact' : 'image';
  }
  if (INDEX_TYPES.has(m.mediaType) && m.artifactType === null) return 'index';
  return 'artifact';
}
