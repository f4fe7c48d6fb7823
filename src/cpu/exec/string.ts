// String instructions: MOVS CMPS STOS LODS SCAS INS OUTS in byte/word/dword forms with REP/REPE/REPNE.
// A REP loop runs until ECX = 0 or the run budget ends, then restarts itself: interrupts and faults land
// between iterations with the registers of the completed ones (SDM Vol. 2 REP).

import type { Cpu } from '../cpu.js';
import { Reg } from '../registers.js';
import { Imm, PFX_REP, PFX_REPNE, Seg, type Handler } from '../decoder.js';
import { Flag } from '../flags.js';
import { IoFlags } from '../vmx-hooks.js';
import type { TableBuilder } from '../table-builder.js';
import { alu, AluOp } from './alu.js';

type Size = 1 | 2 | 4;

function rd(cpu: Cpu, lin: number, size: Size): number {
  return size === 4 ? cpu.read32(lin) : size === 2 ? cpu.read16(lin) : cpu.read8(lin);
}

function wr(cpu: Cpu, lin: number, size: Size, v: number): void {
  if (size === 4) cpu.write32(lin, v);
  else if (size === 2) cpu.write16(lin, v);
  else cpu.write8(lin, v);
}

function getAcc(cpu: Cpu, size: Size): number {
  return size === 4 ? cpu.reg32[0] : size === 2 ? cpu.reg16[0] : cpu.reg8[0];
}

function setAcc(cpu: Cpu, size: Size, v: number): void {
  if (size === 4) cpu.reg32[0] = v;
  else if (size === 2) cpu.reg16[0] = v;
  else cpu.reg8[0] = v;
}

/** The sign-extension shift of alu() for an operand size. */
function shiftOf(size: Size): number {
  return size === 4 ? 0 : size === 2 ? 16 : 24;
}

/** One iteration of each instruction; returns false when a REPE/REPNE condition ends the loop. */
type Step = (cpu: Cpu, s: number, size: Size, delta: number) => void;

const movsStep: Step = (cpu, s, size, delta) => {
  const esi = cpu.reg32[Reg.ESI];
  const edi = cpu.reg32[Reg.EDI];
  const v = rd(cpu, cpu.lin(cpu.d.seg[s], esi, size, false), size);
  wr(cpu, cpu.lin(Seg.ES, edi, size, true), size, v);
  cpu.reg32[Reg.ESI] = (esi + delta) | 0;
  cpu.reg32[Reg.EDI] = (edi + delta) | 0;
};

const cmpsStep: Step = (cpu, s, size, delta) => {
  const esi = cpu.reg32[Reg.ESI];
  const edi = cpu.reg32[Reg.EDI];
  const a = rd(cpu, cpu.lin(cpu.d.seg[s], esi, size, false), size);
  const b = rd(cpu, cpu.lin(Seg.ES, edi, size, false), size);
  alu(cpu, AluOp.Cmp, a, b, shiftOf(size));
  cpu.reg32[Reg.ESI] = (esi + delta) | 0;
  cpu.reg32[Reg.EDI] = (edi + delta) | 0;
};

const stosStep: Step = (cpu, _s, size, delta) => {
  const edi = cpu.reg32[Reg.EDI];
  wr(cpu, cpu.lin(Seg.ES, edi, size, true), size, getAcc(cpu, size));
  cpu.reg32[Reg.EDI] = (edi + delta) | 0;
};

const lodsStep: Step = (cpu, s, size, delta) => {
  const esi = cpu.reg32[Reg.ESI];
  setAcc(cpu, size, rd(cpu, cpu.lin(cpu.d.seg[s], esi, size, false), size));
  cpu.reg32[Reg.ESI] = (esi + delta) | 0;
};

