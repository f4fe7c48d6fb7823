// Differential test of the integer instructions against this machine's real CPU: the same bytes and register
// states run under test/cpu/native/alu-oracle.c (compiled here with the system cc) and on exitless.
// Owns the cases and the defined-flag masks (SDM Vol. 2, each instruction's "Flags Affected"); semantics are src/cpu's.
//
// Every form is register-only and free of 40-4F (REX in 64-bit mode), so the x86-64 host runs it as 32-bit
// protected mode would. Values are compared in full (upper bits of 8/16-bit destinations included); only
// flags and results the SDM calls undefined are masked. #DE is compared both ways: the harness catches
// SIGFPE, so the real CPU decides which inputs fault.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { AF, CF, OF, PF, SF, STACK_TOP, STATUS_FLAGS, TestMachine, ZF } from '../helpers/cpu-runner.js';

const CASES = 10_000;
const SEED = 0x0e1e55;
const SIGILL = 4;
const SIGFPE = 8;
/** EXITLESS_ORACLE_STRICT=1 compares undefined flags and results too: how we differ from this host, not bugs. */
const STRICT = process.env.EXITLESS_ORACLE_STRICT === '1';

// ----------------------------------------------------------------------------------------------- operands

/** A register operand: index into the 6-register state (eax ecx edx ebx esi edi), bit shift, width. */
interface Loc {
  r: number;
  sh: number;
  w: number;
}
const STATE_REGS = ['eax', 'ecx', 'edx', 'ebx', 'esi', 'edi'];
/** x86 register number (ModRM order) to state index; ESP and EBP are not used. */
const X86_TO_STATE = [0, 1, 2, 3, -1, -1, 4, 5];
const NAMES8 = ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'];
const NAMES16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'];
const NAMES32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];

function loc(x86: number, w: number): Loc {
  if (w === 8) return { r: X86_TO_STATE[x86 & 3], sh: x86 >= 4 ? 8 : 0, w };
  return { r: X86_TO_STATE[x86], sh: 0, w };
}
function locName(l: Loc): string {
  const x86 = [0, 1, 2, 3, 6, 7][l.r];
  if (l.w === 8) return NAMES8[x86 + (l.sh === 8 ? 4 : 0)];
  return (l.w === 16 ? NAMES16 : NAMES32)[x86];
}
const mask = (w: number): number => (w === 32 ? 0xffffffff : (1 << w) - 1);
function put(st: number[], l: Loc, v: number): void {
  const m = mask(l.w) * 2 ** l.sh;
  st[l.r] = ((st[l.r] & ~m) | ((v & mask(l.w)) << l.sh)) >>> 0;
}
function get(st: ArrayLike<number>, l: Loc): number {
  return ((st[l.r] >>> l.sh) & mask(l.w)) >>> 0;
}

const EDGES = [0, 1, 2, 0x7e, 0x7f, 0x80, 0x81, 0xfe, 0xff, 0x100, 0x7fff, 0x8000, 0x8001, 0xfffe, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff];
const COUNT_EDGES = [0, 1, 2, 7, 8, 9, 15, 16, 17, 18, 31, 32, 33, 63, 64, 255];
function edgesFor(w: number): number[] {
  return [...new Set(EDGES.map((v) => (v & mask(w)) >>> 0))];
}

/** A random operand value, biased to the interesting places: edges, edges +- a little, small, powers of two. */
function randValue(rng: Rng): number {
  switch (rng.below(8)) {
    case 0:
      return EDGES[rng.below(EDGES.length)];
    case 1:
      return (EDGES[rng.below(EDGES.length)] + rng.below(9) - 4) >>> 0;
    case 2:
      return rng.below(34);
    case 3:
      return (2 ** rng.below(32) + (rng.below(3) - 1)) >>> 0;
    default:
      return rng.u32();
  }
}
function randCount(rng: Rng): number {
  switch (rng.below(4)) {
    case 0:
      return COUNT_EDGES[rng.below(COUNT_EDGES.length)];
    case 1:
      return rng.u32() & 0xff;
    default:
      return rng.below(40);
  }
}

interface Operand {
  loc: Loc;
  edges: number[];
  rand: (rng: Rng) => number;
}
const value = (l: Loc): Operand => ({ loc: l, edges: edgesFor(l.w), rand: randValue });
const count = (l: Loc): Operand => ({ loc: l, edges: COUNT_EDGES, rand: randCount });

