/**
 * Method payloads (class-id, method-id, arguments), interpreted from the generated `METHOD_SPECS` table.
 * Consecutive `bit` arguments share octets, least significant bit first, as the spec packs them.
 */
import type { Headers } from '@conveyor/core';
import { AmqpEncodeError, AmqpFrameError } from './errors.js';
import { readTable, writeTable } from './field-table.js';
import type { Reader, Writer } from './primitives.js';
import {
  METHOD_SPECS,
  type AmqpMethod,
  type ArgSpec,
  type MethodArgs,
  type MethodName,
  type MethodRequiredArgs,
  type MethodSpec,
} from './spec.generated.js';

const BY_ID = new Map<number, MethodSpec>();
const BY_NAME = new Map<string, MethodSpec>();
for (const spec of METHOD_SPECS) {
  BY_ID.set(spec.classId * 0x10000 + spec.methodId, spec);
  BY_NAME.set(spec.name, spec);
}

export function findMethodSpec(classId: number, methodId: number): MethodSpec | undefined {
  return BY_ID.get(classId * 0x10000 + methodId);
}

export function methodSpec(name: MethodName): MethodSpec {
  return BY_NAME.get(name)!;
}

/** The method named `N`, narrowed. */
export type MethodOf<N extends MethodName> = Extract<AmqpMethod, { name: N }>;

/** Arguments for `createMethod`: the ones without a spec default are required, the rest optional. */
export type MethodInput<N extends MethodName> = Pick<
  MethodArgs<N>,
  MethodRequiredArgs[N] & keyof MethodArgs<N>
> &
  Partial<MethodArgs<N>>;

/** Build a typed method, filling unspecified arguments with the spec's defaults. */
export function createMethod<N extends MethodName>(name: N, input: MethodInput<N>): MethodOf<N> {
  const spec = methodSpec(name);
  const given = input as Record<string, unknown>;
  const args: Record<string, unknown> = {};
  for (const a of spec.args) {
    const v = given[a.field];
    args[a.field] = v !== undefined ? v : defaultFor(a);
  }
  return { name, classId: spec.classId, methodId: spec.methodId, args } as unknown as MethodOf<N>;
}

function defaultFor(a: ArgSpec): unknown {
  const d = a.defaultValue;
  if (d === undefined) return undefined;
  if (a.type === 'table') return {};
  if (a.type === 'longstr') return Buffer.from(String(d), 'utf8');
  return d;
}

/** Read a method payload: class-id, method-id and the arguments. Throws `AmqpFrameError`. */
export function readMethod(r: Reader): AmqpMethod {
  const classId = r.u16();
  const methodId = r.u16();
  const spec = BY_ID.get(classId * 0x10000 + methodId);
  if (spec === undefined) {
    throw new AmqpFrameError('COMMAND_INVALID', `unknown method ${classId}/${methodId}`, {
      classId,
      methodId,
    });
  }
  try {
    const args = readArgs(r, spec.args);
    if (r.off !== r.end) {
      throw new AmqpFrameError('SYNTAX_ERROR', `${r.end - r.off} unexpected byte(s) after the arguments`);
    }
    return { name: spec.name, classId, methodId, args } as AmqpMethod;
  } catch (err) {
    if (err instanceof AmqpFrameError) {
      throw err.withContext({ classId, methodId });
    }
    throw err;
  }
}

function readArgs(r: Reader, specs: readonly ArgSpec[]): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  let bits = 0;
  let bitPos = 8;
  for (let i = 0; i < specs.length; i++) {
    const a = specs[i]!;
    let v: unknown;
    if (a.type === 'bit') {
      if (bitPos === 8) {
        bits = r.u8();
        bitPos = 0;
      }
      v = ((bits >> bitPos++) & 1) === 1;
    } else {
      bitPos = 8;
      switch (a.type) {
        case 'shortstr':
          v = r.shortstr();
          break;
        case 'short':
          v = r.u16();
          break;
        case 'octet':
          v = r.u8();
          break;
        case 'long':
          v = r.u32();
          break;
        case 'longlong':
        case 'timestamp':
          v = r.u64();
          break;
        case 'longstr':
          v = r.longstrBytes();
          break;
        case 'table':
          v = readTable(r);
          break;
      }
    }
    args[a.field] = v;
  }
  return args;
}

/** Write a method payload. Missing arguments take the spec's default; a missing required one throws. */
export function writeMethod(w: Writer, method: AmqpMethod): void {
  const spec = BY_ID.get(method.classId * 0x10000 + method.methodId);
  if (spec === undefined || spec.name !== method.name) {
    throw new AmqpEncodeError(`unknown method ${method.name} (${method.classId}/${method.methodId})`);
  }
  w.u16(spec.classId);
  w.u16(spec.methodId);
  const args = method.args as Record<string, unknown>;
  let bitsAt = -1;
  let bitPos = 8;
  for (const a of spec.args) {
    let v = args[a.field];
    if (v === undefined) v = defaultFor(a);
    if (v === undefined) throw new AmqpEncodeError(`${spec.name}: argument ${a.field} is required`);
    if (a.type === 'bit') {
      if (bitPos === 8) {
        bitsAt = w.off;
        w.u8(0);
        bitPos = 0;
      }
      if (v === true) w.buf[bitsAt] = w.buf[bitsAt]! | (1 << bitPos);
      bitPos++;
      continue;
    }
    bitPos = 8;
    switch (a.type) {
      case 'shortstr':
        w.shortstr(v as string);
        break;
      case 'short':
        w.u16(v as number);
        break;
      case 'octet':
        w.u8(v as number);
        break;
      case 'long':
        w.u32(v as number);
        break;
      case 'longlong':
      case 'timestamp':
        w.u64(v as number);
        break;
      case 'longstr':
        w.longstr(v as Buffer | string);
        break;
      case 'table':
        writeTable(w, v as Headers);
        break;
    }
  }
}
