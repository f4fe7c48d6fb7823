// The VMX instructions in VMX root operation (SDM Vol. 3C chapter 31, and 31.2's
// conventions), through the TypeScript API and as machine code: VMREAD/VMWRITE of each field width, their errors
// 12 and 13, VMPTRLD 9/10/11, VMCLEAR 2/3, VMXON 15, VMCALL 1, VMLAUNCH under MOV-SS blocking 26, INVEPT 28,
// VMsucceed / VMfailInvalid / VMfailValid in RFLAGS, and the capability MSRs against what VM entry accepts.
// Section numbers: SDM Vol. 3C, 2023 edition (25 VMCS, 26 non-root operation, 27 VM entries, 28 VM exits, 31 VMX
// instructions); earlier editions number these chapters one lower.

import { describe, expect, it } from 'vitest';
import { Reg } from '../../src/cpu/registers.js';
import { PIN_CTLS, VMCS_REVISION } from '../../src/vmx/capabilities.js';
import { ExitReason, Proc } from '../../src/vmx/controls.js';
import { FIELD_ENCODINGS, VmcsField as F } from '../../src/vmx/vmcs-fields.js';
import { HOST_CODE, VMCS_REGION, VMXON_REGION, type VmxBench, vmxBench } from '../helpers/vmx-runner.js';

const hex = (v: number): string => '0x' + (v >>> 0).toString(16);
const CF = 1;
const PF = 4;
const AF = 0x10;
const ZF = 0x40;
const SF = 0x80;
const OF = 0x800;
const DF = 0x400;
const STATUS = CF | PF | AF | ZF | SF | OF;
/** A second VMCS region (host memory above the guest's 16 MiB). */
const VMCS2 = 0x1008000;

const msr = (b: VmxBench, index: number): [number, number] => {
  b.cpu.msr.read(index);
  return [b.cpu.msr.lo >>> 0, b.cpu.msr.hi >>> 0];
};

describe('VMREAD / VMWRITE round trips by field width (SDM 25.11.2, 31.3 VMREAD/VMWRITE)', () => {
  it('16-bit field: VMWRITE keeps bits 15:0', () => {
    const b = vmxBench('nop');
    expect(b.vmx.apiVmwrite(F.GuestEsSelector, 0x12345).status).toBe('succeed');
    expect(hex(b.vmx.vmread(F.GuestEsSelector)!)).toBe(hex(0x2345));
  });

  it('32-bit field: all 32 bits', () => {
    const b = vmxBench('nop');
    b.write(F.GuestEsLimit, 0xdeadbeef);
    expect(hex(b.vmx.vmread(F.GuestEsLimit)!)).toBe(hex(0xdeadbeef));
  });

  it('64-bit field: FULL is bits 31:0, HIGH (encoding + 1) bits 63:32; a FULL write clears 63:32, a HIGH write keeps 31:0', () => {
    const b = vmxBench('nop');
    b.write(F.TscOffset, 0x11223344);
    b.write(F.TscOffset + 1, 0x55667788);
    expect(hex(b.vmx.vmread(F.TscOffset)!)).toBe(hex(0x11223344));
    expect(hex(b.vmx.vmread(F.TscOffset + 1)!)).toBe(hex(0x55667788));
    b.write(F.TscOffset + 1, 9);
    expect(hex(b.vmx.vmread(F.TscOffset)!)).toBe(hex(0x11223344));
    // A 32-bit VMWRITE to a longer field clears its high bits (SDM VMWRITE: "the high bits of the field are cleared").
    b.write(F.TscOffset, 1);
    expect(b.vmx.vmread(F.TscOffset + 1)).toBe(0);
  });

  it('natural-width field: 32 bits on this IA-32 processor', () => {
    const b = vmxBench('nop');
    b.write(F.GuestRip, 0xfffffff0);
    expect(hex(b.vmx.vmread(F.GuestRip)!)).toBe(hex(0xfffffff0));
  });

  it('read-only exit-information fields are readable (after an exit)', () => {
    const b = vmxBench('cpuid');
    b.run();
    expect(b.vmx.vmread(F.ExitReason)).toBe(ExitReason.Cpuid);
    expect(b.vmx.vmread(F.ExitInstructionLength)).toBe(2);
  });
});