// ----------------------------------------------------------------------------------------------- forms

/** One case: the six registers and EFLAGS in, and the immediate of the block it runs in. */
interface Case {
  regs: number[];
  flags: number;
  imm: number;
}

interface Block {
  code: number[];
  imm: number;
  cases: Case[];
}

interface Form {
  name: string;
  /** Encodings sharing the same operands; each gets a share of the cases. */
  codes: { code: number[]; imm: number }[];
  ops: Operand[];
  target: number;
  /** The status flags the SDM defines for this input (unaffected flags count as defined: they must be kept). */
  flags: (c: Case) => number;
  /** A register whose bits (mask) the SDM leaves undefined for this input. */
  undefinedReg?: (c: Case) => [number, number] | null;
  /** Custom case generation (default: edge cross product of the first two operands, then random). */
  generate?: (rng: Rng, n: number, imm: number) => Case[];
  /** Adjusts a generated case (CMPXCHG: make the accumulator equal the destination half the time). */
  fixup?: (rng: Rng, c: Case) => void;
  blocks: Block[];
}

const ALL = STATUS_FLAGS;
const p66 = (w: number): number[] => (w === 16 ? [0x66] : []);
const modrm = (reg: number, rm: number): number => 0xc0 | (reg << 3) | rm;
const hexb = (b: number[]): string => b.map((x) => x.toString(16).padStart(2, '0')).join(' ');
const hex = (v: number, w = 32): string => '0x' + (v >>> 0).toString(16).padStart(w / 4, '0');

const FORMS: Form[] = [];
function form(f: Omit<Form, 'blocks' | 'target'> & { target?: number }): void {
  FORMS.push({ ...f, target: f.target ?? CASES, blocks: [] });
}

const W3 = [8, 16, 32];
const W2 = [16, 32];
const BL = 3; // the r/m operand of most forms: BL / BX / EBX
const srcReg = (w: number): number => (w === 8 ? 5 : 1); // CH / CX / ECX: exercises the high-byte registers
const sz = (w: number): string => `r/m${w}`;

// ADD OR ADC SBB AND SUB XOR CMP (both directions), TEST
const ALU: [string, number, number][] = [
  ['ADD', 0, ALL], ['OR', 1, ALL & ~AF], ['ADC', 2, ALL], ['SBB', 3, ALL],
  ['AND', 4, ALL & ~AF], ['SUB', 5, ALL], ['XOR', 6, ALL & ~AF], ['CMP', 7, ALL],
];
for (const [name, k, defined] of ALU) {
  for (const w of W3) {
    const s = srcReg(w);
    const wide = w === 8 ? 0 : 1;
    form({
      name: `${name} ${sz(w)}, r${w}`,
      codes: [
        { code: [...p66(w), (k << 3) | wide, modrm(s, BL)], imm: 0 },
        { code: [...p66(w), (k << 3) | 2 | wide, modrm(BL, s)], imm: 0 },
      ],
      ops: [value(loc(BL, w)), value(loc(s, w))],
      flags: () => defined,
    });
  }
}
for (const w of W3) {
  form({
    name: `TEST ${sz(w)}, r${w}`,
    codes: [{ code: [...p66(w), w === 8 ? 0x84 : 0x85, modrm(srcReg(w), BL)], imm: 0 }],
    ops: [value(loc(BL, w)), value(loc(srcReg(w), w))],
    flags: () => ALL & ~AF,
  });
}

// INC DEC NOT NEG (FE/FF and F6/F7; 40-4F are REX prefixes on the host)
for (const [name, op, ext] of [['INC', 0xfe, 0], ['DEC', 0xfe, 1], ['NOT', 0xf6, 2], ['NEG', 0xf6, 3]] as const) {
  for (const w of W3) {
    form({
      name: `${name} ${sz(w)}`,
      codes: [{ code: [...p66(w), w === 8 ? op : op + 1, modrm(ext, BL)], imm: 0 }],
      ops: [value(loc(BL, w))],
      flags: () => ALL,
    });
  }
}

