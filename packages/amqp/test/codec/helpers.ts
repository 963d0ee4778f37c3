// Test helpers: deterministic sample arguments for any method spec, and a parser run to completion.
import {
  FrameParser,
  type AmqpMethod,
  type ArgSpec,
  type MethodSpec,
  type ParserEvent,
} from '@conveyor/amqp';

export function sampleValue(arg: ArgSpec, seed: number, bitIndex: number): unknown {
  switch (arg.type) {
    case 'octet':
      return (seed * 37 + 11) % 256;
    case 'short':
      return (seed * 1009 + 7) % 65536;
    case 'long':
      return 4_000_000_000 - seed;
    case 'longlong':
      return 2 ** 40 + seed;
    case 'timestamp':
      return 1_700_000_000 + seed;
    case 'shortstr':
      return `${arg.field}-${seed}-é`;
    case 'longstr':
      return Buffer.from([0, 1, 2, 255, seed % 256]);
    case 'bit':
      return ((seed >> bitIndex) & 1) === 1;
    case 'table':
      return { 'x-int': seed, 'x-str': 'v', nested: { ok: true, list: [1, 'two', null] } };
  }
}

/** A method of `spec` whose bits follow the binary digits of `seed`. */
export function sampleMethod(spec: MethodSpec, seed: number): AmqpMethod {
  const args: Record<string, unknown> = {};
  let bit = 0;
  for (const a of spec.args) args[a.field] = sampleValue(a, seed, a.type === 'bit' ? bit++ : 0);
  return { name: spec.name, classId: spec.classId, methodId: spec.methodId, args } as AmqpMethod;
}

export function bitCount(spec: MethodSpec): number {
  return spec.args.filter((a) => a.type === 'bit').length;
}

export function parseAll(bytes: Buffer, frameMax = 0): ParserEvent[] {
  return new FrameParser({ expectProtocolHeader: false, frameMax }).push(bytes);
}

export function errorOf(events: ParserEvent[]) {
  const last = events.at(-1);
  if (last?.type !== 'error') throw new Error(`expected an error event, got ${JSON.stringify(last?.type)}`);
  return last.error;
}
