import createClient, { type Client } from 'openapi-fetch';
import type { components, operations, paths } from './runnerhub-api';

/**
 * A typed RunnerHub client generated from docs/openapi.json (`npm run client:generate`): paths, parameters, bodies
 * and responses are checked by the compiler, so a test that drifts from the published contract does not compile.
 */
export type RunnerHubClient = Client<paths>;
export type Schemas = components['schemas'];
export type Operations = operations;

export function createRunnerHubClient(baseUrl: string, apiKey: string): RunnerHubClient {
  return createClient<paths>({ baseUrl, headers: { authorization: `Bearer ${apiKey}` } });
}
