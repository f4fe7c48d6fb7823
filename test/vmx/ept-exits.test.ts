// EPT violations (exit 48) and misconfigurations (exit 49) as a guest sees them through the CPU (SDM Vol. 3C
// 29.3.3, 28.2.1, the EPT-violation qualification table): the access bits 2:0, the permissions 5:3, the guest-linear-address bits 7 and 8,
// the guest-physical and guest-linear address fields, the saved RIP, and no side effect of the failed access.
// The EPT walk itself is tested in ept.test.ts.
// Section numbers: SDM Vol. 3C, 2023 edition (25 VMCS, 26 non-root operation, 27 VM entries, 28 VM exits, 31 VMX
// instructions); earlier editions number these chapters one lower.

import { describe, expect, it } from 'vitest';
import { Reg } from '../../src/cpu/registers.js';
import { ExitReason, Pin } from '../../src/vmx/controls.js';
import { VmcsField as F } from '../../src/vmx/vmcs-fields.js';
import { GUEST_PD, type VmxBench, vmxBench } from '../helpers/vmx-runner.js';

const hex = (v: number): string => '0x' + (v >>> 0).toString(16);
const READ = 1;
const WRITE = 2;
const FETCH = 4;
const R = 1 << 3;
const W = 1 << 4;
const X = 1 << 5;
/** Bit 7: the guest-linear address field is valid; bit 8: the access was to the translated address (not a paging structure). */
const LINEAR_VALID = 1 << 7;
const TRANSLATED = 1 << 8;
const DATA = 0x400000;

function violation(b: VmxBench, at: string): ReturnType<VmxBench['run']> {
  const e = b.run();
  expect(e.reason).toBe(ExitReason.EptViolation);
  expect(hex(e.rip)).toBe(hex(b.sym(at))); // fault-like: the access is retried after the VMM fixes EPT
  expect(e.idtVectoring).toBe(0);
  return e;
}

describe('EPT violations without guest paging (linear address = guest-physical address)', () => {
  it('a read of a not-present page: bit 0, permissions 0, bits 7 and 8, GPA and linear address; EAX untouched', () => {
    const b = vmxBench('mov eax, 0x1234\nat: mov eax, [0x400023]');
    b.write(F.GuestDsBase, 0x100);
    b.ept4k(DATA, 0);
    const e = violation(b, 'at');
    expect(hex(e.qualification)).toBe(hex(READ | LINEAR_VALID | TRANSLATED));
    expect(hex(e.guestPhysical)).toBe(hex(DATA + 0x123));
    expect(hex(e.guestLinear)).toBe(hex(DATA + 0x123));
    expect(b.cpu.reg32[Reg.EAX]).toBe(0x1234);
  });

  it('a write to a read-only page: bit 1, R in bits 5:3; memory unchanged', () => {
    const b = vmxBench('at: mov dword [0x400010], 5');
    b.memory.write(DATA + 0x10, 4, 0x77);
    b.ept4k(DATA, 1);
    const e = violation(b, 'at');
    expect(hex(e.qualification)).toBe(hex(WRITE | R | LINEAR_VALID | TRANSLATED));
    expect(hex(e.guestPhysical)).toBe(hex(DATA + 0x10));
    expect(b.memory.read(DATA + 0x10, 4)).toBe(0x77);
  });

  it('an instruction fetch from a readable, writable, non-executable page: bit 2, R and W; RIP = the target', () => {
    const b = vmxBench('jmp 0x400000');
    b.memory.write(DATA, 1, 0x90);
    b.ept4k(DATA, 3);
    const e = b.run();
    expect(e.reason).toBe(ExitReason.EptViolation);
    expect(hex(e.rip)).toBe(hex(DATA));
    expect(hex(e.qualification)).toBe(hex(FETCH | R | W | LINEAR_VALID | TRANSLATED));
    expect(hex(e.guestPhysical)).toBe(hex(DATA));
  });

  it('a push to a read/execute stack page: bit 1 with R and X', () => {
    const b = vmxBench('mov esp, 0x400100\nat: push eax');
    b.ept4k(DATA, 5);
    const e = violation(b, 'at');
    expect(hex(e.qualification)).toBe(hex(WRITE | R | X | LINEAR_VALID | TRANSLATED));
    expect(hex(e.guestPhysical)).toBe(hex(DATA + 0xfc));
    expect(hex(b.read(F.GuestRsp))).toBe(hex(DATA + 0x100)); // the push did not happen
  });

  it('control: with every permission the access completes without an exit', () => {
    const b = vmxBench('mov dword [0x400010], 5\nmov eax, [0x400010]\nat: cpuid');
    b.ept4k(DATA, 7);
    expect(b.run().reason).toBe(ExitReason.Cpuid);
    expect(b.cpu.reg32[Reg.EAX]).toBe(5);
  });

  it('after the VMM maps the page, resuming retries the access and it completes (violations are not cached)', () => {
    const b = vmxBench('at: mov dword [0x400010], 5\ncpuid');
    b.ept4k(DATA, 1);
    violation(b, 'at');
    b.ept4k(DATA, 7);
    expect(b.run().reason).toBe(ExitReason.Cpuid);
    expect(b.memory.read(DATA + 0x10, 4)).toBe(5);
  });
});

