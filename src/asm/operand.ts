// Parsing of instruction operands (registers, immediates with size/jump keywords, memory references,
// far pointers) into an AST, and NASM's effective-address encoding (base/index choice, disp size).
// Evaluation of expressions is left to expr.ts; instruction matching to encode.ts.

import { parseExpr, type EaHint, type EvalContext, type Expr, type ExprParser, evaluate } from './expr.js';
import { lookupRegister, type Register } from './registers.js';
import { fail } from './types.js';

export const SIZE_KEYWORDS: Readonly<Record<string, number>> = {
  byte: 8, word: 16, dword: 32, qword: 64, tword: 80, oword: 128,
};

export type Operand =
  | { k: 'reg'; reg: Register }
  | { k: 'imm'; expr: Expr; size: number; strict: boolean; jump: '' | 'short' | 'near' | 'far' }
  | {
      k: 'mem';
      expr: Expr;
      size: number;
      seg: Register | null;
      nosplit: boolean;
      dispSize: number;
      far: boolean;
    }
  | { k: 'ptr'; seg: Expr; off: Expr; size: number };

export function parseOperand(p: ExprParser): Operand {
  let size = 0;
  let strict = false;
  let jump: '' | 'short' | 'near' | 'far' = '';
  for (;;) {
    const t = p.toks[p.pos];
    if (!t || t.k !== 'id') break;
    const w = t.s.toLowerCase();
    if (w in SIZE_KEYWORDS) size = SIZE_KEYWORDS[w];
    else if (w === 'strict') strict = true;
    else if (w === 'short' || w === 'near' || w === 'far') jump = w;
    else break;
    p.pos++;
  }
  const t = p.toks[p.pos];
  if (!t) fail('operand expected');
  if (t.k === 'op' && t.s === '[') {
    p.pos++;
    const m = parseMemory(p, size, jump === 'far');
    if (strict || jump === 'short') fail('invalid use of keyword on a memory operand');
    return m;
  }
  if (t.k === 'id' && !size && !strict && !jump) {
    const reg = lookupRegister(t.s);
    const next = p.toks[p.pos + 1];
    if (reg && (!next || (next.k === 'op' && next.s === ','))) {
      p.pos++;
      return { k: 'reg', reg };
    }
    if (reg && next && next.k === 'op' && next.s === ':') fail('segment override outside brackets is not supported');
  }
  const expr = parseExpr(p);
  const c = p.toks[p.pos];
  if (c && c.k === 'op' && c.s === ':') {
    p.pos++;
    const off = parseExpr(p);
    return { k: 'ptr', seg: expr, off, size };
  }
  return { k: 'imm', expr, size, strict, jump };
}

function parseMemory(p: ExprParser, size: number, far: boolean): Operand {
  let seg: Register | null = null;
  let nosplit = false;
  let dispSize = 0;
  for (;;) {
    const t = p.toks[p.pos];
    if (!t || t.k !== 'id') break;
    const w = t.s.toLowerCase();
    const next = p.toks[p.pos + 1];
    if (w === 'nosplit') nosplit = true;
    else if (w === 'byte' || w === 'dword') dispSize = SIZE_KEYWORDS[w];
    else if (w === 'word') fail('16-bit displacements are not supported');
    else if (next && next.k === 'op' && next.s === ':' && lookupRegister(w)?.cls === 'sreg') {
      seg = lookupRegister(w) as Register;
      p.pos++;
    } else break;
    p.pos++;
  }
  const expr = parseExpr(p);
  const c = p.toks[p.pos];
  if (!c || c.k !== 'op' || c.s !== ']') fail("expecting ']'");
  p.pos++;
  return { k: 'mem', expr, size, seg, nosplit, dispSize, far };
}

