// The pass driver: parses preprocessed lines once, then assembles them repeatedly until every label
// keeps its value (NASM's multi-pass optimisation), lays out sections as `-f bin` does, and emits bytes.
// Encoding of single instructions is encode.ts's job; the preprocessor's is preprocess.ts's.

import { evaluate, type EvalContext, type Value } from './expr.js';
import { encodeEvaluated, evaluateOperands, isPositionDependent } from './encode.js';
import { LineParser, type Body, type Stmt } from './parse-line.js';
import { AsmSyntaxError, type AsmError, type ListingEntry, type SourceLine } from './types.js';

const MAX_PASSES = 20;
const MAX_OUTPUT = 16 * 1024 * 1024;

interface Section {
  name: string;
  nobits: boolean;
  align: number;
  start: bigint;
  offset: bigint;
  bytes: number[];
}

interface Sym {
  value: bigint;
  rel: number;
  pass: number;
}

export interface AssembleOutput {
  bytes: Uint8Array;
  errors: AsmError[];
  symbols: Map<string, number>;
  listing: ListingEntry[];
}

export class Assembler {
  private readonly stmts: Stmt[] = [];
  private readonly errors: AsmError[] = [];
  private readonly symbols = new Map<string, Sym>();
  private sections = new Map<string, Section>();
  private order: string[] = [];
  private org = 0n;
  private cur!: Section;
  private pass = 0;
  private final = false;
  private changed = false;
  private sawUnknown = false;
  private listing: ListingEntry[] = [];

  constructor(lines: SourceLine[], private readonly wantListing: boolean) {
    const parser = new LineParser();
    const defined = new Map<string, SourceLine>();
    for (const src of lines) {
      try {
        for (const s of parser.parse(src)) {
          const label = s.k === 'equ' ? s.label : s.k === 'code' ? s.label : null;
          if (label !== null) {
            if (defined.has(label)) throw new AsmSyntaxError(`label '${label}' redefined`);
            defined.set(label, src);
          }
          this.stmts.push(s);
        }
      } catch (e) {
        if (!(e instanceof AsmSyntaxError)) throw e;
        this.errors.push({ file: src.file, line: src.line, message: e.message });
      }
    }
  }

  run(): AssembleOutput {
    let converged = false;
    for (this.pass = 1; this.pass <= MAX_PASSES; this.pass++) {
      this.runPass();
      if (!this.changed && !this.sawUnknown) {
        converged = true;
        break;
      }
    }
    this.final = true;
    this.listing = [];
    const errorsBefore = this.errors.length;
    this.runPass();
    if (!converged && this.errors.length === errorsBefore) {
      const last = this.stmts[this.stmts.length - 1]?.src ?? { file: '', line: 0 };
      this.errors.push({ file: last.file, line: last.line, message: `labels do not converge after ${MAX_PASSES} passes` });
    }
    const symbols = new Map<string, number>();
    for (const [k, v] of this.symbols) symbols.set(k, Number(BigInt.asUintN(32, v.value)));
    return { bytes: this.image(), errors: this.errors, symbols, listing: this.listing };
  }

  private section(name: string): Section {
    let s = this.sections.get(name);
    if (!s) {
      const nobits = name === '.bss';
      s = { name, nobits, align: name === '.text' ? 1 : 4, start: 0n, offset: 0n, bytes: [] };
      this.sections.set(name, s);
      this.order.push(name);
    }
    return s;
  }

  private runPass(): void {
    this.changed = false;
    this.sawUnknown = false;
    const old = this.sections;
    this.sections = new Map();
    this.order = [];
    // Section starts come from the previous pass's sizes (NASM bin: .text first, progbits, then nobits).
    this.cur = this.section('.text');
    this.cur.start = old.get('.text')?.start ?? this.org;
    for (const [name, s] of old) {
      const n = this.section(name);
      n.start = s.start;
      n.align = s.align;
      n.nobits = s.nobits;
    }
    for (const s of this.sections.values()) s.offset = 0n;

    for (const stmt of this.stmts) {
      try {
        this.statement(stmt);
      } catch (e) {
        if (!(e instanceof AsmSyntaxError)) throw e;
        if (this.final) this.errors.push({ file: stmt.src.file, line: stmt.src.line, message: e.message });
      }
    }
    this.layout();
  }

  /** Places sections one after another as NASM's bin format does, each at its alignment. */
  private layout(): void {
    const list = [...this.sections.values()];
    const ordered = [list[0], ...list.slice(1).filter((s) => !s.nobits), ...list.slice(1).filter((s) => s.nobits)];
    let at = this.org;
    for (const s of ordered) {
      const a = BigInt(Math.max(1, s.align));
      at = ((at + a - 1n) / a) * a;
      if (s === list[0]) at = this.org;
      if (s.start !== at) this.changed = true;
      s.start = at;
      at += s.offset;
    }
  }

  private image(): Uint8Array {
    const progbits = [...this.sections.values()].filter((s) => !s.nobits);
    let end = this.org;
    for (const s of progbits) if (s.start + s.offset > end) end = s.start + s.offset;
    const size = Number(end - this.org);
    if (size > MAX_OUTPUT || size < 0) return new Uint8Array(0);
    const out = new Uint8Array(size);
    for (const s of progbits) out.set(s.bytes.slice(0, Number(s.offset)), Number(s.start - this.org));
    return out;
  }

  private ctx(): EvalContext {
    return {
      lookup: (name) => {
        const s = this.symbols.get(name);
        if (!s) this.sawUnknown = true;
        return s;
      },
      here: this.cur.start + this.cur.offset,
      base: this.cur.start,
      final: this.final,
    };
  }

