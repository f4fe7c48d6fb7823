// VM-entry failures as VMLAUNCH / VMRESUME report them (SDM Vol. 3C 31.3 VMLAUNCH/VMRESUME, 27.1-27.4 and "VM-Entry
// Failures During or After Loading Guest State"): the launch-state checks (errors 4, 5, 6), VMfailInvalid without a
// current VMCS, a control check (VMfailValid 7), a host-state check (8), a guest-state check (exit 33 | bit 31) and
// the VM-entry MSR-load area (exit 34 | bit 31), with what each leaves behind: the VM-instruction error field, the
// CPU still (or back) in root operation with the host state, and a VMCS that stays clear. Each check's own rule is
// entry-checks.test.ts'.
// Section numbers: SDM Vol. 3C, 2023 edition (25 VMCS, 26 non-root operation, 27 VM entries, 28 VM exits, 31 VMX
// instructions); earlier editions number these chapters one lower.

import { describe, expect, it } from 'vitest';
import { VMCS_REVISION } from '../../src/vmx/capabilities.js';
import { CONTROL_CHECKS, EPT_POINTER_CHECK, HOST_STATE_CHECKS } from '../../src/vmx/entry-checks.js';
import { ExitCtl, ExitReason, Pin, Proc, Proc2 } from '../../src/vmx/controls.js';
import { VmcsField as F } from '../../src/vmx/vmcs-fields.js';
import { LaunchState } from '../../src/vmx/vmcs.js';
import { MSR_AREA, VMCS_REGION, VMXON_REGION, type VmxBench, vmxBench } from '../helpers/vmx-runner.js';

const hex = (v: number): string => '0x' + (v >>> 0).toString(16);
type Mutate = (b: VmxBench) => void;
const or = (field: number, bits: number): Mutate => (b) => void b.set(field, bits);
const andNot = (field: number, bits: number): Mutate => (b) => void b.clear(field, bits);
const put = (field: number, value: number): Mutate => (b) => b.write(field, value);
const all = (...ms: Mutate[]): Mutate => (b) => ms.forEach((m) => m(b));
const VALID = 0x80000000 | 0;
const inject = (type: number, vector: number, extra = 0): Mutate => put(F.EntryInterruptionInfo, VALID | (type << 8) | vector | extra);
const IF = 1 << 9;
const HOST_RIP = 0x0123_4000;
const HOST_RSP = 0x0124_0000;
const EXIT_33 = (ExitReason.InvalidGuestState | 0x80000000) >>> 0;
const EXIT_34 = (ExitReason.MsrLoading | 0x80000000) >>> 0;

/** A bench whose VMCS passes every check, with recognisable host RIP/RSP. */
function bench(): VmxBench {
  const b = vmxBench('cpuid');
  b.write(F.HostRip, HOST_RIP);
  b.write(F.HostRsp, HOST_RSP);
  return b;
}

/** After a failed VMLAUNCH: the VMCS is still clear, so VMRESUME fails with 5 (SDM 31.3: launch state unchanged). */
function expectStillClear(b: VmxBench): void {
  expect(b.vmx.current!.launchState).toBe(LaunchState.Clear);
  expect(b.vmx.apiVmresume()).toMatchObject({ status: 'fail-valid', error: 5 });
}

// ---------------------------------------------------------------------------------------------------------

