/**
 * Joins frames into commands: a method, or a content method (basic.publish, …) with its header and body.
 * Keeps one in-progress content per channel and enforces the frame order the spec requires; out-of-order
 * frames raise `AmqpFrameError` 505 UNEXPECTED_FRAME (a connection error). Pure: no timers, no I/O.
 */
import { AmqpFrameError } from './errors.js';
import type { AmqpFrame, HeaderFrame } from './frames.js';
import { findMethodSpec } from './methods.js';
import type { AmqpMethod, BasicProperties } from './spec.generated.js';

export interface MethodCommand {
  type: 'method';
  channel: number;
  method: AmqpMethod;
}

export interface ContentCommand {
  type: 'content';
  channel: number;
  /** A method the spec marks as carrying content (basic.publish from clients). */
  method: AmqpMethod;
  properties: BasicProperties;
  /** Property flags + list as received, for lossless forwarding (a view of the input: copy it to keep it). */
  propertyBytes: Buffer;
  /** Owned by the command: never a view into a larger socket chunk. */
  body: Buffer;
}

export interface HeartbeatCommand {
  type: 'heartbeat';
}

export type AmqpCommand = MethodCommand | ContentCommand | HeartbeatCommand;

interface PendingContent {
  method: AmqpMethod;
  header: HeaderFrame | null;
  parts: Buffer[];
  received: number;
}

export class CommandAssembler {
  private readonly pending = new Map<number, PendingContent>();

  /** Feed one frame; returns the completed command, or null while a content is still arriving. */
  push(frame: AmqpFrame): AmqpCommand | null {
    switch (frame.type) {
      case 'method':
        return this.onMethod(frame.channel, frame.method);
      case 'header':
        return this.onHeader(frame);
      case 'body':
        return this.onBody(frame.channel, frame.payload);
      case 'heartbeat':
        return { type: 'heartbeat' };
    }
  }

  /** Forget a channel's partial content (after channel.close / close-ok). */
  resetChannel(channel: number): void {
    this.pending.delete(channel);
  }

  private onMethod(channel: number, method: AmqpMethod): AmqpCommand | null {
    const open = this.pending.get(channel);
    if (open !== undefined) {
      throw unexpected(
        channel,
        open.method,
        `expected ${open.header === null ? 'a content header' : 'a content body'} for ${open.method.name}, got method ${method.name}`,
      );
    }
    if (findMethodSpec(method.classId, method.methodId)?.content) {
      this.pending.set(channel, { method, header: null, parts: [], received: 0 });
      return null;
    }
    return { type: 'method', channel, method };
  }

  private onHeader(frame: HeaderFrame): AmqpCommand | null {
    const open = this.pending.get(frame.channel);
    if (open === undefined || open.header !== null) {
      throw unexpected(frame.channel, open?.method, 'unexpected content header');
    }
    if (frame.classId !== open.method.classId) {
      throw unexpected(
        frame.channel,
        open.method,
        `content header for class ${frame.classId} after ${open.method.name}`,
      );
    }
    open.header = frame;
    return frame.bodySize === 0 ? this.complete(frame.channel, open, frame, Buffer.alloc(0)) : null;
  }

  private onBody(channel: number, payload: Buffer): AmqpCommand | null {
    const open = this.pending.get(channel);
    if (open === undefined || open.header === null) {
      throw unexpected(channel, open?.method, 'unexpected content body');
    }
    const header = open.header;
    open.received += payload.length;
    if (open.received > header.bodySize) {
      throw unexpected(channel, open.method, `content body exceeds the declared ${header.bodySize} bytes`);
    }
    open.parts.push(payload);
    if (open.received < header.bodySize) return null;
    const body = open.parts.length === 1 ? own(payload) : Buffer.concat(open.parts, open.received);
    return this.complete(channel, open, header, body);
  }

  private complete(channel: number, open: PendingContent, header: HeaderFrame, body: Buffer): ContentCommand {
    this.pending.delete(channel);
    return {
      type: 'content',
      channel,
      method: open.method,
      properties: header.properties,
      propertyBytes: header.propertyBytes,
      body,
    };
  }
}

/** A view that is (nearly) all of its backing memory is kept; a view into a bigger chunk is copied. */
function own(view: Buffer): Buffer {
  return view.buffer.byteLength - view.byteLength <= 8 ? view : Buffer.from(view);
}

function unexpected(channel: number, method: AmqpMethod | undefined, message: string): AmqpFrameError {
  return new AmqpFrameError('UNEXPECTED_FRAME', message, {
    channel,
    classId: method?.classId,
    methodId: method?.methodId,
  });
}