  private define(name: string, value: bigint, rel: number): void {
    const s = this.symbols.get(name);
    if (!s) {
      this.symbols.set(name, { value, rel, pass: this.pass });
      this.changed = true;
    } else {
      if (s.value !== value || s.rel !== rel) this.changed = true;
      s.value = value;
      s.rel = rel;
      s.pass = this.pass;
    }
  }

  private scalar(v: Value, what: string): bigint {
    if (v.rel !== 0) throw new AsmSyntaxError(`${what} must be a constant`);
    return v.n;
  }

  private statement(stmt: Stmt): void {
    switch (stmt.k) {
      case 'org': {
        const v = evaluate(stmt.e, this.ctx());
        if (v.unknown) throw new AsmSyntaxError('org must not use forward references');
        this.org = BigInt.asUintN(32, this.scalar(v, 'org'));
        if (this.cur.name === '.text' && this.cur.offset === 0n) this.cur.start = this.org;
        return;
      }
      case 'section': {
        this.cur = this.sections.get(stmt.name) ?? this.section(stmt.name);
        if (stmt.align > this.cur.align) this.cur.align = stmt.align;
        return;
      }
      case 'equ': {
        const v = evaluate(stmt.e, this.ctx());
        if (v.rel !== 0 && v.rel !== 1) throw new AsmSyntaxError('equ value is not simple or relocatable');
        if (v.unknown) {
          this.changed = true;
          return;
        }
        this.define(stmt.label, v.n, v.rel);
        return;
      }
      case 'code':
        this.code(stmt);
    }
  }

  private code(stmt: Extract<Stmt, { k: 'code' }>): void {
    if (stmt.label !== null) this.define(stmt.label, this.cur.start + this.cur.offset, 1);
    let count = 1n;
    if (stmt.times) {
      const v = evaluate(stmt.times, this.ctx());
      count = v.unknown ? 0n : this.scalar(v, 'TIMES count');
      if (count < 0n) {
        if (this.final) throw new AsmSyntaxError(`TIMES value ${count} is negative`);
        count = 0n;
      }
    }
    const start = this.cur.offset;
    this.emitBody(stmt.body, count);
    if (this.final && this.wantListing) {
      const bytes = this.cur.nobits ? new Uint8Array(0) : Uint8Array.from(this.cur.bytes.slice(Number(start), Number(this.cur.offset)));
      this.listing.push({ file: stmt.src.file, line: stmt.src.line, address: Number(this.cur.start + start), bytes, source: stmt.src.text });
    }
  }

  private emit(bytes: number[], count: bigint): void {
    const total = BigInt(bytes.length) * count;
    if (this.cur.offset + total > BigInt(MAX_OUTPUT)) throw new AsmSyntaxError('output too large');
    if (this.final && !this.cur.nobits) {
      const n = Number(count);
      for (let i = 0; i < n; i++) for (const b of bytes) this.cur.bytes.push(b);
    }
    this.cur.offset += total;
  }

  private emitBody(body: Body, count: bigint): void {
    switch (body.k) {
      case 'none':
        return;
      case 'insn': {
        const ops = evaluateOperands(body.insn, this.ctx());
        if (!isPositionDependent(body.insn) || count <= 1n) {
          this.emit(encodeEvaluated(body.insn, ops, this.ctx()), count);
          return;
        }
        // A repeated jump is re-encoded at each copy's own address (operands stay evaluated once).
        if (this.cur.offset + count > BigInt(MAX_OUTPUT)) throw new AsmSyntaxError('output too large');
        for (let i = 0n; i < count; i++) this.emit(encodeEvaluated(body.insn, ops, this.ctx()), 1n);
        return;
      }
      case 'data': {
        const out: number[] = [];
        for (const item of body.items) {
          if (item.k === 'str') {
            out.push(...item.bytes);
            const pad = (body.unit - (item.bytes.length % body.unit)) % body.unit;
            for (let i = 0; i < pad; i++) out.push(0);
          } else {
            const v = evaluate(item.e, this.ctx());
            if (v.rel !== 0 && v.rel !== 1) throw new AsmSyntaxError('expression is not simple or relocatable');
            let x = BigInt.asUintN(body.unit * 8, v.n);
            for (let i = 0; i < body.unit; i++) {
              out.push(Number(x & 0xffn));
              x >>= 8n;
            }
          }
        }
        this.emit(out, count);
        return;
      }
      case 'res': {
        const v = evaluate(body.count, this.ctx());
        const n = v.unknown ? 0n : this.scalar(v, 'reservation size');
        if (n < 0n) throw new AsmSyntaxError(`reservation size ${n} is negative`);
        const total = n * BigInt(body.unit) * count;
        if (this.cur.offset + total > BigInt(MAX_OUTPUT)) throw new AsmSyntaxError('output too large');
        if (this.final && !this.cur.nobits) for (let i = 0n; i < total; i++) this.cur.bytes.push(0);
        this.cur.offset += total;
        return;
      }
      case 'align': {
        // NASM's standard `align` macro: sectalign N, then times ((N - ($-$$) % N) % N) <fill>.
        const v = evaluate(body.n, this.ctx());
        const n = v.unknown ? 1n : this.scalar(v, 'alignment');
        if (n <= 0n || (n & (n - 1n)) !== 0n) throw new AsmSyntaxError(`alignment ${n} is not a power of two`);
        if (n > BigInt(this.cur.align)) this.cur.align = Number(n);
        const pad = (n - (this.cur.offset % n)) % n;
        for (let i = 0n; i < count; i++) this.emitBody(body.fill, pad);
        return;
      }
    }
  }
}