// Shifts and rotates (SDM Vol. 2 SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR "Flags Affected").
const SHIFTS: [string, number][] = [['ROL', 0], ['ROR', 1], ['RCL', 2], ['RCR', 3], ['SHL', 4], ['SHR', 5], ['SAR', 7]];
function shiftFlags(ext: number, w: number, n: number): number {
  const c = n & 31;
  if (c === 0) return ALL; // no flags affected
  let m = ALL;
  if (c !== 1) m &= ~OF; // OF only for 1-bit shifts
  if (ext <= 3) return m; // rotates: SF ZF AF PF unaffected
  m &= ~AF; // AF undefined for a nonzero count
  if ((ext === 4 || ext === 5) && c >= w) m &= ~CF; // SHL/SHR: CF undefined when count >= operand size
  return m;
}
const IMM_COUNTS = [...COUNT_EDGES, 3, 4, 5, 6, 10, 12, 14, 20, 24, 30, 34, 40, 47, 48, 100, 128, 129, 200, 254];
for (const [name, ext] of SHIFTS) {
  for (const w of W3) {
    const cl = loc(1, 8);
    form({
      name: `${name} ${sz(w)}, CL`,
      codes: [{ code: [...p66(w), w === 8 ? 0xd2 : 0xd3, modrm(ext, BL)], imm: 0 }],
      ops: [value(loc(BL, w)), count(cl)],
      flags: (c) => shiftFlags(ext, w, get(c.regs, cl)),
    });
    form({
      name: `${name} ${sz(w)}, 1`,
      codes: [{ code: [...p66(w), w === 8 ? 0xd0 : 0xd1, modrm(ext, BL)], imm: 0 }],
      ops: [value(loc(BL, w))],
      flags: () => shiftFlags(ext, w, 1),
      target: 2_000,
    });
    form({
      name: `${name} ${sz(w)}, imm8`,
      codes: IMM_COUNTS.map((n) => ({ code: [...p66(w), w === 8 ? 0xc0 : 0xc1, modrm(ext, BL), n], imm: n })),
      ops: [value(loc(BL, w))],
      flags: (c) => shiftFlags(ext, w, c.imm),
      target: 4_000,
    });
  }
}

// SHLD / SHRD (count > operand size: result and flags undefined; AF undefined for a nonzero count)
function shldFlags(w: number, n: number): number {
  const c = n & 31;
  if (c === 0) return ALL;
  if (c > w) return 0;
  return CF | SF | ZF | PF | (c === 1 ? OF : 0);
}
for (const [name, cl, ib] of [['SHLD', 0xa5, 0xa4], ['SHRD', 0xad, 0xac]] as const) {
  for (const w of W2) {
    const clLoc = loc(1, 8);
    const undef = (n: number): [number, number] | null => ((n & 31) > w ? [3, mask(w)] : null);
    form({
      name: `${name} ${sz(w)}, r${w}, CL`,
      codes: [{ code: [...p66(w), 0x0f, cl, modrm(6, BL)], imm: 0 }],
      ops: [value(loc(BL, w)), count(clLoc), value(loc(6, w))],
      flags: (c) => shldFlags(w, get(c.regs, clLoc)),
      undefinedReg: (c) => undef(get(c.regs, clLoc)),
    });
    form({
      name: `${name} ${sz(w)}, r${w}, imm8`,
      codes: IMM_COUNTS.map((n) => ({ code: [...p66(w), 0x0f, ib, modrm(6, BL), n], imm: n })),
      ops: [value(loc(BL, w)), value(loc(6, w))],
      flags: (c) => shldFlags(w, c.imm),
      undefinedReg: (c) => undef(c.imm),
      target: 4_000,
    });
  }
}

