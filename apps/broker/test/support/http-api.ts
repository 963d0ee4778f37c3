// A thin fetch wrapper for tests of the management API of a spawned broker.
export interface ApiAnswer<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

export interface Api {
  base: string;
  call<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    auth?: string | null,
  ): Promise<ApiAnswer<T>>;
}

export const GUEST = `Basic ${Buffer.from('guest:guest').toString('base64')}`;

export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** `auth` null = no Authorization header; default guest/guest. */
export function api(port: number, defaultAuth: string = GUEST): Api {
  const base = `http://127.0.0.1:${port}`;
  return {
    base,
    async call<T>(method: string, path: string, body?: unknown, auth: string | null = defaultAuth) {
      const response = await fetch(base + path, {
        method,
        headers: {
          ...(auth === null ? {} : { Authorization: auth }),
          ...(method === 'GET' ? {} : { 'Content-Type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      const text = await response.text();
      const type = response.headers.get('content-type') ?? '';
      return {
        status: response.status,
        body: (type.includes('json') && text !== '' ? JSON.parse(text) : text) as T,
        headers: response.headers,
      };
    },
  };
}