/** One VMCS change per control check of entry-checks.ts (SDM 27.2.1), by the check's name. */
const CONTROL_CASES: Record<string, Mutate> = {
  'pin-based controls: allowed-0/allowed-1': andNot(F.PinControls, 1 << 1),
  'primary processor-based controls: allowed-0/allowed-1': or(F.ProcControls, Proc.TprShadow),
  'secondary processor-based controls: allowed-0/allowed-1': or(F.ProcControls2, Proc2.EnableVpid),
  'CR3-target count > 4': put(F.Cr3TargetCount, 5),
  'I/O bitmap A address': all(or(F.ProcControls, Proc.UseIoBitmaps), put(F.IoBitmapA, 0x1002800)),
  'I/O bitmap B address': all(or(F.ProcControls, Proc.UseIoBitmaps), (b) => b.write(F.IoBitmapB + 1, 1)),
  'MSR bitmap address': all(or(F.ProcControls, Proc.UseMsrBitmaps), put(F.MsrBitmap, 0x1004010)),
  'virtual NMIs without NMI exiting': or(F.PinControls, Pin.VirtualNmis),
  'NMI-window exiting without virtual NMIs': all(or(F.PinControls, Pin.NmiExiting), or(F.ProcControls, Proc.NmiWindowExiting)),
  'EPT pointer: EPTP memory type': (b) => b.write(F.EptPointer, (b.read(F.EptPointer) & ~7) | 1),
  'unrestricted guest without EPT': andNot(F.ProcControls2, Proc2.EnableEpt),
  'VM-exit controls: allowed-0/allowed-1': or(F.ExitControls, ExitCtl.HostAddressSpaceSize),
  'save preemption timer without activate preemption timer': or(F.ExitControls, ExitCtl.SavePreemptionTimer),
  'VM-exit MSR-store area address': all(put(F.ExitMsrStoreCount, 1), put(F.ExitMsrStoreAddress, MSR_AREA + 8)),
  'VM-exit MSR-load area address': all(put(F.ExitMsrLoadCount, 1), put(F.ExitMsrLoadAddress, MSR_AREA + 4)),
  'VM-entry controls: allowed-0/allowed-1': or(F.EntryControls, 1 << 9),
  'entry interruption: reserved type 1': inject(1, 0x20),
  'entry interruption: NMI vector not 2': inject(2, 3),
  'entry interruption: hardware exception vector > 31': inject(3, 32),
  'entry interruption: other-event vector not 0': inject(7, 1),
  'entry interruption: deliver-error-code mismatch': inject(3, 13),
  'entry interruption: reserved bits 30:12': inject(0, 0x20, 1 << 12),
  'entry interruption: error code bits 31:16': all(inject(3, 13, 1 << 11), put(F.EntryExceptionErrorCode, 0x10000)),
  'entry instruction length 0 or > 15': all(inject(4, 0x80), put(F.EntryInstructionLength, 0)),
  'VM-entry MSR-load area address': all(put(F.EntryMsrLoadCount, 1), put(F.EntryMsrLoadAddress, MSR_AREA + 12)),
};

describe('a control check fails: VMfailValid(7) with the check named (SDM 27.2.1)', () => {
  it.each(Object.entries(CONTROL_CASES))('%s', (name, mutate) => {
    const b = bench();
    mutate(b);
    const r = b.vmx.apiVmlaunch();
    expect(r).toEqual({ status: 'fail-valid', error: 7, check: name });
    expect(b.read(F.VmInstructionError)).toBe(7);
    expect(b.cpu.nonRoot).toBe(false);
    expectStillClear(b);
  });

  it('covers every control check entry-checks.ts can report', () => {
    const covered = Object.keys(CONTROL_CASES).map((n) => (n.startsWith('EPT pointer: ') ? EPT_POINTER_CHECK : n));
    expect(new Set(covered)).toEqual(new Set(CONTROL_CHECKS));
  });

  it('the same failure from VMRESUME of a launched VMCS: error 7, and the VMCS stays launched', () => {
    const b = bench();
    expect(b.run().reason).toBe(ExitReason.Cpuid);
    b.write(F.Cr3TargetCount, 5);
    expect(b.vmx.apiVmresume()).toMatchObject({ status: 'fail-valid', error: 7 });
    expect(b.vmx.current!.launchState).toBe(LaunchState.Launched);
  });
});

/** One VMCS change per reachable host-state check (SDM 27.2.2-27.2.4). */
const HOST_CASES: Record<string, Mutate> = {
  'host CR0 fixed bits': andNot(F.HostCr0, 0x80000000),
  'host CR4 fixed bits': put(F.HostCr4, 0),
  'host selector RPL/TI': put(F.HostDsSelector, 0x13),
  'host CS selector null': put(F.HostCsSelector, 0),
  'host TR selector null': put(F.HostTrSelector, 0),
  'host SS selector null': put(F.HostSsSelector, 0),
};

