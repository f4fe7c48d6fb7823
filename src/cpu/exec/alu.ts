// Integer arithmetic and logic: ADD OR ADC SBB AND SUB XOR CMP, TEST, INC DEC NEG NOT, MUL IMUL DIV IDIV,
// with lazy flags (flags.ts). Operand plumbing is operands.ts'; the table entries are registered here.

import type { Cpu } from '../cpu.js';
import { Imm, RM_MEM, type Handler } from '../decoder.js';
import { Flag, LazyOp, parity, recordLazy } from '../flags.js';
import { Vector } from '../interrupts.js';
import { DIVIDE_CYCLES } from '../costs.js';
import type { TableBuilder } from '../table-builder.js';
import { FAST32 } from './alu-fast.js';
import { getE16, getE32, getE8, getG16, getG32, getG8, rmwE16, rmwE32, rmwE8, setG16, setG32, setG8 } from './operands.js';

/** ALU operation numbers in opcode order (00 ADD, 08 OR, 10 ADC, 18 SBB, 20 AND, 28 SUB, 30 XOR, 38 CMP). */
export const enum AluOp {
  Add = 0,
  Or = 1,
  Adc = 2,
  Sbb = 3,
  And = 4,
  Sub = 5,
  Xor = 6,
  Cmp = 7,
}

const ALU_NAMES = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];

/**
 * One ALU operation at a width given by `sh` (24 for 8-bit, 16 for 16-bit, 0 for 32-bit): operands are
 * sign-extended to 32 bits, the result is returned sign-extended, and the lazy flags are recorded.
 */
export function alu(cpu: Cpu, kind: number, a: number, b: number, sh: number): number {
  a = (a << sh) >> sh;
  b = (b << sh) >> sh;
  let r: number;
  let op: LazyOp;
  switch (kind) {
    case AluOp.Add:
      r = a + b;
      op = LazyOp.Add;
      break;
    case AluOp.Or:
      r = a | b;
      op = LazyOp.Logic;
      break;
    case AluOp.Adc: {
      const c = cpu.getCF();
      r = a + b + c;
      op = c !== 0 ? LazyOp.Adc : LazyOp.Add;
      break;
    }
    case AluOp.Sbb: {
      const c = cpu.getCF();
      r = a - b - c;
      op = c !== 0 ? LazyOp.Sbb : LazyOp.Sub;
      break;
    }
    case AluOp.And:
      r = a & b;
      op = LazyOp.Logic;
      break;
    case AluOp.Xor:
      r = a ^ b;
      op = LazyOp.Logic;
      break;
    default:
      r = a - b;
      op = LazyOp.Sub;
      break;
  }
  return recordLazy(cpu.lz, op, a, b, (r << sh) >> sh);
}


// --- Handlers for the six classic forms of each ALU operation, per width ---