// MUL / IMUL (one operand): SF ZF AF PF undefined.
for (const [name, ext] of [['MUL', 4], ['IMUL', 5]] as const) {
  for (const w of W3) {
    form({
      name: `${name} ${sz(w)}`,
      codes: [{ code: [...p66(w), w === 8 ? 0xf6 : 0xf7, modrm(ext, BL)], imm: 0 }],
      ops: [value(loc(0, w)), value(loc(BL, w))],
      flags: () => CF | OF,
    });
  }
}
for (const w of W2) {
  form({
    name: `IMUL r${w}, ${sz(w)}`,
    codes: [{ code: [...p66(w), 0x0f, 0xaf, modrm(BL, 1)], imm: 0 }],
    ops: [value(loc(BL, w)), value(loc(1, w))],
    flags: () => CF | OF,
  });
  const imms = [...edgesFor(w), 3, 5, 7, 10, 100, 1000, 0x1234, 0xfff0, 0xdeadbeef & mask(w)];
  form({
    name: `IMUL r${w}, ${sz(w)}, imm${w}`,
    codes: imms.map((v) => ({ code: [...p66(w), 0x69, modrm(BL, 1), ...le(v, w / 8)], imm: v })),
    ops: [value(loc(1, w))],
    flags: () => CF | OF,
  });
  const imm8s = [0, 1, 2, 3, 0x7f, 0x80, 0x81, 0xff, 0xfe, 0x10, 0x40, 0xc0, 0x55, 0xaa, 9, 0xf7];
  form({
    name: `IMUL r${w}, ${sz(w)}, imm8`,
    codes: imm8s.map((v) => ({ code: [...p66(w), 0x6b, modrm(BL, 1), v], imm: v })),
    ops: [value(loc(1, w))],
    flags: () => CF | OF,
  });
}
function le(v: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => (v >>> (8 * i)) & 0xff);
}

// DIV / IDIV: every flag undefined; #DE decided by the real CPU.
for (const [name, ext] of [['DIV', 6], ['IDIV', 7]] as const) {
  for (const w of W3) {
    const divisor = loc(BL, w);
    form({
      name: `${name} ${sz(w)}`,
      codes: [{ code: [...p66(w), w === 8 ? 0xf6 : 0xf7, modrm(ext, BL)], imm: 0 }],
      ops: [],
      flags: () => 0,
      generate: (rng, n) => divCases(rng, n, w, ext === 7, divisor),
    });
  }
}

/** Dividend/divisor cases: an edge cross product, then half constructed to fit (q * d + r), half raw. */
function divCases(rng: Rng, n: number, w: number, signed: boolean, divisor: Loc): Case[] {
  const out: Case[] = [];
  const W = BigInt(w);
  const setDividend = (c: Case, v: bigint): void => {
    const u = BigInt.asUintN(2 * w, v);
    if (w === 8) put(c.regs, loc(0, 16), Number(u));
    else {
      put(c.regs, loc(0, w), Number(u & ((1n << W) - 1n)));
      put(c.regs, loc(2, w), Number(u >> W));
    }
  };
  const edges = edgesFor(w);
  const his = [0, 1, mask(w), 2 ** (w - 1), 2 ** (w - 1) - 1].map((x) => BigInt(x >>> 0));
  for (const d of edges) {
    for (const lo of edges) {
      for (const hi of his) {
        const c = randomCase(rng);
        put(c.regs, divisor, d);
        setDividend(c, (hi << W) | BigInt(lo));
        out.push(c);
      }
    }
  }
  while (out.length < n) {
    const c = randomCase(rng);
    const d = randValue(rng) & mask(w);
    put(c.regs, divisor, d);
    if (rng.below(2) === 0 && d !== 0) {
      if (signed) {
        const sd = BigInt.asIntN(w, BigInt(d));
        const q = BigInt.asIntN(w, BigInt(randValue(rng)));
        const ad = sd < 0n ? -sd : sd;
        let r = BigInt(rng.u32()) % ad;
        if (q * sd < 0n || (q * sd === 0n && rng.below(2) === 0)) r = -r;
        setDividend(c, q * sd + r);
      } else {
        const q = BigInt(randValue(rng) & mask(w));
        setDividend(c, q * BigInt(d) + (BigInt(rng.u32()) % BigInt(d)));
      }
    } else {
      setDividend(c, (BigInt(randValue(rng)) << 32n) | BigInt(randValue(rng)));
    }
    out.push(c);
  }
  return out;
}

// BSF / BSR: only ZF defined; the destination is undefined for a zero source.
for (const [name, op] of [['BSF', 0xbc], ['BSR', 0xbd]] as const) {
  for (const w of W2) {
    const src = loc(1, w);
    form({
      name: `${name} r${w}, ${sz(w)}`,
      codes: [{ code: [...p66(w), 0x0f, op, modrm(BL, 1)], imm: 0 }],
      ops: [value(src), value(loc(BL, w))],
      flags: () => ZF,
      undefinedReg: (c) => (get(c.regs, src) === 0 ? [3, mask(w)] : null),
    });
  }
}

