// Types of src/index.js, over the generated OpenAPI types.
import type { components, paths } from './openapi.js';

export type { components, paths };
type S = components['schemas'];
type Ok<O> = O extends { responses: infer R }
  ? R extends { 200: { content: { 'application/json': infer T } } } ? T
    : R extends { 201: { content: { 'application/json': infer T } } } ? T : unknown
  : unknown;
type Json<P extends keyof paths, M extends keyof paths[P]> = Ok<paths[P][M]>;

export type LogQuery = paths['/api/paths/{path_id}/logs']['get']['parameters']['query'];
export type CaptureSummary = S['CaptureSummary'];
export type CaptureDetail = S['CaptureDetail'];

export declare class ApiError extends Error {
  status: number;
  code: string;
}

export interface ClientOptions {
  baseUrl: string;
  /** CL_API_TOKEN, sent as `Authorization: Bearer`. */
  token?: string;
  /** A private path's read token, sent as `X-Read-Token`. */
  readToken?: string;
  fetch?: typeof fetch;
}

export interface FollowOptions {
  onEvent?: (summary: CaptureSummary, id: string) => void;
  onOpen?: () => void;
  onError?: (error: unknown) => void;
  /** Resume after this capture id. */
  lastEventId?: string;
  signal?: AbortSignal;
}

export interface Client {
  request<T = unknown>(method: string, path: string, init?: {
    query?: Record<string, string | number | undefined>; body?: unknown; as?: 'json' | 'text'; signal?: AbortSignal;
  }): Promise<T>;
  createPath(body?: { path_id?: string }): Promise<Json<'/api/paths', 'post'>>;
  listPaths(): Promise<Json<'/api/paths', 'get'>>;
  getPath(id: string): Promise<Json<'/api/paths/{path_id}', 'get'>>;
  deletePath(id: string): Promise<void>;
  listLogs(id: string, query?: LogQuery): Promise<S['LogPage']>;
  getLog(id: string, requestId: string): Promise<CaptureDetail>;
  copyAs(id: string, requestId: string, kind?: 'curl' | 'httpie' | 'fetch', query?: { url?: string }): Promise<string>;
  /** Resolves with the last event id seen once `signal` aborts. */
  follow(pathId: string | null, options?: FollowOptions): Promise<string | undefined>;
}

export declare function createClient(options: ClientOptions): Client;
export declare function events(body: AsyncIterable<Uint8Array>): AsyncGenerator<{ id?: string; event?: string; data: string; retry?: number }>;
