// VM entry's checks on the guest-state area (SDM Vol. 3C 26.3.1; 27.3.1 in the 2023 edition) for this IA-32
// processor: a failure is exit reason 33 | bit 31. Loading the guest state, and the control checks, are others'.

import { CR0_FIXED0, CR0_FIXED1, CR4_FIXED0, CR4_FIXED1, MISC_LO, VMCS_REVISION } from './capabilities.js';
import { ActivityState, EntryCtl, IntrInfo, IntrType, Interruptibility, Pin, Proc, Proc2 } from './controls.js';
import type { Vmcs } from './vmcs.js';
import { GUEST_SEGMENT_FIELDS, VmcsField } from './vmcs-fields.js';

/** A failed guest-state check: its name and the exit qualification of the failed entry (SDM 26.8). */
export interface GuestStateFailure {
  check: string;
  qualification: number;
}

/** Exit qualification of a failed entry: 0 by default, 4 for the VMCS link pointer (SDM 26.8). */
export const enum EntryFailureQualification {
  Default = 0,
  VmcsLinkPointer = 4,
}

/** The secondary controls as the processor sees them: 0 unless primary bit 31 is set (SDM 24.6.2). */
export function activeSecondaryControls(vmcs: Vmcs): number {
  return (vmcs.get(VmcsField.ProcControls) & Proc.SecondaryControls) !== 0 ? vmcs.get(VmcsField.ProcControls2) : 0;
}

/** Register order of GUEST_SEGMENT_FIELDS. */
const SEG = ['ES', 'CS', 'SS', 'DS', 'FS', 'GS', 'LDTR', 'TR'] as const;
const enum S {
  ES = 0,
  CS = 1,
  SS = 2,
  LDTR = 6,
  TR = 7,
}
const DATA_SEGS = [0, 3, 4, 5]; // ES DS FS GS
const SIX_SEGS = [0, 1, 2, 3, 4, 5];

// Per-register check names ("<seg>" is the register).
const typeName = (i: number): string => `guest ${SEG[i]} type`;
const sBit = (i: number): string => `guest ${SEG[i]} S bit`;
const notPresent = (i: number): string => `guest ${SEG[i]} not present`;
const arReserved = (i: number): string => `guest ${SEG[i]} access rights reserved bits`;
const limitG = (i: number): string => `guest ${SEG[i]} limit/granularity`;
const dplBelowRpl = (i: number): string => `guest ${SEG[i]} DPL < RPL`;
const v86Base = (i: number): string => `guest ${SEG[i]} base (virtual-8086)`;
const v86Limit = (i: number): string => `guest ${SEG[i]} limit (virtual-8086)`;
const v86Ar = (i: number): string => `guest ${SEG[i]} access rights (virtual-8086)`;

const G = {
  cr0Fixed: 'guest CR0 fixed bits',
  cr0PgWithoutPe: 'guest CR0.PG without PE',
  cr4Fixed: 'guest CR4 fixed bits',
  debugctl: 'guest IA32_DEBUGCTL reserved bits',
  trTi: 'guest TR selector TI',
  ldtrTi: 'guest LDTR selector TI',
  ssRplCsRpl: 'guest SS.RPL != CS.RPL',
  csType: typeName(S.CS),
  ssType: typeName(S.SS),
  csDplType3: 'guest CS.DPL != 0 with type 3',
  ssDplCsDpl: 'guest SS.DPL != CS.DPL',
  csDplConforming: 'guest CS.DPL > SS.DPL (conforming)',
  ssDplRpl: 'guest SS.DPL != SS.RPL',
  ssDplZero: 'guest SS.DPL != 0 (CS type 3 or CR0.PE=0)',
  trType: typeName(S.TR),
  trUnusable: 'guest TR unusable',
  ldtrType: typeName(S.LDTR),
  dtLimit: 'guest GDTR/IDTR limit bits 31:16',
  rflagsReserved: 'guest RFLAGS reserved bits',
  rflagsVm: 'guest RFLAGS.VM',
  rflagsIf: 'guest RFLAGS.IF=0 with external-interrupt injection',
  activity: 'guest activity state invalid/unsupported',
  hltDpl: 'guest activity HLT with SS.DPL != 0',
  notActiveBlocking: 'guest activity not active with STI/MOV-SS blocking',
  hltBlocksEvent: 'guest activity HLT with an injected event it blocks',
  intrReserved: 'guest interruptibility reserved bits',
  stiAndMovSs: 'guest interruptibility STI and MOV-SS both',
  stiWithoutIf: 'guest interruptibility STI with IF=0',
  blockedExtInt: 'guest interruptibility blocking with external-interrupt injection',
  movSsNmi: 'guest interruptibility MOV-SS blocking with NMI injection',
  smiBlocking: 'guest interruptibility SMI blocking outside SMM',
  virtualNmiBlocking: 'guest interruptibility virtual-NMI blocking with NMI injection',
  pendingReserved: 'guest pending debug exceptions reserved bits',
  pendingBs: 'guest pending debug BS inconsistent with RFLAGS.TF/BTF',
  linkPointer: 'VMCS link pointer',
  realMode: 'guest CR0.PE=0 (real mode is not implemented)',
  v86Mode: 'guest RFLAGS.VM=1 (virtual-8086 mode is not implemented)',
} as const;

