// The operator commands' side of the management API: one JSON request, one typed failure.

/** A request the broker refused, or one that never reached it; `message` is the line to print. */
export class AdminError extends Error {
  constructor(
    message: string,
    /** HTTP status, or 0 when the broker could not be reached. */
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
    this.name = 'AdminError';
  }
}

export interface AdminClientOptions {
  url: string;
  user: string;
  password: string;
  /** Per request; a long-poll receive adds its wait. Default 30 s. */
  timeoutMs?: number;
}

export class AdminClient {
  readonly #base: string;
  readonly #authorization: string;

  constructor(private readonly options: AdminClientOptions) {
    this.#base = options.url.replace(/\/+$/, '');
    this.#authorization = `Basic ${Buffer.from(`${options.user}:${options.password}`).toString('base64')}`;
  }

  /** `path` segments are URL-encoded here, so a vhost `/` becomes `%2F` as the API expects. */
  static path(...segments: string[]): string {
    return segments.map((s, i) => (i === 0 ? s : encodeURIComponent(s))).join('/');
  }

  async request<T>(method: string, path: string, body?: unknown, extraTimeoutMs = 0): Promise<T> {
    let response: Response;
    try {
      response = await fetch(this.#base + path, {
        method,
        headers: {
          Authorization: this.#authorization,
          // Every change says JSON, bodiless DELETEs too: the API refuses others (cross-site form posts).
          ...(method === 'GET' ? {} : { 'Content-Type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout((this.options.timeoutMs ?? 30_000) + extraTimeoutMs),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const reason = cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
      throw new AdminError(`cannot reach the broker at ${this.#base}: ${reason}`, 0, 'UNREACHABLE');
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new AdminError(
        `${this.#base} answered ${response.status} with something that is not JSON: is it a Conveyor broker?`,
        response.status,
        'NOT_JSON',
      );
    }
    if (!response.ok) {
      const { error, reason } = (json ?? {}) as { error?: string; reason?: string };
      const hint =
        response.status === 401 ? ' (set --user/--password or CONVEYOR_USER/CONVEYOR_PASSWORD)' : '';
      throw new AdminError(
        `${response.status} ${error ?? 'ERROR'}: ${reason ?? response.statusText}${hint}`,
        response.status,
        error ?? 'ERROR',
      );
    }
    return json as T;
  }
}