describe('a host-state check fails: VMfailValid(8) with the check named (SDM 27.2.2-27.2.4)', () => {
  it.each(Object.entries(HOST_CASES))('%s', (name, mutate) => {
    const b = bench();
    mutate(b);
    expect(b.vmx.apiVmlaunch()).toEqual({ status: 'fail-valid', error: 8, check: name });
    expect(b.read(F.VmInstructionError)).toBe(8);
    expect(b.cpu.nonRoot).toBe(false);
    expectStillClear(b);
  });

  it('covers every host-state check reachable past the control checks', () => {
    // Host address-space size and IA-32e mode guest are not allowed-1 settings: the control checks catch them.
    const unreachable = ['host address-space size', 'IA-32e mode guest'];
    expect(new Set([...Object.keys(HOST_CASES), ...unreachable])).toEqual(new Set(HOST_STATE_CHECKS));
  });

  it('host-state errors are reported before any guest-state check (a bad guest too still gives error 8)', () => {
    const b = bench();
    b.write(F.HostCsSelector, 0);
    b.write(F.GuestRflags, 0);
    expect(b.vmx.apiVmlaunch()).toMatchObject({ status: 'fail-valid', error: 8 });
  });
});

/** Guest-state checks (SDM 27.3.1), a representative of each group. */
const GUEST_CASES: Record<string, Mutate> = {
  'guest CR0 fixed bits': put(F.GuestCr0, 0x11), // NE clear
  'guest CR4 fixed bits': put(F.GuestCr4, 0),
  'guest TR selector TI': put(F.GuestTrSelector, 0x1c),
  'guest CS type': put(F.GuestCsAr, 0xc091), // read-only data (type 3 is allowed with unrestricted guest)
  'guest SS.DPL != CS.DPL': put(F.GuestSsAr, 0xc0f3),
  'guest DS not present': put(F.GuestDsAr, 0xc013),
  'guest ES limit/granularity': put(F.GuestEsLimit, 0xfffff000),
  'guest TR type': put(F.GuestTrAr, 0x89),
  'guest LDTR type': all(put(F.GuestLdtrAr, 0x85), put(F.GuestLdtrSelector, 0x20)),
  'guest GDTR/IDTR limit bits 31:16': put(F.GuestGdtrLimit, 0x10000),
  'guest RFLAGS reserved bits': put(F.GuestRflags, 0),
  'guest RFLAGS.IF=0 with external-interrupt injection': inject(0, 0x30),
  'guest activity state invalid/unsupported': put(F.GuestActivityState, 2), // shutdown: IA32_VMX_MISC[7] = 0
  'guest activity not active with STI/MOV-SS blocking': all(put(F.GuestActivityState, 1), put(F.GuestInterruptibility, 2)),
  'guest activity HLT with an injected event it blocks': all(put(F.GuestActivityState, 1), inject(3, 6)),
  'guest interruptibility reserved bits': put(F.GuestInterruptibility, 1 << 5),
  'guest interruptibility STI and MOV-SS both': all(put(F.GuestRflags, 0x2 | IF), put(F.GuestInterruptibility, 3)),
  'guest interruptibility STI with IF=0': put(F.GuestInterruptibility, 1),
  'guest interruptibility blocking with external-interrupt injection': all(put(F.GuestRflags, 0x2 | IF), put(F.GuestInterruptibility, 1), inject(0, 0x30)),
  'guest interruptibility MOV-SS blocking with NMI injection': all(put(F.GuestInterruptibility, 2), inject(2, 2)),
  'guest interruptibility SMI blocking outside SMM': put(F.GuestInterruptibility, 4),
  'guest interruptibility virtual-NMI blocking with NMI injection': all(
    or(F.PinControls, Pin.NmiExiting | Pin.VirtualNmis),
    put(F.GuestInterruptibility, 8),
    inject(2, 2),
  ),
  'guest pending debug exceptions reserved bits': put(F.GuestPendingDebugExceptions, 1 << 4),
  'guest CR0.PE=0 (real mode is not implemented)': put(F.GuestCr0, 0x30),
};

