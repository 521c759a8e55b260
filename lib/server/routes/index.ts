// Every route of the service but the RL reward ones and the page: operations, model info,
// prmkit's own scoring, and the vLLM-compatible APIs (pooling, tokenize, score, rerank,
// invocations).
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { registerInfo } from './info.js';
import { registerInvocations } from './invocations.js';
import { registerOps } from './ops.js';
import { registerPooling } from './pooling.js';
import { registerPrmRerank } from './prm-rerank.js';
import { registerPrmScore } from './prm-score.js';
import { registerRerank } from './rerank.js';
import { registerScore } from './score.js';
import { registerTokenize } from './tokenize.js';

export function registerRoutes(app: FastifyInstance, ctx: ServerContext): void {
  registerOps(app, ctx);
  registerInfo(app, ctx);
  registerPrmScore(app, ctx);
  registerPrmRerank(app, ctx);
  const pooling = registerPooling(app, ctx);
  const score = registerScore(app, ctx);
  const rerank = registerRerank(app, ctx);
  registerTokenize(app, ctx);
  registerInvocations(app, { pooling, score, rerank });
}
