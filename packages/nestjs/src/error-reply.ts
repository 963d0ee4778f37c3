import { HttpException } from '@nestjs/common';
import { BaseRpcExceptionFilter, RpcException } from '@nestjs/microservices';
import { throwError, type Observable } from 'rxjs';
import { ConveyorContext } from './conveyor-context.js';
import { NonRetryableError, type ErrorReply } from './errors.js';

/**
 * Permanent failures: retrying cannot help, so the message is dead-lettered at once.
 * A marked error, a 4xx HttpException (ValidationPipe's BadRequestException), an RpcException,
 * or a body that could not be decoded.
 */
export function isNonRetryable(err: unknown): boolean {
  if (err instanceof NonRetryableError || err instanceof RpcException || err instanceof SyntaxError)
    return true;
  if (err instanceof HttpException) return err.getStatus() >= 400 && err.getStatus() < 500;
  return false;
}

/** The error as a reply or a dead-letter reason can carry it. */
export function describeError(err: unknown): ErrorReply {
  if (err instanceof HttpException) {
    const response = err.getResponse();
    const details = typeof response === 'object' ? response : undefined;
    return { name: err.name, message: messageOf(err, details), status: err.getStatus(), details };
  }
  if (err instanceof RpcException) {
    const error = err.getError();
    return { name: err.name, message: typeof error === 'string' ? error : err.message, details: error };
  }
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { name: err.name, message: err.message, ...(typeof code === 'string' ? { errorCode: code } : {}) };
  }
  if (err !== null && typeof err === 'object') {
    const message = (err as { message?: unknown }).message;
    return {
      name: 'Error',
      message: typeof message === 'string' ? message : JSON.stringify(err),
      details: err,
    };
  }
  return { name: 'Error', message: String(err) };
}

/** One line for a dead-letter reason: `BadRequestException: name must be a string`. */
export function reasonOf(err: unknown): string {
  const d = describeError(err);
  return `${d.name}: ${d.message}`;
}

/** Validation messages are an array in the response; join them rather than show "Bad Request Exception". */
function messageOf(err: HttpException, details: object | undefined): string {
  const inner = (details as { message?: unknown } | undefined)?.message;
  if (Array.isArray(inner)) return inner.map(String).join('; ');
  if (typeof inner === 'string') return inner;
  return err.message;
}

let installed = false;

/**
 * Nest's default RPC exception filter turns every error it does not know into
 * `{ status: 'error', message: 'Internal server error' }`, so a transport cannot tell a validation
 * failure from a crash, nor report the error as a dead-letter reason. For Conveyor handlers only
 * (recognised by their `ConveyorContext` argument) the default filter passes the original exception
 * on; user filters still run first and whatever they throw is what we see.
 */
export function keepOriginalExceptions(): void {
  if (installed) return;
  installed = true;
  const proto = BaseRpcExceptionFilter.prototype as unknown as {
    catch: (exception: unknown, host: { getArgByIndex(i: number): unknown }) => Observable<never>;
  };
  const original = proto.catch;
  proto.catch = function (this: unknown, exception, host) {
    const ctx = host.getArgByIndex(1);
    if (ctx instanceof ConveyorContext) return throwError(() => exception);
    return original.call(this, exception, host);
  };
}
