// Differential test of the decoder against iced-x86 (32-bit mode): wherever exitless decodes an instruction,
// iced must decode the same length and mnemonic; wherever iced says invalid, exitless must raise #UD (null).
// Owns only the comparison; the decoder and opcode table are src/cpu's.
//
// Allowed in one direction only: exitless rejects (null) valid instructions it does not implement (x87, SSE,
// the 0x67 address-size prefix, ...), which the guest sees as #UD.

import { Decoder, DecoderOptions, Instruction, Mnemonic } from 'iced-x86';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { Cpu } from '../../src/cpu/cpu.js';

/**
 * Pure naming aliases: the same instruction under two names, as the SDM and iced document them. Empty so far;
 * every entry needs a reason. Keys are our mnemonic, values iced's (both lower case).
 */
const ALIASES: ReadonlyMap<string, string> = new Map<string, string>([]);

const STRIDE = 16;
const RANDOM_CASES = 200_000;
const SEED = 0x1ced;
const PREFIXES: number[][] = [[], [0x66], [0xf3], [0xf2], [0xf0], [0x2e], [0x26], [0x64]];
/** Follows the opcode (and ModRM): makes a SIB (base ECX) and any displacement or immediate available. */
const FILLER = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f];

const icedName = (m: number): string => String((Mnemonic as unknown as Record<number, string>)[m]).toLowerCase();
const hexb = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');

interface Mismatch {
  bytes: Uint8Array;
  kind: 'iced-invalid' | 'length' | 'mnemonic';
  ours: string;
  theirs: string;
}

const decoders: { decoder: Decoder; instr: Instruction }[] = [];
afterAll(() => {
  for (const d of decoders) {
    d.decoder.free();
    d.instr.free();
  }
});

/** Compares every STRIDE-byte string in `buf`. */
function compareAll(buf: Uint8Array): { mismatches: Mismatch[]; decoded: number; total: number } {
  const decoder = new Decoder(32, buf, DecoderOptions.None);
  const instr = new Instruction();
  decoders.push({ decoder, instr });
  const mismatches: Mismatch[] = [];
  let decoded = 0;
  const total = buf.length / STRIDE;
  for (let k = 0; k < total; k++) {
    const bytes = buf.subarray(k * STRIDE, (k + 1) * STRIDE);
    const ours = Cpu.decodeInfo(bytes);
    if (ours === null) continue;
    decoded++;
    decoder.position = k * STRIDE;
    decoder.decodeOut(instr);
    const ourName = ours.mnemonic.toLowerCase();
    const slice = bytes.subarray(0, Math.max(ours.length, 1));
    if (instr.isInvalid) {
      mismatches.push({ bytes: slice, kind: 'iced-invalid', ours: `${ourName} (${ours.length})`, theirs: 'invalid' });
      continue;
    }
    const theirName = icedName(instr.mnemonic);
    if (instr.length !== ours.length) {
      mismatches.push({ bytes: bytes.subarray(0, Math.max(ours.length, instr.length)), kind: 'length', ours: `${ourName} (${ours.length})`, theirs: `${theirName} (${instr.length})` });
    } else if (ourName !== theirName && ALIASES.get(ourName) !== theirName) {
      mismatches.push({ bytes: slice, kind: 'mnemonic', ours: ourName, theirs: theirName });
    }
  }
  return { mismatches, decoded, total };
}

/** A compact report: mismatch categories with counts and an example, then the first 50 mismatches. */
function report(label: string, r: ReturnType<typeof compareAll>): string {
  const cats = new Map<string, { n: number; example: Mismatch }>();
  for (const m of r.mismatches) {
    const key = `${m.kind}: exitless ${m.ours.replace(/ \(\d+\)/, '')} / iced ${m.theirs.replace(/ \(\d+\)/, '')}`;
    const c = cats.get(key);
    if (c) c.n++;
    else cats.set(key, { n: 1, example: m });
  }
  const lines = [`${label}: ${r.mismatches.length} mismatches among ${r.decoded} strings exitless decodes (of ${r.total})`, 'categories:'];
  for (const [key, c] of [...cats].sort((a, b) => b[1].n - a[1].n)) lines.push(`  ${String(c.n).padStart(6)}  ${key}   e.g. [${hexb(c.example.bytes)}]`);
  lines.push('first 50:');
  for (const m of r.mismatches.slice(0, 50)) lines.push(`  [${hexb(m.bytes)}] ${m.kind}: exitless ${m.ours}, iced ${m.theirs}`);
  return lines.join('\n');
}

describe('decoder against iced-x86 (32-bit)', () => {
  it('every one-byte and 0F xx opcode with every ModRM byte under each prefix', () => {
    const n = PREFIXES.length * 512 * 256;
    const buf = new Uint8Array(n * STRIDE);
    let k = 0;
    for (const prefix of PREFIXES) {
      for (let op = 0; op < 512; op++) {
        for (let modrm = 0; modrm < 256; modrm++) {
          const s = [...prefix, ...(op >= 256 ? [0x0f, op & 0xff] : [op]), modrm, ...FILLER].slice(0, STRIDE);
          buf.set(s, k++ * STRIDE);
        }
      }
    }
    const r = compareAll(buf);
    expect(r.decoded).toBeGreaterThan(10_000); // the sweep reaches the decoder at all
    if (r.mismatches.length > 0) expect.fail(report('opcode sweep', r));
  });

  it(`${RANDOM_CASES} seeded random 16-byte strings`, () => {
    const rng = new Rng(SEED);
    const buf = new Uint8Array(RANDOM_CASES * STRIDE);
    for (let i = 0; i < buf.length; i += 4) {
      const v = rng.u32();
      buf[i] = v;
      buf[i + 1] = v >>> 8;
      buf[i + 2] = v >>> 16;
      buf[i + 3] = v >>> 24;
    }
    const r = compareAll(buf);
    if (r.mismatches.length > 0) expect.fail(report('random strings', r));
  });
});
