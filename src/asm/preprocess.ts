// The NASM preprocessor subset: %define/%xdefine/%undef/%assign, %include, conditionals,
// %macro/%endmacro with %1..%n and %%locals, %rep. Produces plain lines; knows nothing of instructions.

import { dirname, join, normalize } from 'node:path';
import { tokenize, isIdChar, isIdStart } from './lexer.js';
import { evalConstant } from './expr.js';
import { AsmSyntaxError, type AsmError, type SourceLine } from './types.js';

export interface PreprocessOptions {
  readFile: (path: string) => string | undefined;
  includePaths: string[];
  defines: Record<string, string>;
}

interface SMacro {
  params: string[] | null;
  body: string;
}

interface MMacro {
  name: string;
  min: number;
  max: number;
  greedy: boolean;
  defaults: string[];
  body: SourceLine[];
}

interface QLine extends SourceLine {
  depth: number;
}

interface Cond {
  /** The enclosing context is emitting lines. */
  parentActive: boolean;
  /** This branch is emitting lines. */
  active: boolean;
  /** Some branch of this %if chain has already been taken. */
  taken: boolean;
}

const MAX_DEPTH = 64;
const MAX_LINES = 2_000_000;
const ANY = 0x7fffffff;
const MAX_EXPANSIONS = 100_000;

/** Removes a `;` comment, leaving `;` inside strings alone. */
export function stripComment(text: string): string {
  let q: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (q) {
      if (c === '\\' && q === '`') i++;
      else if (c === q) q = null;
    } else if (c === "'" || c === '"' || c === '`') q = c;
    else if (c === ';') return text.slice(0, i);
  }
  return text;
}

/** Splits on top-level commas; strings, parentheses (if `parens`) and braces group. */
export function splitArgs(text: string, parens: boolean): string[] {
  const out: string[] = [];
  let depth = 0;
  let q: string | null = null;
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (q) {
      if (c === '\\' && q === '`') {
        cur += c + (text[i + 1] ?? '');
        i++;
        continue;
      }
      if (c === q) q = null;
      cur += c;
      continue;
    }
    if (c === "'" || c === '"' || c === '`') q = c;
    else if (c === '{' || (parens && c === '(')) depth++;
    else if (c === '}' || (parens && c === ')')) depth--;
    else if (c === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
      continue;
    }
    cur += c;
  }
  out.push(cur.trim());
  return out;
}

function unbrace(s: string): string {
  return s.startsWith('{') && s.endsWith('}') ? s.slice(1, -1) : s;
}

export class Preprocessor {
  private readonly smacros = new Map<string, SMacro>();
  private readonly mmacros = new Map<string, MMacro[]>();
  private readonly out: SourceLine[] = [];
  readonly errors: AsmError[] = [];
  private readonly stack: QLine[] = [];
  private readonly conds: Cond[] = [];
  private macroSerial = 0;
  private expansions = 0;
  private defining: { macro: MMacro; nest: number; icase: boolean; start: QLine } | null = null;
  private repping: { count: number; body: QLine[]; nest: number; start: QLine } | null = null;
  private cur: QLine = { file: '', line: 0, text: '', depth: 0 };

  constructor(private readonly opts: PreprocessOptions) {
    for (const [k, v] of Object.entries(opts.defines)) this.smacros.set(k, { params: null, body: v });
  }

  private mainFile = '';

  run(source: string, fileName: string): SourceLine[] {
    this.mainFile = fileName;
    this.pushFile(source, fileName, 0);
    while (this.stack.length > 0) {
      const l = this.stack.pop() as QLine;
      this.cur = l;
      try {
        this.processLine(l);
      } catch (e) {
        if (!(e instanceof AsmSyntaxError)) throw e;
        this.error(e.message);
      }
      if (this.out.length > MAX_LINES) {
        this.error('preprocessor output too large (runaway %rep or macro?)');
        break;
      }
      if (this.expansions > MAX_EXPANSIONS) {
        this.errorAt(l, 'too many macro expansions (runaway recursion?)');
        break;
      }
    }
    if (this.defining) this.errorAt(this.defining.start, "end of file while still defining macro '" + this.defining.macro.name + "'");
    if (this.repping) this.errorAt(this.repping.start, 'end of file while still in %rep');
    if (this.conds.length > 0) this.errorAt(this.cur, 'expected %endif before end of file');
    return this.out;
  }

