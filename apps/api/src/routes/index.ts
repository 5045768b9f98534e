import { dashboardResource } from './dashboard';
import { healthResource } from './health';
import { metricsResource } from './metrics';
import { openApiResource } from './openapi';
import type { ApiResource, ApiRoute } from './route';
import { statsResource } from './stats';
import { transactionsResource } from './transactions';
import { webhooksResource } from './webhooks';

/** Every resource the API serves, each with its own router (app.ts mounts them). */
export const API_RESOURCES: readonly ApiResource[] = [
  healthResource,
  openApiResource,
  dashboardResource,
  webhooksResource,
  metricsResource,
  statsResource,
  transactionsResource,
];

/** Every route of every resource: the access table and the OpenAPI paths are built from it. */
export const API_ROUTES: readonly ApiRoute[] = API_RESOURCES.flatMap((resource) => resource.routes);

export { dashboardRouter } from './dashboard';
export { healthRouter } from './health';
export { metricsRouter } from './metrics';
export { openApiRouter } from './openapi';
export { statsRouter } from './stats';
export { transactionsRouter } from './transactions';
export { webhooksRouter } from './webhooks';
