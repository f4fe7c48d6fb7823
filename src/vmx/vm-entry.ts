// VM entry after its checks (SDM Vol. 3 chapter 27 / digest 12.1 steps 4-7): load the guest state, process the
// VM-entry MSR-load area, enter non-root operation, inject the event of the VM-entry interruption-information
// field. The checks are entry-checks.ts'; the exit is vm-exit.ts'.

import { Reg } from '../cpu/registers.js';
import type { Cpu } from '../cpu/cpu.js';
import { FAULT } from '../cpu/fault.js';
import { deliverEvent, deliverPendingFault, type EventKind } from '../cpu/interrupts.js';
import { ActivityState, EntryCtl, IntrInfo, IntrType, Interruptibility, Proc, Proc2 } from './controls.js';
import { GUEST_SEGMENT_FIELDS, VmcsField as F } from './vmcs-fields.js';
import type { Vmcs } from './vmcs.js';
import type { Vmx } from './vmx-unit.js';
import { CR0_FIXED0, CR4_FIXED0 } from './capabilities.js';

const CR0_NE = 1 << 5;

/** Loads the guest-state area into the CPU (SDM 27.3.2). */
export function loadGuestState(vmx: Vmx, vmcs: Vmcs): void {
  const cpu = vmx.cpu;
  const unrestricted = (vmx.proc2 & Proc2.UnrestrictedGuest) !== 0;
  cpu.cr0 = vmcs.get(F.GuestCr0) | 0x10;
  cpu.cr3 = vmcs.get(F.GuestCr3);
  cpu.cr4 = vmcs.get(F.GuestCr4);
  // In non-root operation the fixed bits still hold, except PE and PG for an unrestricted guest (SDM 26.3.1.1).
  cpu.cr0Fixed0 = unrestricted ? CR0_NE : CR0_FIXED0;
  cpu.cr4Fixed0 = CR4_FIXED0;
  if ((vmx.entryCtl & EntryCtl.LoadDebugControls) !== 0) cpu.dr7 = vmcs.get(F.GuestDr7) | 0x400;
  vmx.writeMsr(0x174, vmcs.get(F.GuestSysenterCs));
  vmx.writeMsr(0x175, vmcs.get(F.GuestSysenterEsp));
  vmx.writeMsr(0x176, vmcs.get(F.GuestSysenterEip));
  for (let s = 0; s < 6; s++) {
    const f = GUEST_SEGMENT_FIELDS[s];
    cpu.segSel[s] = vmcs.get(f.selector);
    cpu.segBase[s] = vmcs.get(f.base);
    cpu.segLimit[s] = vmcs.get(f.limit);
    cpu.segAr[s] = vmcs.get(f.ar);
  }
  cpu.cpl = (cpu.segAr[2] >>> 5) & 3; // SS.DPL (SDM 27.3.2.2)
  const ldtr = GUEST_SEGMENT_FIELDS[6];
  const ldtUsable = (vmcs.get(ldtr.ar) & 0x10000) === 0;
  cpu.ldtSel = vmcs.get(ldtr.selector);
  cpu.ldtBase = ldtUsable ? vmcs.get(ldtr.base) : 0;
  cpu.ldtLimit = ldtUsable ? vmcs.get(ldtr.limit) : 0;
  const tr = GUEST_SEGMENT_FIELDS[7];
  cpu.trSel = vmcs.get(tr.selector);
  cpu.trBase = vmcs.get(tr.base);
  cpu.trLimit = vmcs.get(tr.limit);
  cpu.trAr = vmcs.get(tr.ar);
  cpu.gdtBase = vmcs.get(F.GuestGdtrBase);
  cpu.gdtLimit = vmcs.get(F.GuestGdtrLimit) & 0xffff;
  cpu.idtBase = vmcs.get(F.GuestIdtrBase);
  cpu.idtLimit = vmcs.get(F.GuestIdtrLimit) & 0xffff;
  cpu.reg32[Reg.ESP] = vmcs.get(F.GuestRsp);
  cpu.eip = vmcs.get(F.GuestRip);
  cpu.setFlags(vmcs.get(F.GuestRflags));
  const intr = vmcs.get(F.GuestInterruptibility);
  cpu.shadow = (intr & Interruptibility.MovSs) !== 0 ? 2 : (intr & Interruptibility.Sti) !== 0 ? 1 : 0;
  // Blocking by NMI; with "virtual NMIs" the same bit is virtual-NMI blocking, which IRET also ends (SDM 26.3.1.5).
  vmx.hostNmiBlocked = cpu.nmiBlocked;
  cpu.nmiBlocked = (intr & Interruptibility.Nmi) !== 0;
  cpu.halted = vmcs.get(F.GuestActivityState) === ActivityState.Hlt;
  cpu.updateSegChecks();
}

/** Interruption types as the CPU's deliverEvent kinds (cpu/interrupts.ts EventKind: the values are the same). */
const KIND_OF_TYPE: readonly number[] = [0, -1, 2, 3, 4, 5, 6, -1];

/**
 * Event injection (SDM 27.6): the event is delivered through the guest IDT as if it happened in the guest,
 * after all guest state is loaded. Faults during delivery escalate normally and may themselves exit, with the
 * injected event as IDT-vectoring information. Returns false when nothing was injected.
 */
export function injectEvent(vmx: Vmx, vmcs: Vmcs): boolean {
  const cpu = vmx.cpu;
  const info = vmcs.get(F.EntryInterruptionInfo);
  if ((info & IntrInfo.Valid) === 0) return false;
  const type = (info >>> 8) & 7;
  const vector = info & 0xff;
  if (type === IntrType.Other) {
    vmx.pendingMtf = true; // type 7 vector 0: a pending MTF VM exit (SDM 27.6.2)
    return true;
  }
  const hasError = (info & IntrInfo.ErrorCodeValid) !== 0;
  const error = vmcs.get(F.EntryExceptionErrorCode);
  const rip = cpu.eip;
  // Software interrupts and exceptions push RIP + the VM-entry instruction length (SDM 27.6.1.1).
  const software = type === IntrType.SoftwareInterrupt || type === IntrType.PrivilegedSoftwareException || type === IntrType.SoftwareException;
  const ret = software ? (rip + vmcs.get(F.EntryInstructionLength)) | 0 : rip;
  cpu.halted = false; // an injecting entry leaves the guest active (SDM 27.6.2)
  cpu.shadow = 0;
  cpu.instrEip = rip;
  cpu.eip = ret;
  cpu.delivering = 0;
  vmx.injecting = true;
  try {
    deliverEvent(cpu, vector, KIND_OF_TYPE[type] as EventKind, hasError, error);
  } catch (e) {
    if (e !== FAULT) throw e;
    // A fault during delivery is handled as if the event had occurred in the guest (SDM 27.6.1.2): it is
    // subject to the exception bitmap (exiting with the injected event as IDT-vectoring information), and a
    // fault is reported at the guest RIP, also for a software interrupt or exception (as for INT n itself).
    vmx.injecting = false;
    cpu.eip = rip;
    deliverPendingFault(cpu); // may throw VMEXIT (exception bitmap, EPT, triple fault)
  } finally {
    vmx.injecting = false;
  }
  // With the monitor trap flag an MTF VM exit is pending before the first instruction (SDM 26.5.2).
  if ((vmx.proc & Proc.MonitorTrapFlag) !== 0) vmx.pendingMtf = true;
  return true;
}

export type { Cpu };
