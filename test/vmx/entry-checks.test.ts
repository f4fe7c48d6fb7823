// VM-entry checks (src/vmx/entry-checks.ts, guest-state-checks.ts) against SDM Vol. 3C 26.2 and 26.3.1: each
// case starts from validVmcs(), breaks one SDM rule, and expects that rule's name; the edge cases must pass.

import { describe, expect, it } from 'vitest';
import { EntryCtl, ExitCtl, Pin, Proc, Proc2 } from '../../src/vmx/controls.js';
import {
  ENTRY_CHECKS,
  EPT_POINTER_CHECK,
  checkControls,
  checkGuestState,
  checkHostState,
} from '../../src/vmx/entry-checks.js';
import type { Vmcs } from '../../src/vmx/vmcs.js';
import { GUEST_SEGMENT_FIELDS, VmcsField as F } from '../../src/vmx/vmcs-fields.js';
import { AR_CODE, AR_DATA, AR_UNUSABLE, GuestSeg, set64, setGuestSegment, validVmcs } from './vmcs-fixture.js';

type Mutate = (v: Vmcs) => void;

const or = (field: number, bits: number): Mutate => (v) => v.set(field, v.get(field) | bits);
const andNot = (field: number, bits: number): Mutate => (v) => v.set(field, v.get(field) & ~bits);
const put = (field: number, value: number): Mutate => (v) => v.set(field, value);
const all = (...ms: Mutate[]): Mutate => (v) => ms.forEach((m) => m(v));
const high = (field: number, value: number): Mutate => (v) => v.setHigh(field, value);

const VALID = 0x80000000 | 0;
const inject = (type: number, vector: number, extra = 0): Mutate => put(F.EntryInterruptionInfo, VALID | (type << 8) | vector | extra);
const DELIVER_ERROR_CODE = 1 << 11;
const secondary = (bits: number): Mutate => all(or(F.ProcControls, Proc.SecondaryControls), put(F.ProcControls2, bits));
/** A valid EPTP: write-back, 4-level walk, PML4 at 0x0050_0000. */
const EPTP = 0x50_0000 | (3 << 3) | 6;
const ept = all(secondary(Proc2.EnableEpt), put(F.EptPointer, EPTP));
const unrestricted = all(secondary(Proc2.EnableEpt | Proc2.UnrestrictedGuest), put(F.EptPointer, EPTP));
const seg = (s: GuestSeg, field: 'selector' | 'base' | 'limit' | 'ar', value: number): Mutate => put(GUEST_SEGMENT_FIELDS[s][field], value);
const IF = 1 << 9;
const TF = 1 << 8;
const VM = 1 << 17;
/** A guest whose six segment registers are as virtual-8086 mode requires (base = selector << 4, limit FFFF, AR F3). */
const v86Segments: Mutate = (v) => {
  [0x1000, 0x2000, 0x3000, 0x4000, 0x5000, 0x6000].forEach((sel, s) => setGuestSegment(v, s, sel, sel << 4, 0xffff, 0xf3));
};
/** Ring 3: CS and SS at DPL 3 with RPL 3 selectors. */
const ring3 = all(
  seg(GuestSeg.CS, 'selector', 0x0b),
  seg(GuestSeg.CS, 'ar', 0xc0fb),
  seg(GuestSeg.SS, 'selector', 0x13),
  seg(GuestSeg.SS, 'ar', 0xc0f3),
);

const tested = new Set<string>();

function controls(name: string, cases: Record<string, Mutate>): void {
  tested.add(name.startsWith('EPT pointer: ') ? EPT_POINTER_CHECK : name);
  describe(name, () => {
    for (const [what, m] of Object.entries(cases)) {
      it(what, () => {
        const v = validVmcs();
        m(v);
        expect(checkControls(v)).toBe(name);
      });
    }
  });
}

function host(name: string, cases: Record<string, Mutate>): void {
  tested.add(name);
  describe(name, () => {
    for (const [what, m] of Object.entries(cases)) {
      it(what, () => {
        const v = validVmcs();
        m(v);
        expect(checkHostState(v)).toBe(name);
      });
    }
  });
}

function guest(name: string, cases: Record<string, Mutate>, qualification = 0): void {
  tested.add(name);
  describe(name, () => {
    for (const [what, m] of Object.entries(cases)) {
      it(what, () => {
        const v = validVmcs();
        m(v);
        expect(checkControls(v)).toBeNull(); // the case breaks the guest state only
        expect(checkGuestState(v)).toEqual({ check: name, qualification });
      });
    }
  });
}

