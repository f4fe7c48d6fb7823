// VM entry's checks on the VMX controls (VM-instruction error 7) and the host-state area (error 8), SDM Vol. 3C
// 26.2 (27.2 in the 2023 edition), for this IA-32 processor. Guest-state checks are guest-state-checks.ts';
// acting on a failure (VMfailValid, the entry-failure exit) is the VM-entry code's.

import {
  CR0_FIXED0,
  CR0_FIXED1,
  CR3_TARGET_COUNT,
  CR4_FIXED0,
  CR4_FIXED1,
  MISC_LO,
  PROC_CTLS2,
  TRUE_ENTRY_CTLS,
  TRUE_EXIT_CTLS,
  TRUE_PIN_CTLS,
  TRUE_PROC_CTLS,
  type AllowedSettings,
} from './capabilities.js';
import { EntryCtl, ExitCtl, IntrInfo, IntrType, Pin, Proc, Proc2 } from './controls.js';
import { eptPointerProblem } from './ept.js';
import { GUEST_STATE_CHECKS, activeSecondaryControls } from './guest-state-checks.js';
import type { Vmcs } from './vmcs.js';
import { VmcsField } from './vmcs-fields.js';

export { checkGuestState, type GuestStateFailure } from './guest-state-checks.js';

const C = {
  pin: 'pin-based controls: allowed-0/allowed-1',
  proc: 'primary processor-based controls: allowed-0/allowed-1',
  proc2: 'secondary processor-based controls: allowed-0/allowed-1',
  cr3Targets: 'CR3-target count > 4',
  ioBitmapA: 'I/O bitmap A address',
  ioBitmapB: 'I/O bitmap B address',
  msrBitmap: 'MSR bitmap address',
  virtualNmis: 'virtual NMIs without NMI exiting',
  nmiWindow: 'NMI-window exiting without virtual NMIs',
  unrestrictedGuest: 'unrestricted guest without EPT',
  exit: 'VM-exit controls: allowed-0/allowed-1',
  savePreemptionTimer: 'save preemption timer without activate preemption timer',
  exitMsrStore: 'VM-exit MSR-store area address',
  exitMsrLoad: 'VM-exit MSR-load area address',
  entry: 'VM-entry controls: allowed-0/allowed-1',
  reservedType: 'entry interruption: reserved type 1',
  nmiVector: 'entry interruption: NMI vector not 2',
  exceptionVector: 'entry interruption: hardware exception vector > 31',
  otherVector: 'entry interruption: other-event vector not 0',
  errorCodeBit: 'entry interruption: deliver-error-code mismatch',
  reservedBits: 'entry interruption: reserved bits 30:12',
  errorCode: 'entry interruption: error code bits 31:16',
  instructionLength: 'entry instruction length 0 or > 15',
  entryMsrLoad: 'VM-entry MSR-load area address',
} as const;

/** "EPT pointer: " followed by eptPointerProblem's reason (ept.ts). */
export const EPT_POINTER_CHECK = 'EPT pointer: <reason from eptPointerProblem>';

const H = {
  cr0: 'host CR0 fixed bits',
  cr4: 'host CR4 fixed bits',
  selector: 'host selector RPL/TI',
  cs: 'host CS selector null',
  tr: 'host TR selector null',
  ss: 'host SS selector null',
  addressSpaceSize: 'host address-space size',
  ia32eGuest: 'IA-32e mode guest',
} as const;

/** Every name checkControls (with EPT_POINTER_CHECK standing for the EPT reasons) and checkHostState can report. */
export const CONTROL_CHECKS: readonly string[] = [...Object.values(C), EPT_POINTER_CHECK];
export const HOST_STATE_CHECKS: readonly string[] = Object.values(H);
/** All of them, guest-state checks included: for documentation and tests. */
export const ENTRY_CHECKS: readonly string[] = [...CONTROL_CHECKS, ...HOST_STATE_CHECKS, ...GUEST_STATE_CHECKS];

const violates = (value: number, s: AllowedSettings): boolean => (value & s.allowed0) !== (s.allowed0 | 0) || (value & ~s.allowed1) !== 0;

/** A 4K-aligned physical address within 32 bits (IA32_VMX_BASIC[48] = 1: bits 63:32 must be 0). */
const pageAddressOk = (vmcs: Vmcs, field: number): boolean => (vmcs.get(field) & 0xfff) === 0 && vmcs.getHigh(field) === 0;