/** The ModRM/SIB/displacement part of an encoding for one memory operand. */
export interface EffectiveAddress {
  mod: number;
  rm: number;
  sib: number;
  /** Displacement length in bytes: 0, 1 or 4. */
  dispLen: number;
  disp: number;
  /** The address had no registers (a candidate for the moffs forms). */
  absolute: boolean;
  value: bigint;
  rel: number;
  unknown: boolean;
}

const SCALE_BITS: Record<string, number> = { '1': 0, '2': 1, '4': 2, '8': 3 };

/**
 * Evaluates a memory operand and chooses base, index and displacement exactly as NASM does:
 * register terms sorted by NASM's register order, then its base/index hints, scale splitting
 * (`[eax*2]` becomes `[eax+eax]` unless `nosplit`) and ESP never as an index.
 */
export function effectiveAddress(m: Extract<Operand, { k: 'mem' }>, ctx: EvalContext): EffectiveAddress {
  const hint: EaHint = { reg: null, type: 'none' };
  const v = evaluate(m.expr, { ...ctx, hint });
  if (v.rel !== 0 && v.rel !== 1) fail('invalid effective address: impossible segment base multiplier');
  const terms = [...(v.regs ?? new Map<string, bigint>())].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  for (const [name] of terms) {
    const r = lookupRegister(name) as Register;
    if (r.cls !== 'gpr' || r.size !== 32) fail(`invalid effective address: register '${name}' cannot be used here`);
  }
  if (terms.length > 2) fail('invalid effective address: too many registers');
  let b: string | null = null;
  let i: string | null = null;
  let s = 0n;
  if (terms.length >= 1) {
    if (terms[0][1] === 1n) b = terms[0][0];
    else [i, s] = terms[0];
  }
  if (terms.length === 2) {
    if (b !== null) [i, s] = terms[1];
    else if (terms[1][1] !== 1n) fail('invalid effective address: two index registers');
    else b = terms[1][0];
  }
  if (s === 1n && b !== null && i !== null) {
    if ((hint.reg === b && hint.type === 'notbase') || (hint.reg === i && hint.type === 'makebase')) [b, i] = [i, b];
  }
  if (b !== null && i === null && m.nosplit && hint.reg === b && hint.type === 'notbase') {
    i = b;
    s = 1n;
    b = null;
  }
  if (i !== null && b === null && (s === 3n || s === 5n || s === 9n || (s === 2n && !m.nosplit))) {
    b = i;
    s -= 1n;
  }
  if (i === 'esp') {
    if (s === 1n && b !== 'esp') [b, i] = [i, b];
    else fail('invalid effective address: ESP cannot be an index register');
  }
  if (i !== null && !(String(s) in SCALE_BITS)) fail(`invalid effective address: scale ${s}`);

  const disp32 = Number(BigInt.asIntN(32, v.n));
  const fits8 = disp32 >= -128 && disp32 <= 127;
  const base: EffectiveAddress = {
    mod: 0, rm: 5, sib: -1, dispLen: 4, disp: disp32, absolute: b === null && i === null,
    value: v.n, rel: v.rel, unknown: v.unknown,
  };
  if (b === null && i === null) return base;
  const bnum = b === null ? 5 : (lookupRegister(b) as Register).num;
  if (b !== null) {
    const simple = v.rel === 0 && !v.unknown;
    if (m.dispSize === 8) {
      base.mod = 1;
      base.dispLen = 1;
    } else if (m.dispSize === 32 || !simple) {
      base.mod = 2;
    } else if (disp32 === 0 && bnum !== 5) {
      base.mod = 0;
      base.dispLen = 0;
    } else if (fits8) {
      base.mod = 1;
      base.dispLen = 1;
    } else base.mod = 2;
  }
  if (i === null && bnum !== 4) {
    base.rm = bnum;
    return base;
  }
  const inum = i === null ? 4 : (lookupRegister(i) as Register).num;
  base.rm = 4;
  base.sib = (SCALE_BITS[String(i === null ? 1n : s)] << 6) | (inum << 3) | bnum;
  return base;
}