describe('EPT violations during event delivery (SDM 28.2.3, 28.2.4)', () => {
  it('INT n pushing its frame onto a read-only stack page: exit 48 with IDT-vectoring type 4 and the INT length', () => {
    const b = vmxBench('mov esp, 0x400100\nat: int 0x40');
    b.ept4k(DATA, 5);
    const e = b.run();
    expect(e.reason).toBe(ExitReason.EptViolation);
    expect(hex(e.qualification)).toBe(hex(WRITE | R | X | LINEAR_VALID | TRANSLATED));
    expect(hex(e.idtVectoring)).toBe(hex(0x80000440));
    expect(e.length).toBe(2);
    expect(hex(e.rip)).toBe(hex(b.sym('at')));
    expect(hex(b.read(F.GuestRsp))).toBe(hex(DATA + 0x100));
  });

  it('a #UD whose frame cannot be pushed: IDT-vectoring = the #UD (type 3), RIP = the faulting instruction', () => {
    const b = vmxBench('mov esp, 0x400100\nat: ud2');
    b.ept4k(DATA, 5);
    const e = b.run();
    expect(e.reason).toBe(ExitReason.EptViolation);
    expect(hex(e.idtVectoring)).toBe(hex(0x80000306));
    expect(hex(e.rip)).toBe(hex(b.sym('at')));
  });
});