/**
 * An MSR area of `count` 16-byte entries: if count != 0, 16-byte aligned, within 32 bits, and its last byte
 * (address + count * 16 - 1, computed wider than 32 bits) within 32 bits too (SDM 26.2.1.2, 26.2.1.3). A count
 * above the recommended maximum (512, IA32_VMX_MISC[27:25]) is not a VM-entry check.
 */
function msrAreaOk(vmcs: Vmcs, addressField: number, countField: number): boolean {
  const count = vmcs.get(countField) >>> 0;
  if (count === 0) return true;
  const address = vmcs.get(addressField) >>> 0;
  return (address & 0xf) === 0 && vmcs.getHigh(addressField) === 0 && address + count * 16 - 1 <= 0xffffffff;
}

/** Exceptions that push an error code (SDM 26.2.1.3): #DF, #TS, #NP, #SS, #GP, #PF, #AC. */
const ERROR_CODE_VECTORS = (1 << 8) | (1 << 10) | (1 << 11) | (1 << 12) | (1 << 13) | (1 << 14) | (1 << 17);
/** IA32_VMX_MISC[30]: a VM-entry instruction length of 0 is allowed. */
const ZERO_LENGTH_INJECTION = (MISC_LO & (1 << 30)) !== 0;

/**
 * SDM 26.2.1: the VM-execution, VM-exit and VM-entry control fields, in the SDM's order. The capability MSRs
 * are the TRUE_* ones (IA32_VMX_BASIC[55] = 1). Controls this CPU cannot enable (TPR shadow, APIC
 * virtualization, VPID, posted interrupts, PML, VM functions, SMM entry) fail the allowed-1 checks, so their
 * dependent checks are unreachable and omitted; so is the executive-VMCS pointer (no dual-monitor SMM).
 */
export function checkControls(vmcs: Vmcs): string | null {
  const pin = vmcs.get(VmcsField.PinControls);
  const proc = vmcs.get(VmcsField.ProcControls);
  const proc2 = activeSecondaryControls(vmcs);

  // 26.2.1.1 VM-execution controls.
  if (violates(pin, TRUE_PIN_CTLS)) return C.pin;
  if (violates(proc, TRUE_PROC_CTLS)) return C.proc;
  if (violates(proc2, PROC_CTLS2)) return C.proc2;
  if (vmcs.get(VmcsField.Cr3TargetCount) >>> 0 > CR3_TARGET_COUNT) return C.cr3Targets;
  if ((proc & Proc.UseIoBitmaps) !== 0) {
    if (!pageAddressOk(vmcs, VmcsField.IoBitmapA)) return C.ioBitmapA;
    if (!pageAddressOk(vmcs, VmcsField.IoBitmapB)) return C.ioBitmapB;
  }
  if ((proc & Proc.UseMsrBitmaps) !== 0 && !pageAddressOk(vmcs, VmcsField.MsrBitmap)) return C.msrBitmap;
  if ((pin & Pin.NmiExiting) === 0 && (pin & Pin.VirtualNmis) !== 0) return C.virtualNmis;
  if ((pin & Pin.VirtualNmis) === 0 && (proc & Proc.NmiWindowExiting) !== 0) return C.nmiWindow;
  if ((proc2 & Proc2.EnableEpt) !== 0) {
    const problem = eptPointerProblem(vmcs.get(VmcsField.EptPointer), vmcs.getHigh(VmcsField.EptPointer));
    if (problem !== null) return `EPT pointer: ${problem}`;
  }
  if ((proc2 & Proc2.UnrestrictedGuest) !== 0 && (proc2 & Proc2.EnableEpt) === 0) return C.unrestrictedGuest;

  // 26.2.1.2 VM-exit controls.
  const exit = vmcs.get(VmcsField.ExitControls);
  if (violates(exit, TRUE_EXIT_CTLS)) return C.exit;
  if ((pin & Pin.PreemptionTimer) === 0 && (exit & ExitCtl.SavePreemptionTimer) !== 0) return C.savePreemptionTimer;
  if (!msrAreaOk(vmcs, VmcsField.ExitMsrStoreAddress, VmcsField.ExitMsrStoreCount)) return C.exitMsrStore;
  if (!msrAreaOk(vmcs, VmcsField.ExitMsrLoadAddress, VmcsField.ExitMsrLoadCount)) return C.exitMsrLoad;

  // 26.2.1.3 VM-entry controls.
  if (violates(vmcs.get(VmcsField.EntryControls), TRUE_ENTRY_CTLS)) return C.entry;
  const injection = checkInjection(vmcs, proc2);
  if (injection !== null) return injection;
  if (!msrAreaOk(vmcs, VmcsField.EntryMsrLoadAddress, VmcsField.EntryMsrLoadCount)) return C.entryMsrLoad;
  return null;
}