function makeAlu(kind: number): Record<string, Handler> {
  const writes = kind !== AluOp.Cmp;
  const op32 = (cpu: Cpu, a: number, s: number): number => alu(cpu, kind, a, getG32(cpu, s), 0);
  const op16 = (cpu: Cpu, a: number, s: number): number => alu(cpu, kind, a, getG16(cpu, s), 16);
  const op8 = (cpu: Cpu, a: number, s: number): number => alu(cpu, kind, a, getG8(cpu, s), 24);
  const opI32 = (cpu: Cpu, a: number, s: number): number => alu(cpu, kind, a, cpu.d.imm[s], 0);
  const opI16 = (cpu: Cpu, a: number, s: number): number => alu(cpu, kind, a, cpu.d.imm[s], 16);
  const opI8 = (cpu: Cpu, a: number, s: number): number => alu(cpu, kind, a, cpu.d.imm[s], 24);
  return {
    EbGb: writes ? (cpu, s) => rmwE8(cpu, s, op8) : (cpu, s) => void alu(cpu, kind, getE8(cpu, s), getG8(cpu, s), 24),
    EvGv32: writes
      ? (cpu, s) => {
          const r = cpu.d.rm[s];
          if (r !== RM_MEM) cpu.reg32[r] = alu(cpu, kind, cpu.reg32[r], cpu.reg32[cpu.d.reg[s]], 0);
          else rmwE32(cpu, s, op32);
        }
      : (cpu, s) => void alu(cpu, kind, getE32(cpu, s), getG32(cpu, s), 0),
    EvGv16: writes ? (cpu, s) => rmwE16(cpu, s, op16) : (cpu, s) => void alu(cpu, kind, getE16(cpu, s), getG16(cpu, s), 16),
    GbEb: (cpu, s) => {
      const r = alu(cpu, kind, getG8(cpu, s), getE8(cpu, s), 24);
      if (writes) setG8(cpu, s, r);
    },
    GvEv32: (cpu, s) => {
      const r = alu(cpu, kind, getG32(cpu, s), getE32(cpu, s), 0);
      if (writes) setG32(cpu, s, r);
    },
    GvEv16: (cpu, s) => {
      const r = alu(cpu, kind, getG16(cpu, s), getE16(cpu, s), 16);
      if (writes) setG16(cpu, s, r);
    },
    ALIb: (cpu, s) => {
      const r = alu(cpu, kind, cpu.reg8[0], cpu.d.imm[s], 24);
      if (writes) cpu.reg8[0] = r;
    },
    EAXIz32: (cpu, s) => {
      const r = alu(cpu, kind, cpu.reg32[0], cpu.d.imm[s], 0);
      if (writes) cpu.reg32[0] = r;
    },
    EAXIz16: (cpu, s) => {
      const r = alu(cpu, kind, cpu.reg16[0], cpu.d.imm[s], 16);
      if (writes) cpu.reg16[0] = r;
    },
    EbIb: writes ? (cpu, s) => rmwE8(cpu, s, opI8) : (cpu, s) => void alu(cpu, kind, getE8(cpu, s), cpu.d.imm[s], 24),
    EvI32: writes ? (cpu, s) => rmwE32(cpu, s, opI32) : (cpu, s) => void alu(cpu, kind, getE32(cpu, s), cpu.d.imm[s], 0),
    EvI16: writes ? (cpu, s) => rmwE16(cpu, s, opI16) : (cpu, s) => void alu(cpu, kind, getE16(cpu, s), cpu.d.imm[s], 16),
  };
}

// --- INC / DEC ---

function incDec(cpu: Cpu, a: number, dec: boolean, sh: number): number {
  a = (a << sh) >> sh;
  // INC/DEC keep CF: fold the previous operation's CF into the flags register first.
  cpu.flags = (cpu.flags & ~Flag.CF) | cpu.getCF();
  return recordLazy(cpu.lz, dec ? LazyOp.Dec : LazyOp.Inc, a, 1, ((dec ? a - 1 : a + 1) << sh) >> sh);
}

const inc32 = (cpu: Cpu, a: number): number => incDec(cpu, a, false, 0);
const inc16 = (cpu: Cpu, a: number): number => incDec(cpu, a, false, 16);
const inc8 = (cpu: Cpu, a: number): number => incDec(cpu, a, false, 24);
const dec32 = (cpu: Cpu, a: number): number => incDec(cpu, a, true, 0);
const dec16 = (cpu: Cpu, a: number): number => incDec(cpu, a, true, 16);
const dec8 = (cpu: Cpu, a: number): number => incDec(cpu, a, true, 24);

// --- NEG / NOT ---

const neg = (sh: number) => (cpu: Cpu, a: number): number => alu(cpu, AluOp.Sub, 0, a, sh);
const not = (cpu: Cpu, a: number): number => ~a;

// --- MUL / IMUL / DIV / IDIV (SDM Vol. 2): SF ZF AF PF undefined; we leave them as computed below ---

function mulFlags(cpu: Cpu, overflow: boolean, low: number): void {
  // CF = OF = high half significant. SF/ZF/PF from the low result, AF 0 (undefined by the SDM).
  let f = overflow ? Flag.CF | Flag.OF : 0;
  if (low === 0) f |= Flag.ZF;
  if (low < 0) f |= Flag.SF;
  f |= parity(low);
  cpu.setArith(f);
}

