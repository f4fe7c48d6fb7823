// Turns one preprocessed line into a statement: label, directive, data, reservation, alignment or
// instruction with parsed operands. Local `.labels` are qualified here. Evaluation happens later.

import { tokenize, type Token } from './lexer.js';
import { parseExpr, type Expr, type ExprParser } from './expr.js';
import { isMnemonic, type Instruction } from './encode.js';
import { parseOperand } from './operand.js';
import { lookupRegister, type Register } from './registers.js';
import { fail, type SourceLine } from './types.js';

export const DATA_UNITS: Readonly<Record<string, number>> = { db: 1, dw: 2, dd: 4, dq: 8 };
export const RES_UNITS: Readonly<Record<string, number>> = { resb: 1, resw: 2, resd: 4, resq: 8, rest: 10, reso: 16 };
const PREFIXES: Readonly<Record<string, number>> = {
  lock: 0xf0, rep: 0xf3, repe: 0xf3, repz: 0xf3, repne: 0xf2, repnz: 0xf2,
};
const SIZE_PREFIXES = new Set(['o16', 'o32', 'a16', 'a32']);
const DIRECTIVES = new Set([
  'bits', 'use32', 'use16', 'org', 'section', 'segment', 'global', 'extern', 'common', 'cpu', 'default', 'static',
]);

export type DataItem = { k: 'str'; bytes: number[] } | { k: 'expr'; e: Expr };

export type Body =
  | { k: 'none' }
  | { k: 'insn'; insn: Instruction }
  | { k: 'data'; unit: number; items: DataItem[] }
  | { k: 'res'; unit: number; count: Expr }
  | { k: 'align'; n: Expr; fill: Body; b: boolean };

export type Stmt =
  | { k: 'org'; src: SourceLine; e: Expr }
  | { k: 'section'; src: SourceLine; name: string; align: number }
  | { k: 'equ'; src: SourceLine; label: string; e: Expr }
  | { k: 'code'; src: SourceLine; label: string | null; times: Expr | null; body: Body };

function isKeyword(word: string): boolean {
  const w = word.toLowerCase();
  return (
    isMnemonic(w) || w in DATA_UNITS || w in RES_UNITS || w in PREFIXES || SIZE_PREFIXES.has(w) ||
    w === 'times' || w === 'equ' || w === 'align' || w === 'alignb' || DIRECTIVES.has(w)
  );
}

export class LineParser {
  /** The last non-local label, which `.local` names attach to (NASM manual 3.9). */
  lastGlobal = '';

  qualify(name: string): string {
    if (name.startsWith('.') && !name.startsWith('..')) return this.lastGlobal + name;
    return name;
  }

  private defineLabel(name: string): string {
    const q = this.qualify(name);
    if (!name.startsWith('.') && !name.startsWith('..@')) this.lastGlobal = name;
    return q;
  }

  parse(src: SourceLine): Stmt[] {
    let toks = tokenize(src.text);
    if (toks.length === 0) return [];
    const first = toks[0];
    // `[bits 32]`-style primitive directives.
    if (first.k === 'op' && first.s === '[') {
      const last = toks[toks.length - 1];
      if (toks[1]?.k === 'id' && DIRECTIVES.has(toks[1].s.toLowerCase()) && last.k === 'op' && last.s === ']') {
        toks = toks.slice(1, -1);
      }
    }
    const p: ExprParser = {
      toks, pos: 0, isRegister: (n) => lookupRegister(n) !== undefined, qualify: (n) => this.qualify(n),
    };
    const t0 = toks[0];
    if (t0.k === 'id' && DIRECTIVES.has(t0.s.toLowerCase())) return this.directive(src, t0.s.toLowerCase(), p);

    let label: string | null = null;
    if (t0.k === 'id' && toks[1]?.k === 'op' && (toks[1] as { s: string }).s === ':') {
      label = t0.s;
      p.pos = 2;
    } else if (t0.k === 'id' && !isKeyword(t0.s) && !lookupRegister(t0.s)) {
      const t1 = toks[1];
      if (t1 && !(t1.k === 'id' && isKeyword(t1.s))) fail(`unknown instruction '${t0.s}'`);
      label = t0.s;
      p.pos = 1;
    }
    const next = toks[p.pos];
    if (next?.k === 'id' && next.s.toLowerCase() === 'equ') {
      if (label === null) fail("'equ' without a label");
      p.pos++;
      const e = parseExpr(p);
      this.expectEnd(p);
      if (label.startsWith('.') && !label.startsWith('..')) label = this.qualify(label);
      return [{ k: 'equ', src, label, e }];
    }
    const qlabel = label === null ? null : this.defineLabel(label);
    let times: Expr | null = null;
    if (next?.k === 'id' && next.s.toLowerCase() === 'times') {
      p.pos++;
      times = parseExpr(p);
    }
    const body = this.parseBody(p);
    return [{ k: 'code', src, label: qlabel, times, body }];
  }

