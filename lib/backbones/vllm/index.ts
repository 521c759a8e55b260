export type * from './protocol.js';
export { VllmPoolingClient } from './client.js';
export type { PooledOutput, VllmClientOptions } from './client.js';
export { VllmSteps } from './steps.js';
