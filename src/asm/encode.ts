// Instruction encoding: matches evaluated operands against the form table (forms.ts) in NASM's
// preference order, including its -Ox choices (sign-extended imm8, short jumps), and emits bytes.
// Parsing lines and iterating passes is assembler.ts's job; effective addresses are operand.ts's.

import { evaluate, type EvalContext, type Value } from './expr.js';
import { FORMS, type Form } from './forms.js';
import { effectiveAddress, type EffectiveAddress, type Operand } from './operand.js';
import { SEGMENT_PREFIX, type Register } from './registers.js';
import { fail } from './types.js';

export interface Instruction {
  mnemonic: string;
  operands: Operand[];
  /** LOCK/REP-family prefix bytes in source order. */
  prefixes: number[];
  /** A segment register written as a prefix (`es lodsb`). */
  segPrefix: Register | null;
  o16: boolean;
  a16: boolean;
}

type Evaluated =
  | { k: 'reg'; reg: Register }
  | { k: 'imm'; v: Value; size: number; strict: boolean; jump: string }
  | { k: 'mem'; ea: EffectiveAddress; size: number; far: boolean; seg: Register | null }
  | { k: 'ptr'; seg: Value; off: Value; size: number };

const SPECIFIC_REGS = new Set(['al', 'ax', 'eax', 'cl', 'dx', 'es', 'cs', 'ss', 'ds', 'fs', 'gs']);

function evalOperand(o: Operand, ctx: EvalContext): Evaluated {
  switch (o.k) {
    case 'reg':
      return o;
    case 'imm':
      return { k: 'imm', v: evaluate(o.expr, ctx), size: o.size, strict: o.strict, jump: o.jump };
    case 'mem':
      return { k: 'mem', ea: effectiveAddress(o, ctx), size: o.size, far: o.far, seg: o.seg };
    case 'ptr':
      return { k: 'ptr', seg: evaluate(o.seg, ctx), off: evaluate(o.off, ctx), size: o.size };
  }
}

function checkSimple(v: Value): void {
  if (v.rel !== 0 && v.rel !== 1) fail('expression is not simple or relocatable');
}

/** Another operand fixes the size of an unsized memory operand to `bits`. */
function sizeFixedBy(ops: Evaluated[], idx: number, bits: number): boolean {
  return ops.some(
    (o, j) => j !== idx && ((o.k === 'reg' && o.reg.cls === 'gpr' && o.reg.size === bits) || (o.k === 'imm' && o.size === bits)),
  );
}

interface MatchState {
  sizeMissing: boolean;
  /** A memory operand's size keyword (or `far`) is one the form does not take: NASM's "mismatch in operand sizes". */
  sizeMismatch: boolean;
}

