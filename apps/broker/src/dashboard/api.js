// The management API client: HTTP Basic credentials kept in sessionStorage (gone when the tab closes).
/* global fetch, sessionStorage, btoa, TextEncoder */

const CREDENTIALS_KEY = 'conveyor.credentials';

export class ApiError extends Error {
  /** @param {number} status @param {string} message */
  constructor(status, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

/** @returns {{ username: string, authorization: string } | undefined} */
export function savedCredentials() {
  const raw = sessionStorage.getItem(CREDENTIALS_KEY);
  if (!raw) return undefined;
  try {
    const parsed = JSON.parse(raw);
    return typeof parsed.username === 'string' && typeof parsed.authorization === 'string'
      ? parsed
      : undefined;
  } catch {
    return undefined;
  }
}

/** @param {string} username @param {string} password */
export function saveCredentials(username, password) {
  // btoa only takes Latin-1: encode the UTF-8 bytes first.
  const bytes = new TextEncoder().encode(`${username}:${password}`);
  const authorization = `Basic ${btoa(String.fromCharCode(...bytes))}`;
  sessionStorage.setItem(CREDENTIALS_KEY, JSON.stringify({ username, authorization }));
}

export function forgetCredentials() {
  sessionStorage.removeItem(CREDENTIALS_KEY);
}

/** `/` → `%2F`, as the API expects in paths. */
export function queuePath(vhost, name) {
  return `/api/queues/${encodeURIComponent(vhost)}/${encodeURIComponent(name)}`;
}

/**
 * Calls the API with the saved credentials; resolves to the parsed JSON body (undefined when empty).
 * @param {string} path @param {{ method?: string, body?: unknown }} [options]
 */
export async function api(path, { method = 'GET', body } = {}) {
  const headers = { accept: 'application/json' };
  const credentials = savedCredentials();
  if (credentials) headers.authorization = credentials.authorization;
  // Every change says JSON (bodiless DELETEs too): the API refuses others, as a cross-site form would send.
  if (method !== 'GET') headers['content-type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      // We send Authorization ourselves; 'omit' also keeps the browser's own login prompt away on a 401.
      credentials: 'omit',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, `The broker is unreachable (${err instanceof Error ? err.message : String(err)}).`);
  }
  const text = await response.text();
  if (!response.ok) throw new ApiError(response.status, errorMessage(response, text));
  return text === '' ? undefined : JSON.parse(text);
}

function errorMessage(response, text) {
  let detail = text.trim();
  try {
    const parsed = JSON.parse(text);
    detail = parsed.reason ?? parsed.message ?? parsed.error ?? detail;
  } catch {
    // not JSON: keep the text
  }
  if (response.status === 401) return 'The broker did not accept these credentials.';
  return `${response.status} ${response.statusText}${detail ? `: ${detail}` : ''}`;
}
