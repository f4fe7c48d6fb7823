// VM exit in the SDM's numbered steps (Vol. 3 chapter 28 / digest 12.2): record the exit information, save the
// guest state, store guest MSRs, load the host state, load host MSRs, leave non-root operation. When an exit
// happens is intercepts.ts'; entering is vm-entry.ts'.

import { Reg } from '../cpu/registers.js';
import { Seg } from '../cpu/decoder.js';
import { ActivityState, ExitCtl, IntrInfo, Interruptibility, Pin, EXIT_REASON_NAMES } from './controls.js';
import { GUEST_SEGMENT_FIELDS, VmcsField as F } from './vmcs-fields.js';
import type { Vmcs } from './vmcs.js';
import type { Vmx } from './vmx-unit.js';
import { CR0_FIXED0 } from './capabilities.js';
import { VM_EXIT_CYCLES } from './cost-model.js';

/** The exit information an intercept fills in before calling vmExit (reused, no allocation per exit). */
export class ExitInfo {
  qualification = 0;
  guestLinear = 0;
  guestPhysical = 0;
  interruptionInfo = 0;
  interruptionError = 0;
  instructionLength = 0;
  instructionInfo = 0;
  /** The guest RIP to save: the instruction's address for fault-like exits, the next one for trap-like. */
  rip = 0;
  /** Whether the exit keeps IDT-vectoring information (not for triple faults and #DF exits, SDM 28.2.4). */
  vectoring = true;

  reset(rip: number): ExitInfo {
    this.qualification = this.guestLinear = this.guestPhysical = 0;
    this.interruptionInfo = this.interruptionError = this.instructionLength = this.instructionInfo = 0;
    this.rip = rip;
    this.vectoring = true;
    return this;
  }
}

/** VMCS AR of a segment a VM exit loads (SDM 28.5.2): flat code (type 11) and data (type 3), G and D/B set. */
const HOST_CS_AR = 0xc09b;
const HOST_DATA_AR = 0xc093;
const UNUSABLE = 0x10000;
const HOST_TR_AR = 0x8b;

/**
 * Performs a VM exit with basic reason `reason` (bit 31 for VM-entry failures) and the information in
 * vmx.exitInfo. Does not throw: the intercepts throw VMEXIT after it when an instruction must unwind.
 */
