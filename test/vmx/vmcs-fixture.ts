// A VMCS that passes every VM-entry check (src/vmx/entry-checks.ts): a flat 32-bit protected-mode guest at CPL 0
// with paging on, the host the same, and the controls at their TRUE allowed-0 settings. Tests change one thing.

import { TRUE_ENTRY_CTLS, TRUE_EXIT_CTLS, TRUE_PIN_CTLS, TRUE_PROC_CTLS } from '../../src/vmx/capabilities.js';
import { Vmcs } from '../../src/vmx/vmcs.js';
import { GUEST_SEGMENT_FIELDS, VmcsField as F } from '../../src/vmx/vmcs-fields.js';

/** PG | NE | ET | PE. */
export const FIXTURE_CR0 = 0x80000031 | 0;
/** VMXE. */
export const FIXTURE_CR4 = 0x2000;
/** Access rights: 32-bit 4 GiB code (execute/read, accessed) and data (read/write, accessed), DPL 0. */
export const AR_CODE = 0xc09b;
export const AR_DATA = 0xc093;
/** 32-bit busy TSS; an unusable register. */
export const AR_BUSY_TSS32 = 0x8b;
export const AR_UNUSABLE = 0x10000;

/** Register indices of GUEST_SEGMENT_FIELDS. */
export const enum GuestSeg {
  ES = 0,
  CS = 1,
  SS = 2,
  DS = 3,
  FS = 4,
  GS = 5,
  LDTR = 6,
  TR = 7,
}

/** Sets a guest segment register's selector, base, limit and access rights. */
export function setGuestSegment(vmcs: Vmcs, seg: GuestSeg, selector: number, base: number, limit: number, ar: number): void {
  const f = GUEST_SEGMENT_FIELDS[seg];
  vmcs.set(f.selector, selector);
  vmcs.set(f.base, base);
  vmcs.set(f.limit, limit);
  vmcs.set(f.ar, ar);
}

/** Sets a 64-bit field's two halves. */
export function set64(vmcs: Vmcs, field: number, lo: number, hi: number): void {
  vmcs.set(field, lo);
  vmcs.setHigh(field, hi);
}

export function validVmcs(address = 0x10_0000): Vmcs {
  const v = new Vmcs(address);
  // Controls: the TRUE allowed-0 settings (IA32_VMX_BASIC[55] = 1), nothing injected, no MSR lists.
  v.set(F.PinControls, TRUE_PIN_CTLS.allowed0);
  v.set(F.ProcControls, TRUE_PROC_CTLS.allowed0);
  v.set(F.ExitControls, TRUE_EXIT_CTLS.allowed0);
  v.set(F.EntryControls, TRUE_ENTRY_CTLS.allowed0);

  // Host: flat protected mode with paging, selectors 08 (code), 10 (data), 18 (TSS).
  v.set(F.HostCr0, FIXTURE_CR0);
  v.set(F.HostCr3, 0x20_0000);
  v.set(F.HostCr4, FIXTURE_CR4);
  v.set(F.HostCsSelector, 0x08);
  for (const f of [F.HostEsSelector, F.HostSsSelector, F.HostDsSelector, F.HostFsSelector, F.HostGsSelector]) v.set(f, 0x10);
  v.set(F.HostTrSelector, 0x18);
  v.set(F.HostTrBase, 0x3000);
  v.set(F.HostGdtrBase, 0x4000);
  v.set(F.HostIdtrBase, 0x5000);
  v.set(F.HostRsp, 0x9_f000);
  v.set(F.HostRip, 0x1_0000);

  // Guest: the same flat layout, CPL 0, active, nothing blocked or pending.
  v.set(F.GuestCr0, FIXTURE_CR0);
  v.set(F.GuestCr3, 0x30_0000);
  v.set(F.GuestCr4, FIXTURE_CR4);
  v.set(F.GuestDr7, 0x400);
  setGuestSegment(v, GuestSeg.CS, 0x08, 0, 0xffffffff, AR_CODE);
  for (const s of [GuestSeg.ES, GuestSeg.SS, GuestSeg.DS, GuestSeg.FS, GuestSeg.GS]) setGuestSegment(v, s, 0x10, 0, 0xffffffff, AR_DATA);
  setGuestSegment(v, GuestSeg.TR, 0x18, 0x6000, 0x67, AR_BUSY_TSS32);
  setGuestSegment(v, GuestSeg.LDTR, 0, 0, 0, AR_UNUSABLE);
  v.set(F.GuestGdtrBase, 0x7000);
  v.set(F.GuestGdtrLimit, 0x1f);
  v.set(F.GuestIdtrBase, 0x8000);
  v.set(F.GuestIdtrLimit, 0x7ff);
  v.set(F.GuestRsp, 0x8_f000);
  v.set(F.GuestRip, 0x40_0000);
  v.set(F.GuestRflags, 2);
  v.set(F.GuestActivityState, 0);
  v.set(F.GuestInterruptibility, 0);
  v.set(F.GuestPendingDebugExceptions, 0);
  set64(v, F.VmcsLinkPointer, -1, -1);
  return v;
}
