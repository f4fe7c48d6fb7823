// Shifts and rotates: group 2 (ROL ROR RCL RCR SHL SHR SAL SAR by 1, CL and imm8) and SHLD/SHRD, with flags.
// Operand plumbing is operands.ts'; the lazy-flag machinery is flags.ts' (these instructions set flags eagerly).

import type { Cpu } from '../cpu.js';
import { R8 } from '../registers.js';
import { Imm, RM_MEM, type Handler } from '../decoder.js';
import { Flag, parity } from '../flags.js';
import type { TableBuilder } from '../table-builder.js';

/** Group 2 operations by ModRM.reg (SDM Vol. 2 table A-6). /6 is an alias of SHL (iced-x86: `sal`). */
const enum Shift {
  Rol = 0,
  Ror = 1,
  Rcl = 2,
  Rcr = 3,
  Shl = 4,
  Shr = 5,
  Sal = 6,
  Sar = 7,
}

const GROUP2_NAMES = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sal', 'sar'];

/** CL as the count operand. */
function cl(cpu: Cpu): number {
  return cpu.reg8[R8[1]];
}

/** SF, ZF and PF of a w-bit result (zero-extended, or sign-extended for w = 32). */
function szp(res: number, w: number): number {
  let f = parity(res);
  if (res === 0) f |= Flag.ZF;
  if (((res >>> (w - 1)) & 1) !== 0) f |= Flag.SF;
  return f;
}

/**
 * One group 2 operation (SDM Vol. 2 "RCL/RCR/ROL/ROR" and "SAL/SAR/SHL/SHR") on the w-bit value v
 * (w = 8, 16 or 32; bits above w are zero) by the masked count c (1..31); sets the flags and returns
 * the w-bit result. Where the SDM leaves OF undefined (count > 1) the count-1 formula is applied to the
 * final state, as Bochs does; AF is undefined for shifts and left 0.
 */
function group2(cpu: Cpu, kind: number, v: number, c: number, w: number): number {
  const mask = w === 32 ? -1 : (1 << w) - 1;
  const top = w - 1;
  let res: number;
  let cf: number;
  let of: number;
  switch (kind) {
    case Shift.Rol: {
      // Rotation count is c MOD w, but CF/OF are written for any nonzero masked count.
      const n = c & top;
      res = n === 0 ? v : ((v << n) | (v >>> (w - n))) & mask;
      cf = res & 1;
      of = ((res >>> top) & 1) ^ cf;
      cpu.setArith((cpu.getFlags() & ~(Flag.CF | Flag.OF)) | cf | (of << 11));
      return res;
    }
    case Shift.Ror: {
      const n = c & top;
      res = n === 0 ? v : ((v >>> n) | (v << (w - n))) & mask;
      cf = (res >>> top) & 1;
      of = cf ^ ((res >>> (top - 1)) & 1);
      cpu.setArith((cpu.getFlags() & ~(Flag.CF | Flag.OF)) | cf | (of << 11));
      return res;
    }
    case Shift.Rcl: {
      // A (w+1)-bit rotation through CF; the count is c MOD 9 / MOD 17 for 8/16 bits, c for 32.
      const old = cpu.getFlags();
      const n = w === 32 ? c : c % (w + 1);
      cf = old & Flag.CF;
      res = v;
      if (n !== 0) {
        const wrap = n === 1 ? 0 : v >>> (w + 1 - n); // bits that travel round through CF
        res = ((v << n) | (cf << (n - 1)) | wrap) & mask;
        cf = (v >>> (w - n)) & 1;
      }
      of = ((res >>> top) & 1) ^ cf;
      cpu.setArith((old & ~(Flag.CF | Flag.OF)) | cf | (of << 11));
      return res;
    }
    case Shift.Rcr: {
      const old = cpu.getFlags();
      const n = w === 32 ? c : c % (w + 1);
      cf = old & Flag.CF;
      res = v;
      if (n !== 0) {
        const wrap = n === 1 ? 0 : v << (w + 1 - n);
        res = ((v >>> n) | (cf << (w - n)) | wrap) & mask;
        cf = (v >>> (n - 1)) & 1;
      }
      // Count 1: MSB(original) XOR CF(before) = the two top bits of the result.
      of = ((res >>> top) & 1) ^ ((res >>> (top - 1)) & 1);
      cpu.setArith((old & ~(Flag.CF | Flag.OF)) | cf | (of << 11));
      return res;
    }
    case Shift.Shl:
    case Shift.Sal:
      // For 8/16 bits a count above the width shifts every bit (and CF) out: result 0, CF 0.
      res = (v << c) & mask;
      cf = c <= w ? (v >>> (w - c)) & 1 : 0;
      of = ((res >>> top) & 1) ^ cf;
      break;
    case Shift.Shr:
      res = v >>> c;
      cf = (v >>> (c - 1)) & 1;
      of = (v >>> top) & 1; // count 1: MSB of the original operand
      if (c !== 1) of = ((res >>> top) & 1) ^ ((res >>> (top - 1)) & 1);
      break;
    default: {
      // SAR: the sign fills; a count at or above the width leaves all sign bits, CF = sign.
      const sv = (v << (32 - w)) >> (32 - w);
      res = (sv >> c) & mask;
      cf = (sv >> (c - 1)) & 1;
      of = 0;
      break;
    }
  }
  cpu.setArith(szp(res, w) | cf | (of << 11));
  return res;
}