function passes(what: string, m: Mutate): void {
  it(what, () => {
    const v = validVmcs();
    m(v);
    expect(checkControls(v)).toBeNull();
    expect(checkHostState(v)).toBeNull();
    expect(checkGuestState(v)).toBeNull();
  });
}

describe('checkControls (26.2.1, VM-instruction error 7)', () => {
  controls('pin-based controls: allowed-0/allowed-1', {
    'default-1 bit 1 clear': andNot(F.PinControls, 1 << 1),
    'process posted interrupts (not supported)': or(F.PinControls, Pin.PostedInterrupts),
  });
  controls('primary processor-based controls: allowed-0/allowed-1', {
    'default-1 bit 1 clear': andNot(F.ProcControls, 1 << 1),
    'use TPR shadow (not supported)': or(F.ProcControls, Proc.TprShadow),
    'CR8-load exiting (bit 19; IA-32 has no CR8)': or(F.ProcControls, 1 << 19),
  });
  controls('secondary processor-based controls: allowed-0/allowed-1', {
    'virtualize APIC accesses (not supported)': secondary(Proc2.VirtualizeApicAccesses),
    'enable VPID (not supported)': secondary(Proc2.EnableVpid),
  });
  controls('CR3-target count > 4', { 'count 5': put(F.Cr3TargetCount, 5), 'count -1': put(F.Cr3TargetCount, -1) });
  controls('I/O bitmap A address', {
    'not 4K aligned': all(or(F.ProcControls, Proc.UseIoBitmaps), put(F.IoBitmapA, 0x1001), put(F.IoBitmapB, 0x2000)),
    'above 4 GiB (BASIC[48] = 1)': all(or(F.ProcControls, Proc.UseIoBitmaps), put(F.IoBitmapA, 0x1000), high(F.IoBitmapA, 1)),
  });
  controls('I/O bitmap B address', {
    'not 4K aligned': all(or(F.ProcControls, Proc.UseIoBitmaps), put(F.IoBitmapA, 0x1000), put(F.IoBitmapB, 0x2800)),
  });
  controls('MSR bitmap address', {
    'not 4K aligned': all(or(F.ProcControls, Proc.UseMsrBitmaps), put(F.MsrBitmap, 0x3800)),
    'above 4 GiB': all(or(F.ProcControls, Proc.UseMsrBitmaps), put(F.MsrBitmap, 0x3000), high(F.MsrBitmap, 0x10)),
  });
  controls('virtual NMIs without NMI exiting', { 'virtual NMIs only': or(F.PinControls, Pin.VirtualNmis) });
  controls('NMI-window exiting without virtual NMIs', {
    'no NMI controls': or(F.ProcControls, Proc.NmiWindowExiting),
    'NMI exiting only': all(or(F.PinControls, Pin.NmiExiting), or(F.ProcControls, Proc.NmiWindowExiting)),
  });
  controls('EPT pointer: EPTP memory type', { 'memory type 1 (WC)': all(ept, put(F.EptPointer, (EPTP & ~7) | 1)) });
  controls('EPT pointer: EPTP page-walk length', { 'walk length 2': all(ept, put(F.EptPointer, (EPTP & ~0x38) | (1 << 3))) });
  controls('EPT pointer: EPTP reserved bits', {
    'bits 63:32': all(ept, high(F.EptPointer, 1)),
    'bit 8': all(ept, put(F.EptPointer, EPTP | 0x100)),
  });
  controls('unrestricted guest without EPT', { 'UG alone': secondary(Proc2.UnrestrictedGuest) });
  controls('VM-exit controls: allowed-0/allowed-1', {
    'default-1 bit 0 clear': andNot(F.ExitControls, 1),
    'host address-space size (IA-32)': or(F.ExitControls, ExitCtl.HostAddressSpaceSize),
    'load IA32_EFER (not supported)': or(F.ExitControls, ExitCtl.LoadEfer),
  });
  controls('save preemption timer without activate preemption timer', { 'save only': or(F.ExitControls, ExitCtl.SavePreemptionTimer) });
  controls('VM-exit MSR-store area address', {
    'not 16-byte aligned': all(put(F.ExitMsrStoreCount, 1), put(F.ExitMsrStoreAddress, 0x1008)),
    'above 4 GiB': all(put(F.ExitMsrStoreCount, 1), put(F.ExitMsrStoreAddress, 0x1000), high(F.ExitMsrStoreAddress, 1)),
    'last byte above 4 GiB': all(put(F.ExitMsrStoreCount, 2), put(F.ExitMsrStoreAddress, 0xfffffff0)),
    'count FFFFFFFF': all(put(F.ExitMsrStoreCount, -1), put(F.ExitMsrStoreAddress, 0)),
  });
  controls('VM-exit MSR-load area address', { 'not 16-byte aligned': all(put(F.ExitMsrLoadCount, 3), put(F.ExitMsrLoadAddress, 0x1004)) });
  controls('VM-entry controls: allowed-0/allowed-1', {
    'default-1 bit 0 clear': andNot(F.EntryControls, 1),
    'IA-32e mode guest (IA-32)': or(F.EntryControls, EntryCtl.Ia32eModeGuest),
    'entry to SMM (no SMM)': or(F.EntryControls, EntryCtl.EntryToSmm),
  });
  controls('entry interruption: reserved type 1', { 'type 1': inject(1, 0x20) });
  controls('entry interruption: NMI vector not 2', { 'NMI vector 3': inject(2, 3) });
  controls('entry interruption: hardware exception vector > 31', { 'vector 32': inject(3, 32) });
  controls('entry interruption: other-event vector not 0', { 'MTF with vector 1': inject(7, 1) });
  controls('entry interruption: deliver-error-code mismatch', {
    '#GP without error code': inject(3, 13),
    '#UD with error code': inject(3, 6, DELIVER_ERROR_CODE),
    'external interrupt with error code': inject(0, 0x20, DELIVER_ERROR_CODE),
    'software interrupt with error code': all(inject(4, 0x80, DELIVER_ERROR_CODE), put(F.EntryInstructionLength, 2)),
    'reserved vector 15 with error code': inject(3, 15, DELIVER_ERROR_CODE),
    '#GP with error code, unrestricted guest, CR0.PE = 0': all(unrestricted, put(F.GuestCr0, 0x30), inject(3, 13, DELIVER_ERROR_CODE)),
  });
  controls('entry interruption: reserved bits 30:12', {
    'bit 12': inject(0, 0x20, 1 << 12),
    'bit 30': inject(3, 14, DELIVER_ERROR_CODE | (1 << 30)),
  });
  controls('entry interruption: error code bits 31:16', {
    'bit 16': all(inject(3, 13, DELIVER_ERROR_CODE), put(F.EntryExceptionErrorCode, 0x10000)),
    'bit 31': all(inject(3, 14, DELIVER_ERROR_CODE), put(F.EntryExceptionErrorCode, 0x80000000)),
  });
  controls('entry instruction length 0 or > 15', {
    'INT n, length 0 (MISC[30] = 0)': all(inject(4, 0x80), put(F.EntryInstructionLength, 0)),
    'INT3, length 16': all(inject(6, 3), put(F.EntryInstructionLength, 16)),
    'ICEBP, length FFFFFFFF': all(inject(5, 1), put(F.EntryInstructionLength, -1)),
  });
  controls('VM-entry MSR-load area address', {
    'not 16-byte aligned': all(put(F.EntryMsrLoadCount, 1), put(F.EntryMsrLoadAddress, 0x100c)),
    'last byte above 4 GiB': all(put(F.EntryMsrLoadCount, 0x1000_0000), put(F.EntryMsrLoadAddress, 0x10)),
  });

  describe('valid edges', () => {
    passes('the fixture', () => {});
    passes('secondary controls are ignored while primary bit 31 is 0', put(F.ProcControls2, -1));
    passes('bad I/O-bitmap and MSR-bitmap addresses are ignored while unused', all(put(F.IoBitmapA, 0x123), put(F.MsrBitmap, 0x456)));
    passes(
      'NMI exiting, virtual NMIs and NMI-window exiting',
      all(or(F.PinControls, Pin.NmiExiting | Pin.VirtualNmis), or(F.ProcControls, Proc.NmiWindowExiting)),
    );
    passes('EPT with a valid pointer', ept);
    passes('a bad EPT pointer is ignored without EPT', put(F.EptPointer, 1));
    passes(
      'save preemption timer with the timer active',
      all(or(F.PinControls, Pin.PreemptionTimer), or(F.ExitControls, ExitCtl.SavePreemptionTimer)),
    );
    passes(
      'MSR areas ending at FFFFFFFF',
      all(
        put(F.ExitMsrStoreCount, 1),
        put(F.ExitMsrStoreAddress, 0xfffffff0),
        put(F.EntryMsrLoadCount, 2),
        put(F.EntryMsrLoadAddress, 0xffffffe0),
      ),
    );
    passes('MSR-area addresses are ignored with count 0', put(F.ExitMsrLoadAddress, 0x7));
    passes('more than 512 MSR entries (only a recommendation)', all(put(F.EntryMsrLoadCount, 1024), put(F.EntryMsrLoadAddress, 0x10_0000)));
    passes('#GP with a 16-bit error code (bit 15 set)', all(inject(3, 13, DELIVER_ERROR_CODE), put(F.EntryExceptionErrorCode, 0x9f00)));
    passes('error-code field ignored without deliver-error-code', all(inject(3, 6), put(F.EntryExceptionErrorCode, -1)));
    passes('#PF with error code', all(inject(3, 14, DELIVER_ERROR_CODE), put(F.EntryExceptionErrorCode, 2)));
    passes('#AC with error code', inject(3, 17, DELIVER_ERROR_CODE));
    passes('INT 80h, length 2', all(inject(4, 0x80), put(F.EntryInstructionLength, 2)));
    passes('INT3, length 15', all(inject(6, 3), put(F.EntryInstructionLength, 15)));
    passes('pending MTF (type 7, vector 0; MTF is supported)', inject(7, 0));
    passes('invalid injection fields are ignored while bit 31 is 0', put(F.EntryInterruptionInfo, 0x7fffffff));
    passes('NMI injection', inject(2, 2));
    it('#GP without error code is right for an unrestricted guest with CR0.PE = 0 (controls only)', () => {
      const v = validVmcs();
      all(unrestricted, put(F.GuestCr0, 0x30), inject(3, 13))(v);
      expect(checkControls(v)).toBeNull();
    });
  });
});