// BT BTS BTR BTC: CF defined, ZF unaffected, OF SF AF PF undefined.
for (const [name, op, ext] of [['BT', 0xa3, 4], ['BTS', 0xab, 5], ['BTR', 0xb3, 6], ['BTC', 0xbb, 7]] as const) {
  for (const w of W2) {
    form({
      name: `${name} ${sz(w)}, r${w}`,
      codes: [{ code: [...p66(w), 0x0f, op, modrm(1, BL)], imm: 0 }],
      ops: [value(loc(BL, w)), count(loc(1, w))],
      flags: () => CF | ZF,
    });
    form({
      name: `${name} ${sz(w)}, imm8`,
      codes: IMM_COUNTS.map((n) => ({ code: [...p66(w), 0x0f, 0xba, modrm(ext, BL), n], imm: n })),
      ops: [value(loc(BL, w))],
      flags: () => CF | ZF,
      target: 4_000,
    });
  }
}

form({ name: 'BSWAP r32', codes: [{ code: [0x0f, 0xcb], imm: 0 }, { code: [0x0f, 0xce], imm: 0 }], ops: [value(loc(BL, 32)), value(loc(6, 32))], flags: () => ALL });

// XADD / CMPXCHG: flags of the ADD / the CMP of the accumulator with the destination.
for (const w of W3) {
  const s = srcReg(w);
  form({
    name: `XADD ${sz(w)}, r${w}`,
    codes: [{ code: [...p66(w), 0x0f, w === 8 ? 0xc0 : 0xc1, modrm(s, BL)], imm: 0 }],
    ops: [value(loc(BL, w)), value(loc(s, w))],
    flags: () => ALL,
  });
  const acc = loc(0, w);
  const dst = loc(BL, w);
  form({
    name: `CMPXCHG ${sz(w)}, r${w}`,
    codes: [{ code: [...p66(w), 0x0f, w === 8 ? 0xb0 : 0xb1, modrm(s, BL)], imm: 0 }],
    ops: [value(dst), value(acc), value(loc(s, w))],
    flags: () => ALL,
    fixup: (rng, c) => {
      if (rng.below(2) === 0) put(c.regs, acc, get(c.regs, dst));
    },
  });
}

// SETcc and CMOVcc: all 16 conditions over all 64 combinations of the six status flags; no flag changes.
const CC = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];
const flagCombos = (rng: Rng, n: number): Case[] => {
  const out: Case[] = [];
  const bits = [CF, PF, AF, ZF, SF, OF];
  for (let i = 0; out.length < n; i++) {
    const c = randomCase(rng);
    c.flags = 2;
    bits.forEach((b, k) => ((i >> k) & 1) !== 0 && (c.flags |= b));
    out.push(c);
  }
  return out;
};
form({
  name: 'SETcc r/m8',
  codes: CC.map((_, cc) => ({ code: [0x0f, 0x90 + cc, modrm(0, 7)], imm: cc })), // SETcc BH
  ops: [],
  flags: () => ALL,
  generate: flagCombos,
});
for (const w of W2) {
  form({
    name: `CMOVcc r${w}, ${sz(w)}`,
    codes: CC.map((_, cc) => ({ code: [...p66(w), 0x0f, 0x40 + cc, modrm(BL, 1)], imm: cc })),
    ops: [],
    flags: () => ALL,
    generate: flagCombos,
  });
}

// ----------------------------------------------------------------------------------------------- generation

function randomCase(rng: Rng): Case {
  return { regs: [rng.u32(), rng.u32(), rng.u32(), rng.u32(), rng.u32(), rng.u32()], flags: (rng.u32() & ALL) | 2, imm: 0 };
}

function genericCases(f: Form, rng: Rng, n: number): Case[] {
  const out: Case[] = [];
  const a = f.ops[0];
  // Forms with one block per immediate cross the edges of the first operand only, in every block.
  const b = f.codes.length <= 2 ? f.ops[1] : undefined;
  if (a !== undefined) {
    for (const va of a.edges) {
      for (const vb of b !== undefined ? b.edges : [0, 1, 2, 3]) {
        for (const cf of [0, 1]) {
          const c = randomCase(rng);
          c.flags = (c.flags & ~CF) | cf;
          put(c.regs, a.loc, va);
          if (b !== undefined) put(c.regs, b.loc, vb);
          out.push(c);
        }
      }
    }
  }
  while (out.length < n) {
    const c = randomCase(rng);
    for (const op of f.ops) put(c.regs, op.loc, rng.below(4) === 0 ? op.edges[rng.below(op.edges.length)] : op.rand(rng));
    out.push(c);
  }
  return out;
}

