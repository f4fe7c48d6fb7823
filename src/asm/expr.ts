// Expression parsing and evaluation with NASM semantics: 64-bit integers, unsigned `/ % >>`,
// signed `// %%`, relocatability tracking, and register terms for effective addresses.
// Owns no symbol table: callers supply lookup, `$` and `$$` through an EvalContext.

import type { Token } from './lexer.js';
import { fail } from './types.js';

export type Expr =
  | { t: 'num'; v: bigint }
  | { t: 'sym'; name: string }
  | { t: 'reg'; name: string }
  | { t: 'here' }
  | { t: 'base' }
  | { t: 'un'; op: string; a: Expr }
  | { t: 'bin'; op: string; a: Expr; b: Expr };

/** A value: `n` plus `rel` times "the section base" plus register terms (effective addresses only). */
export interface Value {
  n: bigint;
  /** 0 = absolute number, 1 = address in a section; anything else cannot be emitted. */
  rel: number;
  /** Some symbol is not defined yet (a forward reference in an early pass). */
  unknown: boolean;
  regs: Map<string, bigint> | null;
}

export interface EaHint {
  reg: string | null;
  type: 'none' | 'makebase' | 'notbase';
}

export interface EvalContext {
  lookup(name: string): { value: bigint; rel: number } | undefined;
  here: bigint;
  base: bigint;
  /** Final pass: an undefined symbol is an error rather than an unknown value. */
  final: boolean;
  /** Effective-address mode: registers allowed, with NASM's base/index hints recorded. */
  hint?: EaHint;
}

const wrap = (v: bigint): bigint => BigInt.asIntN(64, v);
const u64 = (v: bigint): bigint => BigInt.asUintN(64, v);

/** Binary operator precedence levels, lowest first (NASM manual section 3.5). */
const LEVELS: string[][] = [
  ['||'],
  ['^^'],
  ['&&'],
  ['=', '==', '!=', '<>', '<', '<=', '>', '>='],
  ['|'],
  ['^'],
  ['&'],
  ['<<', '>>', '<<<', '>>>'],
  ['+', '-'],
  ['*', '/', '//', '%', '%%'],
];

export interface ExprParser {
  toks: Token[];
  pos: number;
  isRegister(name: string): boolean;
  qualify(name: string): string;
  /** Current parenthesis/unary nesting, bounded so hostile input cannot overflow the stack. */
  depth?: number;
}

const MAX_NESTING = 200;

export function parseExpr(p: ExprParser): Expr {
  return parseLevel(p, 0);
}

function peekOp(p: ExprParser): string | undefined {
  const t = p.toks[p.pos];
  return t && t.k === 'op' ? t.s : undefined;
}

function parseLevel(p: ExprParser, level: number): Expr {
  if (level >= LEVELS.length) return parseUnary(p);
  let a = parseLevel(p, level + 1);
  for (;;) {
    const op = peekOp(p);
    if (op === undefined || !LEVELS[level].includes(op)) return a;
    p.pos++;
    const b = parseLevel(p, level + 1);
    a = { t: 'bin', op, a, b };
  }
}

function parseUnary(p: ExprParser): Expr {
  const op = peekOp(p);
  p.depth = (p.depth ?? 0) + 1;
  try {
    if (p.depth > MAX_NESTING) fail('expression too deeply nested');
    if (op === '-' || op === '+' || op === '~' || op === '!') {
      p.pos++;
      return { t: 'un', op, a: parseUnary(p) };
    }
    return parsePrimary(p);
  } finally {
    p.depth--;
  }
}

