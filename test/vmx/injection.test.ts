// VM-entry event injection (SDM Vol. 3C 27.5 "Event Injection"; 27.2.1.3 its checks are entry-failure.test.ts'):
// each interruption type lands in the guest handler of its vector with the stack frame the SDM defines (return
// EIP = RIP for types 0, 2, 3; RIP + the VM-entry instruction length for 4, 5, 6), an injection wakes a guest in
// the HLT state, and an injected event whose delivery exits is reported as IDT-vectoring information.
// Section numbers: SDM Vol. 3C, 2023 edition (25 VMCS, 26 non-root operation, 27 VM entries, 28 VM exits, 31 VMX
// instructions); earlier editions number these chapters one lower.

import { describe, expect, it } from 'vitest';
import { ExitReason, Pin, Proc } from '../../src/vmx/controls.js';
import { VmcsField as F } from '../../src/vmx/vmcs-fields.js';
import { GUEST_CODE, GUEST_IDT, GUEST_STACK, STUB_BASE, type VmxBench, vmxBench } from '../helpers/vmx-runner.js';

const hex = (v: number): string => '0x' + (v >>> 0).toString(16);
const VALID = 0x80000000;
const ERROR_VALID = 1 << 11;
const info = (vector: number, type: number, error = false): number => (VALID | (type << 8) | (error ? ERROR_VALID : 0) | vector) >>> 0;
const IF = 1 << 9;

/** A guest at GUEST_CODE (`nop`s) with HLT exiting: the handler stub of the delivered vector exits with reason 12. */
function bench(): VmxBench {
  const b = vmxBench('nop\nnop\nnop\ncpuid');
  b.set(F.ProcControls, Proc.HltExiting);
  b.write(F.GuestRflags, 0x2 | IF);
  return b;
}

/** Injects and runs; the guest must halt in the handler of `vector`. Returns the frame at the saved ESP. */
function injectAndLand(b: VmxBench, entryInfo: number, vector: number, frameDwords: number): number[] {
  b.write(F.EntryInterruptionInfo, entryInfo);
  const e = b.run();
  expect(e.reason).toBe(ExitReason.Hlt);
  expect(hex(e.rip)).toBe(hex(STUB_BASE + vector));
  expect(hex(b.read(F.GuestRsp))).toBe(hex(GUEST_STACK - 4 * frameDwords));
  // Every VM exit clears the valid bit of the VM-entry interruption-information field (SDM 25.8.3): consumed once.
  expect(b.read(F.EntryInterruptionInfo) & VALID).toBe(0);
  return b.stack(frameDwords);
}

describe('event injection: each interruption type (SDM 27.5.1)', () => {
  it('external interrupt (type 0): vector 0x30, return EIP = RIP, EFLAGS with IF; the handler runs with IF = 0', () => {
    const b = bench();
    const frame = injectAndLand(b, info(0x30, 0), 0x30, 3);
    expect(frame.map(hex)).toEqual([GUEST_CODE, 0x08, 0x2 | IF].map(hex));
    expect(b.read(F.GuestRflags) & IF).toBe(0);
    expect(b.intc.acknowledged).toEqual([]); // injection does not touch the interrupt controller
  });

  it('NMI (type 2): vector 2, return EIP = RIP; the guest is then blocking NMIs', () => {
    const b = bench();
    const frame = injectAndLand(b, info(2, 2), 2, 3);
    expect(frame.map(hex)).toEqual([GUEST_CODE, 0x08, 0x2 | IF].map(hex));
    expect(b.read(F.GuestInterruptibility) & 8).toBe(8);
  });

  it('hardware exception without an error code (type 3, #UD): return EIP = RIP', () => {
    const b = bench();
    const frame = injectAndLand(b, info(6, 3), 6, 3);
    expect(frame.map(hex)).toEqual([GUEST_CODE, 0x08, 0x2 | IF].map(hex));
  });

  it('hardware exception with an error code (type 3, #GP): the error code is pushed below EIP', () => {
    const b = bench();
    b.write(F.EntryExceptionErrorCode, 0x1234);
    const frame = injectAndLand(b, info(13, 3, true), 13, 4);
    expect(frame.map(hex)).toEqual([0x1234, GUEST_CODE, 0x08, 0x2 | IF].map(hex));
  });

  it('hardware exception #PF (type 3) with its error code: CR2 is the VMM\'s business and is not written', () => {
    const b = bench();
    b.cpu.cr2 = 0x4444;
    b.write(F.EntryExceptionErrorCode, 0x2);
    const frame = injectAndLand(b, info(14, 3, true), 14, 4);
    expect(frame.map(hex)).toEqual([0x2, GUEST_CODE, 0x08, 0x2 | IF].map(hex));
    expect(hex(b.cpu.cr2)).toBe(hex(0x4444));
  });

  it('software interrupt (type 4, INT 0x40): return EIP = RIP + the VM-entry instruction length', () => {
    const b = bench();
    b.write(F.EntryInstructionLength, 2);
    const frame = injectAndLand(b, info(0x40, 4), 0x40, 3);
    expect(frame.map(hex)).toEqual([GUEST_CODE + 2, 0x08, 0x2 | IF].map(hex));
  });

  it('privileged software exception (type 5, INT1): return EIP = RIP + length', () => {
    const b = bench();
    b.write(F.EntryInstructionLength, 1);
    const frame = injectAndLand(b, info(1, 5), 1, 3);
    expect(frame.map(hex)).toEqual([GUEST_CODE + 1, 0x08, 0x2 | IF].map(hex));
  });

  it('software exception (type 6, INT3): return EIP = RIP + length', () => {
    const b = bench();
    b.write(F.EntryInstructionLength, 1);
    const frame = injectAndLand(b, info(3, 6), 3, 3);
    expect(frame.map(hex)).toEqual([GUEST_CODE + 1, 0x08, 0x2 | IF].map(hex));
  });

  it('an injected event is not intercepted by the exception bitmap (all bits set)', () => {
    const b = bench();
    b.write(F.ExceptionBitmap, -1);
    injectAndLand(b, info(6, 3), 6, 3);
  });

  it('an injected external interrupt ignores a pending one: the controller\'s interrupt waits', () => {
    const b = bench();
    b.interrupt(0x50);
    injectAndLand(b, info(0x30, 0), 0x30, 3);
    expect(b.intc.pending).toEqual([0x50]);
  });

  it('without injection the guest just runs (control)', () => {
    const b = bench();
    expect(b.run().reason).toBe(ExitReason.Cpuid);
  });
});

