import type { Logger } from 'pino';
import type { ChartParser } from '../../charts/parser.ts';
import type { Metadata } from '../../metadata/metadata.ts';
import type { BlobStore } from '../../storage/types.ts';
import type { RegistryEventBus } from '../events.ts';
import type { TagPolicy } from '../policies/tag-policy.ts';
import type { RegistryService } from '../registry.ts';
import type { UploadService } from '../uploads.ts';
import { ChartCatalog } from './catalog.ts';
import { ClassicIndex } from './classic-index.ts';
import { ChartIndexer } from './indexer.ts';
import { ChartMuseum } from './museum.ts';

/**
 * Helm charts on top of the artifact-agnostic registry, in four parts: the indexer turns pushed
 * charts into records, the catalog answers which versions a chart has, the classic index serves
 * index.yaml and its archives, and the museum is the ChartMuseum API. See docs/helm.md.
 */
export interface ChartServices {
  indexer: ChartIndexer;
  catalog: ChartCatalog;
  index: ClassicIndex;
  museum: ChartMuseum;
}

export interface ChartServiceDeps {
  metadata: Metadata;
  registry: RegistryService;
  uploads: UploadService;
  blobs: BlobStore;
  events: RegistryEventBus;
  clock: () => number;
  log: Logger;
  /** Whether a chart version may be replaced (ADR 0013). */
  tagPolicy: TagPolicy;
  /** Where rendered index.yaml files are kept per generation; null streams every response from the database. */
  indexCacheDir: string | null;
  /** Reads chart archives off the event loop, with their cost bounded. */
  parser: ChartParser;
  /** Largest chart archive read (an OCI chart layer; uploads are capped by the HTTP layer). */
  maxArchiveBytes: number;
}

/** The four chart services over one set of stores; call `indexer.listen()` to follow pushes. */
export function createChartServices(deps: ChartServiceDeps): ChartServices {
  const { metadata, registry, clock } = deps;
  const indexer = new ChartIndexer({
    metadata,
    registry,
    blobs: deps.blobs,
    events: deps.events,
    clock,
    log: deps.log,
    parser: deps.parser,
    maxArchiveBytes: deps.maxArchiveBytes,
  });
  const catalog = new ChartCatalog({ metadata });
  const index = new ClassicIndex({ metadata, registry, indexCacheDir: deps.indexCacheDir });
  const museum = new ChartMuseum({ metadata, registry, uploads: deps.uploads, clock, tagPolicy: deps.tagPolicy, parser: deps.parser, catalog, indexer });
  return { indexer, catalog, index, museum };
}