describe('EPT violations with guest paging (SDM 28.2.1, bits 7 and 8)', () => {
  /**
   * Guest paging on (0-4 MiB identity); linear 0x400000-0x7FFFFF through a second page table at PT2, whose
   * first entry maps linear 0x400000 to guest-physical 0x500000.
   */
  const PT2 = 0x32000;
  function paged(source: string): VmxBench {
    const b = vmxBench(source).guestPaging();
    b.memory.fill(PT2, 0x1000, 0);
    b.memory.write(GUEST_PD + 4, 4, PT2 | 3);
    b.memory.write(PT2, 4, 0x500000 | 3);
    return b;
  }

  it('the translated address: bit 8 = 1, GPA = the translation, guest-linear = the linear address', () => {
    const b = paged('at: mov eax, [0x400123]');
    b.ept4k(0x500000, 0);
    const e = violation(b, 'at');
    expect(hex(e.qualification)).toBe(hex(READ | LINEAR_VALID | TRANSLATED));
    expect(hex(e.guestPhysical)).toBe(hex(0x500123));
    expect(hex(e.guestLinear)).toBe(hex(0x400123));
  });

  it('reading a guest page-table entry: bit 8 = 0, GPA = the PTE, guest-linear = the address being translated', () => {
    const b = paged('at: mov eax, [0x400123]');
    b.ept4k(PT2, 0);
    const e = violation(b, 'at');
    expect(hex(e.qualification)).toBe(hex(READ | LINEAR_VALID));
    expect(hex(e.guestPhysical)).toBe(hex(PT2));
    expect(hex(e.guestLinear)).toBe(hex(0x400123));
  });

  it('setting the accessed flag in a read-only guest page table: a write to a paging structure (bit 1, R, bit 8 = 0)', () => {
    const b = paged('at: mov eax, [0x400123]');
    b.ept4k(PT2, 1); // readable, so the walk reads the PTE, then writes its A flag (SDM 4.8)
    const e = violation(b, 'at');
    expect(hex(e.qualification)).toBe(hex(WRITE | R | LINEAR_VALID));
    expect(hex(e.guestPhysical)).toBe(hex(PT2));
    expect(b.memory.read(PT2, 4) & 0x20).toBe(0);
  });

  it('control: with the page table and the page mapped, the access completes and the PTE gets its A flag', () => {
    const b = paged('mov eax, [0x400123]\nat: cpuid');
    b.memory.write(0x500123, 4, 0xabcd);
    expect(b.run().reason).toBe(ExitReason.Cpuid);
    expect(b.cpu.reg32[Reg.EAX]).toBe(0xabcd);
    expect(b.memory.read(PT2, 4) & 0x20).toBe(0x20);
  });
});

describe('EPT violations on IRET (SDM 28.1, 28.2.3 "NMI unblocking due to IRET")', () => {
  it('reading the frame from a not-present page with virtual-NMI blocking: qualification bit 12; blocking already ended', () => {
    const b = vmxBench('mov esp, 0x400000\nat: iretd');
    b.set(F.PinControls, Pin.NmiExiting | Pin.VirtualNmis);
    b.write(F.GuestInterruptibility, 8);
    b.ept4k(DATA, 0);
    const e = violation(b, 'at');
    expect(hex(e.qualification)).toBe(hex((1 << 12) | READ | LINEAR_VALID | TRANSLATED));
    expect(hex(e.guestPhysical)).toBe(hex(DATA));
    expect(b.read(F.GuestInterruptibility) & 8).toBe(0);
  });

  it('without blocking: bit 12 clear', () => {
    const b = vmxBench('mov esp, 0x400000\nat: iretd');
    b.set(F.PinControls, Pin.NmiExiting | Pin.VirtualNmis);
    b.ept4k(DATA, 0);
    expect(hex(violation(b, 'at').qualification)).toBe(hex(READ | LINEAR_VALID | TRANSLATED));
  });
});

describe('EPT misconfiguration (exit 49, SDM 29.3.3.1)', () => {
  it('a write-only leaf (bits 2:0 = 010b): exit 49 with the GPA, RIP = the instruction', () => {
    const b = vmxBench('at: mov eax, [0x400040]');
    b.ept4k(DATA, 2);
    const e = b.run();
    expect(e.reason).toBe(ExitReason.EptMisconfig);
    expect(hex(e.guestPhysical)).toBe(hex(DATA + 0x40));
    expect(hex(e.rip)).toBe(hex(b.sym('at')));
  });

  it('a reserved leaf memory type (2): exit 49, found before the permission check of a write to a read-only page', () => {
    const b = vmxBench('at: mov dword [0x400040], 1');
    b.ept4k(DATA, 1, 2);
    const e = b.run();
    expect(e.reason).toBe(ExitReason.EptMisconfig);
    expect(hex(e.guestPhysical)).toBe(hex(DATA + 0x40));
  });

  it('an execute-only leaf without execute-only support (IA32_VMX_EPT_VPID_CAP[0] = 0): exit 49 on a fetch', () => {
    const b = vmxBench('jmp 0x400000');
    b.ept4k(DATA, 4);
    const e = b.run();
    expect(e.reason).toBe(ExitReason.EptMisconfig);
    expect(hex(e.guestPhysical)).toBe(hex(DATA));
  });
});