describe('a guest-state check fails: exit 33 | bit 31, qualification 0, host state loaded (SDM "VM-Entry Failures During or After Loading Guest State")', () => {
  it.each(Object.entries(GUEST_CASES))('%s', (name, mutate) => {
    const b = bench();
    mutate(b);
    const rip = b.read(F.GuestRip);
    const r = b.vmx.apiVmlaunch();
    expect(r.status).toBe('entry-failure');
    expect(r.check).toBe(name);
    expect(hex(r.error)).toBe(hex(EXIT_33));
    expect(hex(b.read(F.ExitReason))).toBe(hex(EXIT_33));
    expect(b.read(F.ExitQualification)).toBe(0);
    // The processor is in root operation with the host state; no guest state was saved.
    expect(b.cpu.nonRoot).toBe(false);
    expect(hex(b.cpu.eip)).toBe(hex(HOST_RIP));
    expect(hex(b.cpu.reg32[4])).toBe(hex(HOST_RSP));
    expect(b.cpu.segSel[1]).toBe(0x08);
    expect(b.cpu.getFlags()).toBe(0x2);
    expect(b.read(F.GuestRip)).toBe(rip);
    expectStillClear(b);
  });

  it('VMCS link pointer other than FFFFFFFF_FFFFFFFF: qualification 4', () => {
    const b = bench();
    b.write64(F.VmcsLinkPointer, 0x5000, 0);
    const r = b.vmx.apiVmlaunch();
    expect(r).toEqual({ status: 'entry-failure', error: EXIT_33 | 0, check: 'VMCS link pointer' });
    expect(b.read(F.ExitQualification)).toBe(4);
    expectStillClear(b);
  });

  it('a VMCS link pointer to a region with the revision identifier is valid (SDM 26.3.1.5)', () => {
    const b = bench();
    b.memory.write(0x1300000, 4, VMCS_REVISION);
    b.write64(F.VmcsLinkPointer, 0x1300000, 0);
    expect(b.vmx.apiVmlaunch().status).toBe('succeed');
  });

  it('a VMCS link pointer that is unaligned, names the current VMCS, or has bit 31 set in the region fails', () => {
    for (const [lo, rev] of [
      [0x1300010, VMCS_REVISION],
      [VMCS_REGION, VMCS_REVISION],
      [0x1300000, VMCS_REVISION | 0x80000000],
    ]) {
      const b = bench();
      b.memory.write(0x1300000, 4, rev);
      b.write64(F.VmcsLinkPointer, lo, 0);
      const r = b.vmx.apiVmlaunch();
      expect(r.check, `link ${lo.toString(16)}`).toBe('VMCS link pointer');
      expect(b.read(F.ExitQualification)).toBe(4);
    }
  });

  it('after fixing the guest state, VMLAUNCH of the same (still clear) VMCS succeeds', () => {
    const b = bench();
    b.write(F.GuestRflags, 0);
    expect(b.vmx.apiVmlaunch().status).toBe('entry-failure');
    b.write(F.GuestRflags, 0x2);
    expect(b.run().reason).toBe(ExitReason.Cpuid);
  });

  it('a failed entry with an injected event delivers nothing to the guest', () => {
    const b = bench();
    b.write(F.GuestCr4, 0);
    b.write(F.EntryInterruptionInfo, VALID | (3 << 8) | 6);
    expect(b.vmx.apiVmlaunch().status).toBe('entry-failure');
    expect(b.memory.read(0x90000 - 12, 4)).toBe(0); // no frame on the guest stack
  });
});

