// Tokenizer for one NASM source line: identifiers, numbers in every NASM radix notation, strings
// ('...', "...", `...` with escapes) and operators. Knows nothing of instructions or directives.

import { fail } from './types.js';

export type Token =
  | { k: 'id'; s: string }
  | { k: 'num'; v: bigint }
  | { k: 'str'; bytes: number[] }
  | { k: 'op'; s: string };

const OPS3 = ['<<<', '>>>'];
const OPS2 = ['<<', '>>', '//', '%%', '==', '!=', '<>', '<=', '>=', '&&', '||', '^^', '$$'];
const OPS1 = '+-*/%&|^~!()[],:<>=${}?';

export function isIdStart(c: string): boolean {
  return /[A-Za-z_.?@]/.test(c);
}
export function isIdChar(c: string): boolean {
  return /[A-Za-z0-9_$#@~.?]/.test(c);
}

/** Parses NASM numeric literal text (already known to start with a digit). */
export function parseNumber(text: string): bigint {
  const t = text.replace(/_/g, '').toLowerCase();
  const radix = (digits: string, base: number): bigint => {
    if (digits.length === 0) fail(`invalid number '${text}'`);
    let v = 0n;
    const b = BigInt(base);
    for (const ch of digits) {
      const d = parseInt(ch, 16);
      if (Number.isNaN(d) || d >= base) fail(`invalid number '${text}'`);
      v = v * b + BigInt(d);
    }
    return v;
  };
  if (/^[0-9][0-9a-f]*h$/.test(t)) return radix(t.slice(0, -1), 16);
  if (/^0[xh]/.test(t)) return radix(t.slice(2), 16);
  if (/^0[dt]/.test(t)) return radix(t.slice(2), 10);
  if (/^0[oq]/.test(t)) return radix(t.slice(2), 8);
  if (/^0[by]/.test(t)) return radix(t.slice(2), 2);
  const last = t[t.length - 1];
  if (last === 'd' || last === 't') return radix(t.slice(0, -1), 10);
  if (last === 'q' || last === 'o') return radix(t.slice(0, -1), 8);
  if (last === 'b' || last === 'y') return radix(t.slice(0, -1), 2);
  if (/[.e]/.test(t) && /^[0-9.e+-]+$/.test(t)) fail(`floating-point constant '${text}' is not supported`);
  return radix(t, 10);
}

function utf8(code: number, out: number[]): void {
  const s = Buffer.from(String.fromCodePoint(code), 'utf8');
  for (const b of s) out.push(b);
}

/** Reads a quoted string starting at `i` (the quote); returns bytes and the index after it. */
export function readString(line: string, i: number): { bytes: number[]; end: number } {
  const q = line[i];
  const out: number[] = [];
  let j = i + 1;
  while (j < line.length && line[j] !== q) {
    const c = line[j];
    if (q === '`' && c === '\\' && j + 1 < line.length) {
      j++;
      const e = line[j];
      const simple: Record<string, number> = {
        n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11, e: 27, '\\': 92, "'": 39, '"': 34, '`': 96, '?': 63,
      };
      if (e in simple) {
        out.push(simple[e]);
        j++;
      } else if (e === 'x') {
        const m = /^[0-9a-fA-F]{1,2}/.exec(line.slice(j + 1));
        if (!m) fail('invalid \\x escape in string');
        out.push(parseInt(m[0], 16));
        j += 1 + m[0].length;
      } else if (/[0-7]/.test(e)) {
        const m = /^[0-7]{1,3}/.exec(line.slice(j)) as RegExpExecArray;
        out.push(parseInt(m[0], 8) & 0xff);
        j += m[0].length;
      } else if (e === 'u' || e === 'U') {
        const n = e === 'u' ? 4 : 8;
        const m = new RegExp(`^[0-9a-fA-F]{${n}}`).exec(line.slice(j + 1));
        if (!m) fail(`invalid \\${e} escape in string`);
        utf8(parseInt(m[0], 16), out);
        j += 1 + n;
      } else {
        out.push(e.charCodeAt(0));
        j++;
      }
      continue;
    }
    const code = line.codePointAt(j) as number;
    if (code < 0x80) out.push(code);
    else utf8(code, out);
    j += code > 0xffff ? 2 : 1;
  }
  if (j >= line.length) fail('unterminated string');
  return { bytes: out, end: j + 1 };
}

export function tokenize(line: string): Token[] {
  const toks: Token[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      i++;
      continue;
    }
    if (c === ';') break;
    if (c === "'" || c === '"' || c === '`') {
      const { bytes, end } = readString(line, i);
      toks.push({ k: 'str', bytes });
      i = end;
      continue;
    }
    if (/[0-9]/.test(c) || (c === '$' && /[0-9]/.test(line[i + 1] ?? ''))) {
      let j = i + 1;
      while (j < line.length && /[0-9A-Za-z_.]/.test(line[j])) j++;
      const text = line.slice(i, j);
      toks.push({ k: 'num', v: c === '$' ? parseNumber('0x' + text.slice(1)) : parseNumber(text) });
      i = j;
      continue;
    }
    if (c === '$' && isIdStart(line[i + 1] ?? '') && line[i + 1] !== '$') {
      // `$name` escapes a name that would otherwise be a keyword or register.
      let j = i + 1;
      while (j < line.length && isIdChar(line[j])) j++;
      toks.push({ k: 'id', s: line.slice(i + 1, j) });
      i = j;
      continue;
    }
    if (isIdStart(c) && !(c === '?' && !isIdChar(line[i + 1] ?? ''))) {
      let j = i + 1;
      while (j < line.length && isIdChar(line[j])) j++;
      toks.push({ k: 'id', s: line.slice(i, j) });
      i = j;
      continue;
    }
    const three = line.slice(i, i + 3);
    const two = line.slice(i, i + 2);
    if (OPS3.includes(three)) {
      toks.push({ k: 'op', s: three });
      i += 3;
    } else if (OPS2.includes(two)) {
      toks.push({ k: 'op', s: two });
      i += 2;
    } else if (OPS1.includes(c)) {
      toks.push({ k: 'op', s: c });
      i++;
    } else {
      fail(`unexpected character '${c}'`);
    }
  }
  return toks;
}