function mul8(cpu: Cpu, s: number): void {
  const r = cpu.reg8[0] * getE8(cpu, s);
  cpu.reg16[0] = r;
  mulFlags(cpu, r > 0xff, (r << 24) >> 24);
}
function mul16(cpu: Cpu, s: number): void {
  const r = cpu.reg16[0] * getE16(cpu, s);
  cpu.reg16[0] = r;
  cpu.reg16[4] = r >>> 16;
  mulFlags(cpu, r > 0xffff, (r << 16) >> 16);
}
function mul32(cpu: Cpu, s: number): void {
  const a = cpu.reg32[0] >>> 0;
  const b = getE32(cpu, s) >>> 0;
  const lo = Math.imul(a, b);
  const hi = umulHigh(a, b);
  cpu.reg32[0] = lo;
  cpu.reg32[2] = hi;
  mulFlags(cpu, hi !== 0, lo);
}

/** High 32 bits of an unsigned 32x32 product, exact (no BigInt). */
export function umulHigh(a: number, b: number): number {
  const aHi = a >>> 16;
  const aLo = a & 0xffff;
  const bHi = b >>> 16;
  const bLo = b & 0xffff;
  const lolo = aLo * bLo;
  const mid1 = aHi * bLo;
  const mid2 = aLo * bHi;
  const carry = ((lolo >>> 16) + (mid1 & 0xffff) + (mid2 & 0xffff)) >>> 16;
  return (aHi * bHi + (mid1 >>> 16) + (mid2 >>> 16) + carry) | 0;
}

/** High 32 bits of a signed 32x32 product. */
export function imulHigh(a: number, b: number): number {
  let hi = umulHigh(a >>> 0, b >>> 0);
  if (a < 0) hi = (hi - b) | 0;
  if (b < 0) hi = (hi - a) | 0;
  return hi;
}

function imul1_8(cpu: Cpu, s: number): void {
  const r = ((cpu.reg8[0] << 24) >> 24) * ((getE8(cpu, s) << 24) >> 24);
  cpu.reg16[0] = r;
  mulFlags(cpu, r !== (r << 24) >> 24, (r << 24) >> 24);
}
function imul1_16(cpu: Cpu, s: number): void {
  const r = ((cpu.reg16[0] << 16) >> 16) * ((getE16(cpu, s) << 16) >> 16);
  cpu.reg16[0] = r;
  cpu.reg16[4] = r >>> 16;
  mulFlags(cpu, r !== (r << 16) >> 16, (r << 16) >> 16);
}
function imul1_32(cpu: Cpu, s: number): void {
  const a = cpu.reg32[0];
  const b = getE32(cpu, s);
  const lo = Math.imul(a, b);
  const hi = imulHigh(a, b);
  cpu.reg32[0] = lo;
  cpu.reg32[2] = hi;
  mulFlags(cpu, hi !== lo >> 31, lo);
}

function imul2(cpu: Cpu, a: number, b: number, sh: number): number {
  if (sh === 0) {
    const lo = Math.imul(a, b);
    mulFlags(cpu, imulHigh(a, b) !== lo >> 31, lo);
    return lo;
  }
  const r = ((a << sh) >> sh) * ((b << sh) >> sh);
  const low = (r << sh) >> sh;
  mulFlags(cpu, r !== low, low);
  return low;
}

const imulGvEv32: Handler = (cpu, s) => setG32(cpu, s, imul2(cpu, getG32(cpu, s), getE32(cpu, s), 0));
const imulGvEv16: Handler = (cpu, s) => setG16(cpu, s, imul2(cpu, getG16(cpu, s), getE16(cpu, s), 16));
const imulGvEvI32: Handler = (cpu, s) => setG32(cpu, s, imul2(cpu, getE32(cpu, s), cpu.d.imm[s], 0));
const imulGvEvI16: Handler = (cpu, s) => setG16(cpu, s, imul2(cpu, getE16(cpu, s), cpu.d.imm[s], 16));