describe('VMREAD / VMWRITE errors (VMfailValid 12 and 13)', () => {
  it.each([
    ['an encoding of no field (6C18)', 0x6c18],
    ['a field of a feature this CPU lacks (VPID, 0000)', 0x0000],
    ['reserved bits 31:15 set', F.GuestRip | 0x10000],
    ['reserved bit 12 set', F.GuestEsLimit | 0x1000],
    ['HIGH access to a 32-bit field', F.ProcControls + 1],
    ['HIGH access to a natural-width field', F.GuestRip + 1],
    ['HIGH access to a 16-bit field', F.GuestCsSelector + 1],
  ])('%s: error 12, for VMWRITE and VMREAD', (_what, encoding) => {
    const b = vmxBench('nop');
    expect(b.vmx.apiVmwrite(encoding, 1)).toEqual({ status: 'fail-valid', error: 12, check: null });
    expect(b.vmx.vmread(F.VmInstructionError)).toBe(12);
    expect(b.vmx.vmread(encoding)).toBeNull();
  });

  it.each([
    ['exit reason', F.ExitReason],
    ['exit qualification (natural width)', F.ExitQualification],
    ['guest-physical address (64-bit)', F.GuestPhysicalAddress],
    ['VM-instruction error', F.VmInstructionError],
  ])('VMWRITE to a read-only field (%s): error 13, the field unchanged', (_what, encoding) => {
    const b = vmxBench('nop');
    const before = b.vmx.vmread(encoding);
    expect(b.vmx.apiVmwrite(encoding, 0x55)).toEqual({ status: 'fail-valid', error: 13, check: null });
    if (encoding !== F.VmInstructionError) expect(b.vmx.vmread(encoding)).toBe(before);
    expect(b.vmx.vmread(F.VmInstructionError)).toBe(13);
  });
});