// --- Group 2 handlers: one per width and count source; the operation is ModRM.reg ---

function shiftE32(cpu: Cpu, s: number, count: number): void {
  const c = count & 31;
  const r = cpu.d.rm[s];
  if (r !== RM_MEM) {
    if (c !== 0) cpu.reg32[r] = group2(cpu, cpu.d.reg[s], cpu.reg32[r], c, 32);
    return;
  }
  // Masked count 0: the operand is still accessed (faults stand) but neither it nor the flags change.
  const lin = cpu.ea(s, 4, true);
  const v = cpu.rmw32(lin);
  if (c !== 0) cpu.write32(lin, group2(cpu, cpu.d.reg[s], v, c, 32));
}

function shiftE16(cpu: Cpu, s: number, count: number): void {
  const c = count & 31;
  const r = cpu.d.rm[s];
  if (r !== RM_MEM) {
    if (c !== 0) cpu.reg16[r << 1] = group2(cpu, cpu.d.reg[s], cpu.reg16[r << 1], c, 16);
    return;
  }
  const lin = cpu.ea(s, 2, true);
  const v = cpu.rmw16(lin);
  if (c !== 0) cpu.write16(lin, group2(cpu, cpu.d.reg[s], v, c, 16));
}

function shiftE8(cpu: Cpu, s: number, count: number): void {
  const c = count & 31;
  const r = cpu.d.rm[s];
  if (r !== RM_MEM) {
    const i = R8[r];
    if (c !== 0) cpu.reg8[i] = group2(cpu, cpu.d.reg[s], cpu.reg8[i], c, 8);
    return;
  }
  const lin = cpu.ea(s, 1, true);
  const v = cpu.rmw8(lin);
  if (c !== 0) cpu.write8(lin, group2(cpu, cpu.d.reg[s], v, c, 8));
}

const shiftEbIb: Handler = (cpu, s) => shiftE8(cpu, s, cpu.d.imm[s]);
const shiftEvIb32: Handler = (cpu, s) => shiftE32(cpu, s, cpu.d.imm[s]);
const shiftEvIb16: Handler = (cpu, s) => shiftE16(cpu, s, cpu.d.imm[s]);
const shiftEb1: Handler = (cpu, s) => shiftE8(cpu, s, 1);
const shiftEv1_32: Handler = (cpu, s) => shiftE32(cpu, s, 1);
const shiftEv1_16: Handler = (cpu, s) => shiftE16(cpu, s, 1);
const shiftEbCL: Handler = (cpu, s) => shiftE8(cpu, s, cl(cpu));
const shiftEvCL32: Handler = (cpu, s) => shiftE32(cpu, s, cl(cpu));
const shiftEvCL16: Handler = (cpu, s) => shiftE16(cpu, s, cl(cpu));

// --- SHLD / SHRD (SDM Vol. 2 "SHLD", "SHRD") ---

/**
 * Flags of a double shift: CF = last bit out, SF/ZF/PF from the result, AF 0 (undefined). OF is defined
 * for count 1 as "sign changed"; for other counts we use the formulas Bochs models Intel with, which equal
 * it at count 1: SHLD: CF XOR MSB(result); SHRD: the two top bits of the result differ.
 */
function doubleFlags(cpu: Cpu, res: number, cf: number, of: number, w: number): void {
  cpu.setArith(szp(res, w) | cf | (of << 11));
}

function shldOF(res: number, cf: number, w: number): number {
  return ((res >>> (w - 1)) & 1) ^ cf;
}

function shrdOF(res: number, w: number): number {
  return ((res >>> (w - 1)) ^ (res >>> (w - 2))) & 1;
}

/** SHLD r/m32 by c (1..31): the top of the destination shifts out, the top of src shifts in. */
function shld32(cpu: Cpu, dest: number, src: number, c: number): number {
  const res = (dest << c) | (src >>> (32 - c));
  const cf = (dest >>> (32 - c)) & 1;
  doubleFlags(cpu, res, cf, shldOF(res, cf, 32), 32);
  return res;
}

function shrd32(cpu: Cpu, dest: number, src: number, c: number): number {
  const res = (dest >>> c) | (src << (32 - c));
  doubleFlags(cpu, res, (dest >>> (c - 1)) & 1, shrdOF(res, 32), 32);
  return res;
}

/**
 * 16-bit SHLD. For c > 16 the SDM leaves result and flags undefined; like P6-family processors (and
 * Bochs) we shift the 48-bit dest:src:dest, which for c <= 16 is the defined dest:src shift.
 */