  private error(message: string): void {
    this.errorAt(this.cur, message);
  }
  private errorAt(l: SourceLine, message: string): void {
    this.errors.push({ file: l.file, line: l.line, message });
  }

  private pushFile(source: string, file: string, depth: number): void {
    const raw = source.split(/\r?\n/);
    const lines: QLine[] = [];
    for (let i = 0; i < raw.length; i++) {
      let text = raw[i];
      const first = i;
      // A backslash at the end of a line continues it (NASM manual 3.1).
      while (/\\\s*$/.test(text) && i + 1 < raw.length) text = text.replace(/\\\s*$/, '') + raw[++i];
      lines.push({ file, line: first + 1, text, depth });
    }
    this.pushLines(lines);
  }

  private pushLines(lines: QLine[]): void {
    for (let i = lines.length - 1; i >= 0; i--) this.stack.push(lines[i]);
  }

  private get active(): boolean {
    return this.conds.length === 0 || this.conds[this.conds.length - 1].active;
  }

  private processLine(l: QLine): void {
    const text = stripComment(l.text);
    const m = /^\s*%([A-Za-z]+)\b\s*(.*)$/.exec(text);
    const dir = m ? m[1].toLowerCase() : '';
    const arg = m ? m[2].trim() : '';

    if (this.defining) {
      const d = this.defining;
      if (dir === 'macro' || dir === 'imacro') d.nest++;
      else if (dir === 'endmacro' || dir === 'endm') {
        if (--d.nest === 0) {
          const key = d.icase ? d.macro.name.toLowerCase() : d.macro.name;
          const list = this.mmacros.get(key) ?? [];
          list.push(d.macro);
          this.mmacros.set(key, list);
          this.defining = null;
          return;
        }
      }
      d.macro.body.push({ file: l.file, line: l.line, text });
      return;
    }
    if (this.repping) {
      const r = this.repping;
      if (dir === 'rep') r.nest++;
      else if (dir === 'endrep') {
        if (--r.nest === 0) {
          this.repping = null;
          if (r.count * r.body.length > MAX_LINES) {
            this.error('%rep expansion too large');
            return;
          }
          const lines: QLine[] = [];
          for (let i = 0; i < r.count; i++) for (const b of r.body) lines.push(b);
          this.pushLines(lines);
          return;
        }
      }
      r.body.push({ ...l, text, depth: l.depth + 1 });
      return;
    }

    if (this.conditional(dir, arg)) return;
    if (!this.active) return;

    if (m) {
      this.directive(dir, arg, l);
      return;
    }
    const expanded = this.expandSmacros(text, new Set(), 0);
    if (this.tryMmacro(expanded, l)) return;
    this.out.push({ file: l.file, line: l.line, text: expanded });
  }