describe('VMPTRLD, VMCLEAR, VMXON errors (SDM 31.3)', () => {
  it('VMPTRLD: 9 for an unaligned address, 10 for the VMXON region, 11 for a wrong revision or the shadow bit; the current VMCS stays', () => {
    const b = vmxBench('nop');
    expect(b.vmx.apiVmptrld(VMCS2 + 0x800)).toMatchObject({ status: 'fail-valid', error: 9 });
    expect(b.vmx.apiVmptrld(VMXON_REGION)).toMatchObject({ status: 'fail-valid', error: 10 });
    b.memory.write(VMCS2, 4, VMCS_REVISION + 1);
    expect(b.vmx.apiVmptrld(VMCS2)).toMatchObject({ status: 'fail-valid', error: 11 });
    b.memory.write(VMCS2, 4, (VMCS_REVISION | 0x80000000) >>> 0); // shadow-VMCS indicator without VMCS shadowing
    expect(b.vmx.apiVmptrld(VMCS2)).toMatchObject({ status: 'fail-valid', error: 11 });
    expect(b.vmx.current!.address).toBe(VMCS_REGION);
    expect(b.vmx.vmread(F.VmInstructionError)).toBe(11);
    b.memory.write(VMCS2, 4, VMCS_REVISION);
    expect(b.vmx.apiVmptrld(VMCS2).status).toBe('succeed');
    expect(b.vmx.current!.address).toBe(VMCS2);
  });

  it('VMCLEAR: 2 for an unaligned address, 3 for the VMXON region', () => {
    const b = vmxBench('nop');
    expect(b.vmx.apiVmclear(VMCS2 + 8)).toMatchObject({ status: 'fail-valid', error: 2 });
    expect(b.vmx.apiVmclear(VMXON_REGION)).toMatchObject({ status: 'fail-valid', error: 3 });
    expect(b.vmx.current!.address).toBe(VMCS_REGION);
  });

  it('VMCLEAR of the current VMCS leaves no current VMCS: VMREAD/VMWRITE then fail with VMfailInvalid', () => {
    const b = vmxBench('nop');
    expect(b.vmx.apiVmclear(VMCS_REGION).status).toBe('succeed');
    expect(b.vmx.current).toBeNull();
    expect(b.vmx.vmread(F.GuestRip)).toBeNull();
    expect(b.vmx.apiVmwrite(F.GuestRip, 0).status).toBe('fail-invalid');
    // Errors without a current VMCS are VMfailInvalid too (nowhere to write the error number).
    expect(b.vmx.apiVmclear(VMCS2 + 8).status).toBe('fail-invalid');
  });

  it('VMCLEAR keeps the data: after VMPTRLD again the fields read back', () => {
    const b = vmxBench('nop');
    b.write(F.GuestRsp, 0x7777);
    b.vmx.apiVmclear(VMCS_REGION);
    b.vmx.apiVmptrld(VMCS_REGION);
    expect(b.vmx.vmread(F.GuestRsp)).toBe(0x7777);
  });

  it('VMXON in VMX root operation: VMfailValid(15) with a current VMCS, VMfailInvalid without', () => {
    const b = vmxBench('nop');
    expect(b.vmx.apiVmxon(VMXON_REGION)).toMatchObject({ status: 'fail-valid', error: 15 });
    expect(b.vmx.vmread(F.VmInstructionError)).toBe(15);
    b.vmx.apiVmclear(VMCS_REGION);
    expect(b.vmx.apiVmxon(VMXON_REGION).status).toBe('fail-invalid');
  });

  it('VMXON: an unaligned region or a wrong revision identifier is VMfailInvalid; outside VMX the other instructions fail', () => {
    const b = vmxBench('nop');
    expect(b.vmx.apiVmxoff().status).toBe('succeed');
    expect(b.vmx.apiVmptrld(VMCS_REGION).status).toBe('fail-invalid');
    expect(b.vmx.apiVmxon(VMXON_REGION + 0x10).status).toBe('fail-invalid');
    b.memory.write(VMXON_REGION, 4, 0x1234);
    expect(b.vmx.apiVmxon(VMXON_REGION).status).toBe('fail-invalid');
    expect(b.vmx.inVmx).toBe(false);
    b.memory.write(VMXON_REGION, 4, VMCS_REVISION);
    expect(b.vmx.apiVmxon(VMXON_REGION).status).toBe('succeed');
  });

  it('VMXON with CR0.NE = 0 (IA32_VMX_CR0_FIXED0) or without IA32_FEATURE_CONTROL is refused (#GP)', () => {
    const b = vmxBench('nop');
    b.vmx.apiVmxoff();
    b.cpu.cr0 &= ~0x20;
    expect(b.vmx.apiVmxon(VMXON_REGION)).toMatchObject({ status: 'fail-invalid', check: 'CR0/CR4 fixed bits (#GP)' });
    b.cpu.cr0 |= 0x20;
    b.cpu.msr.featureControl = 0;
    expect(b.vmx.apiVmxon(VMXON_REGION)).toMatchObject({ status: 'fail-invalid', check: 'IA32_FEATURE_CONTROL (#GP)' });
  });
});

