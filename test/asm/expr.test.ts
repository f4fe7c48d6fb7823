// Unit tests for the expression evaluator and number/string lexing: NASM's operators, precedence,
// radix notations, character constants, relocatability and forward-reference handling.

import { describe, expect, it } from 'vitest';
import { evaluate, evalConstant, parseExpr, type EvalContext } from '../../src/asm/expr.js';
import { parseNumber, tokenize } from '../../src/asm/lexer.js';
import { lookupRegister } from '../../src/asm/registers.js';

const k = (s: string): bigint => evalConstant(tokenize(s));

function evalWith(src: string, symbols: Record<string, [bigint, number]>, final = true, here = 0x1000n) {
  const p = { toks: tokenize(src), pos: 0, isRegister: (n: string) => lookupRegister(n) !== undefined, qualify: (n: string) => n };
  const e = parseExpr(p);
  const ctx: EvalContext = {
    lookup: (n) => (n in symbols ? { value: symbols[n][0], rel: symbols[n][1] } : undefined),
    here,
    base: 0x1000n,
    final,
  };
  return evaluate(e, ctx);
}

describe('numbers', () => {
  it.each([
    ['0x1F', 31n], ['1Fh', 31n], ['0h1f', 31n], ['$1f', 31n], ['0b1010', 10n], ['1010b', 10n], ['0y11', 3n],
    ['777o', 511n], ['777q', 511n], ['0o17', 15n], ['0q17', 15n], ['99d', 99n], ['0d99', 99n], ['0t12', 12n],
    ['1_000', 1000n], ['0x1_0', 16n], ['0', 0n], ['0FFh', 255n],
  ])('%s = %s', (text, value) => {
    const [t] = tokenize(text);
    expect(t).toEqual({ k: 'num', v: value });
  });

  it('rejects malformed numbers and floats', () => {
    expect(() => parseNumber('12x4')).toThrow(/invalid number/);
    expect(() => parseNumber('0b102')).toThrow(/invalid number/);
    expect(() => parseNumber('1.5')).toThrow(/floating-point/);
  });
});

describe('operators', () => {
  it.each([
    ['2 + 3 * 4', 14n], ['(2 + 3) * 4', 20n], ['1 + 2 << 3', 24n], ['10 / 3', 3n], ['10 % 3', 1n],
    ['-10 // 3', -3n], ['-10 %% 3', -1n], ['-16 >>> 2', -4n], ['1 << 63', -(1n << 63n)], ['~0', -1n], ['!0', 1n],
    ['!7', 0n], ['6 & 3', 2n], ['6 | 3', 7n], ['6 ^ 3', 5n], ['3 == 3', 1n], ['3 <> 3', 0n], ['2 < 3', 1n],
    ['1 && 0', 0n], ['0 || 2', 1n], ['1 ^^ 1', 0n], ['7 & 3 == 3', 1n], ["'a'", 97n], ["'ab'", 0x6261n],
    ['-(-3)', 3n], ['+4', 4n],
  ])('%s = %s', (src, value) => {
    expect(k(src)).toBe(value);
  });

  it('divides unsigned with / and %', () => {
    expect(k('-8 / 2')).toBe(BigInt.asIntN(64, (2n ** 64n - 8n) / 2n));
    expect(k('-16 >> 2')).toBe((2n ** 64n - 16n) >> 2n);
  });

  it('reports division by zero', () => {
    expect(() => k('1 / 0')).toThrow(/division by zero/);
  });
});

describe('symbols and relocatability', () => {
  it('a label is relocatable, a difference of labels is a number', () => {
    const syms: Record<string, [bigint, number]> = { a: [0x1010n, 1], b: [0x1030n, 1] };
    expect(evalWith('a + 4', syms)).toMatchObject({ n: 0x1014n, rel: 1 });
    expect(evalWith('b - a', syms)).toMatchObject({ n: 0x20n, rel: 0 });
    expect(evalWith('$ - $$', syms, true, 0x1008n)).toMatchObject({ n: 8n, rel: 0 });
    expect(evalWith('a * 2', syms).rel).toBe(2);
  });

  it('an undefined symbol is unknown in early passes and an error in the final pass', () => {
    expect(evalWith('later + 1', {}, false)).toMatchObject({ unknown: true });
    expect(() => evalWith('later + 1', {}, true)).toThrow("undefined symbol 'later'");
  });

  it('registers are only allowed inside effective addresses', () => {
    expect(() => evalWith('eax + 1', {})).toThrow(/register 'eax' not allowed/);
  });
});