describe('checkHostState (26.2.2-26.2.4, VM-instruction error 8)', () => {
  host('host CR0 fixed bits', {
    'PG clear': put(F.HostCr0, 0x31),
    'NE clear': put(F.HostCr0, 0x80000011),
    'bit 28 (reserved)': or(F.HostCr0, 1 << 28),
  });
  host('host CR4 fixed bits', { 'VMXE clear': put(F.HostCr4, 0), 'PAE (not supported)': or(F.HostCr4, 1 << 5) });
  host('host selector RPL/TI', {
    'DS RPL 3': put(F.HostDsSelector, 0x13),
    'CS TI': put(F.HostCsSelector, 0x0c),
    'GS RPL 1': put(F.HostGsSelector, 0x11),
    'TR TI': put(F.HostTrSelector, 0x1c),
  });
  host('host CS selector null', { 'CS 0': put(F.HostCsSelector, 0) });
  host('host TR selector null', { 'TR 0': put(F.HostTrSelector, 0) });
  host('host SS selector null', { 'SS 0': put(F.HostSsSelector, 0) });
  host('host address-space size', { 'exit control bit 9': or(F.ExitControls, ExitCtl.HostAddressSpaceSize) });
  host('IA-32e mode guest', { 'entry control bit 9': or(F.EntryControls, EntryCtl.Ia32eModeGuest) });
  describe('valid edges', () => {
    passes(
      'null ES, DS, FS, GS',
      all(put(F.HostEsSelector, 0), put(F.HostDsSelector, 0), put(F.HostFsSelector, 0), put(F.HostGsSelector, 0)),
    );
    passes('host CR4.PSE, CR0.CD/NW/WP/AM', all(or(F.HostCr4, 1 << 4), or(F.HostCr0, 0x60050000)));
    passes('any host RIP and RSP', all(put(F.HostRip, -1), put(F.HostRsp, -1)));
  });
});