describe('the VMX instructions as root-mode machine code: RFLAGS conventions (SDM 31.2)', () => {
  /** Runs `code` in root mode; it ends with the flags in ESI (pushfd; pop esi) and HLT. */
  function root(b: VmxBench, code: string): number {
    b.cpu.reg32[Reg.ESI] = 0;
    const stop = b.runRoot(`${code}\npushfd\npop esi\nhlt`);
    expect(stop).toBe('halt');
    return b.cpu.reg32[Reg.ESI];
  }

  it('VMsucceed clears CF PF AF ZF SF OF and leaves the other flags: VMREAD of GUEST_RIP', () => {
    const b = vmxBench('nop');
    b.write(F.GuestRip, 0xabcd);
    const f = root(b, `std\nmov al, 0xff\nadd al, 1\nstc\nmov eax, ${F.GuestRip}\nvmread ebx, eax`);
    expect(hex(f & STATUS)).toBe(hex(0));
    expect(f & DF).toBe(DF);
    expect(hex(b.cpu.reg32[Reg.EBX])).toBe(hex(0xabcd));
  });

  it('VMfailValid sets ZF only and writes the error number: VMREAD of an unsupported encoding (12), destination unchanged', () => {
    const b = vmxBench('nop');
    const f = root(b, 'stc\nmov ebx, 0x99\nmov eax, 0x6c18\nvmread ebx, eax');
    expect(hex(f & STATUS)).toBe(hex(ZF));
    expect(b.cpu.reg32[Reg.EBX]).toBe(0x99);
    expect(b.vmx.vmread(F.VmInstructionError)).toBe(12);
  });

  it('VMWRITE to a read-only field from machine code: ZF, error 13', () => {
    const b = vmxBench('nop');
    const f = root(b, `mov eax, ${F.ExitReason}\nmov ecx, 5\nvmwrite eax, ecx`);
    expect(hex(f & STATUS)).toBe(hex(ZF));
    expect(b.vmx.vmread(F.VmInstructionError)).toBe(13);
  });

  it('VMfailInvalid sets CF only: VMREAD with no current VMCS', () => {
    const b = vmxBench('nop');
    b.vmx.apiVmclear(VMCS_REGION);
    const f = root(b, `mov eax, ${F.GuestRip}\nvmread ebx, eax`);
    expect(hex(f & STATUS)).toBe(hex(CF));
  });

  it('VMPTRST stores the current-VMCS pointer, FFFFFFFF_FFFFFFFF when there is none', () => {
    const b = vmxBench('nop');
    root(b, 'vmptrst [0x1030000]');
    expect(b.dwords(0x1030000, 2).map(hex)).toEqual([VMCS_REGION, 0].map(hex));
    b.vmx.apiVmclear(VMCS_REGION);
    root(b, 'vmptrst [0x1030000]');
    expect(b.dwords(0x1030000, 2).map(hex)).toEqual([0xffffffff, 0xffffffff].map(hex));
  });

  it('VMPTRLD of a region above 4 GiB (high dword 1): error 9 (IA32_VMX_BASIC[48] = 1)', () => {
    const b = vmxBench('nop');
    b.memory.write(0x1030000, 4, VMCS2);
    b.memory.write(0x1030004, 4, 1);
    b.memory.write(VMCS2, 4, VMCS_REVISION);
    const f = root(b, 'vmptrld [0x1030000]');
    expect(hex(f & STATUS)).toBe(hex(ZF));
    expect(b.vmx.vmread(F.VmInstructionError)).toBe(9);
  });

  it('VMXON in root operation: ZF, error 15', () => {
    const b = vmxBench('nop');
    b.memory.write(0x1030000, 4, VMXON_REGION);
    b.memory.write(0x1030004, 4, 0);
    const f = root(b, 'vmxon [0x1030000]');
    expect(hex(f & STATUS)).toBe(hex(ZF));
    expect(b.vmx.vmread(F.VmInstructionError)).toBe(15);
  });

  it('VMCALL in root operation: VMfailValid(1)', () => {
    const b = vmxBench('nop');
    const f = root(b, 'vmcall');
    expect(hex(f & STATUS)).toBe(hex(ZF));
    expect(b.vmx.vmread(F.VmInstructionError)).toBe(1);
  });

  it('VMLAUNCH right after MOV SS (blocking by MOV SS): VMfailValid(26), no entry', () => {
    const b = vmxBench('nop');
    const f = root(b, 'mov ax, ss\nmov ss, ax\nvmlaunch');
    expect(hex(f & STATUS)).toBe(hex(ZF));
    expect(b.vmx.vmread(F.VmInstructionError)).toBe(26);
    expect(b.cpu.nonRoot).toBe(false);
  });

  it('INVEPT: type 2 (all-context) succeeds; an unsupported type is VMfailValid(28)', () => {
    const b = vmxBench('nop');
    expect(hex(root(b, 'mov eax, 2\ninvept eax, [0x1030000]') & STATUS)).toBe(hex(0));
    expect(hex(root(b, 'mov eax, 3\ninvept eax, [0x1030000]') & STATUS)).toBe(hex(ZF));
    expect(b.vmx.vmread(F.VmInstructionError)).toBe(28);
  });

  it('a VMX instruction at CPL 0 outside VMX operation is #UD (VMXOFF, then VMREAD)', () => {
    const b = vmxBench('nop');
    b.vmx.apiVmxoff();
    // The root-mode IDT is not set up: the #UD escalates to a triple fault, which shuts the CPU down.
    const stop = b.runRoot('mov eax, 0\nvmread ebx, eax\nhlt');
    expect(stop).toBe('shutdown');
    expect(hex(b.cpu.eip)).toBe(hex(HOST_CODE + 5));
  });
});

