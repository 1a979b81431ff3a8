/**
 * The OpenAPI 3.1 document of the HTTP door, generated from the REST table (routes.ts) and the
 * protocol table's zod schemas (z.toJSONSchema): what a route takes is its method's params
 * schema, what it answers its result schema, and every error is `{error: {code, message}}`
 * with a code of the closed set.
 */
import * as z from 'zod';
import { ERROR_CODES, HTTP_STATUS } from '../protocol/errors';
import { METHODS, type MethodName } from '../protocol/methods';
import { ROUTES } from './routes';

function schema(s: z.ZodType, io: 'input' | 'output'): unknown {
  try {
    const j = z.toJSONSchema(s, { unrepresentable: 'any', io }) as Record<string, unknown>;
    delete j.$schema;
    return j;
  } catch {
    return {};
  }
}

export function openApi(version: string): unknown {
  const paths: Record<string, Record<string, unknown>> = {};
  const errorRef = { $ref: '#/components/schemas/Error' };
  const errors = Object.fromEntries(
    [...new Set(ERROR_CODES.map((c) => HTTP_STATUS[c]))].map((s) => [String(s), { description: ERROR_CODES.filter((c) => HTTP_STATUS[c] === s).join(', '), content: { 'application/json': { schema: errorRef } } }]),
  );
  const add = (p: string, verb: string, op: Record<string, unknown>): void => {
    const oaPath = p.replace(/:([a-z]+)/g, '{$1}');
    const params = [...p.matchAll(/:([a-z]+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    (paths[oaPath] ??= {})[verb.toLowerCase()] = { ...op, ...(params.length ? { parameters: params } : {}), security: [{ signed: [] }, { token: [] }], responses: { ...(op.responses as object), ...errors } };
  };
  for (const r of ROUTES) {
    const m = r.method === 'list_all' ? 'list' : r.method;
    const def = METHODS[m as MethodName];
    const body = r.verb === 'POST' && (r.method === 'exec' || r.method === 'apply') ? { requestBody: { required: true, content: { 'application/json': { schema: schema(def.params, 'input') } } } } : {};
    const result = r.method === 'list_all' ? { type: 'object', properties: { processes: schema(METHODS.table.result.shape.processes, 'output') } } : schema(def.result, 'output');
    add(r.path, r.verb, { summary: r.summary, operationId: `${r.verb.toLowerCase()}${r.path.replace(/[/:](\w)/g, (_x, c: string) => c.toUpperCase())}`, ...body, responses: { 200: { description: 'OK', content: { 'application/json': { schema: result } } } } });
  }
  for (const [name, def] of Object.entries(METHODS)) {
    add(`/v1/rpc/${name}`, 'POST', {
      summary: `protocol method ${name} (NDJSON when it streams: data events, then {ok, result})`,
      operationId: `rpc_${name}`,
      requestBody: { required: false, content: { 'application/json': { schema: schema(def.params, 'input') } } },
      responses: { 200: { description: 'OK', content: { 'application/json': { schema: { type: 'object', properties: { ok: { type: 'boolean' }, result: schema(def.result, 'output') } } } } } },
    });
  }
  add('/v1/events', 'GET', { summary: 'state transitions as they happen (NDJSON, or SSE with Accept: text/event-stream)', responses: { 200: { description: 'a stream' } } });
  add('/metrics', 'GET', { summary: 'Prometheus metrics', responses: { 200: { description: 'text exposition format', content: { 'text/plain': {} } } } });
  add('/v1/whoami', 'GET', { summary: 'the key this request was authenticated as, its role and the actions it may do', responses: { 200: { description: 'OK' } } });
  const doc = {
    openapi: '3.1.0',
    info: { title: 'pmond HTTP API', version },
    paths,
    components: {
      schemas: { Error: { type: 'object', required: ['error'], properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { enum: [...ERROR_CODES] }, message: { type: 'string' } } } } } },
      securitySchemes: {
        signed: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'Pmon3-Ed25519 key=ID, ts=MS, nonce=N, sig=SIG over "PMON3-V1\\nMETHOD\\nPATH?QUERY\\nSHA256(BODY) hex\\nTS\\nNONCE" (README "HTTP API")' },
        token: { type: 'http', scheme: 'bearer', description: 'from POST /v1/auth/login with a signed challenge' },
      },
    },
  };
  return doc;
}