describe('checkGuestState (26.3.1, exit reason 33 | 0x80000000)', () => {
  // 26.3.1.1
  guest('guest CR0 fixed bits', {
    'PG clear': put(F.GuestCr0, 0x31),
    'NE clear': put(F.GuestCr0, 0x80000011),
    'bit 28 (reserved)': or(F.GuestCr0, 1 << 28),
    'PG clear with UG set but secondary controls inactive': all(
      unrestricted,
      andNot(F.ProcControls, Proc.SecondaryControls),
      put(F.GuestCr0, 0x31),
    ),
    'NE clear with unrestricted guest': all(unrestricted, put(F.GuestCr0, 0x80000011)),
  });
  guest('guest CR0.PG without PE', { 'unrestricted guest, PG without PE': all(unrestricted, put(F.GuestCr0, 0x80000030)) });
  guest('guest CR4 fixed bits', { 'VMXE clear': put(F.GuestCr4, 0), 'PAE (not supported)': or(F.GuestCr4, 1 << 5) });
  guest('guest IA32_DEBUGCTL reserved bits', {
    'BTF with load debug controls (no DEBUGCTL on this CPU)': all(or(F.EntryControls, EntryCtl.LoadDebugControls), put(F.GuestDebugCtl, 2)),
    'bits 63:32': all(or(F.EntryControls, EntryCtl.LoadDebugControls), high(F.GuestDebugCtl, 1)),
  });
  // 26.3.1.2 selectors
  guest('guest TR selector TI', { 'TR TI': seg(GuestSeg.TR, 'selector', 0x1c) });
  guest('guest LDTR selector TI', { 'usable LDTR with TI': (v) => setGuestSegment(v, GuestSeg.LDTR, 0x24, 0x9000, 0xffff, 0x82) });
  guest('guest SS.RPL != CS.RPL', { 'SS RPL 3': seg(GuestSeg.SS, 'selector', 0x13) });
  // 26.3.1.2 access rights
  guest('guest CS type', {
    'data segment without UG': seg(GuestSeg.CS, 'ar', AR_DATA),
    'code not accessed': seg(GuestSeg.CS, 'ar', 0xc09a),
    'type 7 with UG': all(unrestricted, seg(GuestSeg.CS, 'ar', 0xc097)),
  });
  guest('guest SS type', { 'read-only data': seg(GuestSeg.SS, 'ar', 0xc091), 'code': seg(GuestSeg.SS, 'ar', 0xc09b) });
  for (const [s, name] of [[GuestSeg.ES, 'ES'], [GuestSeg.DS, 'DS'], [GuestSeg.FS, 'FS'], [GuestSeg.GS, 'GS']] as const) {
    guest(`guest ${name} type`, { 'data not accessed': seg(s, 'ar', 0xc092), 'execute-only code': seg(s, 'ar', 0xc099) });
    guest(`guest ${name} DPL < RPL`, { 'RPL 3, DPL 0': seg(s, 'selector', 0x13) });
  }
  const SIX = [
    [GuestSeg.ES, 'ES'],
    [GuestSeg.CS, 'CS'],
    [GuestSeg.SS, 'SS'],
    [GuestSeg.DS, 'DS'],
    [GuestSeg.FS, 'FS'],
    [GuestSeg.GS, 'GS'],
  ] as const;
  for (const [s, name] of SIX) {
    const ar = s === GuestSeg.CS ? AR_CODE : AR_DATA;
    guest(`guest ${name} S bit`, { 'S = 0': seg(s, 'ar', ar & ~0x10) });
    guest(`guest ${name} not present`, { 'P = 0': seg(s, 'ar', ar & ~0x80) });
    guest(`guest ${name} access rights reserved bits`, { 'bit 8': seg(s, 'ar', ar | 0x100), 'bit 17': seg(s, 'ar', ar | 0x20000) });
    guest(`guest ${name} limit/granularity`, {
      'G = 1, limit[11:0] != FFF': seg(s, 'limit', 0xfffffffe),
      'G = 0, limit[31:20] != 0': all(seg(s, 'ar', ar & ~0x8000), seg(s, 'limit', 0x100000)),
    });
  }
  guest('guest CS.DPL != 0 with type 3', { 'UG, CS type 3 DPL 3': all(unrestricted, seg(GuestSeg.CS, 'ar', 0xc0f3)) });
  guest('guest SS.DPL != CS.DPL', { 'non-conforming CS DPL 0, SS DPL 3': seg(GuestSeg.SS, 'ar', 0xc0f3) });
  guest('guest CS.DPL > SS.DPL (conforming)', { 'conforming CS DPL 3, SS DPL 0': seg(GuestSeg.CS, 'ar', 0xc0ff) });
  guest('guest SS.DPL != SS.RPL', {
    'CS and SS RPL 3, DPL 0': all(seg(GuestSeg.CS, 'selector', 0x0b), seg(GuestSeg.SS, 'selector', 0x13)),
  });
  guest('guest SS.DPL != 0 (CS type 3 or CR0.PE=0)', {
    'UG, CS type 3, SS DPL 3': all(unrestricted, seg(GuestSeg.CS, 'ar', AR_DATA), seg(GuestSeg.SS, 'ar', 0xc0f3)),
    'UG, CR0.PE = 0, SS DPL 3': all(unrestricted, put(F.GuestCr0, 0x30), seg(GuestSeg.CS, 'ar', 0xc0fb), seg(GuestSeg.SS, 'ar', 0xc0f3)),
  });
  // virtual-8086 segment rules (RFLAGS.VM = 1)
  for (const [s, name] of SIX) {
    guest(`guest ${name} base (virtual-8086)`, { 'base != selector << 4': all(v86Segments, or(F.GuestRflags, VM), seg(s, 'base', 0x10)) });
    guest(`guest ${name} limit (virtual-8086)`, { 'limit != FFFF': all(v86Segments, or(F.GuestRflags, VM), seg(s, 'limit', 0xfffff)) });
    guest(`guest ${name} access rights (virtual-8086)`, { 'AR != F3': all(v86Segments, or(F.GuestRflags, VM), seg(s, 'ar', 0x40f3)) });
  }
  // TR and LDTR
  guest('guest TR type', { 'available 32-bit TSS': seg(GuestSeg.TR, 'ar', 0x89), 'LDT': seg(GuestSeg.TR, 'ar', 0x82) });
  guest('guest TR S bit', { 'S = 1': seg(GuestSeg.TR, 'ar', 0x9b) });
  guest('guest TR not present', { 'P = 0': seg(GuestSeg.TR, 'ar', 0x0b) });
  guest('guest TR access rights reserved bits', { 'bit 8': seg(GuestSeg.TR, 'ar', 0x18b), 'bit 20': seg(GuestSeg.TR, 'ar', 0x10008b) });
  guest('guest TR limit/granularity', { 'G = 1, limit 67': seg(GuestSeg.TR, 'ar', 0x808b) });
  guest('guest TR unusable', { 'unusable bit': seg(GuestSeg.TR, 'ar', 0x1008b) });
  const ldtr = (ar: number, limit = 0xffff): Mutate => (v) => setGuestSegment(v, GuestSeg.LDTR, 0x20, 0x9000, limit, ar);
  guest('guest LDTR type', { 'busy TSS': ldtr(0x8b) });
  guest('guest LDTR S bit', { 'S = 1': ldtr(0x92) });
  guest('guest LDTR not present', { 'P = 0': ldtr(0x02) });
  guest('guest LDTR access rights reserved bits', { 'bit 8': ldtr(0x182), 'bit 17': ldtr(0x20082) });
  guest('guest LDTR limit/granularity', { 'G = 1, limit 67': ldtr(0x8082, 0x67), 'G = 0, limit 100000': ldtr(0x82, 0x100000) });
  // 26.3.1.3, 26.3.1.4
  guest('guest GDTR/IDTR limit bits 31:16', {
    'GDTR limit 10000': put(F.GuestGdtrLimit, 0x10000),
    'IDTR limit FFFFFFFF': put(F.GuestIdtrLimit, -1),
  });
  guest('guest RFLAGS reserved bits', {
    'bit 1 clear': put(F.GuestRflags, 0),
    'bit 3': put(F.GuestRflags, 0xa),
    'bit 5': put(F.GuestRflags, 0x22),
    'bit 15': put(F.GuestRflags, 0x8002),
    'bit 22': put(F.GuestRflags, 0x400002),
    'bit 31': put(F.GuestRflags, 0x80000002),
  });
  guest('guest RFLAGS.VM', { 'VM with CR0.PE = 0 (UG)': all(unrestricted, put(F.GuestCr0, 0x30), v86Segments, or(F.GuestRflags, VM)) });
  guest('guest RFLAGS.IF=0 with external-interrupt injection', { 'IF = 0': inject(0, 0x20) });
  // 26.3.1.5 activity state
  guest('guest activity state invalid/unsupported', {
    'shutdown (MISC[7] = 0)': put(F.GuestActivityState, 2),
    'wait-for-SIPI (MISC[8] = 0)': put(F.GuestActivityState, 3),
    '4': put(F.GuestActivityState, 4),
  });
  guest('guest activity HLT with SS.DPL != 0', { 'ring 3 HLT': all(ring3, put(F.GuestActivityState, 1)) });
  guest('guest activity not active with STI/MOV-SS blocking', {
    'HLT with STI blocking': all(put(F.GuestActivityState, 1), put(F.GuestRflags, 2 | IF), put(F.GuestInterruptibility, 1)),
    'HLT with MOV-SS blocking': all(put(F.GuestActivityState, 1), put(F.GuestInterruptibility, 2)),
  });
  guest('guest activity HLT with an injected event it blocks', {
    '#UD into HLT': all(put(F.GuestActivityState, 1), inject(3, 6)),
    'INT n into HLT': all(put(F.GuestActivityState, 1), inject(4, 0x80), put(F.EntryInstructionLength, 2)),
  });
  // interruptibility state
  guest('guest interruptibility reserved bits', {
    'bit 4 (enclave; no SGX)': put(F.GuestInterruptibility, 0x10),
    'bit 5': put(F.GuestInterruptibility, 0x20),
  });
  guest('guest interruptibility STI and MOV-SS both', { 'bits 0 and 1': all(put(F.GuestRflags, 2 | IF), put(F.GuestInterruptibility, 3)) });
  guest('guest interruptibility STI with IF=0', { 'STI, IF = 0': put(F.GuestInterruptibility, 1) });
  guest('guest interruptibility blocking with external-interrupt injection', {
    'STI blocking': all(put(F.GuestRflags, 2 | IF), put(F.GuestInterruptibility, 1), inject(0, 0x20)),
    'MOV-SS blocking': all(put(F.GuestRflags, 2 | IF), put(F.GuestInterruptibility, 2), inject(0, 0x20)),
  });
  guest('guest interruptibility MOV-SS blocking with NMI injection', {
    'MOV SS + NMI': all(put(F.GuestInterruptibility, 2), inject(2, 2)),
  });
  guest('guest interruptibility SMI blocking outside SMM', { 'bit 2': put(F.GuestInterruptibility, 4) });
  guest('guest interruptibility virtual-NMI blocking with NMI injection', {
    'virtual NMIs, blocked, NMI injected': all(
      or(F.PinControls, Pin.NmiExiting | Pin.VirtualNmis),
      put(F.GuestInterruptibility, 8),
      inject(2, 2),
    ),
  });
  // pending debug exceptions
  guest('guest pending debug exceptions reserved bits', {
    'bit 4': put(F.GuestPendingDebugExceptions, 0x10),
    'bit 13': put(F.GuestPendingDebugExceptions, 0x2000),
    'bit 15': put(F.GuestPendingDebugExceptions, 0x8000),
    'bit 16 (RTM; no RTM)': put(F.GuestPendingDebugExceptions, 0x10000),
  });
  guest('guest pending debug BS inconsistent with RFLAGS.TF/BTF', {
    'STI blocking, TF = 1, BS = 0': all(put(F.GuestRflags, 2 | IF | TF), put(F.GuestInterruptibility, 1)),
    'MOV-SS blocking, TF = 0, BS = 1': all(put(F.GuestInterruptibility, 2), put(F.GuestPendingDebugExceptions, 0x4000)),
    'HLT, TF = 1, BTF = 1, BS = 1': all(
      put(F.GuestActivityState, 1),
      put(F.GuestRflags, 2 | TF),
      put(F.GuestDebugCtl, 2),
      put(F.GuestPendingDebugExceptions, 0x4000),
    ),
  });
  guest(
    'VMCS link pointer',
    {
      zero: (v) => set64(v, F.VmcsLinkPointer, 0, 0),
      'low half only': high(F.VmcsLinkPointer, 0),
      'a page address': (v) => set64(v, F.VmcsLinkPointer, 0x20_0000, 0),
    },
    4,
  );
  // this implementation
  guest('guest CR0.PE=0 (real mode is not implemented)', {
    'UG, CR0 = NE | ET': all(unrestricted, put(F.GuestCr0, 0x30)),
    'UG, real-mode style segments': all(unrestricted, put(F.GuestCr0, 0x30), (v) => {
      for (let s = 0; s < 6; s++) setGuestSegment(v, s, 0xf000, 0xf0000, 0xffff, s === GuestSeg.CS ? 0x9b : 0x93);
    }),
  });
  guest('guest RFLAGS.VM=1 (virtual-8086 mode is not implemented)', { 'VM with CR0.PE = 1': all(v86Segments, or(F.GuestRflags, VM)) });

  describe('valid edges', () => {
    passes('unrestricted guest with CR0.PG = 0', all(unrestricted, put(F.GuestCr0, 0x31)));
    passes('unrestricted guest with CS type 3, DPL 0', all(unrestricted, seg(GuestSeg.CS, 'ar', AR_DATA)));
    passes(
      'unrestricted guest skips the RPL checks',
      all(unrestricted, seg(GuestSeg.SS, 'selector', 0x13), seg(GuestSeg.DS, 'selector', 0x13)),
    );
    passes('G = 1 with limit FFFFFFFF, G = 0 with limit FFFFF', all(seg(GuestSeg.DS, 'ar', 0x4093), seg(GuestSeg.DS, 'limit', 0xfffff)));
    passes('G = 1 with limit FFF', seg(GuestSeg.ES, 'limit', 0xfff));
    passes('16-bit busy TSS (type 3)', seg(GuestSeg.TR, 'ar', 0x83));
    passes('usable LDTR', ldtr(0x82));
    passes(
      'unusable data segments are not checked',
      all(
        seg(GuestSeg.DS, 'ar', AR_UNUSABLE | 0xfffe0f00),
        seg(GuestSeg.SS, 'ar', AR_UNUSABLE),
        seg(GuestSeg.FS, 'selector', 0x13),
        seg(GuestSeg.FS, 'ar', AR_UNUSABLE),
      ),
    );
    passes('conforming CS with DPL 0', seg(GuestSeg.CS, 'ar', 0xc09f));
    passes('expand-down SS (type 7)', seg(GuestSeg.SS, 'ar', 0xc097));
    passes('readable code in DS', seg(GuestSeg.DS, 'ar', 0xc09b));
    passes('a ring-3 guest', ring3);
    passes('HLT with an external interrupt', all(put(F.GuestActivityState, 1), put(F.GuestRflags, 2 | IF), inject(0, 0x20)));
    passes('HLT with NMI, #DB, #MC, pending MTF', (v) => {
      put(F.GuestActivityState, 1)(v);
      for (const [t, vec] of [[2, 2], [3, 1], [3, 18], [7, 0]]) {
        inject(t, vec)(v);
        expect(checkGuestState(v)).toBeNull();
      }
    });
    passes(
      'STI blocking with IF = 1 and NMI injection (no STI check for NMIs here)',
      all(put(F.GuestRflags, 2 | IF), put(F.GuestInterruptibility, 1), inject(2, 2)),
    );
    passes('NMI blocking with NMI injection without virtual NMIs', all(put(F.GuestInterruptibility, 8), inject(2, 2)));
    passes('pending B0-B3, enabled breakpoint, BS without blocking', put(F.GuestPendingDebugExceptions, 0x500f));
    passes(
      'STI blocking, TF = 1, BS = 1',
      all(put(F.GuestRflags, 2 | IF | TF), put(F.GuestInterruptibility, 1), put(F.GuestPendingDebugExceptions, 0x4000)),
    );
    passes(
      'HLT, TF = 1, BTF = 1, BS = 0 (load debug controls off)',
      all(put(F.GuestActivityState, 1), put(F.GuestRflags, 2 | TF), put(F.GuestDebugCtl, 2)),
    );
    passes('load debug controls with IA32_DEBUGCTL = 0', or(F.EntryControls, EntryCtl.LoadDebugControls));
    passes('GDTR and IDTR limits FFFF', all(put(F.GuestGdtrLimit, 0xffff), put(F.GuestIdtrLimit, 0xffff)));
    passes('RFLAGS with every writable flag but VM and TF', put(F.GuestRflags, 0x003f7fd7 & ~(VM | TF)));
  });
});

describe('ENTRY_CHECKS', () => {
  it('lists every check name once, and each has a test above', () => {
    expect(new Set(ENTRY_CHECKS).size).toBe(ENTRY_CHECKS.length);
    expect([...tested].sort()).toEqual([...ENTRY_CHECKS].sort());
  });
});