function div8(cpu: Cpu, s: number): void {
  const b = getE8(cpu, s);
  if (b === 0) cpu.raise(Vector.DE);
  const a = cpu.reg16[0];
  const q = Math.floor(a / b);
  if (q > 0xff) cpu.raise(Vector.DE);
  cpu.reg8[0] = q;
  cpu.reg8[1] = a % b;
}
function div16(cpu: Cpu, s: number): void {
  const b = getE16(cpu, s);
  if (b === 0) cpu.raise(Vector.DE);
  const a = ((cpu.reg16[4] << 16) | cpu.reg16[0]) >>> 0;
  const q = Math.floor(a / b);
  if (q > 0xffff) cpu.raise(Vector.DE);
  cpu.reg16[0] = q;
  cpu.reg16[4] = a % b;
}
function div32(cpu: Cpu, s: number): void {
  const b = getE32(cpu, s) >>> 0;
  if (b === 0) cpu.raise(Vector.DE);
  const hi = cpu.reg32[2] >>> 0;
  const lo = cpu.reg32[0] >>> 0;
  if (hi >= b) cpu.raise(Vector.DE); // quotient would not fit in 32 bits
  cpu.reg32[0] = udiv64(hi, lo, b);
  cpu.reg32[2] = divRemainder;
}

/** The remainder of the last udiv64 (a module scratch: no tuple allocated per DIV). */
let divRemainder = 0;

/** Unsigned 64/32 division with hi < d, exact in doubles by long division on 16-bit digits; remainder in divRemainder. */
function udiv64(hi: number, lo: number, d: number): number {
  if (hi === 0) {
    divRemainder = lo % d | 0;
    return Math.floor(lo / d) | 0;
  }
  let rem = hi;
  let q = 0;
  // Two steps of 16 bits each: rem < d < 2^32, so rem * 65536 + digit < 2^48 is exact.
  for (let shift = 16; shift >= 0; shift -= 16) {
    const cur = rem * 65536 + ((lo >>> shift) & 0xffff);
    const digit = Math.floor(cur / d);
    rem = cur - digit * d;
    q = q * 65536 + digit;
  }
  divRemainder = rem | 0;
  return q | 0;
}

function idiv8(cpu: Cpu, s: number): void {
  const b = (getE8(cpu, s) << 24) >> 24;
  if (b === 0) cpu.raise(Vector.DE);
  const a = (cpu.reg16[0] << 16) >> 16;
  const q = Math.trunc(a / b);
  if (q > 127 || q < -128) cpu.raise(Vector.DE);
  cpu.reg8[0] = q;
  cpu.reg8[1] = a % b;
}
function idiv16(cpu: Cpu, s: number): void {
  const b = (getE16(cpu, s) << 16) >> 16;
  if (b === 0) cpu.raise(Vector.DE);
  const a = (cpu.reg16[4] << 16) | cpu.reg16[0];
  const q = Math.trunc(a / b);
  if (q > 32767 || q < -32768) cpu.raise(Vector.DE);
  cpu.reg16[0] = q;
  cpu.reg16[4] = a % b;
}
function idiv32(cpu: Cpu, s: number): void {
  const b = getE32(cpu, s);
  if (b === 0) cpu.raise(Vector.DE);
  let hi = cpu.reg32[2];
  let lo = cpu.reg32[0];
  const negA = hi < 0;
  if (negA) {
    // Two's complement negate of the 64-bit dividend.
    lo = (~lo + 1) | 0;
    hi = (~hi + (lo === 0 ? 1 : 0)) | 0;
  }
  const ub = b < 0 ? -b >>> 0 : b;
  if (hi >>> 0 >= ub) cpu.raise(Vector.DE);
  const uq = udiv64(hi >>> 0, lo >>> 0, ub);
  const ur = divRemainder;
  const q = (uq >>> 0) * (negA !== b < 0 ? -1 : 1);
  if (q > 0x7fffffff || q < -0x80000000) cpu.raise(Vector.DE);
  cpu.reg32[0] = q | 0;
  cpu.reg32[2] = negA ? -(ur >>> 0) | 0 : ur;
}

// --- TEST ---

