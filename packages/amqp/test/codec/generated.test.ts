import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ClassId, METHOD_SPECS, ReplyCode, BASIC_PROPERTY_SPECS } from '@conveyor/amqp';
// @ts-expect-error -- plain ESM script without type declarations
import { OUTPUT_PATH, generateFromFile } from '../../scripts/generate-codec.mjs';

describe('spec.generated.ts', () => {
  it('is exactly what the generator produces from the committed spec (run `npm run generate` if not)', () => {
    const fresh = (generateFromFile as () => string)();
    expect(readFileSync(OUTPUT_PATH as string, 'utf8')).toBe(fresh);
  });

  it('carries the spec facts the codec relies on', () => {
    expect(METHOD_SPECS).toHaveLength(66);
    const publish = METHOD_SPECS.find((m) => m.name === 'basic.publish');
    expect(publish).toMatchObject({ classId: 60, methodId: 40, content: true });
    expect(publish?.args.map((a) => a.field)).toEqual([
      'ticket',
      'exchange',
      'routingKey',
      'mandatory',
      'immediate',
    ]);
    // basic.consume's ticket is declared through the `short` domain, not a type: resolved all the same.
    const consume = METHOD_SPECS.find((m) => m.name === 'basic.consume');
    expect(consume?.args[0]).toMatchObject({ field: 'ticket', type: 'short' });
    expect(ClassId).toMatchObject({ connection: 10, channel: 20, basic: 60, confirm: 85, tx: 90 });
    expect(ReplyCode).toMatchObject({
      FRAME_ERROR: 501,
      SYNTAX_ERROR: 502,
      COMMAND_INVALID: 503,
      UNEXPECTED_FRAME: 505,
    });
    expect(BASIC_PROPERTY_SPECS).toHaveLength(14);
  });
});
