import type { FastifyInstance } from 'fastify';
import { registerChartApiRoutes } from '../api/charts.ts';
import type { ChartRouteDeps } from './deps.ts';
import { registerMuseumRoutes } from './museum.ts';
import { registerChartRepoRoutes } from './repo.ts';

export type { ChartRouteDeps } from './deps.ts';

/** Every chart surface: the classic repository, the ChartMuseum API and /api/v1 chart views. */
export async function registerCharts(app: FastifyInstance, deps: ChartRouteDeps): Promise<void> {
  await app.register(async (repo) => registerChartRepoRoutes(repo, deps));
  await app.register(async (museum) => registerMuseumRoutes(museum, deps));
  await app.register(async (api) => registerChartApiRoutes(api, deps));
}