describe('capability MSRs (SDM appendix A) as RDMSR returns them, and what VM entry accepts', () => {
  it('IA32_VMX_BASIC: revision, VMCS size 4096, 32-bit addresses, WB, INS/OUTS information, TRUE controls', () => {
    const [lo, hi] = msr(vmxBench('nop'), 0x480);
    expect(hex(lo)).toBe(hex(VMCS_REVISION));
    expect(lo & 0x80000000).toBe(0);
    expect(hi & 0x1fff).toBe(4096); // bits 44:32
    expect((hi >>> 16) & 1).toBe(1); // bit 48
    expect((hi >>> 18) & 0xf).toBe(6); // bits 53:50
    expect((hi >>> 22) & 3).toBe(3); // bits 54, 55
  });

  it('a guest reads IA32_VMX_BASIC with RDMSR when the MSR bitmap lets it; WRMSR to it is #GP', () => {
    const b = vmxBench('mov ecx, 0x480\nrdmsr\nmov ebx, eax\nat: wrmsr');
    b.set(F.ProcControls, Proc.UseMsrBitmaps).write(F.ExceptionBitmap, 1 << 13);
    const e = b.run();
    expect(e.reason).toBe(ExitReason.ExceptionOrNmi);
    expect(e.interruptionInfo & 0xff).toBe(13);
    expect(e.rip).toBe(b.sym('at'));
    expect(hex(b.cpu.reg32[Reg.EBX])).toBe(hex(VMCS_REVISION));
  });

  it('default-1 settings: PROCBASED 0x0401E172 and TRUE_PROCBASED 0x04006172 (CR3-load/-store exiting may be 0)', () => {
    const b = vmxBench('nop');
    expect(hex(msr(b, 0x481)[0])).toBe(hex(0x16));
    expect(hex(msr(b, 0x482)[0])).toBe(hex(0x0401e172));
    expect(hex(msr(b, 0x48e)[0])).toBe(hex(0x04006172));
    expect(hex(msr(b, 0x483)[0])).toBe(hex(0x00036dff));
    expect(hex(msr(b, 0x48f)[0])).toBe(hex(0x00036dfb));
    expect(hex(msr(b, 0x484)[0])).toBe(hex(0x000011ff));
    expect(hex(msr(b, 0x490)[0])).toBe(hex(0x000011fb));
    expect(msr(b, 0x48b)[0]).toBe(0);
  });

  it.each([
    ['pin-based', 0x48d, F.PinControls, 'pin-based controls: allowed-0/allowed-1'],
    ['primary processor-based', 0x48e, F.ProcControls, 'primary processor-based controls: allowed-0/allowed-1'],
    ['secondary processor-based', 0x48b, F.ProcControls2, 'secondary processor-based controls: allowed-0/allowed-1'],
    ['VM-exit', 0x48f, F.ExitControls, 'VM-exit controls: allowed-0/allowed-1'],
    ['VM-entry', 0x490, F.EntryControls, 'VM-entry controls: allowed-0/allowed-1'],
  ])('%s controls: VM entry refuses each bit the MSR says must be 0, and each must-be-1 bit cleared', (_what, index, field, check) => {
    const probe = vmxBench('nop');
    const [allowed0, allowed1] = msr(probe, index);
    for (let bit = 0; bit < 32; bit++) {
      const m = (1 << bit) >>> 0;
      const mustBe0 = (allowed1 & m) === 0;
      const mustBe1 = (allowed0 & m) !== 0;
      if (!mustBe0 && !mustBe1) continue;
      const b = vmxBench('nop');
      if (mustBe0) b.set(field, m);
      else b.clear(field, m);
      expect({ bit, r: b.vmx.apiVmlaunch() }).toEqual({ bit, r: { status: 'fail-valid', error: 7, check } });
    }
  });

  it('IA32_VMX_PINBASED_CTLS and TRUE_PINBASED_CTLS agree (no pin-based default-1 bit may be 0)', () => {
    const b = vmxBench('nop');
    expect(msr(b, 0x481)).toEqual(msr(b, 0x48d));
    expect(msr(b, 0x481)).toEqual([PIN_CTLS.allowed0, PIN_CTLS.allowed1]);
  });

  it('IA32_VMX_MISC: timer rate 5, activity HLT only, 4 CR3-target values; VM entry accepts 4 and activity HLT', () => {
    const b = vmxBench('nop');
    const [lo] = msr(b, 0x485);
    expect(lo & 0x1f).toBe(5);
    expect((lo >>> 6) & 7).toBe(1); // HLT yes; shutdown and wait-for-SIPI no
    expect((lo >>> 16) & 0x1ff).toBe(4);
    b.write(F.Cr3TargetCount, 4);
    b.write(F.GuestActivityState, 1);
    expect(b.vmx.apiVmlaunch().status).toBe('succeed');
  });

  it('IA32_VMX_CR0_FIXED0/1 and CR4_FIXED0/1: PE NE PG and VMXE must be 1; what may be 1 includes them', () => {
    const b = vmxBench('nop');
    expect(hex(msr(b, 0x486)[0])).toBe(hex(0x80000021));
    expect(hex(msr(b, 0x487)[0] & 0x80000021)).toBe(hex(0x80000021));
    expect(hex(msr(b, 0x488)[0])).toBe(hex(0x2000));
    expect(msr(b, 0x489)[0] & 0x2000).toBe(0x2000);
  });

  it('IA32_VMX_VMCS_ENUM bits 9:1 = the highest index of any field VMREAD accepts', () => {
    const b = vmxBench('nop');
    let highest = 0;
    for (let e = 0; e < 0x8000; e++) if (b.vmx.vmread(e) !== null) highest = Math.max(highest, (e >>> 1) & 0x1ff);
    expect(highest).toBe(Math.max(...FIELD_ENCODINGS.map((e) => (e >>> 1) & 0x1ff)));
    expect((msr(b, 0x48a)[0] >>> 1) & 0x1ff).toBe(highest);
  });

  it('the capability MSRs are read-only: WRMSR raises #GP (through the TypeScript MSR interface)', () => {
    const b = vmxBench('nop');
    expect(() => b.cpu.msr.write(0x480, 0, 0)).toThrow();
    b.cpu.pendingVector = -1;
  });
});
