import type { IncomingMessage } from 'node:http';
import type { Permission, Principal, ResourceKind } from '@conveyor/core';
import { badRequest, HttpError } from './http-errors.js';

/** What a route handler sees: decoded path parameters, query, and the JSON body on demand. */
export interface ApiRequest {
  readonly method: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** The JSON body as an object (`{}` when empty); 400 when it is not a JSON object. */
  body(): Promise<Record<string, unknown>>;
  /** True once the client went away (a long-poll receive must not keep what it took). */
  readonly aborted: () => boolean;
  /**
   * Whether the authenticated user may see and use this vhost (its `vhosts`; absent: every one).
   * `undefined` (a connection not in a vhost yet): only a user of every vhost.
   */
  readonly mayUse: (vhost: string | undefined) => boolean;
  /** Who asked: for permission checks that depend on the body (a publish's routing key). */
  readonly principal: Principal;
}

export interface ApiResult {
  status?: number;
  body: unknown;
}

export type Handler = (request: ApiRequest) => Promise<ApiResult>;

export interface Route {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  /** Segments; `:name` captures one URL-decoded segment (so `%2F` is the vhost `/`). */
  path: string;
  handler: Handler;
  /** The permission the user needs on the `:name` queue or exchange of `:vhost` (RabbitMQ's model). */
  access?: { permission: Permission; kind: ResourceKind };
  /** Only for users tagged administrator. */
  administratorOnly?: boolean;
  /** Only for users tagged policymaker or administrator. */
  policymakerOnly?: boolean;
}

export interface Match {
  route: Route;
  params: Record<string, string>;
}

/** Finds the route for a path; 404 for no path match, 405 when only the method differs. */
export function matchRoute(routes: readonly Route[], method: string, segments: readonly string[]): Match {
  let pathMatched = false;
  for (const route of routes) {
    const pattern = route.path.split('/').filter(Boolean);
    if (pattern.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const ok = pattern.every((part, i) => {
      const segment = segments[i]!;
      if (part.startsWith(':')) {
        params[part.slice(1)] = segment;
        return true;
      }
      return part === segment;
    });
    if (!ok) continue;
    pathMatched = true;
    if (route.method === method) return { route, params };
  }
  if (pathMatched) throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${method} is not allowed here`);
  throw new HttpError(404, 'NOT_FOUND', 'no such endpoint');
}

export function decodeSegments(pathname: string): string[] {
  try {
    return pathname
      .split('/')
      .filter(Boolean)
      .map((s) => decodeURIComponent(s));
  } catch {
    throw badRequest('the path is not valid URL encoding');
  }
}

/** Reads a JSON object body of at most `limit` bytes. */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit)
      throw new HttpError(413, 'PAYLOAD_TOO_LARGE', `request body larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badRequest('the request body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw badRequest('the request body must be a JSON object');
  return value as Record<string, unknown>;
}