describe('injection and the HLT activity state (SDM 27.6.2: a vectoring entry leaves the guest active)', () => {
  it('an external interrupt injected into a guest in activity state HLT is delivered and the guest runs its handler', () => {
    const b = bench();
    b.write(F.GuestActivityState, 1);
    const frame = injectAndLand(b, info(0x30, 0), 0x30, 3);
    expect(hex(frame[0])).toBe(hex(GUEST_CODE));
    expect(b.read(F.GuestActivityState)).toBe(0);
  });

  it('an NMI injected into a guest in activity state HLT likewise', () => {
    const b = bench();
    b.write(F.GuestActivityState, 1);
    injectAndLand(b, info(2, 2), 2, 3);
  });

  it('control: activity state HLT without injection stays halted (no instruction runs, no exit)', () => {
    const b = bench();
    b.write(F.GuestActivityState, 1);
    const e = b.run(50_000);
    expect(e.stop).toBe('halt');
    expect(b.cpu.halted).toBe(true);
    expect(hex(b.cpu.eip)).toBe(hex(GUEST_CODE));
  });
});

describe('injection with the monitor trap flag (SDM 26.5.2)', () => {
  it('an MTF exit is pending before the first instruction after the entry: RIP = the handler', () => {
    const b = bench();
    b.set(F.ProcControls, Proc.MonitorTrapFlag);
    b.write(F.EntryInterruptionInfo, info(0x30, 0));
    const e = b.run();
    expect(e.reason).toBe(ExitReason.MonitorTrapFlag);
    expect(hex(e.rip)).toBe(hex(STUB_BASE + 0x30));
  });

  it('type 7 vector 0 (pending MTF) exits before the first instruction even with the MTF control 0, delivering nothing', () => {
    const b = bench();
    b.write(F.EntryInterruptionInfo, info(0, 7));
    const e = b.run();
    expect(e.reason).toBe(ExitReason.MonitorTrapFlag);
    expect(hex(e.rip)).toBe(hex(GUEST_CODE));
    expect(hex(b.read(F.GuestRsp))).toBe(hex(GUEST_STACK));
  });
});