export function vmExit(vmx: Vmx, reason: number): void {
  const cpu = vmx.cpu;
  const vmcs = vmx.current!;
  const info = vmx.exitInfo;
  const entryFailure = reason < 0;
  // Step 1: exit information (SDM 28.2).
  vmcs.set(F.ExitReason, reason);
  vmcs.set(F.ExitQualification, info.qualification);
  vmcs.set(F.GuestLinearAddress, info.guestLinear);
  vmcs.set(F.GuestPhysicalAddress, info.guestPhysical);
  vmcs.set(F.ExitInterruptionInfo, info.interruptionInfo);
  vmcs.set(F.ExitInterruptionErrorCode, info.interruptionError);
  const vectoring = info.vectoring && !entryFailure ? cpu.delivering : 0;
  vmcs.set(F.IdtVectoringInfo, vectoring);
  vmcs.set(F.IdtVectoringErrorCode, vectoring !== 0 && (vectoring & IntrInfo.ErrorCodeValid) !== 0 ? cpu.deliveringError : 0);
  // An exit during delivery of a software interrupt or exception (types 4-6) reports that instruction's length,
  // or the VM-entry instruction length for an injected one (SDM 28.2.4).
  const vectoredType = (vectoring >>> 8) & 7;
  vmcs.set(F.ExitInstructionLength, vectoring !== 0 && vectoredType >= 4 && vectoredType <= 6 ? cpu.deliveringLength : info.instructionLength);
  vmcs.set(F.ExitInstructionInfo, info.instructionInfo);
  cpu.delivering = 0;
  // An exit consumes the injected event (SDM 28.2.3 / 27.x: the valid bit of the entry field is cleared).
  vmcs.set(F.EntryInterruptionInfo, vmcs.get(F.EntryInterruptionInfo) & ~IntrInfo.Valid);

  // Step 2: save guest state (SDM 28.3), except for VM-entry failures, which save nothing.
  if (!entryFailure) {
    saveGuestState(vmx, vmcs, info.rip);
    // Step 3: the VM-exit MSR-store area (SDM 28.4).
    if (!vmx.storeMsrs(vmcs.get(F.ExitMsrStoreAddress), vmcs.get(F.ExitMsrStoreCount))) {
      vmx.abort(1, 'storing a guest MSR on VM exit failed');
      return;
    }
  }
  vmx.leaveNonRoot();
  // Step 4: load host state (SDM 28.5).
  loadHostState(vmx, vmcs, reason);
  // Step 5: the VM-exit MSR-load area (SDM 28.6).
  if (!vmx.loadMsrs(vmcs.get(F.ExitMsrLoadAddress), vmcs.get(F.ExitMsrLoadCount))) {
    vmx.abort(4, 'loading a host MSR on VM exit failed');
    return;
  }
  vmx.spend(VM_EXIT_CYCLES);
  vmx.countExit(reason);
  if (cpu.logger.enabled('vmexit')) {
    // The kvm:kvm_exit tracepoint's fields and layout (ecosystem.md trace formats).
    const basic = reason & 0xffff;
    const h = (n: number, w: number): string => (n >>> 0).toString(16).padStart(w, '0');
    cpu.logger.log(
      'vmexit',
      `kvm_exit: vcpu 0 reason ${EXIT_REASON_NAMES[basic] ?? basic}${entryFailure ? ' FAILED_VMENTRY' : ''} rip 0x${h(info.rip, 1)} ` +
        `info1 0x${h(info.qualification, 16)} info2 0x${h(info.guestPhysical, 16)} intr_info 0x${h(info.interruptionInfo, 8)} error_code 0x${h(info.interruptionError, 8)}`,
    );
  }
  vmx.afterExit();
}

function saveGuestState(vmx: Vmx, vmcs: Vmcs, rip: number): void {
  const cpu = vmx.cpu;
  vmcs.set(F.GuestCr0, cpu.cr0);
  vmcs.set(F.GuestCr3, cpu.cr3);
  vmcs.set(F.GuestCr4, cpu.cr4);
  if ((vmx.exitCtl & ExitCtl.SaveDebugControls) !== 0) vmcs.set(F.GuestDr7, cpu.dr7);
  vmcs.set(F.GuestRsp, cpu.reg32[Reg.ESP]);
  vmcs.set(F.GuestRip, rip);
  vmcs.set(F.GuestRflags, cpu.getFlags());
  for (let s = 0; s < 6; s++) {
    const f = GUEST_SEGMENT_FIELDS[s];
    vmcs.set(f.selector, cpu.segSel[s]);
    vmcs.set(f.base, cpu.segBase[s]);
    vmcs.set(f.limit, cpu.segLimit[s]);
    vmcs.set(f.ar, cpu.segAr[s]);
  }
  const ldtr = GUEST_SEGMENT_FIELDS[6];
  vmcs.set(ldtr.selector, cpu.ldtSel);
  vmcs.set(ldtr.base, cpu.ldtBase);
  vmcs.set(ldtr.limit, cpu.ldtLimit);
  vmcs.set(ldtr.ar, (cpu.ldtSel & 0xfffc) === 0 ? UNUSABLE : 0x82);
  const tr = GUEST_SEGMENT_FIELDS[7];
  vmcs.set(tr.selector, cpu.trSel);
  vmcs.set(tr.base, cpu.trBase);
  vmcs.set(tr.limit, cpu.trLimit);
  vmcs.set(tr.ar, cpu.trAr);
  vmcs.set(F.GuestGdtrBase, cpu.gdtBase);
  vmcs.set(F.GuestGdtrLimit, cpu.gdtLimit);
  vmcs.set(F.GuestIdtrBase, cpu.idtBase);
  vmcs.set(F.GuestIdtrLimit, cpu.idtLimit);
  vmcs.set(F.GuestSysenterCs, vmx.readMsrLo(0x174));
  vmcs.set(F.GuestSysenterEsp, vmx.readMsrLo(0x175));
  vmcs.set(F.GuestSysenterEip, vmx.readMsrLo(0x176));
  vmcs.set(F.GuestActivityState, cpu.halted ? ActivityState.Hlt : ActivityState.Active);
  let intr = cpu.shadow === 1 ? Interruptibility.Sti : cpu.shadow === 2 ? Interruptibility.MovSs : 0;
  if (cpu.nmiBlocked) intr |= Interruptibility.Nmi;
  vmcs.set(F.GuestInterruptibility, intr);
  vmcs.set(F.GuestPendingDebugExceptions, 0);
  if ((vmx.exitCtl & ExitCtl.SavePreemptionTimer) !== 0 && (vmx.pin & Pin.PreemptionTimer) !== 0) {
    vmcs.set(F.PreemptionTimerValue, vmx.preemptionTimerRemaining());
  }
}