function matchPattern(p: string, ops: Evaluated[], idx: number, st: MatchState): boolean {
  const o = ops[idx];
  if (SPECIFIC_REGS.has(p)) return o.k === 'reg' && o.reg.name === p;
  const memSized = (bits: number): boolean => {
    if (o.k !== 'mem' || o.far) return false;
    if (o.size === bits) return true;
    if (o.size !== 0) return false;
    if (sizeFixedBy(ops, idx, bits)) return true;
    st.sizeMissing = true;
    return false;
  };
  let m: RegExpExecArray | null;
  if ((m = /^r(8|16|32)$/.exec(p))) return o.k === 'reg' && o.reg.cls === 'gpr' && o.reg.size === Number(m[1]);
  if ((m = /^rm(8|16|32)$/.exec(p))) {
    if (o.k === 'reg') return o.reg.cls === 'gpr' && o.reg.size === Number(m[1]);
    return memSized(Number(m[1]));
  }
  if ((m = /^mo(8|16|32)$/.exec(p))) return o.k === 'mem' && o.ea.absolute && memSized(Number(m[1]));
  switch (p) {
    case 'sreg':
    case 'cr':
    case 'dr':
      return o.k === 'reg' && o.reg.cls === p;
    case 'm':
      return o.k === 'mem' && !o.far;
    case 'm16':
      return o.k === 'mem' && !o.far && o.size === 16;
    case 'mu':
    case 'm128': {
      // NASM's `mem` (VMXON ...) takes no size keyword at all, not even `qword`; `mem128` (INVEPT ...) takes
      // none or `oword`. Any other size, or `far`, is a size mismatch rather than a wrong operand kind.
      if (o.k !== 'mem') return false;
      const ok = !o.far && (o.size === 0 || (p === 'm128' && o.size === 128));
      if (!ok) st.sizeMismatch = true;
      return ok;
    }
    case 'mfar':
      return o.k === 'mem' && o.far;
    case 'ptr':
      return o.k === 'ptr' && (o.size === 0 || o.size === 32);
  }
  if (o.k !== 'imm') return false;
  const simpleKnown = o.v.rel === 0 && !o.v.unknown;
  switch (p) {
    case 'i8':
    case 'i16':
    case 'i32':
      return o.jump === '' && (o.size === 0 || o.size === Number(p.slice(1)));
    case 's16':
    case 's32':
      if (o.jump !== '' || o.strict) return false;
      if (o.size === 8) return true;
      if (o.size !== 0 && o.size !== Number(p.slice(1))) return false;
      // NASM tests the value truncated to the operand size: `add ax, 0xffff` is 66 83 C0 FF.
      return simpleKnown && BigInt.asIntN(Number(p.slice(1)), o.v.n) >= -128n && BigInt.asIntN(Number(p.slice(1)), o.v.n) <= 127n;
    case 'one':
      return o.jump === '' && !o.strict && (o.size === 0 || o.size === 8) && simpleKnown && o.v.n === 1n;
    case 'rel8':
      // NASM's jmp_match: an explicit `short`, or an optimisable target (same section, or not yet known).
      if (o.jump === 'short') return true;
      return o.jump === '' && o.size === 0 && !o.strict && (o.v.unknown || o.v.rel === 1);
    case 'srel8':
      return o.jump === '' || o.jump === 'short';
    case 'rel32':
      return (o.jump === '' || o.jump === 'near') && (o.size === 0 || o.size === 32);
  }
  return false;
}

function pushLE(out: number[], v: bigint | number, size: number): void {
  let x = BigInt.asUintN(size * 8, BigInt(v));
  for (let i = 0; i < size; i++) {
    out.push(Number(x & 0xffn));
    x >>= 8n;
  }
}