  /** Handles %if-family lines; returns true if the line was one. */
  private conditional(dir: string, arg: string): boolean {
    const test = (kind: string): boolean => {
      switch (kind) {
        case 'ifdef':
          return this.smacros.has(this.ident(arg));
        case 'ifndef':
          return !this.smacros.has(this.ident(arg));
        case 'if':
          return evalConstant(tokenize(this.expandSmacros(arg, new Set(), 0))) !== 0n;
        case 'ifidn':
        case 'ifidni':
        case 'ifnidn':
        case 'ifnidni': {
          const parts = splitArgs(this.expandSmacros(arg, new Set(), 0), false);
          if (parts.length !== 2) throw new AsmSyntaxError(`%${kind} expects two comma-separated arguments`);
          const [a, b] = kind.endsWith('i') ? parts.map((s) => s.toLowerCase()) : parts;
          return kind.startsWith('ifn') ? a !== b : a === b;
        }
        case 'ifmacro':
          return this.mmacros.has(this.ident(arg)) || this.mmacros.has(this.ident(arg).toLowerCase());
        default:
          throw new AsmSyntaxError(`unknown preprocessor directive '%${kind}'`);
      }
    };
    if (dir.startsWith('if')) {
      const parentActive = this.active;
      const c: Cond = { parentActive, active: false, taken: false };
      this.conds.push(c);
      if (parentActive) {
        c.active = test(dir);
        c.taken = c.active;
      }
      return true;
    }
    if (dir.startsWith('elif')) {
      const c = this.conds[this.conds.length - 1];
      if (!c) throw new AsmSyntaxError(`%${dir} without %if`);
      if (!c.parentActive || c.taken) c.active = false;
      else {
        c.active = test('if' + dir.slice(4));
        c.taken = c.active;
      }
      return true;
    }
    if (dir === 'else') {
      const c = this.conds[this.conds.length - 1];
      if (!c) throw new AsmSyntaxError('%else without %if');
      c.active = c.parentActive && !c.taken;
      c.taken = true;
      return true;
    }
    if (dir === 'endif') {
      if (!this.conds.pop()) throw new AsmSyntaxError('%endif without %if');
      return true;
    }
    return false;
  }