const testEbGb: Handler = (cpu, s) => void alu(cpu, AluOp.And, getE8(cpu, s), getG8(cpu, s), 24);
const testEvGv32: Handler = (cpu, s) => void alu(cpu, AluOp.And, getE32(cpu, s), getG32(cpu, s), 0);
const testEvGv16: Handler = (cpu, s) => void alu(cpu, AluOp.And, getE16(cpu, s), getG16(cpu, s), 16);
const testALIb: Handler = (cpu, s) => void alu(cpu, AluOp.And, cpu.reg8[0], cpu.d.imm[s], 24);
const testEAXIz32: Handler = (cpu, s) => void alu(cpu, AluOp.And, cpu.reg32[0], cpu.d.imm[s], 0);
const testEAXIz16: Handler = (cpu, s) => void alu(cpu, AluOp.And, cpu.reg16[0], cpu.d.imm[s], 16);
const testEbIb: Handler = (cpu, s) => void alu(cpu, AluOp.And, getE8(cpu, s), cpu.d.imm[s], 24);
const testEvIz32: Handler = (cpu, s) => void alu(cpu, AluOp.And, getE32(cpu, s), cpu.d.imm[s], 0);
const testEvIz16: Handler = (cpu, s) => void alu(cpu, AluOp.And, getE16(cpu, s), cpu.d.imm[s], 16);

