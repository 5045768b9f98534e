/**
 * What a route asks of its caller:
 * - `public`: nothing (health, probes, the contract, the dashboard page, which holds no data);
 * - `signature`: a webhook signature, checked by the webhook route itself, never an operator key;
 * - `status`: public, or `read` when STATUS_REQUIRES_KEY=true (the id is the capability);
 * - `read` / `operate`: an operator key with that role (operate includes read);
 * - `metrics`: a read key or METRICS_TOKEN.
 */
export type Access = 'public' | 'signature' | 'status' | 'read' | 'operate' | 'metrics';

export type JsonObject = Record<string, unknown>;

/**
 * One route a resource's router serves: the access guard looks requests up by method and path,
 * the OpenAPI document is assembled from the operations, and a test holds the routes each router
 * serves equal to the ones it declares.
 */
export interface ApiRoute {
  method: 'GET' | 'POST';
  /** Express path syntax (`:name` for a parameter). */
  path: string;
  access: Access;
  /** Its OpenAPI operation; the security requirement and 401/403 answers are added from `access`. */
  operation: JsonObject;
}

/** What a resource declares besides its router: its routes and the OpenAPI schemas they name. */
export interface ApiResource {
  /** More specific paths first: `POST /v1/transactions/retry` before `/:transaction_id`. */
  routes: readonly ApiRoute[];
  /** `components.schemas` entries its operations reference. */
  schemas?: Record<string, JsonObject>;
}