/** Encodes one form; returns undefined when a short jump does not reach (so a longer form is tried). */
function encodeForm(form: Form, ins: Instruction, ops: Evaluated[], ctx: EvalContext): number[] | undefined {
  const out: number[] = [...ins.prefixes];
  let seg: Register | null = ins.segPrefix;
  for (const o of ops) if (o.k === 'mem' && o.seg) seg = o.seg;
  if (seg) out.push(SEGMENT_PREFIX[seg.name]);
  const osize = form.codes.find((c) => c.k === 'osize');
  if ((osize && osize.k === 'osize' && osize.bits === 16) || ins.o16) out.push(0x66);
  if (ins.a16) out.push(0x67);

  let regField = 0;
  let rmOp: Evaluated | null = null;
  let plusReg = 0;
  const imms: Evaluated[] = [];
  let target: Value | null = null;
  let addr: EffectiveAddress | null = null;
  let far: Extract<Evaluated, { k: 'ptr' }> | null = null;
  for (let i = 0; i < ops.length; i++) {
    const o = ops[i];
    switch (form.roles[i]) {
      case 'r':
        regField = o.k === 'reg' ? o.reg.num : 0;
        break;
      case 'm':
        rmOp = o;
        break;
      case 'x':
        regField = o.k === 'reg' ? o.reg.num : 0;
        rmOp = o;
        break;
      case 'o':
        plusReg = o.k === 'reg' ? o.reg.num : 0;
        break;
      case 'i':
        imms.push(o);
        break;
      case 'j':
        if (o.k === 'imm') target = o.v;
        break;
      case 'a':
        if (o.k === 'mem') addr = o.ea;
        break;
      case 'f':
        if (o.k === 'ptr') far = o;
        break;
    }
  }

  let relAt = -1;
  let relSize = 0;
  for (const c of form.codes) {
    switch (c.k) {
      case 'byte':
        out.push(c.v);
        break;
      case 'plusr':
        out.push(c.v + plusReg);
        break;
      case 'osize':
        break;
      case 'modrm': {
        const reg = c.digit >= 0 ? c.digit : regField;
        if (!rmOp) fail('internal: form without r/m operand');
        if (rmOp.k === 'reg') out.push(0xc0 | (reg << 3) | rmOp.reg.num);
        else if (rmOp.k === 'mem') {
          const ea = rmOp.ea;
          checkSimple({ n: ea.value, rel: ea.rel, unknown: ea.unknown, regs: null });
          out.push((ea.mod << 6) | (reg << 3) | ea.rm);
          if (ea.sib >= 0) out.push(ea.sib);
          pushLE(out, ea.disp, ea.dispLen);
        }
        break;
      }
      case 'imm': {
        const o = imms.shift();
        if (!o || o.k !== 'imm') fail('internal: missing immediate');
        checkSimple(o.v);
        pushLE(out, o.v.n, c.size);
        break;
      }
      case 'rel':
        relAt = out.length;
        relSize = c.size;
        pushLE(out, 0, c.size);
        break;
      case 'addr':
        if (!addr) fail('internal: missing address');
        checkSimple({ n: addr.value, rel: addr.rel, unknown: false, regs: null });
        pushLE(out, addr.value, 4);
        break;
      case 'farptr':
        if (!far) fail('internal: missing far pointer');
        checkSimple(far.off);
        pushLE(out, far.off.n, 4);
        pushLE(out, far.seg.n, 2);
        break;
    }
  }
  if (relAt >= 0 && target) {
    checkSimple(target);
    const delta = BigInt.asIntN(32, target.n - (ctx.here + BigInt(out.length)));
    if (relSize === 1 && (delta < -128n || delta > 127n)) {
      const pattern = form.patterns[0];
      const forced = pattern === 'srel8' || ops[0].k !== 'imm' || ops[0].jump === 'short';
      if (!forced && !target.unknown) return undefined;
      if (ctx.final && !target.unknown) fail('short jump is out of range');
    }
    const tmp: number[] = [];
    pushLE(tmp, delta, relSize);
    out.splice(relAt, relSize, ...tmp);
  }
  return out;
}

export function isMnemonic(name: string): boolean {
  return FORMS.has(name.toLowerCase());
}

export type EvaluatedOperands = Evaluated[];

/** Evaluates operands once (NASM evaluates a TIMES-repeated instruction's operands once). */
export function evaluateOperands(ins: Instruction, ctx: EvalContext): EvaluatedOperands {
  if (!FORMS.has(ins.mnemonic)) fail(`unknown instruction '${ins.mnemonic}'`);
  return ins.operands.map((o) => evalOperand(o, ctx));
}

/** The instruction has a relative-target form, so its bytes depend on where it is placed. */
export function isPositionDependent(ins: Instruction): boolean {
  return (FORMS.get(ins.mnemonic) ?? []).some((f) => f.roles.includes('j'));
}

/** Chooses the form and emits bytes; `ctx.here` is where this copy of the instruction starts. */
export function encodeEvaluated(ins: Instruction, ops: EvaluatedOperands, ctx: EvalContext): number[] {
  const forms = FORMS.get(ins.mnemonic) ?? [];
  const st: MatchState = { sizeMissing: false, sizeMismatch: false };
  for (const form of forms) {
    if (form.patterns.length !== ops.length) continue;
    if (!form.patterns.every((p, i) => matchPattern(p, ops, i, st))) continue;
    const bytes = encodeForm(form, ins, ops, ctx);
    if (bytes) return bytes;
  }
  if (st.sizeMissing) fail('operation size not specified');
  if (st.sizeMismatch) fail('mismatch in operand sizes');
  fail('invalid combination of opcode and operands');
}

export function encodeInstruction(ins: Instruction, ctx: EvalContext): number[] {
  return encodeEvaluated(ins, evaluateOperands(ins, ctx), ctx);
}