function generate(f: Form, rng: Rng): void {
  const per = Math.ceil(f.target / f.codes.length);
  for (const { code, imm } of f.codes) {
    const cases = f.generate ? f.generate(rng, per, imm) : genericCases(f, rng, per);
    for (const c of cases) {
      c.imm = imm;
      f.fixup?.(rng, c);
    }
    f.blocks.push({ code, imm, cases });
  }
}

// ----------------------------------------------------------------------------------------------- the real CPU

const here = fileURLToPath(new URL('.', import.meta.url));
const compiler = process.env.CC ?? 'cc';
const haveCompiler = spawnSync(compiler, ['--version'], { stdio: 'pipe' }).status === 0;
if (!haveCompiler) {
  console.warn(`oracle-native: no C compiler (\`${compiler}\`) on PATH: SKIPPING every native differential test (nothing was checked)`);
}

/** Per form: 8 u32 per case (status, eax ecx edx ebx esi edi eflags), in block order. */
const native = new Map<Form, Uint32Array>();
let tmp = '';

function runNative(): void {
  tmp = mkdtempSync(join(tmpdir(), 'exitless-oracle-'));
  const bin = join(tmp, 'alu-oracle');
  const cc = spawnSync(compiler, ['-O1', '-mno-red-zone', '-o', bin, join(here, 'native', 'alu-oracle.c')], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`oracle-native: ${compiler} failed to build alu-oracle.c:\n${cc.stderr}`);
  let size = 0;
  for (const f of FORMS) for (const b of f.blocks) size += 1 + b.code.length + 4 + b.cases.length * 28;
  const input = new DataView(new ArrayBuffer(size));
  let p = 0;
  for (const f of FORMS) {
    for (const b of f.blocks) {
      input.setUint8(p++, b.code.length);
      for (const x of b.code) input.setUint8(p++, x);
      input.setUint32(p, b.cases.length, true);
      p += 4;
      for (const c of b.cases) {
        for (const r of c.regs) {
          input.setUint32(p, r, true);
          p += 4;
        }
        input.setUint32(p, c.flags, true);
        p += 4;
      }
    }
  }
  const run = spawnSync(bin, [], { input: new Uint8Array(input.buffer), maxBuffer: 1 << 30 });
  if (run.status !== 0) throw new Error(`oracle-native: alu-oracle exited with ${run.status ?? run.signal}: ${run.stderr.toString()}`);
  const out = new Uint32Array(new Uint8Array(run.stdout).buffer);
  let q = 0;
  for (const f of FORMS) {
    const n = f.blocks.reduce((s, b) => s + b.cases.length, 0) * 8;
    native.set(f, out.subarray(q, q + n));
    q += n;
  }
  if (q !== out.length) throw new Error(`oracle-native: expected ${q} words from alu-oracle, got ${out.length}`);
}

// ----------------------------------------------------------------------------------------------- exitless

const FLAG_NAMES: [number, string][] = [[CF, 'CF'], [PF, 'PF'], [AF, 'AF'], [ZF, 'ZF'], [SF, 'SF'], [OF, 'OF']];
const flagNames = (f: number): string => FLAG_NAMES.filter(([b]) => (f & b) !== 0).map(([, n]) => n).join(' ') || '-';
const signal = (s: number): string => (s === 0 ? 'ok' : s === SIGFPE ? '#DE (SIGFPE)' : s === SIGILL ? '#UD (SIGILL)' : `signal ${s}`);
const vectorName = (v: number): string => (v < 0 ? 'ok' : `#${['DE', 'DB', 'NMI', 'BP', 'OF', 'BR', 'UD', 'NM', 'DF', '9', 'TS', 'NP', 'SS', 'GP', 'PF'][v] ?? v} (vector ${v})`);

function regsText(r: ArrayLike<number>): string {
  return STATE_REGS.map((n, i) => `${n}=${hex(r[i])}`).join(' ');
}