const scasStep: Step = (cpu, _s, size, delta) => {
  const edi = cpu.reg32[Reg.EDI];
  const b = rd(cpu, cpu.lin(Seg.ES, edi, size, false), size);
  alu(cpu, AluOp.Cmp, getAcc(cpu, size), b, shiftOf(size));
  cpu.reg32[Reg.EDI] = (edi + delta) | 0;
};

/** INS: the destination is checked (write access) before the port is read, so a fault does not lose input. */
const insStep: Step = (cpu, _s, size, delta) => {
  const edi = cpu.reg32[Reg.EDI];
  const lin = cpu.lin(Seg.ES, edi, size, true);
  if (size === 4) cpu.rmw32(lin);
  else if (size === 2) cpu.rmw16(lin);
  else cpu.rmw8(lin);
  wr(cpu, lin, size, cpu.portIn(cpu.reg16[Reg.EDX << 1], size));
  cpu.reg32[Reg.EDI] = (edi + delta) | 0;
};

const outsStep: Step = (cpu, s, size, delta) => {
  const esi = cpu.reg32[Reg.ESI];
  const v = rd(cpu, cpu.lin(cpu.d.seg[s], esi, size, false), size);
  cpu.portOut(cpu.reg16[Reg.EDX << 1], size, v);
  cpu.reg32[Reg.ESI] = (esi + delta) | 0;
};

/**
 * Builds the handler for one string instruction at one size. `cond` is true for CMPS/SCAS, where
 * REPE/REPNE also stop on ZF.
 */
function makeString(step: Step, size: Size, cond: boolean, io: boolean): Handler {
  return (cpu, s) => {
    if (io && cpu.cpl > ((cpu.flags & Flag.IOPL) >>> 12)) cpu.raise(13, 0);
    const pfx = cpu.d.pfx[s] & (PFX_REP | PFX_REPNE);
    // INS/OUTS in a VMX guest: the I/O exit check comes after the privilege check (SDM Vol. 3 25.1.1).
    if (io && cpu.nonRoot) cpu.vmx!.io(s, cpu.reg16[Reg.EDX << 1], size, (step === insStep ? IoFlags.In : 0) | IoFlags.String | (pfx !== 0 ? IoFlags.Rep : 0));
    const delta = (cpu.flags & Flag.DF) !== 0 ? -size : size;
    if (pfx === 0) {
      step(cpu, s, size, delta);
      return;
    }
    const repne = pfx === PFX_REPNE;
    for (;;) {
      const ecx = cpu.reg32[Reg.ECX];
      if (ecx === 0) return;
      step(cpu, s, size, delta);
      cpu.reg32[Reg.ECX] = (ecx - 1) | 0;
      if (cond && cpu.getZF() === repne) return;
      if (ecx === 1) return;
      cpu.charge(1);
      if (cpu.budget <= 0) {
        // Out of budget: resume this same instruction later (registers already reflect the progress).
        cpu.eip = (cpu.eip - cpu.d.len[s]) | 0;
        return;
      }
    }
  };
}

export function registerString(t: TableBuilder): void {
  const ops: [number, string, Step, boolean, boolean][] = [
    [0xa4, 'movs', movsStep, false, false],
    [0xa6, 'cmps', cmpsStep, true, false],
    [0xaa, 'stos', stosStep, false, false],
    [0xac, 'lods', lodsStep, false, false],
    [0xae, 'scas', scasStep, true, false],
    [0x6c, 'ins', insStep, false, true],
    [0x6e, 'outs', outsStep, false, true],
  ];
  for (const [opcode, name, step, cond, io] of ops) {
    t.op(opcode, { mnem: name + 'b', modrm: false, imm: Imm.None, h32: makeString(step, 1, cond, io), rep: true });
    t.op(opcode + 1, {
      mnem: name + 'd',
      mnem16: name + 'w',
      modrm: false,
      imm: Imm.None,
      h32: makeString(step, 4, cond, io),
      h16: makeString(step, 2, cond, io),
      rep: true,
    });
  }
}