describe('an injected event whose delivery causes a VM exit: IDT-vectoring information (SDM 27.5.1.2, 28.2.3)', () => {
  it('IDT gate not present with #NP in the exception bitmap: exit 0 (#NP, error = IDT index | IDT | EXT), the injected event in IDT-vectoring', () => {
    const b = bench();
    b.memory.write(GUEST_IDT + 0x30 * 8 + 4, 4, b.memory.read(GUEST_IDT + 0x30 * 8 + 4, 4) & ~0x8000);
    b.write(F.ExceptionBitmap, 1 << 11);
    b.write(F.EntryInterruptionInfo, info(0x30, 0));
    const e = b.run();
    expect(e.reason).toBe(ExitReason.ExceptionOrNmi);
    expect(hex(e.interruptionInfo)).toBe(hex(info(11, 3, true)));
    expect(hex(e.interruptionError)).toBe(hex(0x30 * 8 + 2 + 1)); // SDM 6.13: IDT bit, EXT for an external event
    expect(hex(e.idtVectoring)).toBe(hex(info(0x30, 0)));
    expect(hex(e.rip)).toBe(hex(GUEST_CODE));
    expect(hex(b.read(F.GuestRsp))).toBe(hex(GUEST_STACK)); // nothing pushed
  });

  it('an injected hardware exception with an error code: IDT-vectoring information and error code record it', () => {
    const b = bench();
    b.memory.write(GUEST_IDT + 13 * 8 + 4, 4, b.memory.read(GUEST_IDT + 13 * 8 + 4, 4) & ~0x8000);
    b.write(F.ExceptionBitmap, 1 << 11);
    b.write(F.EntryExceptionErrorCode, 0x18);
    b.write(F.EntryInterruptionInfo, info(13, 3, true));
    const e = b.run();
    expect(hex(e.interruptionInfo)).toBe(hex(info(11, 3, true)));
    expect(hex(e.idtVectoring)).toBe(hex(info(13, 3, true)));
    expect(hex(e.idtVectoringError)).toBe(hex(0x18));
  });

  it('an injected software interrupt: the exit records type 4 and the instruction length', () => {
    const b = bench();
    b.memory.write(GUEST_IDT + 0x40 * 8 + 4, 4, b.memory.read(GUEST_IDT + 0x40 * 8 + 4, 4) & ~0x8000);
    b.write(F.ExceptionBitmap, 1 << 11);
    b.write(F.EntryInstructionLength, 2);
    b.write(F.EntryInterruptionInfo, info(0x40, 4));
    const e = b.run();
    expect(hex(e.interruptionError)).toBe(hex(0x40 * 8 + 2)); // INT n: EXT = 0
    expect(hex(e.idtVectoring)).toBe(hex(info(0x40, 4)));
    expect(e.length).toBe(2); // SDM 28.2.4: the VM-entry instruction length, for a software event being delivered
    expect(hex(e.rip)).toBe(hex(GUEST_CODE)); // a fault during delivery of INT n is reported at the INT n
  });

  it('the IDT page not mapped by EPT: exit 48 reading the gate, the injected event in IDT-vectoring information', () => {
    const b = bench();
    b.ept4k(GUEST_IDT, 0);
    b.write(F.EntryInterruptionInfo, info(0x30, 0));
    const e = b.run();
    expect(e.reason).toBe(ExitReason.EptViolation);
    expect(hex(e.guestPhysical)).toBe(hex(GUEST_IDT + 0x30 * 8));
    expect(hex(e.qualification)).toBe(hex(1 | (1 << 7) | (1 << 8)));
    expect(hex(e.idtVectoring)).toBe(hex(info(0x30, 0)));
    expect(hex(e.rip)).toBe(hex(GUEST_CODE));
  });

  it('the stack page read-only in EPT: exit 48 writing the frame, IDT-vectoring information = the injected NMI', () => {
    const b = bench();
    b.ept4k(GUEST_STACK - 0x1000, 5);
    b.write(F.EntryInterruptionInfo, info(2, 2));
    const e = b.run();
    expect(e.reason).toBe(ExitReason.EptViolation);
    expect(hex(e.qualification)).toBe(hex(2 | (1 << 3) | (1 << 5) | (1 << 7) | (1 << 8)));
    expect(hex(e.idtVectoring)).toBe(hex(info(2, 2)));
    expect(hex(b.read(F.GuestRsp))).toBe(hex(GUEST_STACK));
  });

  it('re-injecting the IDT-vectoring information after the VMM fixes EPT delivers the event', () => {
    const b = bench();
    b.ept4k(GUEST_IDT, 0);
    b.write(F.EntryInterruptionInfo, info(0x30, 0));
    const e = b.run();
    b.ept4k(GUEST_IDT, 7);
    b.write(F.EntryInterruptionInfo, e.idtVectoring);
    const frame = injectAndLand(b, e.idtVectoring, 0x30, 3);
    expect(hex(frame[0])).toBe(hex(GUEST_CODE));
  });

  it('an injected exception that cannot be delivered, nor its #DF: triple fault (exit 2)', () => {
    const b = bench();
    b.write(F.GuestIdtrLimit, 0);
    b.write(F.EntryInterruptionInfo, info(6, 3));
    expect(b.run().reason).toBe(ExitReason.TripleFault);
  });

  it('NMI exiting does not intercept an injected NMI', () => {
    const b = bench();
    b.set(F.PinControls, Pin.NmiExiting);
    injectAndLand(b, info(2, 2), 2, 3);
  });
});
