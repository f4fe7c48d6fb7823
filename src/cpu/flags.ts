// EFLAGS bits and the lazy arithmetic flags (DESIGN.md "Lazy flags"): the last operation's operands and
// result are kept, and CF/PF/AF/ZF/SF/OF are computed only when something reads them.

export const enum Flag {
  CF = 1 << 0,
  FIXED1 = 1 << 1,
  PF = 1 << 2,
  AF = 1 << 4,
  ZF = 1 << 6,
  SF = 1 << 7,
  TF = 1 << 8,
  IF = 1 << 9,
  DF = 1 << 10,
  OF = 1 << 11,
  IOPL = 3 << 12,
  NT = 1 << 14,
  RF = 1 << 16,
  VM = 1 << 17,
  AC = 1 << 18,
  VIF = 1 << 19,
  VIP = 1 << 20,
  ID = 1 << 21,
}

/** The six status flags the lazy machinery computes. */
export const ARITH_FLAGS = Flag.CF | Flag.PF | Flag.AF | Flag.ZF | Flag.SF | Flag.OF;

/**
 * Flags writable by POPF/IRET at CPL 0 on this CPU (no VME/PVI, no alignment checking: AC is writable
 * as on a 486+; ID writable so that CPUID is detectable). VM is cleared by POPF, left to IRET.
 */
export const WRITABLE_FLAGS = ARITH_FLAGS | Flag.TF | Flag.IF | Flag.DF | Flag.IOPL | Flag.NT | Flag.AC | Flag.ID | Flag.RF;

/**
 * What the last flag-setting operation was. Operands and result are kept sign-extended to 32 bits: sign
 * extension preserves unsigned order, so the carry formulas below need no operand size.
 */
export const enum LazyOp {
  None = 0, // flags register is exact
  Add = 1,
  Adc = 2, // add with carry-in 1 (carry-in 0 is Add)
  Sub = 3,
  Sbb = 4, // subtract with borrow-in 1
  Logic = 5, // AND/OR/XOR/TEST: CF = OF = 0, AF undefined (0 here, as on the processors we compared)
  Inc = 6, // like Add with b = 1, CF preserved in the flags register
  Dec = 7, // like Sub with b = 1, CF preserved
}

/** Indices into Cpu.lz. */
export const enum Lz {
  Op = 0,
  A = 1,
  B = 2,
  Res = 3,
}

/** Records a flag-setting operation in a CPU's lz array for lazy evaluation; returns the result. */
export function recordLazy(lz: Int32Array, op: LazyOp, a: number, b: number, res: number): number {
  lz[Lz.Op] = op;
  lz[Lz.A] = a;
  lz[Lz.B] = b;
  lz[Lz.Res] = res;
  return res;
}

const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let p = 1;
  for (let b = i; b !== 0; b >>= 1) p ^= b & 1;
  PARITY[i] = p ? Flag.PF : 0;
}

/** PF for a result: set when the low byte has an even number of ones. */
export function parity(result: number): number {
  return PARITY[result & 0xff];
}

/** Computes the six status flags of a lazy operation (the other bits are the caller's). */
export function lazyFlags(op: LazyOp, a: number, b: number, res: number, oldFlags: number): number {
  let f = PARITY[res & 0xff];
  if (res === 0) f |= Flag.ZF;
  if (res < 0) f |= Flag.SF;
  switch (op) {
    case LazyOp.Add:
      if (res >>> 0 < a >>> 0) f |= Flag.CF;
      if (((a ^ res) & (b ^ res)) < 0) f |= Flag.OF;
      f |= (a ^ b ^ res) & Flag.AF;
      break;
    case LazyOp.Adc:
      if (res >>> 0 <= a >>> 0) f |= Flag.CF;
      if (((a ^ res) & (b ^ res)) < 0) f |= Flag.OF;
      f |= (a ^ b ^ res) & Flag.AF;
      break;
    case LazyOp.Sub:
      if (a >>> 0 < b >>> 0) f |= Flag.CF;
      if (((a ^ b) & (a ^ res)) < 0) f |= Flag.OF;
      f |= (a ^ b ^ res) & Flag.AF;
      break;
    case LazyOp.Sbb:
      if (a >>> 0 <= b >>> 0) f |= Flag.CF;
      if (((a ^ b) & (a ^ res)) < 0) f |= Flag.OF;
      f |= (a ^ b ^ res) & Flag.AF;
      break;
    case LazyOp.Logic:
      break;
    case LazyOp.Inc:
      f |= oldFlags & Flag.CF;
      if (((a ^ res) & (b ^ res)) < 0) f |= Flag.OF;
      f |= (a ^ b ^ res) & Flag.AF;
      break;
    case LazyOp.Dec:
      f |= oldFlags & Flag.CF;
      if (((a ^ b) & (a ^ res)) < 0) f |= Flag.OF;
      f |= (a ^ b ^ res) & Flag.AF;
      break;
    default:
      return oldFlags & ARITH_FLAGS;
  }
  return f;
}