/** Every name checkGuestState can report. */
export const GUEST_STATE_CHECKS: readonly string[] = [
  ...new Set([
    ...Object.values(G),
    ...SIX_SEGS.flatMap((i) => [v86Base(i), v86Limit(i), v86Ar(i)]),
    ...DATA_SEGS.flatMap((i) => [typeName(i), dplBelowRpl(i)]),
    ...[...SIX_SEGS, S.LDTR, S.TR].flatMap((i) => [sBit(i), notPresent(i), arReserved(i), limitG(i)]),
  ]),
];

const CR0_PE = 1;
const CR0_PG = 0x80000000 | 0;
const RFLAGS_TF = 1 << 8;
const RFLAGS_IF = 1 << 9;
const RFLAGS_VM = 1 << 17;
/** Bits 31:22, 15, 5 and 3 must be 0, bit 1 must be 1 (SDM 26.3.1.4). */
const RFLAGS_RESERVED0 = 0xffc08028 | 0;
/** This CPU implements none of IA32_DEBUGCTL (RDMSR 1D9 raises #GP, cpu/msr.ts): every bit is reserved. */
const DEBUGCTL_RESERVED = 0xffffffff | 0;
const DEBUGCTL_BTF = 1 << 1;
/** Bits 31:4: bits 31:5 are reserved and bit 4 (enclave interruption) needs SGX, which this CPU lacks. */
const INTERRUPTIBILITY_RESERVED = ~0xf;
/** Allowed: B3-B0 (3:0), enabled breakpoint (12), BS (14). Bit 16 (RTM) needs RTM, which this CPU lacks. */
const PENDING_DEBUG_RESERVED = 0xffffaff0 | 0;
const PENDING_DEBUG_BS = 1 << 14;
/** AR bit 16 and the reserved ranges 11:8 and 31:17 (SDM 24.4.1 table 24-2). */
const AR_UNUSABLE = 1 << 16;
const AR_RESERVED_LOW = 0xf00;
const AR_RESERVED_HIGH = 0xfffe0000 | 0;

/** Activity state n (1-3) is supported iff IA32_VMX_MISC bit 5+n is set (SDM appendix A.6). */
const activitySupported = (state: number): boolean => state === 0 || (state <= 3 && (MISC_LO & (1 << (5 + state))) !== 0);

/** limit[11:0] != FFF requires G = 0; limit[31:20] != 0 requires G = 1 (SDM 26.3.1.2, bit 15). */
function limitMatchesGranularity(limit: number, ar: number): boolean {
  return (ar & 0x8000) !== 0 ? (limit & 0xfff) === 0xfff : (limit & 0xfff00000) === 0;
}

const fail = (check: string): GuestStateFailure => ({ check, qualification: EntryFailureQualification.Default });

