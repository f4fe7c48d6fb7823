// Event delivery in protected mode: exceptions, external and software interrupts through 32-bit
// interrupt and trap gates (SDM Vol. 3 6.10-6.13). Escalation to #DF and shutdown is the run loop's.

import type { Cpu } from './cpu.js';
import { FAULT } from './fault.js';
import { Reg, hex4, hex8 } from './registers.js';
import { Seg } from './decoder.js';
import { Flag } from './flags.js';
import { EVENT_DELIVERY_CYCLES } from './costs.js';
import { readDescriptor, loadCsFromDescriptor, DescriptorError } from './segments.js';

/** Exception vectors (SDM Vol. 3 table 6-1). */
export const enum Vector {
  DE = 0,
  DB = 1,
  NMI = 2,
  BP = 3,
  OF = 4,
  BR = 5,
  UD = 6,
  NM = 7,
  DF = 8,
  TS = 10,
  NP = 11,
  SS = 12,
  GP = 13,
  PF = 14,
  MF = 16,
  AC = 17,
  MC = 18,
}

/** What is being delivered; the values are the VMX interruption types (SDM Vol. 3 24.8.3). */
export const enum EventKind {
  /** An external interrupt (EXT = 1). */
  External = 0,
  /** A non-maskable interrupt, vector 2 (EXT = 1). */
  Nmi = 2,
  /** A hardware exception: error codes from IDT problems carry EXT = 1. */
  Exception = 3,
  /** INT n: the gate's DPL is checked against CPL, EXT = 0. */
  Software = 4,
  /** INT1 (ICEBP, F1): no DPL check. */
  PrivilegedSoftware = 5,
  /** INT3 / INTO: like INT n, but the exception bitmap applies in a VMX guest. */
  SoftwareException = 6,
}

/** Gate types this CPU delivers through (SDM Vol. 3 6.11): 32-bit interrupt and trap gates. */
const GATE_INT32 = 0xe;
const GATE_TRAP32 = 0xf;

/**
 * Delivers one event through the IDT. EIP must already be the return address (the faulting instruction
 * for faults, the next one for traps and software interrupts). Raises #GP/#NP/#SS/#PF on a delivery
 * problem, which the caller escalates.
 */
export function deliverEvent(cpu: Cpu, vector: number, kind: EventKind, hasError: boolean, error: number): void {
  const software = kind === EventKind.Software || kind === EventKind.SoftwareException;
  const ext = software || kind === EventKind.PrivilegedSoftware ? 0 : 1;
  // In a VMX guest the exception bitmap may turn this into a VM exit (SDM Vol. 3 25.2); while it is
  // delivered, an exit (EPT violation, a nested exception that exits) records it as IDT-vectoring information.
  if (cpu.nonRoot) cpu.vmx!.event(vector, kind, hasError, error);
  cpu.delivering = (vector | (kind << 8) | (hasError ? 0x800 : 0) | 0x80000000) | 0;
  cpu.deliveringError = error;
  cpu.deliveringLength = software || kind === EventKind.PrivilegedSoftware ? (cpu.eip - cpu.instrEip) | 0 : 0;
  cpu.charge(EVENT_DELIVERY_CYCLES);
  if (cpu.logger.enabled('int')) logException(cpu, vector, error, hasError, software);
  const idtError = vector * 8 + 2 + ext;
  cpu.eventDelivered = true;
  cpu.halted = false;
  if (vector * 8 + 7 > cpu.idtLimit) cpu.raise(Vector.GP, idtError);
  const gateLin = (cpu.idtBase + vector * 8) | 0;
  const lo = cpu.read32(gateLin);
  const hi = cpu.read32((gateLin + 4) | 0);
  const type = (hi >>> 8) & 0x1f;
  if (type !== GATE_INT32 && type !== GATE_TRAP32) {
    // 16-bit gates and task gates are not implemented (README: simplifications); a system-segment type
    // that is not a gate at all is #GP by the SDM either way.
    cpu.raise(Vector.GP, idtError);
  }
  const dpl = (hi >>> 13) & 3;
  if (software && dpl < cpu.cpl) cpu.raise(Vector.GP, idtError);
  if ((hi & 0x8000) === 0) cpu.raise(Vector.NP, idtError);
  const selector = lo >>> 16;
  const offset = (lo & 0xffff) | (hi & 0xffff0000);

  const desc = readDescriptor(cpu, selector);
  if (desc === DescriptorError.Null) cpu.raise(Vector.GP, ext);
  if (desc === DescriptorError.Limit) cpu.raise(Vector.GP, (selector & 0xfffc) + ext);
  const dHi = cpu.descHi;
  const codeType = (dHi >>> 8) & 0x1f;
  if ((codeType & 0x18) !== 0x18 || ((dHi >>> 13) & 3) > cpu.cpl) cpu.raise(Vector.GP, (selector & 0xfffc) + ext);
  if ((dHi & 0x8000) === 0) cpu.raise(Vector.NP, (selector & 0xfffc) + ext);
  if (((dHi >>> 13) & 3) < cpu.cpl && (codeType & 4) === 0) {
    // Inner-privilege delivery needs the TSS stack switch: only CPL 0 exists on this CPU so far.
    cpu.raise(Vector.GP, (selector & 0xfffc) + ext);
  }

  // Push EFLAGS, CS, EIP and the error code; ESP changes only when all writes succeeded.
  const eflags = cpu.getFlags();
  const esp = cpu.reg32[Reg.ESP];
  const frame = hasError ? 16 : 12;
  const top = (esp - frame) | 0;
  const base = cpu.lin(Seg.SS, top, frame, true);
  let p = base;
  if (hasError) {
    cpu.write32(p, error);
    p = (p + 4) | 0;
  }
  cpu.write32(p, cpu.eip);
  cpu.write32((p + 4) | 0, cpu.segSel[Seg.CS]);
  cpu.write32((p + 8) | 0, eflags);
  cpu.reg32[Reg.ESP] = top;

  loadCsFromDescriptor(cpu, (selector & 0xfffc) | cpu.cpl, cpu.descLo, dHi);
  cpu.eip = offset;
  let f = eflags & ~(Flag.TF | Flag.NT | Flag.RF | Flag.VM);
  if (type === GATE_INT32) f &= ~Flag.IF;
  cpu.setFlags(f);
  if (kind === EventKind.Nmi) cpu.nmiBlocked = true; // until the next IRET (SDM Vol. 3 6.7.1)
  cpu.delivering = 0;
}