function parsePrimary(p: ExprParser): Expr {
  const t = p.toks[p.pos];
  if (!t) fail('expression expected');
  p.pos++;
  switch (t.k) {
    case 'num':
      return { t: 'num', v: t.v };
    case 'str': {
      // A character constant: little-endian bytes (NASM manual 3.4.3).
      if (t.bytes.length > 8) fail('character constant too long');
      let v = 0n;
      for (let i = t.bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(t.bytes[i]);
      return { t: 'num', v: wrap(v) };
    }
    case 'id':
      if (p.isRegister(t.s)) return { t: 'reg', name: t.s.toLowerCase() };
      return { t: 'sym', name: p.qualify(t.s) };
    case 'op':
      if (t.s === '$') return { t: 'here' };
      if (t.s === '$$') return { t: 'base' };
      if (t.s === '(') {
        const e = parseLevel(p, 0);
        const c = p.toks[p.pos];
        if (!c || c.k !== 'op' || c.s !== ')') fail("expecting ')'");
        p.pos++;
        return e;
      }
      fail(`unexpected '${t.s}' in expression`);
  }
}

function scalar(n: bigint, unknown = false): Value {
  return { n: wrap(n), rel: 0, unknown, regs: null };
}

function isScalar(v: Value): boolean {
  return v.rel === 0 && (v.regs === null || v.regs.size === 0);
}

function scale(v: Value, k: bigint, ctx: EvalContext, affectHints: boolean): Value {
  let regs: Map<string, bigint> | null = null;
  if (v.regs) {
    regs = new Map();
    for (const [r, c] of v.regs) {
      const nc = wrap(c * k);
      if (nc !== 0n) regs.set(r, nc);
      if (affectHints && ctx.hint && ctx.hint.type === 'makebase' && ctx.hint.reg === r) ctx.hint.type = 'notbase';
    }
  }
  return { n: wrap(v.n * k), rel: v.rel * Number(k), unknown: v.unknown, regs };
}

function addValues(a: Value, b: Value, sign: 1n | -1n): Value {
  let regs: Map<string, bigint> | null = a.regs ? new Map(a.regs) : null;
  if (b.regs) {
    regs ??= new Map();
    for (const [r, c] of b.regs) {
      const nc = wrap((regs.get(r) ?? 0n) + sign * c);
      if (nc === 0n) regs.delete(r);
      else regs.set(r, nc);
    }
  }
  return { n: wrap(a.n + sign * b.n), rel: a.rel + Number(sign) * b.rel, unknown: a.unknown || b.unknown, regs };
}

export function evaluate(e: Expr, ctx: EvalContext): Value {
  switch (e.t) {
    case 'num':
      return scalar(e.v);
    case 'here':
      return { n: ctx.here, rel: 1, unknown: false, regs: null };
    case 'base':
      return { n: ctx.base, rel: 1, unknown: false, regs: null };
    case 'reg': {
      if (!ctx.hint) fail(`register '${e.name}' not allowed in an expression here`);
      if (ctx.hint.type === 'none') {
        ctx.hint.reg = e.name;
        ctx.hint.type = 'makebase';
      }
      return { n: 0n, rel: 0, unknown: false, regs: new Map([[e.name, 1n]]) };
    }
    case 'sym': {
      const s = ctx.lookup(e.name);
      if (s === undefined) {
        if (ctx.final) fail(`undefined symbol '${e.name}'`);
        return scalar(0n, true);
      }
      return { n: s.value, rel: s.rel, unknown: false, regs: null };
    }
    case 'un': {
      const a = evaluate(e.a, ctx);
      if (e.op === '+') return a;
      if (e.op === '-') return scale(a, -1n, ctx, false);
      if (!isScalar(a)) fail(`operator '${e.op}' needs a scalar operand`);
      if (e.op === '~') return scalar(~a.n, a.unknown);
      return scalar(a.n === 0n ? 1n : 0n, a.unknown);
    }
    case 'bin':
      return binary(e.op, evaluate(e.a, ctx), evaluate(e.b, ctx), ctx);
  }
}

function binary(op: string, a: Value, b: Value, ctx: EvalContext): Value {
  if (op === '+') return addValues(a, b, 1n);
  if (op === '-') return addValues(a, b, -1n);
  const unknown = a.unknown || b.unknown;
  if (op === '*') {
    if (isScalar(a)) return { ...scale(b, a.n, ctx, true), unknown };
    if (isScalar(b)) return { ...scale(a, b.n, ctx, true), unknown };
    fail('unable to multiply two non-scalar objects');
  }
  if (!isScalar(a) || !isScalar(b)) {
    if (a.regs?.size || b.regs?.size) fail(`operator '${op}' cannot be applied to a register`);
    // NASM refuses arithmetic other than + - * on addresses ("expression is not simple").
    return { n: 0n, rel: Number.NaN, unknown, regs: null };
  }
  const x = a.n;
  const y = b.n;
  const bool = (c: boolean): Value => scalar(c ? 1n : 0n, unknown);
  switch (op) {
    case '/':
    case '//':
    case '%':
    case '%%':
      if (y === 0n) {
        if (unknown) return scalar(0n, true);
        fail('division by zero');
      }
      if (op === '/') return scalar(u64(x) / u64(y), unknown);
      if (op === '%') return scalar(u64(x) % u64(y), unknown);
      if (op === '//') return scalar(x / y, unknown);
      return scalar(x % y, unknown);
    case '<<':
    case '<<<':
      return scalar(y >= 64n || y < 0n ? 0n : x << y, unknown);
    case '>>':
      return scalar(y >= 64n || y < 0n ? 0n : u64(x) >> y, unknown);
    case '>>>':
      return scalar(y >= 64n || y < 0n ? (x < 0n ? -1n : 0n) : x >> y, unknown);
    case '&':
      return scalar(x & y, unknown);
    case '|':
      return scalar(x | y, unknown);
    case '^':
      return scalar(x ^ y, unknown);
    case '=':
    case '==':
      return bool(x === y);
    case '!=':
    case '<>':
      return bool(x !== y);
    case '<':
      return bool(x < y);
    case '<=':
      return bool(x <= y);
    case '>':
      return bool(x > y);
    case '>=':
      return bool(x >= y);
    case '&&':
      return bool(x !== 0n && y !== 0n);
    case '||':
      return bool(x !== 0n || y !== 0n);
    case '^^':
      return bool(x !== 0n !== (y !== 0n));
  }
  fail(`unknown operator '${op}'`);
}

/** Evaluates a whole token list as one scalar expression with no symbols (for %if / %assign). */
export function evalConstant(toks: Token[]): bigint {
  const p: ExprParser = { toks, pos: 0, isRegister: () => false, qualify: (n) => n };
  const e = parseExpr(p);
  if (p.pos !== toks.length) fail('junk at end of expression');
  const v = evaluate(e, {
    lookup: () => undefined,
    here: 0n,
    base: 0n,
    final: true,
  });
  return v.n;
}