/** The event-injection fields, when the interruption information is valid (SDM 26.2.1.3). */
function checkInjection(vmcs: Vmcs, proc2: number): string | null {
  const info = vmcs.get(VmcsField.EntryInterruptionInfo);
  if ((info & IntrInfo.Valid) === 0) return null;
  const vector = info & IntrInfo.VectorMask;
  const type = (info >>> IntrInfo.TypeShift) & 7;
  // Type 1 is always reserved; type 7 (other event) only without the monitor trap flag, which this CPU has.
  if (type === 1) return C.reservedType;
  if (type === IntrType.Nmi && vector !== 2) return C.nmiVector;
  if (type === IntrType.HardwareException && vector > 31) return C.exceptionVector;
  if (type === IntrType.Other && vector !== 0) return C.otherVector;
  // Deliver-error-code is 1 iff a hardware exception that pushes one, in protected mode: CR0.PE = 1, or
  // unrestricted guest off (then guest CR0.PE is 1 or the guest-state checks fail anyway). BASIC[56] = 0.
  const protectedMode = (proc2 & Proc2.UnrestrictedGuest) === 0 || (vmcs.get(VmcsField.GuestCr0) & 1) !== 0;
  const wantsErrorCode = type === IntrType.HardwareException && protectedMode && ((ERROR_CODE_VECTORS >>> vector) & 1) !== 0;
  const deliversErrorCode = (info & IntrInfo.ErrorCodeValid) !== 0;
  if (deliversErrorCode !== wantsErrorCode) return C.errorCodeBit;
  if ((info & 0x7ffff000) !== 0) return C.reservedBits;
  // Error codes are 16 bits; older SDM editions say bits 31:15 (a documentation error, KVM commit 567926cca99b).
  if (deliversErrorCode && vmcs.get(VmcsField.EntryExceptionErrorCode) >>> 16 !== 0) return C.errorCode;
  if (type === IntrType.SoftwareInterrupt || type === IntrType.PrivilegedSoftwareException || type === IntrType.SoftwareException) {
    const length = vmcs.get(VmcsField.EntryInstructionLength) >>> 0;
    if (length > 15 || (length === 0 && !ZERO_LENGTH_INJECTION)) return C.instructionLength;
  }
  return null;
}

/**
 * SDM 26.2.2-26.2.4: host control registers, selectors and address-space size. The canonical-address,
 * CR3-width, RIP[63:32] and PAT/EFER/PERF_GLOBAL_CTRL checks exist only on Intel 64 processors or with
 * controls this CPU lacks; host RIP and RSP may be any 32-bit value.
 */
export function checkHostState(vmcs: Vmcs): string | null {
  const cr0 = vmcs.get(VmcsField.HostCr0);
  if ((cr0 & CR0_FIXED0) !== CR0_FIXED0 || (cr0 & ~CR0_FIXED1) !== 0) return H.cr0;
  const cr4 = vmcs.get(VmcsField.HostCr4);
  if ((cr4 & CR4_FIXED0) !== CR4_FIXED0 || (cr4 & ~CR4_FIXED1) !== 0) return H.cr4;

  // 26.2.3: RPL and TI of ES, CS, SS, DS, FS, GS and TR are 0 (the fields are consecutive, 0C00-0C0C).
  for (let field = VmcsField.HostEsSelector; field <= VmcsField.HostTrSelector; field += 2) {
    if ((vmcs.get(field) & 7) !== 0) return H.selector;
  }
  if ((vmcs.get(VmcsField.HostCsSelector) & 0xffff) === 0) return H.cs;
  if ((vmcs.get(VmcsField.HostTrSelector) & 0xffff) === 0) return H.tr;
  const exit = vmcs.get(VmcsField.ExitControls);
  if ((exit & ExitCtl.HostAddressSpaceSize) === 0 && (vmcs.get(VmcsField.HostSsSelector) & 0xffff) === 0) return H.ss;

  // 26.2.4: outside IA-32e mode (always, on an IA-32 processor) both address-space controls are 0. The
  // allowed-1 settings already forbid them, so these fire only when checkHostState is called on its own.
  if ((exit & ExitCtl.HostAddressSpaceSize) !== 0) return H.addressSpaceSize;
  if ((vmcs.get(VmcsField.EntryControls) & EntryCtl.Ia32eModeGuest) !== 0) return H.ia32eGuest;
  return null;
}