function loadHostState(vmx: Vmx, vmcs: Vmcs, reason: number): void {
  const cpu = vmx.cpu;
  cpu.cr0 = vmcs.get(F.HostCr0) | 0x10 | CR0_FIXED0; // ET is hardwired; the fixed bits were checked at entry
  cpu.cr3 = vmcs.get(F.HostCr3);
  cpu.cr4 = vmcs.get(F.HostCr4);
  cpu.dr7 = 0x400;
  vmx.writeMsr(0x174, vmcs.get(F.HostSysenterCs));
  vmx.writeMsr(0x175, vmcs.get(F.HostSysenterEsp));
  vmx.writeMsr(0x176, vmcs.get(F.HostSysenterEip));
  const sel = [F.HostEsSelector, F.HostCsSelector, F.HostSsSelector, F.HostDsSelector, F.HostFsSelector, F.HostGsSelector];
  for (let s = 0; s < 6; s++) {
    const selector = vmcs.get(sel[s]);
    cpu.segSel[s] = selector;
    cpu.segBase[s] = s === Seg.FS ? vmcs.get(F.HostFsBase) : s === Seg.GS ? vmcs.get(F.HostGsBase) : 0;
    cpu.segLimit[s] = -1;
    if (s === Seg.CS) cpu.segAr[s] = HOST_CS_AR;
    else cpu.segAr[s] = HOST_DATA_AR | (s !== Seg.SS && (selector & 0xfffc) === 0 ? UNUSABLE : 0);
  }
  cpu.cpl = 0;
  cpu.trSel = vmcs.get(F.HostTrSelector);
  cpu.trBase = vmcs.get(F.HostTrBase);
  cpu.trLimit = 0x67;
  cpu.trAr = HOST_TR_AR;
  cpu.gdtBase = vmcs.get(F.HostGdtrBase);
  cpu.gdtLimit = 0xffff;
  cpu.idtBase = vmcs.get(F.HostIdtrBase);
  cpu.idtLimit = 0xffff;
  cpu.ldtSel = 0;
  cpu.ldtBase = 0;
  cpu.ldtLimit = 0;
  cpu.reg32[Reg.ESP] = vmcs.get(F.HostRsp);
  cpu.eip = vmcs.get(F.HostRip);
  cpu.setFlags(0x2);
  cpu.shadow = 0;
  cpu.halted = false;
  // An exit caused by an NMI leaves NMIs blocked in the host (SDM 28.5.5).
  cpu.nmiBlocked = (reason & 0xffff) === 0 && (vmx.exitInfo.interruptionInfo & 0x7ff) === 0x202 ? true : vmx.hostNmiBlocked;
  cpu.updateSegChecks();
  cpu.flushTlb();
}
