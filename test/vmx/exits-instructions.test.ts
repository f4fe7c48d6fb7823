// VM exits caused by guest instructions (SDM Vol. 3C 26.1 "Instructions that cause VM exits", 28.2 exit
// information, 26.3 "Changes to instruction behavior in VMX non-root operation"): one test per exit condition,
// with its exit reason, qualification, saved RIP, instruction length and instruction information, and the
// control-off case where the instruction runs in the guest. Events are exits-events.test.ts'.
// Section numbers: SDM Vol. 3C, 2023 edition (25 VMCS, 26 non-root operation, 27 VM entries, 28 VM exits, 31 VMX
// instructions); earlier editions number these chapters one lower.

import { describe, expect, it } from 'vitest';
import { Reg } from '../../src/cpu/registers.js';
import { ExitReason, Pin, Proc, Proc2 } from '../../src/vmx/controls.js';
import { VmcsField as F } from '../../src/vmx/vmcs-fields.js';
import { RecordingPorts, type VmxBench, vmxBench } from '../helpers/vmx-runner.js';

const hex = (v: number): string => '0x' + (v >>> 0).toString(16);

/** Runs to the next exit and checks it is `reason` at label `at` of the source (fault-like: RIP = the instruction). */
function exitAt(b: VmxBench, reason: number, at: string, next?: string): ReturnType<VmxBench['run']> {
  const e = b.run();
  expect(e.reason).toBe(reason);
  expect(hex(e.rip)).toBe(hex(b.sym(at)));
  if (next !== undefined) expect(e.length).toBe(b.sym(next) - b.sym(at));
  return e;
}

// VM-exit instruction-information fields (SDM 28.2.4, the instruction-information tables).
const SCALE = 0x3;
const REG1 = 0xf << 3;
const ADDR_SIZE = 0x7 << 7;
const REG_FORM = 1 << 10;
const OP_SIZE = 1 << 11;
const SEGMENT = 0x7 << 15;
const INDEX = 0xf << 18;
const INDEX_INVALID = 1 << 22;
const BASE = 0xf << 23;
const BASE_INVALID = 1 << 27;
const REG2 = 0xf << 28;
const IDENTITY = 0x3 << 28;
const ES = 0;
const SS = 2;
const DS = 3;
const FS = 4;

/** A memory operand's instruction information: the value and the defined bits (index/base fields only when valid). */
function mem(o: { scale?: number; seg: number; index?: number; base?: number }): { value: number; mask: number } {
  let value = (o.scale ?? 0) | (1 << 7) | (o.seg << 15);
  let mask = SCALE | ADDR_SIZE | SEGMENT | INDEX_INVALID | BASE_INVALID;
  if (o.index === undefined) value |= INDEX_INVALID;
  else {
    value |= o.index << 18;
    mask |= INDEX;
  }
  if (o.base === undefined) value |= BASE_INVALID;
  else {
    value |= o.base << 23;
    mask |= BASE;
  }
  return { value, mask };
}

function expectInfo(info: number, expected: { value: number; mask: number }): void {
  expect(hex(info & expected.mask)).toBe(hex(expected.value));
}

describe('CPUID (exit 10, unconditional: SDM 26.1.2)', () => {
  it('exits before executing: RIP = CPUID, length 2, qualification 0, EAX/ECX untouched', () => {
    const b = vmxBench('mov eax, 7\nmov ecx, 3\nat: cpuid\nnext: hlt');
    const e = exitAt(b, ExitReason.Cpuid, 'at', 'next');
    expect(e.qualification).toBe(0);
    expect(b.cpu.reg32[Reg.EAX]).toBe(7);
    expect(b.cpu.reg32[Reg.ECX]).toBe(3);
  });
});

describe('INVD (exit 13, unconditional)', () => {
  it('exits with RIP = INVD and length 2', () => {
    const b = vmxBench('at: invd\nnext: hlt');
    exitAt(b, ExitReason.Invd, 'at', 'next');
  });
});

describe('HLT (exit 12 with HLT exiting; else the HLT activity state)', () => {
  it('HLT exiting: exit 12, RIP = HLT, length 1, activity state active', () => {
    const b = vmxBench('nop\nat: hlt\nnext: nop');
    b.set(F.ProcControls, Proc.HltExiting);
    const e = exitAt(b, ExitReason.Hlt, 'at', 'next');
    expect(e.qualification).toBe(0);
    expect(b.read(F.GuestActivityState)).toBe(0);
  });

  it('without HLT exiting the guest halts (no exit); a later exit saves activity state HLT and RIP after HLT', () => {
    const b = vmxBench('nop\nat: hlt\nnext: nop');
    b.set(F.PinControls, Pin.PreemptionTimer).write(F.PreemptionTimerValue, 50); // a wake-up: the VMX-preemption timer
    const e = b.run();
    expect(e.reason).toBe(ExitReason.PreemptionTimer);
    expect(hex(e.rip)).toBe(hex(b.sym('next')));
    expect(b.read(F.GuestActivityState)).toBe(1); // SDM 28.3.4: the activity state the guest was in
  });
});