/** Delivers the exception recorded by raise(), escalating to #DF and triple fault (SDM Vol. 3 table 6-5). */
export function deliverPendingFault(cpu: Cpu): void {
  let vector = cpu.pendingVector;
  let error = cpu.pendingError;
  let hasError = cpu.pendingHasError;
  cpu.pendingVector = -1;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      deliverEvent(cpu, vector, EventKind.Exception, hasError, error);
      return;
    } catch (e) {
      if (e !== FAULT) throw e;
      const second = cpu.pendingVector;
      cpu.pendingVector = -1;
      if (vector === Vector.DF) break;
      if (isDoubleFault(vector, second)) {
        vector = Vector.DF;
        error = 0;
        hasError = true;
      } else {
        vector = second;
        error = cpu.pendingError;
        hasError = cpu.pendingHasError;
      }
    }
  }
  if (cpu.nonRoot) cpu.vmx!.tripleFault(); // exit reason 2 (SDM Vol. 3 25.2): throws VMEXIT
  cpu.triggerShutdown('triple fault');
}

/** A QEMU `-d int` record (ecosystem.md 1.1): the event line, then the register block. */
function logException(cpu: Cpu, vector: number, error: number, hasError: boolean, software: boolean): void {
  const e = hasError ? error.toString(16).padStart(4, '0') : '0000';
  const lin = (cpu.segBase[Seg.CS] + cpu.eip) >>> 0;
  cpu.logger.log(
    'int',
    `check_exception new 0x${vector.toString(16)}\n` +
      `${String(cpu.instructions).padStart(6)}: v=${vector.toString(16).padStart(2, '0')} e=${e} i=${software ? 1 : 0} cpl=${cpu.cpl} ` +
      `IP=${hex4(cpu.segSel[Seg.CS])}:${hex8(cpu.eip)} pc=${hex8(lin)} SP=${hex4(cpu.segSel[Seg.SS])}:${hex8(cpu.reg32[Reg.ESP])}` +
      (vector === Vector.PF ? ` CR2=${hex8(cpu.cr2)}` : '') +
      `\n${cpu.formatRegisters()}`,
  );
}

function isDoubleFault(first: number, second: number): boolean {
  const contributory = (v: number): boolean => v === 0 || (v >= 10 && v <= 13);
  if (contributory(first) && contributory(second)) return true;
  if (first === Vector.PF && (second === Vector.PF || contributory(second))) return true;
  return false;
}