function shld16(cpu: Cpu, dest: number, src: number, c: number): number {
  const y = (dest << 16) | src;
  let res: number;
  let cf: number;
  if (c <= 16) {
    res = (y << c) >>> 16;
    cf = (dest >>> (16 - c)) & 1;
  } else {
    const z = (src << 16) | dest; // the low 32 bits of dest:src:dest
    res = (z << (c - 16)) >>> 16;
    cf = (z >>> (48 - c)) & 1;
  }
  doubleFlags(cpu, res, cf, shldOF(res, cf, 16), 16);
  return res;
}

/** 16-bit SHRD; for c > 16, the 48-bit dest:src:dest shifted right (see shld16). */
function shrd16(cpu: Cpu, dest: number, src: number, c: number): number {
  let res: number;
  let cf: number;
  if (c <= 16) {
    res = (((src << 16) | dest) >>> c) & 0xffff;
    cf = (dest >>> (c - 1)) & 1;
  } else {
    const z = (dest << 16) | src; // the high 32 bits of dest:src:dest
    res = (z >>> (c - 16)) & 0xffff;
    cf = (z >>> (c - 17)) & 1;
  }
  doubleFlags(cpu, res, cf, shrdOF(res, 16), 16);
  return res;
}

type DoubleShift = (cpu: Cpu, dest: number, src: number, c: number) => number;

function doubleE32(cpu: Cpu, s: number, count: number, op: DoubleShift): void {
  const c = count & 31;
  const src = cpu.reg32[cpu.d.reg[s]];
  const r = cpu.d.rm[s];
  if (r !== RM_MEM) {
    if (c !== 0) cpu.reg32[r] = op(cpu, cpu.reg32[r], src, c);
    return;
  }
  const lin = cpu.ea(s, 4, true);
  const v = cpu.rmw32(lin);
  if (c !== 0) cpu.write32(lin, op(cpu, v, src, c));
}

function doubleE16(cpu: Cpu, s: number, count: number, op: DoubleShift): void {
  const c = count & 31;
  const src = cpu.reg16[cpu.d.reg[s] << 1];
  const r = cpu.d.rm[s];
  if (r !== RM_MEM) {
    if (c !== 0) cpu.reg16[r << 1] = op(cpu, cpu.reg16[r << 1], src, c);
    return;
  }
  const lin = cpu.ea(s, 2, true);
  const v = cpu.rmw16(lin);
  if (c !== 0) cpu.write16(lin, op(cpu, v, src, c));
}

const shldIb32: Handler = (cpu, s) => doubleE32(cpu, s, cpu.d.imm[s], shld32);
const shldIb16: Handler = (cpu, s) => doubleE16(cpu, s, cpu.d.imm[s], shld16);
const shldCL32: Handler = (cpu, s) => doubleE32(cpu, s, cl(cpu), shld32);
const shldCL16: Handler = (cpu, s) => doubleE16(cpu, s, cl(cpu), shld16);
const shrdIb32: Handler = (cpu, s) => doubleE32(cpu, s, cpu.d.imm[s], shrd32);
const shrdIb16: Handler = (cpu, s) => doubleE16(cpu, s, cpu.d.imm[s], shrd16);
const shrdCL32: Handler = (cpu, s) => doubleE32(cpu, s, cl(cpu), shrd32);
const shrdCL16: Handler = (cpu, s) => doubleE16(cpu, s, cl(cpu), shrd16);

export function registerShift(t: TableBuilder): void {
  for (let k = 0; k < 8; k++) {
    const mnem = GROUP2_NAMES[k];
    t.groupEntry(0xc0, k, { mnem, modrm: true, imm: Imm.B, h32: shiftEbIb });
    t.groupEntry(0xc1, k, { mnem, modrm: true, imm: Imm.B, h32: shiftEvIb32, h16: shiftEvIb16 });
    t.groupEntry(0xd0, k, { mnem, modrm: true, imm: Imm.None, h32: shiftEb1 });
    t.groupEntry(0xd1, k, { mnem, modrm: true, imm: Imm.None, h32: shiftEv1_32, h16: shiftEv1_16 });
    t.groupEntry(0xd2, k, { mnem, modrm: true, imm: Imm.None, h32: shiftEbCL });
    t.groupEntry(0xd3, k, { mnem, modrm: true, imm: Imm.None, h32: shiftEvCL32, h16: shiftEvCL16 });
  }
  t.op(0x1a4, { mnem: 'shld', modrm: true, imm: Imm.B, h32: shldIb32, h16: shldIb16 });
  t.op(0x1a5, { mnem: 'shld', modrm: true, imm: Imm.None, h32: shldCL32, h16: shldCL16 });
  t.op(0x1ac, { mnem: 'shrd', modrm: true, imm: Imm.B, h32: shrdIb32, h16: shrdIb16 });
  t.op(0x1ad, { mnem: 'shrd', modrm: true, imm: Imm.None, h32: shrdCL32, h16: shrdCL16 });
}
