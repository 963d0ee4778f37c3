import type { Packet } from 'mqtt-packet';

export function rng(seed: number): () => number;
export const VALID: (Packet & { v5?: boolean })[];
export function mutate(bytes: Buffer, r: () => number): Buffer;
export function randomBytes(r: () => number): Buffer;