  private expectEnd(p: ExprParser): void {
    if (p.pos < p.toks.length) fail(`unexpected '${describe(p.toks[p.pos])}' at end of line`);
  }

  private parseBody(p: ExprParser): Body {
    const prefixes: number[] = [];
    let segPrefix: Register | null = null;
    let o16 = false;
    let a16 = false;
    for (;;) {
      const t = p.toks[p.pos];
      if (!t) {
        if (prefixes.length || segPrefix || o16 || a16) fail('instruction expected after prefix');
        return { k: 'none' };
      }
      if (t.k !== 'id') fail(`instruction expected, found '${describe(t)}'`);
      const w = t.s.toLowerCase();
      const reg = lookupRegister(w);
      if (w in PREFIXES) prefixes.push(PREFIXES[w]);
      else if (SIZE_PREFIXES.has(w)) {
        if (w === 'o16') o16 = true;
        if (w === 'a16') a16 = true;
      } else if (reg && reg.cls === 'sreg' && p.toks[p.pos + 1]?.k === 'id') segPrefix = reg;
      else break;
      p.pos++;
    }
    const t = p.toks[p.pos] as Extract<Token, { k: 'id' }>;
    const w = t.s.toLowerCase();
    p.pos++;
    if (w in DATA_UNITS) {
      const items: DataItem[] = [];
      do {
        const s = p.toks[p.pos];
        const after = p.toks[p.pos + 1];
        if (s?.k === 'str' && (!after || (after.k === 'op' && after.s === ','))) {
          items.push({ k: 'str', bytes: s.bytes });
          p.pos++;
        } else items.push({ k: 'expr', e: parseExpr(p) });
      } while (this.comma(p));
      this.expectEnd(p);
      return { k: 'data', unit: DATA_UNITS[w], items };
    }
    if (w in RES_UNITS) {
      const count = parseExpr(p);
      this.expectEnd(p);
      return { k: 'res', unit: RES_UNITS[w], count };
    }
    if (w === 'align' || w === 'alignb') {
      const n = parseExpr(p);
      let fill: Body = w === 'align'
        ? { k: 'insn', insn: { mnemonic: 'nop', operands: [], prefixes: [], segPrefix: null, o16: false, a16: false } }
        : { k: 'res', unit: 1, count: { t: 'num', v: 1n } };
      if (this.comma(p)) fill = this.parseBody(p);
      this.expectEnd(p);
      return { k: 'align', n, fill, b: w === 'alignb' };
    }
    if (w === 'times') fail("'times' must come before any prefix");
    if (!isMnemonic(w)) fail(`unknown instruction '${t.s}'`);
    const operands = [];
    if (p.pos < p.toks.length) {
      do operands.push(parseOperand(p));
      while (this.comma(p));
    }
    this.expectEnd(p);
    return { k: 'insn', insn: { mnemonic: w, operands, prefixes, segPrefix, o16, a16 } };
  }

  private comma(p: ExprParser): boolean {
    const t = p.toks[p.pos];
    if (t && t.k === 'op' && t.s === ',') {
      p.pos++;
      return true;
    }
    return false;
  }

  private directive(src: SourceLine, d: string, p: ExprParser): Stmt[] {
    p.pos = 1;
    const rest = p.toks.slice(1);
    switch (d) {
      case 'bits': {
        const t = rest[0];
        if (!t || t.k !== 'num' || rest.length !== 1) fail('bits expects 16, 32 or 64');
        if (t.v !== 32n) fail(`bits ${t.v} is not supported (only bits 32)`);
        return [];
      }
      case 'use32':
        return [];
      case 'use16':
        fail('use16 is not supported (only bits 32)');
      // falls through (fail never returns)
      case 'org': {
        const e = parseExpr(p);
        this.expectEnd(p);
        return [{ k: 'org', src, e }];
      }
      case 'section':
      case 'segment': {
        const t = rest[0];
        if (!t || t.k !== 'id') fail('section name expected');
        let align = 0;
        for (let i = 1; i < rest.length; i++) {
          const a = rest[i];
          if (a.k === 'id' && a.s.toLowerCase() === 'align' && rest[i + 1]?.k === 'op' && rest[i + 2]?.k === 'num') {
            align = Number((rest[i + 2] as { v: bigint }).v);
            i += 2;
          }
        }
        return [{ k: 'section', src, name: t.s, align }];
      }
      case 'extern':
        fail("'extern' is not supported by the flat binary format");
      // falls through
      case 'common':
        fail("'common' is not supported by the flat binary format");
      // falls through
      default:
        return []; // global, cpu, default, static: no effect on a flat binary
    }
  }
}

function describe(t: Token): string {
  switch (t.k) {
    case 'id':
    case 'op':
      return t.s;
    case 'num':
      return t.v.toString();
    case 'str':
      return 'string';
  }
}