/**
 * The guest-state checks of SDM 26.3.1.1-26.3.1.5 in the SDM's order, restricted to an IA-32 processor (no
 * IA-32e mode, no PAE so no PDPTE checks of 26.3.1.6, no SMM, SGX or RTM), then two checks of this
 * implementation: real mode and virtual-8086 mode are not emulated, so CR0.PE = 0 (possible with
 * "unrestricted guest") and RFLAGS.VM = 1 fail once every SDM check has passed. Assumes checkControls passed.
 */
export function checkGuestState(vmcs: Vmcs, readPhysical?: (pa: number) => number): GuestStateFailure | null {
  const pin = vmcs.get(VmcsField.PinControls);
  const ug = (activeSecondaryControls(vmcs) & Proc2.UnrestrictedGuest) !== 0;
  const entryCtls = vmcs.get(VmcsField.EntryControls);
  const inject = vmcs.get(VmcsField.EntryInterruptionInfo);
  const injecting = (inject & IntrInfo.Valid) !== 0;
  const injType = (inject >>> IntrInfo.TypeShift) & 7;
  const injectsExternal = injecting && injType === IntrType.External;
  const injectsNmi = injecting && injType === IntrType.Nmi;

  // 26.3.1.1 control registers and MSRs. "Unrestricted guest" exempts PE and PG from CR0_FIXED0.
  const cr0 = vmcs.get(VmcsField.GuestCr0);
  const fixed0 = ug ? CR0_FIXED0 & ~(CR0_PE | CR0_PG) : CR0_FIXED0;
  if ((cr0 & fixed0) !== fixed0 || (cr0 & ~CR0_FIXED1) !== 0) return fail(G.cr0Fixed);
  if ((cr0 & CR0_PG) !== 0 && (cr0 & CR0_PE) === 0) return fail(G.cr0PgWithoutPe);
  const cr4 = vmcs.get(VmcsField.GuestCr4);
  if ((cr4 & CR4_FIXED0) !== CR4_FIXED0 || (cr4 & ~CR4_FIXED1) !== 0) return fail(G.cr4Fixed);
  const debugctl = vmcs.get(VmcsField.GuestDebugCtl);
  const debugctlReserved = (debugctl & DEBUGCTL_RESERVED) !== 0 || vmcs.getHigh(VmcsField.GuestDebugCtl) !== 0;
  if ((entryCtls & EntryCtl.LoadDebugControls) !== 0 && debugctlReserved) return fail(G.debugctl);
  // DR7[63:32] and the canonical/physical-width checks exist only on Intel 64 processors.

  // 26.3.1.2 segment registers.
  const rflags = vmcs.get(VmcsField.GuestRflags);
  const v86 = (rflags & RFLAGS_VM) !== 0;
  const sel = (i: number): number => vmcs.get(GUEST_SEGMENT_FIELDS[i].selector) & 0xffff;
  const ar = (i: number): number => vmcs.get(GUEST_SEGMENT_FIELDS[i].ar);
  const limit = (i: number): number => vmcs.get(GUEST_SEGMENT_FIELDS[i].limit);
  const usable = (i: number): boolean => (ar(i) & AR_UNUSABLE) === 0;
  const type = (i: number): number => ar(i) & 0xf;
  const dpl = (i: number): number => (ar(i) >>> 5) & 3;
  const rpl = (i: number): number => sel(i) & 3;
  // Checked for CS always, for the others only when usable ("if the register is CS or if it is usable").
  const checked = (i: number): boolean => i === S.CS || usable(i);

  if ((sel(S.TR) & 4) !== 0) return fail(G.trTi);
  if (usable(S.LDTR) && (sel(S.LDTR) & 4) !== 0) return fail(G.ldtrTi);
  if (!v86 && !ug && rpl(S.SS) !== rpl(S.CS)) return fail(G.ssRplCsRpl);
  if (v86) {
    for (const i of SIX_SEGS) if (vmcs.get(GUEST_SEGMENT_FIELDS[i].base) !== sel(i) << 4) return fail(v86Base(i));
    for (const i of SIX_SEGS) if (limit(i) !== 0xffff) return fail(v86Limit(i));
    for (const i of SIX_SEGS) if (ar(i) !== 0xf3) return fail(v86Ar(i));
  } else {
    const csType = type(S.CS);
    // Type: CS an accessed code segment (or, with unrestricted guest, type 3); SS read/write accessed data;
    // DS ES FS GS accessed, and readable if code.
    if (!((csType & 9) === 9 || (ug && csType === 3))) return fail(G.csType);
    if (usable(S.SS) && type(S.SS) !== 3 && type(S.SS) !== 7) return fail(G.ssType);
    for (const i of DATA_SEGS) {
      if (usable(i) && ((type(i) & 1) === 0 || (type(i) & 0xa) === 8)) return fail(typeName(i));
    }
    for (const i of SIX_SEGS) if (checked(i) && (ar(i) & 0x10) === 0) return fail(sBit(i));
    // DPL.
    if (csType === 3 && dpl(S.CS) !== 0) return fail(G.csDplType3);
    if ((csType === 9 || csType === 11) && dpl(S.CS) !== dpl(S.SS)) return fail(G.ssDplCsDpl);
    if ((csType === 13 || csType === 15) && dpl(S.CS) > dpl(S.SS)) return fail(G.csDplConforming);
    if (!ug && dpl(S.SS) !== rpl(S.SS)) return fail(G.ssDplRpl);
    if ((csType === 3 || (cr0 & CR0_PE) === 0) && dpl(S.SS) !== 0) return fail(G.ssDplZero);
    for (const i of DATA_SEGS) {
      if (!ug && usable(i) && type(i) <= 11 && dpl(i) < rpl(i)) return fail(dplBelowRpl(i));
    }
    for (const i of SIX_SEGS) if (checked(i) && (ar(i) & 0x80) === 0) return fail(notPresent(i));
    for (const i of SIX_SEGS) if (checked(i) && (ar(i) & AR_RESERVED_LOW) !== 0) return fail(arReserved(i));
    for (const i of SIX_SEGS) if (checked(i) && !limitMatchesGranularity(limit(i), ar(i))) return fail(limitG(i));
    for (const i of SIX_SEGS) if (checked(i) && (ar(i) & AR_RESERVED_HIGH) !== 0) return fail(arReserved(i));
  }
  // TR: a busy TSS, 16-bit (type 3) or 32-bit (11), outside IA-32e mode.
  if (type(S.TR) !== 3 && type(S.TR) !== 11) return fail(G.trType);
  const tr = systemSegmentProblem(S.TR, ar(S.TR), limit(S.TR));
  if (tr !== null) return fail(tr);
  // LDTR, if usable: an LDT (type 2).
  if (usable(S.LDTR)) {
    if (type(S.LDTR) !== 2) return fail(G.ldtrType);
    const ldtr = systemSegmentProblem(S.LDTR, ar(S.LDTR), limit(S.LDTR));
    if (ldtr !== null) return fail(ldtr);
  }

  // 26.3.1.3 descriptor-table registers (base checks are Intel 64 only).
  if (vmcs.get(VmcsField.GuestGdtrLimit) >>> 16 !== 0 || vmcs.get(VmcsField.GuestIdtrLimit) >>> 16 !== 0) return fail(G.dtLimit);

  // 26.3.1.4 RIP (any 32-bit value) and RFLAGS.
  if ((rflags & RFLAGS_RESERVED0) !== 0 || (rflags & 2) === 0) return fail(G.rflagsReserved);
  if (v86 && ((entryCtls & EntryCtl.Ia32eModeGuest) !== 0 || (cr0 & CR0_PE) === 0)) return fail(G.rflagsVm);
  if (injectsExternal && (rflags & RFLAGS_IF) === 0) return fail(G.rflagsIf);

  // 26.3.1.5 non-register state: activity state.
  const activity = vmcs.get(VmcsField.GuestActivityState) >>> 0;
  const intr = vmcs.get(VmcsField.GuestInterruptibility);
  const stiOrMovSs = intr & (Interruptibility.Sti | Interruptibility.MovSs);
  if (!activitySupported(activity)) return fail(G.activity);
  if (activity === ActivityState.Hlt && dpl(S.SS) !== 0) return fail(G.hltDpl);
  if (activity !== ActivityState.Active && stiOrMovSs !== 0) return fail(G.notActiveBlocking);
  // HLT admits only external interrupts, NMIs, #DB, #MC and a pending MTF exit (shutdown and wait-for-SIPI are
  // unsupported here, so rejected above).
  if (activity === ActivityState.Hlt && injecting && !hltAdmits(injType, inject & IntrInfo.VectorMask)) return fail(G.hltBlocksEvent);

  // Interruptibility state.
  if ((intr & INTERRUPTIBILITY_RESERVED) !== 0) return fail(G.intrReserved);
  if (stiOrMovSs === (Interruptibility.Sti | Interruptibility.MovSs)) return fail(G.stiAndMovSs);
  if ((intr & Interruptibility.Sti) !== 0 && (rflags & RFLAGS_IF) === 0) return fail(G.stiWithoutIf);
  if (injectsExternal && stiOrMovSs !== 0) return fail(G.blockedExtInt);
  if (injectsNmi && (intr & Interruptibility.MovSs) !== 0) return fail(G.movSsNmi);
  // This processor is never in SMM. It does not make the optional "no STI blocking with NMI injection" check.
  if ((intr & Interruptibility.Smi) !== 0) return fail(G.smiBlocking);
  if ((pin & Pin.VirtualNmis) !== 0 && injectsNmi && (intr & Interruptibility.Nmi) !== 0) return fail(G.virtualNmiBlocking);

  // Pending debug exceptions.
  const pending = vmcs.get(VmcsField.GuestPendingDebugExceptions);
  if ((pending & PENDING_DEBUG_RESERVED) !== 0) return fail(G.pendingReserved);
  if (stiOrMovSs !== 0 || activity === ActivityState.Hlt) {
    const singleStep = (rflags & RFLAGS_TF) !== 0 && (debugctl & DEBUGCTL_BTF) === 0;
    if (((pending & PENDING_DEBUG_BS) !== 0) !== singleStep) return fail(G.pendingBs);
  }

  // VMCS link pointer (SDM 26.3.1.5): all-ones, or a 4K-aligned pointer within the physical-address width to a
  // region whose first dword is the revision identifier with bit 31 = the VMCS-shadowing control (0 here), and
  // not the current VMCS. Without a memory reader only all-ones is accepted.
  const linkLo = vmcs.get(VmcsField.VmcsLinkPointer);
  const linkHi = vmcs.getHigh(VmcsField.VmcsLinkPointer);
  if (linkLo !== -1 || linkHi !== -1) {
    const valid =
      readPhysical !== undefined &&
      linkHi === 0 &&
      (linkLo & 0xfff) === 0 &&
      linkLo !== (vmcs.address | 0) &&
      readPhysical(linkLo >>> 0) === VMCS_REVISION;
    if (!valid) return { check: G.linkPointer, qualification: EntryFailureQualification.VmcsLinkPointer };
  }

  // This implementation's own limits, after every SDM check.
  if ((cr0 & CR0_PE) === 0) return fail(G.realMode);
  if (v86) return fail(G.v86Mode);
  return null;
}

/** TR and a usable LDTR (type already checked): S = 0, present, AR reserved bits, limit/G, TR usable. */
function systemSegmentProblem(i: number, ar: number, limit: number): string | null {
  if ((ar & 0x10) !== 0) return sBit(i);
  if ((ar & 0x80) === 0) return notPresent(i);
  if ((ar & AR_RESERVED_LOW) !== 0) return arReserved(i);
  if (!limitMatchesGranularity(limit, ar)) return limitG(i);
  if (i === S.TR && (ar & AR_UNUSABLE) !== 0) return G.trUnusable;
  if ((ar & AR_RESERVED_HIGH) !== 0) return arReserved(i);
  return null;
}

/** Events an injection may deliver to a guest entering the HLT state (SDM 26.3.1.5). */
function hltAdmits(type: number, vector: number): boolean {
  switch (type) {
    case IntrType.External:
    case IntrType.Nmi:
      return true;
    case IntrType.HardwareException:
      return vector === 1 || vector === 18;
    case IntrType.Other:
      return vector === 0;
    default:
      return false;
  }
}