describe('INVLPG (exit 14 with INVLPG exiting; qualification = linear address, SDM 28.2.1)', () => {
  it('exits with the operand linear address (DS base + EBX + disp)', () => {
    const b = vmxBench('mov ebx, 0x123000\nat: invlpg [ebx+0x456]\nnext: cpuid');
    b.set(F.ProcControls, Proc.InvlpgExiting).write(F.GuestDsBase, 0x1000);
    const e = exitAt(b, ExitReason.Invlpg, 'at', 'next');
    expect(hex(e.qualification)).toBe(hex(0x124456));
  });

  it('control off: INVLPG runs in the guest', () => {
    const b = vmxBench('mov ebx, 0x123000\ninvlpg [ebx+0x456]\nat: cpuid');
    exitAt(b, ExitReason.Cpuid, 'at');
  });
});

describe('RDTSC (exit 16 with RDTSC exiting; TSC offsetting otherwise)', () => {
  it('RDTSC exiting: exit 16, RIP = RDTSC, length 2, EDX:EAX untouched (also with TSC offsetting on)', () => {
    const b = vmxBench('mov eax, 0x11\nmov edx, 0x22\nat: rdtsc\nnext: hlt');
    b.set(F.ProcControls, Proc.RdtscExiting | Proc.TscOffsetting);
    exitAt(b, ExitReason.Rdtsc, 'at', 'next');
    expect(b.cpu.reg32[Reg.EAX]).toBe(0x11);
    expect(b.cpu.reg32[Reg.EDX]).toBe(0x22);
  });

  /** The guest's RDTSC (EDX:EAX) and RDMSR IA32_TSC (EDI:ESI) with the given offset (null = offsetting off). */
  function guestTsc(offset: [number, number] | null): { rdtsc: bigint; rdmsr: bigint } {
    const b = vmxBench('rdtsc\nmov ecx, 0x10\nmov ebx, eax\nmov ebp, edx\nrdmsr\nmov esi, eax\nmov edi, edx\ncpuid');
    b.set(F.ProcControls, Proc.UseMsrBitmaps); // IA32_TSC read bit clear: RDMSR runs in the guest
    if (offset !== null) {
      b.set(F.ProcControls, Proc.TscOffsetting);
      b.write64(F.TscOffset, offset[0], offset[1]);
    }
    expect(b.run().reason).toBe(ExitReason.Cpuid);
    const r = b.cpu.reg32;
    const u = (hi: number, lo: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
    return { rdtsc: u(r[Reg.EBP], r[Reg.EBX]), rdmsr: u(r[Reg.EDI], r[Reg.ESI]) };
  }

  it('TSC offsetting: the guest reads TSC + offset with RDTSC and RDMSR IA32_TSC (SDM 26.3)', () => {
    const base = guestTsc(null);
    const plus = guestTsc([0x1000, 1]);
    expect(plus.rdtsc - base.rdtsc).toBe(0x1_0000_1000n);
    expect(plus.rdmsr - base.rdmsr).toBe(0x1_0000_1000n);
    // A negative offset (two's complement, 64 bits) wraps modulo 2^64.
    const minus = guestTsc([-0x100, -1]);
    expect((base.rdtsc - minus.rdtsc) & 0xffff_ffff_ffff_ffffn).toBe(0x100n);
  });
});

describe('MOV to/from CR0 and CR4 (exit 28; guest/host masks and read shadows, SDM 26.1.3, 26.3)', () => {
  const MP = 2;
  const NE = 0x20;

  it('MOV to CR0 exits when a host-owned bit differs from the shadow: qualification CR0, type 0, GPR; CR0 unchanged', () => {
    const b = vmxBench('mov ebx, 0x13\nat: mov cr0, ebx\nnext: hlt');
    b.write(F.Cr0GuestHostMask, NE | MP);
    b.write(F.Cr0ReadShadow, 0x11);
    const e = exitAt(b, ExitReason.CrAccess, 'at', 'next');
    expect(hex(e.qualification)).toBe(hex(0x300)); // CR 0, MOV to CR (0), EBX (3)
    expect(hex(b.read(F.GuestCr0))).toBe(hex(0x31));
  });

  it('MOV to CR0 matching the shadow in host-owned bits does not exit and writes only guest-owned bits', () => {
    // 0x19 = PE | ET | TS: MP and NE equal the shadow (0): no exit; the real NE stays 1.
    const b = vmxBench('mov ebx, 0x19\nmov cr0, ebx\nat: cpuid');
    b.write(F.Cr0GuestHostMask, NE | MP);
    b.write(F.Cr0ReadShadow, 0x11);
    exitAt(b, ExitReason.Cpuid, 'at');
    expect(hex(b.read(F.GuestCr0))).toBe(hex(0x39));
  });

  it('MOV from CR0 reads the shadow for host-owned bits and CR0 for the others (no exit)', () => {
    const b = vmxBench('mov eax, cr0\nat: cpuid');
    b.write(F.Cr0GuestHostMask, NE | MP);
    b.write(F.Cr0ReadShadow, 0x13); // MP = 1, NE = 0 in the shadow; the real CR0 has MP = 0, NE = 1
    exitAt(b, ExitReason.Cpuid, 'at');
    expect(hex(b.cpu.reg32[Reg.EAX])).toBe(hex(0x13));
  });

  it('SMSW reads the shadow too', () => {
    const b = vmxBench('smsw eax\nat: cpuid');
    b.write(F.Cr0GuestHostMask, NE | MP);
    b.write(F.Cr0ReadShadow, 0x13);
    exitAt(b, ExitReason.Cpuid, 'at');
    expect(hex(b.cpu.reg32[Reg.EAX] & 0xffff)).toBe(hex(0x13));
  });

  it('MOV to CR4 exits when a host-owned bit differs from the shadow: qualification CR4, GPR', () => {
    const b = vmxBench('xor edx, edx\nat: mov cr4, edx\nnext: hlt');
    b.write(F.Cr4GuestHostMask, 0x2010); // VMXE and PSE host-owned
    b.write(F.Cr4ReadShadow, 0x10); // the guest believes PSE = 1
    const e = exitAt(b, ExitReason.CrAccess, 'at', 'next');
    expect(hex(e.qualification)).toBe(hex(0x204)); // CR 4, MOV to CR, EDX (2)
  });

  it('MOV to CR4 matching the shadow does not exit; MOV from CR4 returns the shadowed value', () => {
    const b = vmxBench('mov edx, 0x10\nmov cr4, edx\nmov eax, cr4\nat: cpuid');
    b.write(F.Cr4GuestHostMask, 0x2010);
    b.write(F.Cr4ReadShadow, 0x10);
    exitAt(b, ExitReason.Cpuid, 'at');
    expect(hex(b.read(F.GuestCr4))).toBe(hex(0x2000)); // PSE is host-owned: the write did not set it
    expect(hex(b.cpu.reg32[Reg.EAX])).toBe(hex(0x10)); // shadow PSE = 1, shadow VMXE = 0
  });
});

describe('MOV to/from CR3 (exit 28; CR3-load exiting with CR3-target values, CR3-store exiting)', () => {
  it('CR3-load exiting: a value that is none of the first CR3-target-count targets exits (qualification 3, type 0, GPR)', () => {
    const b = vmxBench('mov eax, 0x7000\nat: mov cr3, eax\nnext: hlt');
    b.set(F.ProcControls, Proc.Cr3LoadExiting);
    b.write(F.Cr3TargetCount, 2);
    b.write(F.Cr3Target0, 0x5000);
    b.write(F.Cr3Target1, 0x6000);
    b.write(F.Cr3Target2, 0x7000); // beyond the count: does not count
    const e = exitAt(b, ExitReason.CrAccess, 'at', 'next');
    expect(hex(e.qualification)).toBe(hex(0x003)); // CR 3, MOV to CR, EAX
    expect(b.read(F.GuestCr3)).toBe(0);
  });

  it('CR3-load exiting: a CR3-target value loads without exiting', () => {
    const b = vmxBench('mov esi, 0x6000\nmov cr3, esi\nat: cpuid');
    b.set(F.ProcControls, Proc.Cr3LoadExiting);
    b.write(F.Cr3TargetCount, 2);
    b.write(F.Cr3Target0, 0x5000);
    b.write(F.Cr3Target1, 0x6000);
    exitAt(b, ExitReason.Cpuid, 'at');
    expect(hex(b.read(F.GuestCr3))).toBe(hex(0x6000));
  });

  it('CR3-load exiting off: MOV to CR3 loads', () => {
    const b = vmxBench('mov eax, 0x7000\nmov cr3, eax\nat: cpuid');
    exitAt(b, ExitReason.Cpuid, 'at');
    expect(hex(b.read(F.GuestCr3))).toBe(hex(0x7000));
  });

  it('CR3-store exiting: MOV from CR3 exits (qualification 3, type 1, GPR), the GPR untouched', () => {
    const b = vmxBench('mov ecx, 0x99\nat: mov ecx, cr3\nnext: hlt');
    b.set(F.ProcControls, Proc.Cr3StoreExiting).write(F.GuestCr3, 0x4000);
    const e = exitAt(b, ExitReason.CrAccess, 'at', 'next');
    expect(hex(e.qualification)).toBe(hex(0x113)); // CR 3, MOV from CR (1), ECX (1)
    expect(b.cpu.reg32[Reg.ECX]).toBe(0x99);
  });

  it('CR3-store exiting off: MOV from CR3 reads CR3', () => {
    const b = vmxBench('mov ecx, cr3\nat: cpuid');
    b.write(F.GuestCr3, 0x4000);
    exitAt(b, ExitReason.Cpuid, 'at');
    expect(hex(b.cpu.reg32[Reg.ECX])).toBe(hex(0x4000));
  });
});

describe('CLTS (exit 28 iff CR0.TS is host-owned and set in the shadow, SDM 26.1.3)', () => {
  const TS = 8;

  it('mask TS = 1, shadow TS = 1: exit, qualification type 2 (CLTS), length 2', () => {
    const b = vmxBench('at: clts\nnext: hlt');
    b.write(F.Cr0GuestHostMask, 0x20 | TS);
    b.write(F.Cr0ReadShadow, 0x11 | TS);
    b.write(F.GuestCr0, 0x31 | TS);
    const e = exitAt(b, ExitReason.CrAccess, 'at', 'next');
    expect(hex(e.qualification)).toBe(hex(0x20));
    expect(b.read(F.GuestCr0) & TS).toBe(TS);
  });

  it('mask TS = 1, shadow TS = 0: no exit, and CR0.TS is not cleared', () => {
    const b = vmxBench('clts\nat: cpuid');
    b.write(F.Cr0GuestHostMask, 0x20 | TS);
    b.write(F.Cr0ReadShadow, 0x11);
    b.write(F.GuestCr0, 0x31 | TS);
    exitAt(b, ExitReason.Cpuid, 'at');
    expect(b.read(F.GuestCr0) & TS).toBe(TS);
  });

  it('mask TS = 0: no exit, CLTS clears CR0.TS', () => {
    const b = vmxBench('clts\nat: cpuid');
    b.write(F.GuestCr0, 0x31 | TS);
    exitAt(b, ExitReason.Cpuid, 'at');
    expect(b.read(F.GuestCr0) & TS).toBe(0);
  });
});

describe('LMSW (exit 28; qualification type 3, operand type, source data, SDM 26.1.3 and its qualification table)', () => {
  it('PE host-owned, shadow PE = 0, source PE = 1: exit with the source in bits 31:16, register operand', () => {
    const b = vmxBench('mov eax, 0x0001\nat: lmsw ax\nnext: hlt');
    b.write(F.Cr0GuestHostMask, 0x21);
    b.write(F.Cr0ReadShadow, 0x10);
    const e = exitAt(b, ExitReason.CrAccess, 'at', 'next');
    expect(hex(e.qualification)).toBe(hex(0x1_0030)); // CR 0, type 3, register operand, source 0x0001
  });

  it('MP host-owned and the source differs from the shadow: memory operand sets bit 6 and the guest-linear address', () => {
    const b = vmxBench('at: lmsw [0x5000]\nnext: hlt');
    b.memory.write(0x5100, 2, 0x000b); // PE | MP | TS, at DS base 0x100 + 0x5000
    b.write(F.GuestDsBase, 0x100);
    b.write(F.Cr0GuestHostMask, 0x22);
    b.write(F.Cr0ReadShadow, 0x11);
    const e = exitAt(b, ExitReason.CrAccess, 'at', 'next');
    expect(hex(e.qualification)).toBe(hex(0x000b_0070)); // source 0x000B, memory operand (bit 6), type 3
    expect(hex(e.guestLinear)).toBe(hex(0x5100)); // SDM 28.2.1: LMSW with a memory operand
  });

  it('no exit when host-owned bits match the shadow: guest-owned bits 3:1 change, host-owned TS does not', () => {
    // TS host-owned with shadow TS = 1; the source has TS = 1 (matches), MP = 1, EM = 0.
    const b = vmxBench('mov eax, 0x000b\nlmsw ax\nat: cpuid');
    b.write(F.Cr0GuestHostMask, 0x28);
    b.write(F.Cr0ReadShadow, 0x19);
    exitAt(b, ExitReason.Cpuid, 'at');
    expect(hex(b.read(F.GuestCr0))).toBe(hex(0x33)); // PE NE ET + MP; real TS stays 0
  });

  it('LMSW cannot clear PE: PE host-owned with shadow PE = 1 and source PE = 0 does not exit; PE stays 1', () => {
    const b = vmxBench('xor eax, eax\nlmsw ax\nat: cpuid');
    b.write(F.Cr0GuestHostMask, 0x21);
    b.write(F.Cr0ReadShadow, 0x11);
    exitAt(b, ExitReason.Cpuid, 'at');
    expect(b.read(F.GuestCr0) & 1).toBe(1);
  });
});

describe('MOV DR (exit 29 with MOV-DR exiting; qualification DR number, direction, GPR)', () => {
  it('MOV from DR7 to EAX: qualification 7 | from (bit 4) | EAX', () => {
    const b = vmxBench('at: mov eax, dr7\nnext: hlt');
    b.set(F.ProcControls, Proc.MovDrExiting);
    const e = exitAt(b, ExitReason.MovDr, 'at', 'next');
    expect(hex(e.qualification)).toBe(hex(0x17));
  });

  it('MOV to DR3 from EBX: qualification 3 | to (0) | EBX << 8', () => {
    const b = vmxBench('at: mov dr3, ebx\nnext: hlt');
    b.set(F.ProcControls, Proc.MovDrExiting);
    const e = exitAt(b, ExitReason.MovDr, 'at', 'next');
    expect(hex(e.qualification)).toBe(hex(0x303));
  });

  it('control off: MOV DR runs in the guest', () => {
    const b = vmxBench('mov eax, dr7\nat: cpuid');
    exitAt(b, ExitReason.Cpuid, 'at');
    expect(b.cpu.reg32[Reg.EAX] & 0xffff).toBe(0x400);
  });
});

describe('I/O instructions (exit 30; SDM 26.1.3, qualification table in 28.2.1)', () => {
  it('unconditional I/O exiting: OUT imm8, AL: size 1, out, immediate, port', () => {
    const b = vmxBench('at: out 0x80, al\nnext: hlt');
    b.set(F.ProcControls, Proc.UnconditionalIoExiting);
    const e = exitAt(b, ExitReason.IoInstruction, 'at', 'next');
    expect(hex(e.qualification)).toBe(hex(0x0080_0040));
  });

  it('unconditional I/O exiting: IN EAX, DX: size 4, in, DX encoding', () => {
    const b = vmxBench('mov dx, 0x3f8\nat: in eax, dx\nnext: hlt');
    b.set(F.ProcControls, Proc.UnconditionalIoExiting);
    const e = exitAt(b, ExitReason.IoInstruction, 'at', 'next');
    expect(hex(e.qualification)).toBe(hex(0x03f8_000b));
  });

  it('unconditional I/O exiting: IN AX, DX (operand-size prefix): size 2, length 2', () => {
    const b = vmxBench('mov dx, 0x1234\nat: in ax, dx\nnext: hlt');
    b.set(F.ProcControls, Proc.UnconditionalIoExiting);
    const e = exitAt(b, ExitReason.IoInstruction, 'at', 'next');
    expect(hex(e.qualification)).toBe(hex(0x1234_0009));
  });

  it('neither control: the I/O instruction reaches the port bus', () => {
    const b = vmxBench('mov al, 0x42\nout 0x80, al\nat: cpuid');
    const dev = new RecordingPorts();
    b.ports.map(0x80, 1, dev);
    exitAt(b, ExitReason.Cpuid, 'at');
    expect(dev.log).toEqual([{ offset: 0, size: 1, write: true, value: 0x42 }]);
  });

  it('"use I/O bitmaps" overrides unconditional I/O exiting: a clear bit does not exit', () => {
    const b = vmxBench('mov al, 0x42\nout 0x80, al\nat: cpuid');
    const dev = new RecordingPorts();
    b.ports.map(0x80, 1, dev);
    b.set(F.ProcControls, Proc.UseIoBitmaps | Proc.UnconditionalIoExiting);
    exitAt(b, ExitReason.Cpuid, 'at');
    expect(dev.log.length).toBe(1);
  });

  it('bitmap A: the port\'s bit exits, its neighbour does not', () => {
    const b = vmxBench('out 0x71, al\nat: out 0x70, al\nnext: hlt');
    b.set(F.ProcControls, Proc.UseIoBitmaps).ioBit(0x70);
    const e = exitAt(b, ExitReason.IoInstruction, 'at', 'next');
    expect(hex(e.qualification)).toBe(hex(0x0070_0040));
  });

  it('bitmap B covers ports 8000-FFFF', () => {
    const b = vmxBench('mov dx, 0x8002\nin al, dx\nmov dx, 0x8001\nat: in al, dx\nnext: hlt');
    b.set(F.ProcControls, Proc.UseIoBitmaps).ioBit(0x8001);
    const e = exitAt(b, ExitReason.IoInstruction, 'at', 'next');
    expect(hex(e.qualification)).toBe(hex(0x8001_0008));
  });

  it('a multi-byte access exits if any port it covers has its bit set (0x70-0x73 with 0x73 set)', () => {
    const b = vmxBench('mov dx, 0x6c\nin eax, dx\nmov dx, 0x70\nat: in eax, dx\nnext: hlt');
    b.set(F.ProcControls, Proc.UseIoBitmaps).ioBit(0x73);
    const e = exitAt(b, ExitReason.IoInstruction, 'at', 'next');
    expect(hex(e.qualification)).toBe(hex(0x0070_000b));
  });

  it('an access at 0x7FFF crossing into bitmap B exits on the bit of port 0x8000', () => {
    const b = vmxBench('mov dx, 0x7ffe\nin al, dx\nmov dx, 0x7fff\nat: in ax, dx\nnext: hlt');
    b.set(F.ProcControls, Proc.UseIoBitmaps).ioBit(0x8000);
    const e = exitAt(b, ExitReason.IoInstruction, 'at', 'next');
    expect(hex(e.qualification)).toBe(hex(0x7fff_0009));
  });

  it('a 4-byte access at 0xFFFF wraps past 0xFFFF and always exits, with every bit clear', () => {
    const b = vmxBench('mov dx, 0xffff\nin al, dx\nat: in eax, dx\nnext: hlt');
    b.set(F.ProcControls, Proc.UseIoBitmaps);
    const e = exitAt(b, ExitReason.IoInstruction, 'at', 'next');
    expect(hex(e.qualification)).toBe(hex(0xffff_000b));
  });

  it('REP OUTSB: string and REP bits, guest-linear address DS:ESI, address size and segment in the instruction information', () => {
    const b = vmxBench('mov esi, 0x2000\nmov ecx, 4\nmov dx, 0x3f8\nat: rep outsb\nnext: hlt');
    b.set(F.ProcControls, Proc.UnconditionalIoExiting).write(F.GuestDsBase, 0x300);
    const e = exitAt(b, ExitReason.IoInstruction, 'at', 'next');
    expect(hex(e.qualification)).toBe(hex(0x03f8_0030));
    expect(hex(e.guestLinear)).toBe(hex(0x2300));
    // IA32_VMX_BASIC[54] = 1: address size 9:7 (1 = 32-bit), segment 17:15 (SDM 28.2.4, the INS/OUTS table).
    expect(hex(e.info & (ADDR_SIZE | SEGMENT))).toBe(hex((1 << 7) | (DS << 15)));
    expect(b.cpu.reg32[Reg.ESI]).toBe(0x2000); // nothing executed
    expect(b.cpu.reg32[Reg.ECX]).toBe(4);
  });

  it('OUTSD with an FS override: size 4, segment FS, linear address FS:ESI', () => {
    const b = vmxBench('mov esi, 0x40\nmov dx, 0x80\nat: fs outsd\nnext: hlt');
    b.set(F.ProcControls, Proc.UnconditionalIoExiting).write(F.GuestFsBase, 0x7000);
    const e = exitAt(b, ExitReason.IoInstruction, 'at', 'next');
    expect(hex(e.qualification)).toBe(hex(0x0080_0013));
    expect(hex(e.guestLinear)).toBe(hex(0x7040));
    expect(hex(e.info & (ADDR_SIZE | SEGMENT))).toBe(hex((1 << 7) | (FS << 15)));
  });

  it('INSB: direction in, string, guest-linear address ES:EDI', () => {
    const b = vmxBench('mov edi, 0x44\nmov dx, 0x60\nat: insb\nnext: hlt');
    b.set(F.ProcControls, Proc.UnconditionalIoExiting).write(F.GuestEsBase, 0x9000);
    const e = exitAt(b, ExitReason.IoInstruction, 'at', 'next');
    expect(hex(e.qualification)).toBe(hex(0x0060_0018));
    expect(hex(e.guestLinear)).toBe(hex(0x9044));
    expect(hex(e.info & ADDR_SIZE)).toBe(hex(1 << 7));
  });
});

describe('RDMSR / WRMSR (exits 31 / 32; MSR bitmaps, SDM 26.1.3 and 25.6.9)', () => {
  it('without MSR bitmaps every RDMSR exits: reason 31, qualification 0, length 2, ECX/EAX untouched', () => {
    const b = vmxBench('mov ecx, 0x174\nmov eax, 0x77\nat: rdmsr\nnext: hlt');
    const e = exitAt(b, ExitReason.Rdmsr, 'at', 'next');
    expect(e.qualification).toBe(0);
    expect(b.cpu.reg32[Reg.ECX]).toBe(0x174);
    expect(b.cpu.reg32[Reg.EAX]).toBe(0x77);
  });

  it('without MSR bitmaps every WRMSR exits: reason 32; the MSR keeps its value', () => {
    const b = vmxBench('mov ecx, 0x174\nmov eax, 0x66\nxor edx, edx\nat: wrmsr\nnext: hlt');
    b.write(F.GuestSysenterCs, 0x55);
    exitAt(b, ExitReason.Wrmsr, 'at', 'next');
    expect(b.read(F.GuestSysenterCs)).toBe(0x55);
  });

  it('low read bitmap: the read bit exits RDMSR only; WRMSR of the same MSR runs in the guest', () => {
    const b = vmxBench('mov ecx, 0x174\nmov eax, 0x66\nxor edx, edx\nwrmsr\nat: rdmsr\nnext: hlt');
    b.set(F.ProcControls, Proc.UseMsrBitmaps).msrBit(0x174, false);
    exitAt(b, ExitReason.Rdmsr, 'at', 'next');
    expect(b.read(F.GuestSysenterCs)).toBe(0x66);
  });

  it('low write bitmap: the write bit exits WRMSR only; RDMSR runs in the guest', () => {
    const b = vmxBench('mov ecx, 0x174\nrdmsr\nmov ebx, eax\nat: wrmsr\nnext: hlt');
    b.set(F.ProcControls, Proc.UseMsrBitmaps).msrBit(0x174, true);
    b.write(F.GuestSysenterCs, 0x55);
    exitAt(b, ExitReason.Wrmsr, 'at', 'next');
    expect(b.cpu.reg32[Reg.EBX]).toBe(0x55);
  });

  it('high read bitmap (C0000000-C0001FFF at 0x400): its bit exits; the low bit of the same index does not', () => {
    const b = vmxBench('mov ecx, 0xc0000080\nat: rdmsr\nnext: hlt');
    b.set(F.ProcControls, Proc.UseMsrBitmaps).msrBit(0xc0000080, false);
    exitAt(b, ExitReason.Rdmsr, 'at', 'next');

    const c = vmxBench('mov ecx, 0xc0000080\nat: rdmsr\nnext: hlt');
    c.set(F.ProcControls, Proc.UseMsrBitmaps).msrBit(0x80, false).msrBit(0xc0000080, true);
    c.write(F.ExceptionBitmap, 1 << 13);
    // Not intercepted: RDMSR runs in the guest, where this MSR does not exist: #GP(0) (exception bitmap exit).
    const e = exitAt(c, ExitReason.ExceptionOrNmi, 'at');
    expect(hex(e.interruptionInfo)).toBe(hex(0x80000b0d));
    expect(e.interruptionError).toBe(0);
  });

  it('high write bitmap (at 0xC00): its bit exits WRMSR', () => {
    const b = vmxBench('mov ecx, 0xc0000081\nat: wrmsr\nnext: hlt');
    b.set(F.ProcControls, Proc.UseMsrBitmaps).msrBit(0xc0000081, true);
    exitAt(b, ExitReason.Wrmsr, 'at', 'next');
  });

  it.each([0x2000, 0x40000000, 0xbfffffff, 0xc0002000, 0xffffffff])('MSR %s outside both ranges always exits', (msr) => {
    const b = vmxBench(`mov ecx, ${msr}\nat: rdmsr\nnext: hlt`);
    b.set(F.ProcControls, Proc.UseMsrBitmaps);
    exitAt(b, ExitReason.Rdmsr, 'at', 'next');
    const c = vmxBench(`mov ecx, ${msr}\nat: wrmsr\nnext: hlt`);
    c.set(F.ProcControls, Proc.UseMsrBitmaps);
    exitAt(c, ExitReason.Wrmsr, 'at', 'next');
  });
});

describe('VMCALL and the VMX instructions in the guest (exits 18-27, 50: unconditional, SDM 26.1.2)', () => {
  it('VMCALL: exit 18, length 3', () => {
    const b = vmxBench('at: vmcall\nnext: hlt');
    const e = exitAt(b, ExitReason.Vmcall, 'at', 'next');
    expect(e.qualification).toBe(0);
  });

  it('VMCLEAR [ebx+esi*4+0x10]: exit 19, qualification = displacement, instruction information', () => {
    const b = vmxBench('at: vmclear [ebx+esi*4+0x10]\nnext: hlt');
    const e = exitAt(b, ExitReason.Vmclear, 'at', 'next');
    expect(e.qualification).toBe(0x10);
    const m = mem({ scale: 2, seg: DS, index: Reg.ESI, base: Reg.EBX });
    expectInfo(e.info, { value: m.value, mask: m.mask | REG_FORM });
  });

  it('VMLAUNCH: exit 20; VMRESUME: exit 24; VMXOFF: exit 26 (length 3 each)', () => {
    const b = vmxBench('a: vmlaunch\nb: vmresume\nc: vmxoff\nd: hlt');
    exitAt(b, ExitReason.Vmlaunch, 'a', 'b');
    b.skip();
    exitAt(b, ExitReason.Vmresume, 'b', 'c');
    b.skip();
    exitAt(b, ExitReason.Vmxoff, 'c', 'd');
  });

  it('VMPTRLD [disp32]: exit 21, no base or index register', () => {
    const b = vmxBench('at: vmptrld [0x2000]\nnext: hlt');
    const e = exitAt(b, ExitReason.Vmptrld, 'at', 'next');
    expect(hex(e.qualification)).toBe(hex(0x2000));
    const m = mem({ seg: DS });
    expectInfo(e.info, { value: m.value, mask: m.mask | REG_FORM });
  });

  it('VMPTRST [esp+8]: exit 22, segment SS, base ESP', () => {
    const b = vmxBench('at: vmptrst [esp+8]\nnext: hlt');
    const e = exitAt(b, ExitReason.Vmptrst, 'at', 'next');
    expect(e.qualification).toBe(8);
    const m = mem({ seg: SS, base: Reg.ESP });
    expectInfo(e.info, { value: m.value, mask: m.mask | REG_FORM });
  });

  it('VMREAD ebx, ecx (register form): exit 23, reg1 = EBX, reg2 = ECX, bit 10 = 1, qualification 0', () => {
    const b = vmxBench('at: vmread ebx, ecx\nnext: hlt');
    const e = exitAt(b, ExitReason.Vmread, 'at', 'next');
    expect(e.qualification).toBe(0);
    expectInfo(e.info, { value: (Reg.EBX << 3) | REG_FORM | (Reg.ECX << 28), mask: REG1 | REG_FORM | REG2 });
  });

  it('VMREAD [edi-4], edx (memory form): qualification = sign-extended displacement, reg2 = EDX', () => {
    const b = vmxBench('at: vmread [edi-4], edx\nnext: hlt');
    const e = exitAt(b, ExitReason.Vmread, 'at', 'next');
    expect(hex(e.qualification)).toBe(hex(-4));
    const m = mem({ seg: DS, base: Reg.EDI });
    expectInfo(e.info, { value: m.value | (Reg.EDX << 28), mask: m.mask | REG_FORM | REG2 });
  });

  it('VMWRITE eax, ebx: exit 25, reg1 = EBX (the value), reg2 = EAX (the encoding)', () => {
    const b = vmxBench('at: vmwrite eax, ebx\nnext: hlt');
    const e = exitAt(b, ExitReason.Vmwrite, 'at', 'next');
    expectInfo(e.info, { value: (Reg.EBX << 3) | REG_FORM | (Reg.EAX << 28), mask: REG1 | REG_FORM | REG2 });
  });

  it('VMWRITE ecx, [es:eax+ebp*8]: memory form, segment override ES, scale 3', () => {
    const b = vmxBench('at: vmwrite ecx, [es:eax+ebp*8]\nnext: hlt');
    const e = exitAt(b, ExitReason.Vmwrite, 'at', 'next');
    expect(e.qualification).toBe(0);
    const m = mem({ scale: 3, seg: ES, index: Reg.EBP, base: Reg.EAX });
    expectInfo(e.info, { value: m.value | (Reg.ECX << 28), mask: m.mask | REG_FORM | REG2 });
  });

  it('VMXON [0x3000]: exit 27 (CR4.VMXE is set in the guest\'s real CR4)', () => {
    const b = vmxBench('at: vmxon [0x3000]\nnext: hlt');
    const e = exitAt(b, ExitReason.Vmxon, 'at', 'next');
    expect(hex(e.qualification)).toBe(hex(0x3000));
    const m = mem({ seg: DS });
    expectInfo(e.info, { value: m.value, mask: m.mask | REG_FORM });
  });

  it('INVEPT edx, [ebx+0x20]: exit 50, reg2 = EDX', () => {
    const b = vmxBench('at: invept edx, [ebx+0x20]\nnext: hlt');
    const e = exitAt(b, ExitReason.Invept, 'at', 'next');
    expect(e.qualification).toBe(0x20);
    const m = mem({ seg: DS, base: Reg.EBX });
    expectInfo(e.info, { value: m.value | (Reg.EDX << 28), mask: m.mask | REG2 });
  });

  it('INVVPID, which this processor lacks (IA32_VMX_EPT_VPID_CAP[32] = 0), is #UD rather than exit 53', () => {
    const b = vmxBench('at: invvpid eax, [ebx]');
    b.write(F.ExceptionBitmap, 1 << 6);
    const e = exitAt(b, ExitReason.ExceptionOrNmi, 'at');
    expect(hex(e.interruptionInfo)).toBe(hex(0x80000306));
  });

  it('the VMX instructions exit at CPL 3 too (before the CPL check, SDM 31.3)', () => {
    // A ring-3 guest: CS/SS DPL 3 with RPL 3 selectors (flat, base 0).
    const b = vmxBench('at: vmcall\nnext: hlt');
    b.write(F.GuestCsSelector, 0x1b);
    b.write(F.GuestCsAr, 0xc0fb);
    b.write(F.GuestSsSelector, 0x23);
    b.write(F.GuestSsAr, 0xc0f3);
    exitAt(b, ExitReason.Vmcall, 'at', 'next');
  });
});

describe('descriptor-table exiting (exits 46 and 47; SDM 26.1.3, 28.2.4)', () => {
  const dtBench = (src: string): VmxBench => vmxBench(src).set(F.ProcControls2, Proc2.DescriptorTableExiting);
  const gdtr = (o: Parameters<typeof mem>[0], identity: number): { value: number; mask: number } => {
    const m = mem(o);
    return { value: m.value | OP_SIZE | (identity << 28), mask: m.mask | OP_SIZE | IDENTITY };
  };

  it('LGDT [ebx+0x10]: exit 46, identity 2, qualification = displacement', () => {
    const b = dtBench('at: lgdt [ebx+0x10]\nnext: hlt');
    const e = exitAt(b, ExitReason.GdtrIdtrAccess, 'at', 'next');
    expect(e.qualification).toBe(0x10);
    expectInfo(e.info, gdtr({ seg: DS, base: Reg.EBX }, 2));
  });

  it('LIDT [0x5000]: identity 3', () => {
    const b = dtBench('at: lidt [0x5000]\nnext: hlt');
    const e = exitAt(b, ExitReason.GdtrIdtrAccess, 'at', 'next');
    expect(hex(e.qualification)).toBe(hex(0x5000));
    expectInfo(e.info, gdtr({ seg: DS }, 3));
  });

  it('SGDT [ebp-8]: identity 0, segment SS (EBP base), displacement sign-extended', () => {
    const b = dtBench('at: sgdt [ebp-8]\nnext: hlt');
    const e = exitAt(b, ExitReason.GdtrIdtrAccess, 'at', 'next');
    expect(hex(e.qualification)).toBe(hex(-8));
    expectInfo(e.info, gdtr({ seg: SS, base: Reg.EBP }, 0));
  });

  it('SIDT [ecx*4+0x100]: identity 1, index ECX scale 2, no base', () => {
    const b = dtBench('at: sidt [ecx*4+0x100]\nnext: hlt');
    const e = exitAt(b, ExitReason.GdtrIdtrAccess, 'at', 'next');
    expect(e.qualification).toBe(0x100);
    expectInfo(e.info, gdtr({ scale: 2, seg: DS, index: Reg.ECX }, 1));
  });

  it('LLDT ax: exit 47, register form, reg1 = EAX, identity 2', () => {
    const b = dtBench('xor eax, eax\nat: lldt ax\nnext: hlt');
    const e = exitAt(b, ExitReason.LdtrTrAccess, 'at', 'next');
    expect(e.qualification).toBe(0);
    expectInfo(e.info, { value: (Reg.EAX << 3) | REG_FORM | (2 << 28), mask: REG1 | REG_FORM | IDENTITY });
  });

  it('LTR [ebx]: memory form, identity 3', () => {
    const b = dtBench('at: ltr [ebx]\nnext: hlt');
    const e = exitAt(b, ExitReason.LdtrTrAccess, 'at', 'next');
    const m = mem({ seg: DS, base: Reg.EBX });
    expectInfo(e.info, { value: m.value | (3 << 28), mask: m.mask | REG_FORM | IDENTITY });
  });

  it('SLDT [0x6000]: identity 0; STR ecx: identity 1, reg1 = ECX', () => {
    const b = dtBench('a: sldt [0x6000]\nb: str ecx\nc: hlt');
    const e = exitAt(b, ExitReason.LdtrTrAccess, 'a', 'b');
    expect(hex(e.qualification)).toBe(hex(0x6000));
    const m = mem({ seg: DS });
    expectInfo(e.info, { value: m.value | (0 << 28), mask: m.mask | REG_FORM | IDENTITY });
    b.skip();
    const f = exitAt(b, ExitReason.LdtrTrAccess, 'b', 'c');
    expectInfo(f.info, { value: (Reg.ECX << 3) | REG_FORM | (1 << 28), mask: REG1 | REG_FORM | IDENTITY });
  });

  it('control off: SGDT/STR store the guest registers and LIDT loads IDTR', () => {
    const b = vmxBench('sgdt [0x6000]\nstr eax\nlidt [0x6010]\nat: cpuid');
    b.memory.write(0x6010, 2, 0x3ff);
    b.memory.write(0x6012, 4, 0x4000);
    exitAt(b, ExitReason.Cpuid, 'at');
    expect(b.memory.read(0x6000, 2)).toBe(0x1f);
    expect(hex(b.memory.read(0x6002, 4))).toBe(hex(0x800));
    expect(b.cpu.reg32[Reg.EAX] & 0xffff).toBe(0x18);
    expect(hex(b.read(F.GuestIdtrBase))).toBe(hex(0x4000));
    expect(b.read(F.GuestIdtrLimit)).toBe(0x3ff);
  });
});

describe('WBINVD (exit 54 with WBINVD exiting)', () => {
  it('exits with length 2; control off it runs', () => {
    const b = vmxBench('at: wbinvd\nnext: hlt');
    b.set(F.ProcControls2, Proc2.WbinvdExiting);
    exitAt(b, ExitReason.Wbinvd, 'at', 'next');
    const c = vmxBench('wbinvd\nat: cpuid');
    exitAt(c, ExitReason.Cpuid, 'at');
  });
});