  private ident(s: string): string {
    const m = /^([A-Za-z_.?@$][\w$#@~.?]*)/.exec(s.trim());
    if (!m) throw new AsmSyntaxError('identifier expected');
    return m[1];
  }

  private directive(dir: string, arg: string, l: QLine): void {
    switch (dir) {
      case 'define':
      case 'xdefine':
      case 'idefine':
      case 'xidefine': {
        const m = /^([A-Za-z_.?@$][\w$#@~.?]*)(\(([^)]*)\))?\s*(.*)$/.exec(arg);
        if (!m) throw new AsmSyntaxError(`%${dir} expects a macro name`);
        const params = m[2] !== undefined ? m[3].split(',').map((s) => s.trim()).filter((s) => s !== '') : null;
        let body = m[4].trim();
        if (dir.startsWith('x')) body = this.expandSmacros(body, new Set(), 0);
        this.smacros.set(m[1], { params, body });
        return;
      }
      case 'undef':
        this.smacros.delete(this.ident(arg));
        return;
      case 'assign':
      case 'iassign': {
        const name = this.ident(arg);
        const rest = arg.trim().slice(name.length);
        const v = evalConstant(tokenize(this.expandSmacros(rest, new Set(), 0)));
        this.smacros.set(name, { params: null, body: v.toString() });
        return;
      }
      case 'include': {
        const m = /^(["'<])(.*)(["'>])$/.exec(this.expandSmacros(arg, new Set(), 0).trim());
        if (!m) throw new AsmSyntaxError('%include expects a quoted file name');
        if (l.depth >= MAX_DEPTH) throw new AsmSyntaxError('%include nested too deeply');
        const name = m[2];
        // The including file's directory, then the main file's (how nasm is run: -I<main dir>/),
        // then the include paths.
        const candidates = [join(dirname(l.file), name), join(dirname(this.mainFile), name), ...this.opts.includePaths.map((p) => join(p, name))];
        for (const c of candidates) {
          const p = normalize(c);
          const text = this.opts.readFile(p);
          if (text !== undefined) {
            this.pushFile(text, p, l.depth + 1);
            return;
          }
        }
        throw new AsmSyntaxError(`%include file not found: ${name}`);
      }
      case 'macro':
      case 'imacro':
        this.defining = { macro: this.parseMacroHeader(arg), nest: 1, icase: dir === 'imacro', start: l };
        return;
      case 'endmacro':
      case 'endm':
        throw new AsmSyntaxError(`%${dir} without %macro`);
      case 'rep': {
        const v = evalConstant(tokenize(this.expandSmacros(arg, new Set(), 0)));
        if (v < 0n || v > BigInt(MAX_LINES)) throw new AsmSyntaxError(`%rep count ${v} out of range`);
        this.repping = { count: Number(v), body: [], nest: 1, start: l };
        return;
      }
      case 'endrep':
        throw new AsmSyntaxError('%endrep without %rep');
      case 'error':
      case 'fatal':
        throw new AsmSyntaxError(this.expandSmacros(arg, new Set(), 0).replace(/^["'](.*)["']$/, '$1'));
      case 'warning':
      case 'pragma':
        return;
      default:
        throw new AsmSyntaxError(`unknown preprocessor directive '%${dir}'`);
    }
  }

  private parseMacroHeader(arg: string): MMacro {
    const m = /^([A-Za-z_.?@$][\w$#@~.?]*)\s+(\d+)(?:-(\d+|\*))?(\+)?(?:\s*\.nolist)?\s*(.*)$/.exec(arg);
    if (!m) {
      const bare = /^([A-Za-z_.?@$][\w$#@~.?]*)\s*$/.exec(arg);
      if (bare) return { name: bare[1], min: 0, max: 0, greedy: false, defaults: [], body: [] };
      throw new AsmSyntaxError('%macro expects a name and a parameter count');
    }
    const min = Number(m[2]);
    const max = m[3] === undefined ? min : m[3] === '*' ? ANY : Number(m[3]);
    const defaults = m[5].trim() === '' ? [] : splitArgs(m[5], false).map(unbrace);
    return { name: m[1], min, max, greedy: m[4] === '+', defaults, body: [] };
  }

  private findMmacro(name: string, argc: number): MMacro | 'mismatch' | undefined {
    const list = [...(this.mmacros.get(name) ?? []), ...(this.mmacros.get(name.toLowerCase()) ?? [])];
    if (list.length === 0) return undefined;
    for (let i = list.length - 1; i >= 0; i--) {
      const mm = list[i];
      if (argc >= mm.min && (argc <= mm.max || mm.greedy)) return mm;
    }
    return 'mismatch';
  }

  private tryMmacro(text: string, l: QLine): boolean {
    const m = /^\s*([A-Za-z_.?@$][\w$#@~.?]*)(\s*:)?\s*(.*)$/.exec(text);
    if (!m) return false;
    let label = '';
    let name = m[1];
    let rest = m[3];
    if (!this.mmacros.has(name) && !this.mmacros.has(name.toLowerCase())) {
      const n = /^([A-Za-z_.?@$][\w$#@~.?]*)(\s+|$)(.*)$/.exec(rest);
      if (!n || (!this.mmacros.has(n[1]) && !this.mmacros.has(n[1].toLowerCase()))) return false;
      label = m[1] + ':';
      name = n[1];
      rest = n[3];
    } else if (m[2]) {
      return false; // `name:` is a label, not a macro call
    }
    const args = rest.trim() === '' ? [] : splitArgs(rest, false);
    const mm = this.findMmacro(name, args.length);
    if (mm === undefined) return false;
    if (mm === 'mismatch') throw new AsmSyntaxError(`macro '${name}' does not take ${args.length} parameters`);
    if (l.depth >= MAX_DEPTH) throw new AsmSyntaxError(`macro '${name}' nested too deeply`);
    if (++this.expansions > MAX_EXPANSIONS) throw new AsmSyntaxError('too many macro expansions (runaway recursion?)');
    let params = args.map(unbrace);
    if (mm.greedy && args.length > mm.max) {
      params = [...params.slice(0, mm.max - 1), args.slice(mm.max - 1).join(', ')];
    }
    const argc = params.length;
    for (let i = argc; i < mm.max && i - mm.min < mm.defaults.length; i++) params.push(mm.defaults[i - mm.min]);
    const serial = ++this.macroSerial;
    const lines: QLine[] = [];
    if (label) lines.push({ file: l.file, line: l.line, text: label, depth: l.depth + 1 });
    for (const b of mm.body) {
      lines.push({ file: l.file, line: l.line, text: substituteParams(b.text, params, argc, serial), depth: l.depth + 1 });
    }
    this.pushLines(lines);
    return true;
  }

  /** Expands single-line macros in `text` (outside strings), recursively, never re-entering one. */
  expandSmacros(text: string, active: Set<string>, depth: number): string {
    if (depth > MAX_DEPTH) throw new AsmSyntaxError('single-line macro expansion nested too deeply');
    let out = '';
    let i = 0;
    while (i < text.length) {
      const c = text[i];
      if (c === "'" || c === '"' || c === '`') {
        let j = i + 1;
        while (j < text.length && text[j] !== c) j += text[j] === '\\' && c === '`' ? 2 : 1;
        out += text.slice(i, j + 1);
        i = j + 1;
        continue;
      }
      if (/[0-9]/.test(c)) {
        let j = i + 1;
        while (j < text.length && /[0-9A-Za-z_.]/.test(text[j])) j++;
        out += text.slice(i, j);
        i = j;
        continue;
      }
      if (isIdStart(c) || c === '$') {
        let j = i + 1;
        while (j < text.length && isIdChar(text[j])) j++;
        const name = text.slice(i, j);
        const mac = active.has(name) ? undefined : this.smacros.get(name);
        if (name === '__FILE__') out += `'${this.cur.file}'`;
        else if (name === '__LINE__') out += String(this.cur.line);
        else if (!mac) out += name;
        else if (mac.params === null) {
          out += this.expandSmacros(mac.body, new Set([...active, name]), depth + 1);
        } else {
          const open = /^\s*\(/.exec(text.slice(j));
          if (!open) {
            out += name;
          } else {
            let k = j + open[0].length;
            let d = 1;
            const start = k;
            while (k < text.length && d > 0) {
              if (text[k] === '(') d++;
              else if (text[k] === ')') d--;
              k++;
            }
            if (d !== 0) throw new AsmSyntaxError(`unterminated argument list for macro '${name}'`);
            const args = splitArgs(text.slice(start, k - 1), true);
            if (args.length !== mac.params.length && !(mac.params.length === 0 && args.length === 1 && args[0] === '')) {
              throw new AsmSyntaxError(`macro '${name}' expects ${mac.params.length} arguments`);
            }
            const body = replaceIdents(mac.body, (id) => {
              const idx = (mac.params as string[]).indexOf(id);
              return idx < 0 ? undefined : args[idx];
            });
            out += this.expandSmacros(body, new Set([...active, name]), depth + 1);
            j = k;
          }
        }
        i = j;
        continue;
      }
      out += c;
      i++;
    }
    return out;
  }
}

/** Replaces identifiers (outside strings) for which `f` returns a string. */
function replaceIdents(text: string, f: (id: string) => string | undefined): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j++;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (isIdStart(c)) {
      let j = i + 1;
      while (j < text.length && isIdChar(text[j])) j++;
      const id = text.slice(i, j);
      out += f(id) ?? id;
      i = j;
    } else if (/[0-9]/.test(c)) {
      let j = i + 1;
      while (j < text.length && /[0-9A-Za-z_.]/.test(text[j])) j++;
      out += text.slice(i, j);
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Substitutes %1..%n, %{n}, %0 and %%local in one macro body line (outside strings). */
function substituteParams(text: string, params: string[], argc: number, serial: number): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j++;
      out += text.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (c === '%') {
      const rest = text.slice(i + 1);
      let m: RegExpExecArray | null;
      if ((m = /^%([A-Za-z_.?@$][\w$#@~.?]*)/.exec(rest))) {
        out += `..@${serial}.${m[1]}`;
        i += 1 + m[0].length;
        continue;
      }
      if ((m = /^\{(\d+)\}/.exec(rest)) || (m = /^(\d+)/.exec(rest))) {
        const n = Number(m[1]);
        out += n === 0 ? String(argc) : (params[n - 1] ?? '');
        i += 1 + m[0].length;
        continue;
      }
    }
    out += c;
    i++;
  }
  return out;
}