/** Runs the form on exitless; returns a failure report, or '' when every case agrees with the real CPU. */
function compareForm(m: TestMachine, f: Form, nat: Uint32Array): string {
  const cpu = m.cpu;
  const regs8 = new Int32Array(8);
  const lines: string[] = [];
  let bad = 0;
  let total = 0;
  let k = 0;
  for (const b of f.blocks) {
    m.load(b.code);
    for (const c of b.cases) {
      const base = k++ * 8;
      total++;
      regs8.set([c.regs[0], c.regs[1], c.regs[2], c.regs[3], STACK_TOP, 0, c.regs[4], c.regs[5]]);
      const vector = m.execOnce(regs8, c.flags);
      const ours = [cpu.reg32[0], cpu.reg32[1], cpu.reg32[2], cpu.reg32[3], cpu.reg32[6], cpu.reg32[7]].map((x) => x >>> 0);
      const ourFlags = cpu.getFlags();
      const status = nat[base];
      const theirs = Array.from(nat.subarray(base + 1, base + 7));
      const theirFlags = nat[base + 7];
      const problems: string[] = [];
      if (status !== 0 || vector >= 0) {
        const expected = status === SIGFPE ? 0 : status === SIGILL ? 6 : status === 0 ? -1 : -2;
        if (vector !== expected) problems.push(`real CPU: ${signal(status)}, exitless: ${vectorName(vector)}`);
      } else {
        const undef = STRICT ? null : (f.undefinedReg?.(c) ?? null);
        for (let i = 0; i < 6; i++) {
          const care = undef !== null && undef[0] === i ? ~undef[1] : -1;
          if (((ours[i] ^ theirs[i]) & care) !== 0) problems.push(`${STATE_REGS[i]} ${hex(theirs[i])} != ${hex(ours[i])}`);
        }
        const diff = (ourFlags ^ theirFlags) & (STRICT ? ALL : f.flags(c));
        if (diff !== 0) problems.push(`flags ${flagNames(diff)}`);
      }
      if (problems.length === 0) continue;
      bad++;
      if (lines.length >= 8 * 5) continue;
      const operands = f.ops.map((o) => `${locName(o.loc)}=${hex(get(c.regs, o.loc), o.loc.w)}`).join(' ');
      lines.push(
        `  [${hexb(b.code)}] ${operands}`,
        `    in       ${regsText(c.regs)} flags=[${flagNames(c.flags)}]`,
        `    real CPU ${status === 0 ? `${regsText(theirs)} flags=[${flagNames(theirFlags & ALL)}]` : signal(status)}`,
        `    exitless ${vector < 0 ? `${regsText(ours)} flags=[${flagNames(ourFlags & ALL)}]` : vectorName(vector)}`,
        `    differs: ${problems.join('; ')}  (defined flags [${flagNames(f.flags(c))}])`,
      );
    }
  }
  if (bad === 0) return '';
  return `${f.name}: ${bad} of ${total} cases differ from the real CPU; the first ${Math.min(bad, 8)}:\n${lines.join('\n')}`;
}

// ----------------------------------------------------------------------------------------------- tests

describe('integer instructions against the real CPU (test/cpu/native/alu-oracle.c)', () => {
  const machine = new TestMachine();

  beforeAll(() => {
    if (!haveCompiler) return;
    const rng = new Rng(SEED);
    for (const f of FORMS) generate(f, rng);
    runNative();
  });

  afterAll(() => {
    if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
  });

  it.skipIf(!haveCompiler)('reports a planted difference (the comparison itself works)', () => {
    const f = FORMS.find((x) => x.name === 'ADD r/m32, r32')!;
    const nat = native.get(f)!.slice();
    nat[0 * 8 + 7] ^= CF; // case 0: the real CPU "said" CF the other way
    nat[1 * 8 + 4] ^= 0x100; // case 1: and EBX differs in bit 8
    nat[2 * 8 + 7] ^= AF; // case 2: AF, which ADD defines
    const report = compareForm(machine, f, nat);
    expect(report).toMatch(/^ADD r\/m32, r32: 3 of \d+ cases differ/);
    expect(report).toContain('differs: flags CF');
    expect(report).toMatch(/differs: ebx 0x[0-9a-f]{8} != 0x[0-9a-f]{8}/);
    expect(report).toContain('differs: flags AF');
  });

  for (const f of FORMS) {
    it.skipIf(!haveCompiler)(f.name, () => {
      const nat = native.get(f)!;
      expect(nat.length / 8).toBeGreaterThanOrEqual(f.target);
      const report = compareForm(machine, f, nat);
      if (report !== '') expect.fail(report);
    });
  }
});