export function registerAlu(t: TableBuilder): void {
  for (let k = 0; k < 8; k++) {
    const h = makeAlu(k);
    const fast = FAST32[k];
    if (fast !== undefined) {
      h.EvGv32 = fast.EvGv;
      h.GvEv32 = fast.GvEv;
      h.EvI32 = fast.EvI;
      h.EAXIz32 = fast.EAXIz;
    }
    const mnem = ALU_NAMES[k];
    const lock = k !== AluOp.Cmp;
    const base = k << 3;
    t.op(base + 0, { mnem, modrm: true, imm: Imm.None, h32: h.EbGb, lock });
    t.op(base + 1, { mnem, modrm: true, imm: Imm.None, h32: h.EvGv32, h16: h.EvGv16, lock });
    t.op(base + 2, { mnem, modrm: true, imm: Imm.None, h32: h.GbEb });
    t.op(base + 3, { mnem, modrm: true, imm: Imm.None, h32: h.GvEv32, h16: h.GvEv16 });
    t.op(base + 4, { mnem, modrm: false, imm: Imm.B, h32: h.ALIb });
    t.op(base + 5, { mnem, modrm: false, imm: Imm.Z, h32: h.EAXIz32, h16: h.EAXIz16 });
    t.groupEntry(0x80, k, { mnem, modrm: true, imm: Imm.B, h32: h.EbIb, lock });
    t.groupEntry(0x81, k, { mnem, modrm: true, imm: Imm.Z, h32: h.EvI32, h16: h.EvI16, lock });
    t.groupEntry(0x82, k, { mnem, modrm: true, imm: Imm.B, h32: h.EbIb, lock });
    t.groupEntry(0x83, k, { mnem, modrm: true, imm: Imm.B, h32: h.EvI32, h16: h.EvI16, lock });
  }
  // INC/DEC r32 (40+r, 48+r)
  for (let r = 0; r < 8; r++) {
    t.op(0x40 + r, {
      mnem: 'inc',
      modrm: false,
      imm: Imm.None,
      h32: (cpu) => void (cpu.reg32[r] = incDec(cpu, cpu.reg32[r], false, 0)),
      h16: (cpu) => void (cpu.reg16[r << 1] = incDec(cpu, cpu.reg16[r << 1], false, 16)),
    });
    t.op(0x48 + r, {
      mnem: 'dec',
      modrm: false,
      imm: Imm.None,
      h32: (cpu) => void (cpu.reg32[r] = incDec(cpu, cpu.reg32[r], true, 0)),
      h16: (cpu) => void (cpu.reg16[r << 1] = incDec(cpu, cpu.reg16[r << 1], true, 16)),
    });
  }
  t.groupEntry(0xfe, 0, { mnem: 'inc', modrm: true, imm: Imm.None, h32: (cpu, s) => rmwE8(cpu, s, inc8), lock: true });
  t.groupEntry(0xfe, 1, { mnem: 'dec', modrm: true, imm: Imm.None, h32: (cpu, s) => rmwE8(cpu, s, dec8), lock: true });
  t.groupEntry(0xff, 0, {
    mnem: 'inc', modrm: true, imm: Imm.None, lock: true,
    h32: (cpu, s) => rmwE32(cpu, s, inc32),
    h16: (cpu, s) => rmwE16(cpu, s, inc16),
  });
  t.groupEntry(0xff, 1, {
    mnem: 'dec', modrm: true, imm: Imm.None, lock: true,
    h32: (cpu, s) => rmwE32(cpu, s, dec32),
    h16: (cpu, s) => rmwE16(cpu, s, dec16),
  });
  // TEST
  t.op(0x84, { mnem: 'test', modrm: true, imm: Imm.None, h32: testEbGb });
  t.op(0x85, { mnem: 'test', modrm: true, imm: Imm.None, h32: testEvGv32, h16: testEvGv16 });
  t.op(0xa8, { mnem: 'test', modrm: false, imm: Imm.B, h32: testALIb });
  t.op(0xa9, { mnem: 'test', modrm: false, imm: Imm.Z, h32: testEAXIz32, h16: testEAXIz16 });
  // Group 3 (F6 Eb / F7 Ev): TEST (/0 and its alias /1), NOT, NEG, MUL, IMUL, DIV, IDIV.
  const neg8 = neg(24);
  const neg16 = neg(16);
  const neg32 = neg(0);
  const f6 = [
    { mnem: 'test', imm: Imm.B, h32: testEbIb },
    { mnem: 'test', imm: Imm.B, h32: testEbIb },
    { mnem: 'not', imm: Imm.None, h32: ((cpu, s) => rmwE8(cpu, s, not)) as Handler, lock: true },
    { mnem: 'neg', imm: Imm.None, h32: ((cpu, s) => rmwE8(cpu, s, neg8)) as Handler, lock: true },
    { mnem: 'mul', imm: Imm.None, h32: mul8 },
    { mnem: 'imul', imm: Imm.None, h32: imul1_8 },
    { mnem: 'div', imm: Imm.None, h32: div8, cycles: DIVIDE_CYCLES },
    { mnem: 'idiv', imm: Imm.None, h32: idiv8, cycles: DIVIDE_CYCLES },
  ];
  const f7 = [
    { mnem: 'test', imm: Imm.Z, h32: testEvIz32, h16: testEvIz16 },
    { mnem: 'test', imm: Imm.Z, h32: testEvIz32, h16: testEvIz16 },
    { mnem: 'not', imm: Imm.None, h32: ((cpu, s) => rmwE32(cpu, s, not)) as Handler, h16: ((cpu, s) => rmwE16(cpu, s, not)) as Handler, lock: true },
    { mnem: 'neg', imm: Imm.None, h32: ((cpu, s) => rmwE32(cpu, s, neg32)) as Handler, h16: ((cpu, s) => rmwE16(cpu, s, neg16)) as Handler, lock: true },
    { mnem: 'mul', imm: Imm.None, h32: mul32, h16: mul16 },
    { mnem: 'imul', imm: Imm.None, h32: imul1_32, h16: imul1_16 },
    { mnem: 'div', imm: Imm.None, h32: div32, h16: div16, cycles: DIVIDE_CYCLES },
    { mnem: 'idiv', imm: Imm.None, h32: idiv32, h16: idiv16, cycles: DIVIDE_CYCLES },
  ];
  f6.forEach((e, i) => t.groupEntry(0xf6, i, { ...e, modrm: true }));
  f7.forEach((e, i) => t.groupEntry(0xf7, i, { ...e, modrm: true }));
  t.op(0x1af, { mnem: 'imul', modrm: true, imm: Imm.None, h32: imulGvEv32, h16: imulGvEv16 });
  t.op(0x69, { mnem: 'imul', modrm: true, imm: Imm.Z, h32: imulGvEvI32, h16: imulGvEvI16 });
  t.op(0x6b, { mnem: 'imul', modrm: true, imm: Imm.B, h32: imulGvEvI32, h16: imulGvEvI16 });
}