describe('the VM-entry MSR-load area (exit 34 | bit 31, qualification = 1-based index; SDM 27.4)', () => {
  /** Writes MSR-load entries (index, reserved dword, value lo, value hi) at MSR_AREA. */
  function msrArea(b: VmxBench, entries: [number, number, number, number][]): void {
    entries.forEach((e, i) => e.forEach((v, j) => b.memory.write(MSR_AREA + 16 * i + 4 * j, 4, v)));
    b.write(F.EntryMsrLoadAddress, MSR_AREA);
    b.write(F.EntryMsrLoadCount, entries.length);
  }

  it('valid entries are loaded into the guest (SYSENTER_ESP)', () => {
    const b = vmxBench('mov ecx, 0x175\nrdmsr\ncpuid');
    b.set(F.ProcControls, Proc.UseMsrBitmaps);
    msrArea(b, [[0x175, 0, 0xabc000, 0]]);
    expect(b.run().reason).toBe(ExitReason.Cpuid);
    expect(hex(b.cpu.reg32[0])).toBe(hex(0xabc000));
  });

  it.each([
    ['reserved bits 63:32 of the entry set', [0x175, 1, 0, 0]],
    ['an x2APIC MSR (800-8FF)', [0x808, 0, 0, 0]],
    ['an MSR WRMSR would refuse (#GP)', [0x12345, 0, 0, 0]],
    ['a VMX capability MSR (read-only)', [0x480, 0, 0, 0]],
  ] as [string, [number, number, number, number]][])('entry 2 of 3 fails: %s', (_what, bad) => {
    const b = bench();
    msrArea(b, [[0x174, 0, 0x8, 0], bad, [0x176, 0, 0, 0]]);
    const r = b.vmx.apiVmlaunch();
    expect(r).toMatchObject({ status: 'entry-failure', error: EXIT_34 | 0 });
    expect(hex(b.read(F.ExitReason))).toBe(hex(EXIT_34));
    expect(b.read(F.ExitQualification)).toBe(2);
    expect(b.cpu.nonRoot).toBe(false);
    expect(hex(b.cpu.eip)).toBe(hex(HOST_RIP));
    expectStillClear(b);
  });
});

describe('launch state and the current VMCS (SDM 31.3 VMLAUNCH/VMRESUME)', () => {
  it('VMLAUNCH of a launched VMCS: VMfailValid(4); VMRESUME of it succeeds', () => {
    const b = bench();
    expect(b.run().reason).toBe(ExitReason.Cpuid);
    expect(b.vmx.apiVmlaunch()).toEqual({ status: 'fail-valid', error: 4, check: null });
    expect(b.read(F.VmInstructionError)).toBe(4);
    expect(b.vmx.apiVmresume().status).toBe('succeed');
  });

  it('VMRESUME of a clear VMCS: VMfailValid(5)', () => {
    const b = bench();
    expect(b.vmx.apiVmresume()).toEqual({ status: 'fail-valid', error: 5, check: null });
    expect(b.read(F.VmInstructionError)).toBe(5);
  });

  it('VMRESUME after VMXOFF and VMXON: VMfailValid(6); VMCLEAR then VMLAUNCH works', () => {
    const b = bench();
    expect(b.run().reason).toBe(ExitReason.Cpuid);
    expect(b.vmx.apiVmxoff().status).toBe('succeed');
    expect(b.vmx.apiVmxon(VMXON_REGION).status).toBe('succeed');
    expect(b.vmx.apiVmptrld(VMCS_REGION).status).toBe('succeed');
    expect(b.vmx.apiVmresume()).toMatchObject({ status: 'fail-valid', error: 6 });
    expect(b.vmx.apiVmclear(VMCS_REGION).status).toBe('succeed');
    expect(b.vmx.apiVmptrld(VMCS_REGION).status).toBe('succeed');
    expect(b.vmx.apiVmlaunch().status).toBe('succeed');
  });

  it('without a current VMCS: VMLAUNCH and VMRESUME fail with VMfailInvalid', () => {
    const b = bench();
    expect(b.vmx.apiVmclear(VMCS_REGION).status).toBe('succeed');
    expect(b.vmx.current).toBeNull();
    expect(b.vmx.apiVmlaunch().status).toBe('fail-invalid');
    expect(b.vmx.apiVmresume().status).toBe('fail-invalid');
  });

  it('VMCLEAR of a launched VMCS makes it clear again: VMLAUNCH succeeds, VMRESUME fails with 5', () => {
    const b = bench();
    expect(b.run().reason).toBe(ExitReason.Cpuid);
    b.vmx.apiVmclear(VMCS_REGION);
    b.vmx.apiVmptrld(VMCS_REGION);
    expect(b.vmx.apiVmresume()).toMatchObject({ status: 'fail-valid', error: 5 });
    expect(b.vmx.apiVmlaunch().status).toBe('succeed');
  });
});
