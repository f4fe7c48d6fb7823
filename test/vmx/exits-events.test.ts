// VM exits caused by events in the guest (SDM Vol. 3C 26.2 "Other causes of VM exits", 26.7 "Features specific
// to VMX non-root operation", 28.2 exit information): the exception bitmap with the #PF error-code rule, NMIs,
// external interrupts with and without acknowledge-on-exit, triple faults, the interrupt and NMI windows, the
// VMX-preemption timer and the monitor trap flag. Each with the control-off case.
// Section numbers: SDM Vol. 3C, 2023 edition (25 VMCS, 26 non-root operation, 27 VM entries, 28 VM exits, 31 VMX
// instructions); earlier editions number these chapters one lower.

import { describe, expect, it } from 'vitest';
import { Reg } from '../../src/cpu/registers.js';
import { ExitCtl, ExitReason, Pin, Proc } from '../../src/vmx/controls.js';
import { VmcsField as F } from '../../src/vmx/vmcs-fields.js';
import { VM_ENTRY_CYCLES, VM_EXIT_CYCLES } from '../../src/vmx/cost-model.js';
import { GUEST_CODE, GUEST_IDT, GUEST_STACK, STUB_BASE, type VmxBench, vmxBench } from '../helpers/vmx-runner.js';

const hex = (v: number): string => '0x' + (v >>> 0).toString(16);
const VALID = 0x80000000;
const ERROR_VALID = 1 << 11;
/** Interruption information (SDM 25.9.2): vector, type, error-code valid, valid. */
const intr = (vector: number, type: number, error = false): number => (VALID | (type << 8) | (error ? ERROR_VALID : 0) | vector) >>> 0;
const IF = 1 << 9;

/** The guest delivered vector v through its IDT: the handler stub's HLT exits (HLT exiting on). */
function expectHandler(b: VmxBench, vector: number): ReturnType<VmxBench['run']> {
  const e = b.run();
  expect(e.reason).toBe(ExitReason.Hlt);
  expect(hex(e.rip)).toBe(hex(STUB_BASE + vector));
  return e;
}

describe('exception bitmap (exit 0; SDM 26.2, 28.2.2)', () => {
  it('#UD (UD2) with bit 6: exit 0, type 3 vector 6, no error code; RIP = UD2; RSP and RFLAGS as before', () => {
    const b = vmxBench('stc\nat: ud2');
    b.write(F.ExceptionBitmap, 1 << 6);
    const e = b.run();
    expect(e.reason).toBe(ExitReason.ExceptionOrNmi);
    expect(hex(e.interruptionInfo)).toBe(hex(intr(6, 3)));
    expect(hex(e.rip)).toBe(hex(b.sym('at')));
    expect(e.idtVectoring).toBe(0);
    expect(hex(b.read(F.GuestRsp))).toBe(hex(GUEST_STACK));
    expect(b.read(F.GuestRflags) & 1).toBe(1); // CF from STC
  });

  it('bit 6 clear: #UD is delivered through the guest IDT (vector 6; pushed EIP = UD2, CS, EFLAGS)', () => {
    const b = vmxBench('stc\nat: ud2');
    b.set(F.ProcControls, Proc.HltExiting);
    expectHandler(b, 6);
    expect(b.stack(3).map(hex)).toEqual([b.sym('at'), 0x08, 0x3].map(hex));
  });

  it('#GP with an error code (MOV DS, selector beyond the GDT limit): error-code valid, error = selector', () => {
    const b = vmxBench('mov ax, 0x0f00\nat: mov ds, ax');
    b.write(F.ExceptionBitmap, 1 << 13);
    const e = b.run();
    expect(e.reason).toBe(ExitReason.ExceptionOrNmi);
    expect(hex(e.interruptionInfo)).toBe(hex(intr(13, 3, true)));
    expect(hex(e.interruptionError)).toBe(hex(0x0f00));
    expect(hex(e.rip)).toBe(hex(b.sym('at')));
  });

  it('bit 13 clear: the #GP goes to the guest with its error code on the stack', () => {
    const b = vmxBench('mov ax, 0x0f00\nat: mov ds, ax');
    b.set(F.ProcControls, Proc.HltExiting);
    expectHandler(b, 13);
    expect(b.stack(2).map(hex)).toEqual([0x0f00, b.sym('at')].map(hex));
  });

  it('INT3 with bit 3: software exception (type 6), instruction length 1, RIP = INT3', () => {
    const b = vmxBench('nop\nat: int3\nnext: nop');
    b.write(F.ExceptionBitmap, 1 << 3);
    const e = b.run();
    expect(e.reason).toBe(ExitReason.ExceptionOrNmi);
    expect(hex(e.interruptionInfo)).toBe(hex(intr(3, 6)));
    expect(hex(e.rip)).toBe(hex(b.sym('at'))); // SDM 28.3.3: references the INT3 instruction
    expect(e.length).toBe(1);
  });

  it('bit 3 clear: INT3 reaches the guest handler with the return address after INT3', () => {
    const b = vmxBench('nop\nat: int3\nnext: nop');
    b.set(F.ProcControls, Proc.HltExiting);
    expectHandler(b, 3);
    expect(hex(b.stack(1)[0])).toBe(hex(b.sym('next')));
  });

  it('INTO with OF = 1 and bit 4: type 6 vector 4, length 1', () => {
    const b = vmxBench('mov al, 0x7f\nadd al, 1\nat: into\nnext: nop');
    b.write(F.ExceptionBitmap, 1 << 4);
    const e = b.run();
    expect(hex(e.interruptionInfo)).toBe(hex(intr(4, 6)));
    expect(hex(e.rip)).toBe(hex(b.sym('at')));
    expect(e.length).toBe(1);
  });

  it('INT n never exits through the exception bitmap (all bits set): it is delivered through the guest IDT', () => {
    const b = vmxBench('at: int 0x40\nnext: nop');
    b.write(F.ExceptionBitmap, -1);
    b.set(F.ProcControls, Proc.HltExiting);
    expectHandler(b, 0x40);
    expect(hex(b.stack(1)[0])).toBe(hex(b.sym('next')));
  });

  it('a fault while delivering an exception exits with the first event in IDT-vectoring information', () => {
    // IDTR limit 0: delivering #UD (vector 6) faults with #GP(6*8+2+1) (EXT: a hardware exception, SDM 6.13).
    const b = vmxBench('at: ud2');
    b.write(F.ExceptionBitmap, 1 << 13);
    b.write(F.GuestIdtrLimit, 0);
    const e = b.run();
    expect(hex(e.interruptionInfo)).toBe(hex(intr(13, 3, true)));
    expect(hex(e.interruptionError)).toBe(hex(6 * 8 + 2 + 1));
    expect(hex(e.idtVectoring)).toBe(hex(intr(6, 3)));
    expect(hex(e.rip)).toBe(hex(b.sym('at')));
  });

  it('a fault while delivering INT n: IDT-vectoring type 4, the INT instruction\'s length, RIP = INT n', () => {
    const b = vmxBench('nop\nat: int 0x40\nnext: nop');
    b.memory.write(GUEST_IDT + 0x40 * 8 + 4, 4, b.memory.read(GUEST_IDT + 0x40 * 8 + 4, 4) & ~0x8000); // not present
    b.write(F.ExceptionBitmap, 1 << 11);
    const e = b.run();
    expect(hex(e.interruptionInfo)).toBe(hex(intr(11, 3, true)));
    expect(hex(e.interruptionError)).toBe(hex(0x40 * 8 + 2)); // IDT, EXT = 0 for INT n
    expect(hex(e.idtVectoring)).toBe(hex(intr(0x40, 4)));
    expect(e.length).toBe(2); // SDM 28.2.4: exits during delivery of a software interrupt
    expect(hex(e.rip)).toBe(hex(b.sym('at')));
  });
});

describe('#PF and the page-fault error-code mask/match (SDM 26.2: bit 14 and PFEC & MASK == MATCH)', () => {
  /** Guest paging with page 0x300000 not present; the guest sets CR2 = 0x1111, then writes 0x300010 (PFEC = W). */
  function pfBench(bit14: boolean, match: number): VmxBench {
    const b = vmxBench('mov eax, 0x1111\nmov cr2, eax\nmov ebx, 0x300010\nat: mov [ebx], eax\nnext: hlt');
    b.guestPaging().setGuestPte(0x300000, 0);
    b.set(F.ProcControls, Proc.HltExiting);
    b.write(F.ExceptionBitmap, bit14 ? 1 << 14 : 0);
    b.write(F.PfErrorCodeMask, 0x2); // the W bit
    b.write(F.PfErrorCodeMatch, match);
    return b;
  }

  function expectPfExit(b: VmxBench): void {
    const e = b.run();
    expect(e.reason).toBe(ExitReason.ExceptionOrNmi);
    expect(hex(e.interruptionInfo)).toBe(hex(intr(14, 3, true)));
    expect(e.interruptionError).toBe(2); // not present, write, supervisor
    expect(hex(e.qualification)).toBe(hex(0x300010)); // the linear address (SDM 28.2.1)
    expect(hex(e.rip)).toBe(hex(b.sym('at')));
    expect(hex(b.cpu.cr2)).toBe(hex(0x1111)); // CR2 is not loaded (SDM 26.2)
  }

  function expectPfDelivered(b: VmxBench): void {
    expectHandler(b, 14);
    expect(b.stack(2).map(hex)).toEqual([2, b.sym('at')].map(hex));
    expect(hex(b.cpu.cr2)).toBe(hex(0x300010));
  }

  it('bit 14 = 1, error code matches: exit', () => expectPfExit(pfBench(true, 0x2)));
  it('bit 14 = 1, no match: delivered to the guest', () => expectPfDelivered(pfBench(true, 0x0)));
  it('bit 14 = 0, error code matches: delivered to the guest', () => expectPfDelivered(pfBench(false, 0x2)));
  it('bit 14 = 0, no match: exit', () => expectPfExit(pfBench(false, 0x0)));
});

describe('NMI (exit 0 type 2 with NMI exiting; else delivered through guest IDT vector 2)', () => {
  it('NMI exiting: exit 0, interruption information type 2 vector 2, RIP = the interrupted instruction; NMIs blocked in the host', () => {
    const b = vmxBench('spin: jmp spin');
    b.set(F.PinControls, Pin.NmiExiting);
    b.nmi(b.scheduler.now + 5000);
    const e = b.run();
    expect(e.reason).toBe(ExitReason.ExceptionOrNmi);
    expect(hex(e.interruptionInfo)).toBe(hex(intr(2, 2)));
    expect(hex(e.rip)).toBe(hex(b.sym('spin')));
    expect(b.cpu.nmiPending).toBe(false); // consumed by the exit
    expect(b.cpu.nmiBlocked).toBe(true); // SDM 28.5.5: exits caused by NMIs block NMIs
    expect(b.read(F.GuestInterruptibility) & 8).toBe(0);
  });

  it('without NMI exiting: delivered through vector 2; the guest is then blocking NMIs', () => {
    const b = vmxBench('spin: jmp spin');
    b.set(F.ProcControls, Proc.HltExiting);
    b.nmi(b.scheduler.now + 5000);
    expectHandler(b, 2);
    expect(hex(b.stack(1)[0])).toBe(hex(b.sym('spin')));
    expect(b.read(F.GuestInterruptibility) & 8).toBe(8); // blocking by NMI until IRET
  });
});

describe('external interrupts (exit 1 with external-interrupt exiting; SDM 26.2, 28.2.2)', () => {
  it('without acknowledge-on-exit: exit 1 with interruption information invalid; the interrupt stays pending; IF = 0 does not block it', () => {
    const b = vmxBench('at: nop');
    b.set(F.PinControls, Pin.ExternalInterruptExiting);
    b.interrupt(0x30);
    const e = b.run();
    expect(e.reason).toBe(ExitReason.ExternalInterrupt);
    expect(e.interruptionInfo).toBe(0);
    expect(hex(e.rip)).toBe(hex(b.sym('at')));
    expect(b.read(F.GuestRflags) & IF).toBe(0);
    expect(b.intc.pending).toEqual([0x30]);
    expect(b.intc.acknowledged).toEqual([]);
    expect(b.cpu.getFlags()).toBe(0x2); // host RFLAGS after an exit (SDM 28.5.3)
  });

  it('with acknowledge-on-exit: the vector in the interruption information (type 0), acknowledged once', () => {
    const b = vmxBench('spin: jmp spin');
    b.set(F.PinControls, Pin.ExternalInterruptExiting).set(F.ExitControls, ExitCtl.AckInterruptOnExit);
    b.interrupt(0x30, b.scheduler.now + 3000);
    const e = b.run();
    expect(e.reason).toBe(ExitReason.ExternalInterrupt);
    expect(hex(e.interruptionInfo)).toBe(hex(intr(0x30, 0)));
    expect(hex(e.rip)).toBe(hex(b.sym('spin')));
    expect(b.intc.acknowledged).toEqual([0x30]);
    expect(b.intc.pending).toEqual([]);
  });

  it('wakes a halted guest: RIP after HLT, activity state HLT saved', () => {
    const b = vmxBench('hlt\nat: nop');
    b.set(F.PinControls, Pin.ExternalInterruptExiting);
    b.interrupt(0x30, b.scheduler.now + 20_000);
    const e = b.run();
    expect(e.reason).toBe(ExitReason.ExternalInterrupt);
    expect(hex(e.rip)).toBe(hex(b.sym('at')));
    expect(b.read(F.GuestActivityState)).toBe(1);
  });

  it('blocking by STI still blocks the exit: one instruction runs first', () => {
    const b = vmxBench('nop\nat: nop');
    b.set(F.PinControls, Pin.ExternalInterruptExiting);
    b.write(F.GuestRflags, 0x2 | IF);
    b.write(F.GuestInterruptibility, 1); // blocking by STI
    b.interrupt(0x30);
    const e = b.run();
    expect(e.reason).toBe(ExitReason.ExternalInterrupt);
    expect(hex(e.rip)).toBe(hex(b.sym('at')));
  });

  it('control off, IF = 1: delivered through the guest IDT and acknowledged', () => {
    const b = vmxBench('at: nop');
    b.set(F.ProcControls, Proc.HltExiting);
    b.write(F.GuestRflags, 0x2 | IF);
    b.interrupt(0x30);
    expectHandler(b, 0x30);
    expect(b.stack(3).map(hex)).toEqual([b.sym('at'), 0x08, 0x2 | IF].map(hex));
    expect(b.intc.acknowledged).toEqual([0x30]);
    expect(b.read(F.GuestRflags) & IF).toBe(0); // an interrupt gate cleared IF
  });

  it('control off, IF = 0: not delivered; the guest runs on and the interrupt stays pending', () => {
    const b = vmxBench('nop\nat: cpuid');
    b.interrupt(0x30);
    const e = b.run();
    expect(e.reason).toBe(ExitReason.Cpuid);
    expect(hex(e.rip)).toBe(hex(b.sym('at')));
    expect(b.intc.pending).toEqual([0x30]);
  });
});

describe('triple fault (exit 2)', () => {
  it('an exception that cannot be delivered, nor its #DF: exit 2, RIP = the faulting instruction, no IDT-vectoring information', () => {
    const b = vmxBench('nop\nat: ud2');
    b.write(F.GuestIdtrLimit, 0);
    const e = b.run();
    expect(e.reason).toBe(ExitReason.TripleFault);
    expect(hex(e.rip)).toBe(hex(b.sym('at'))); // SDM 28.3.3: the return pointer the #DF would have pushed
    expect(e.idtVectoring).toBe(0); // SDM 28.2.3: not for triple faults
    expect(b.cpu.shutdown).toBe(false); // the host runs on
    expect(b.cpu.nonRoot).toBe(false);
  });

  it('#DF in the exception bitmap: exit 0 with vector 8, error code 0, and no IDT-vectoring information', () => {
    const b = vmxBench('at: ud2');
    b.write(F.GuestIdtrLimit, 0);
    b.write(F.ExceptionBitmap, 1 << 8);
    const e = b.run();
    expect(e.reason).toBe(ExitReason.ExceptionOrNmi);
    expect(hex(e.interruptionInfo)).toBe(hex(intr(8, 3, true)));
    expect(e.interruptionError).toBe(0);
    expect(e.idtVectoring).toBe(0); // SDM 28.2.3: a #DF that causes the exit directly
  });
});

describe('interrupt-window exiting (exit 7; SDM "Interrupt-Window Exiting")', () => {
  it('IF = 1 and no blocking at entry: exit before the first instruction', () => {
    const b = vmxBench('at: nop');
    b.set(F.ProcControls, Proc.InterruptWindowExiting);
    b.write(F.GuestRflags, 0x2 | IF);
    const e = b.run();
    expect(e.reason).toBe(ExitReason.InterruptWindow);
    expect(hex(e.rip)).toBe(hex(b.sym('at')));
    expect(e.qualification).toBe(0);
  });

  it('not while IF = 0; after STI, only once its shadow has passed (after the instruction following STI)', () => {
    const b = vmxBench('mov eax, 1\nsti\nnop\nat: nop');
    b.set(F.ProcControls, Proc.InterruptWindowExiting);
    const e = b.run();
    expect(e.reason).toBe(ExitReason.InterruptWindow);
    expect(hex(e.rip)).toBe(hex(b.sym('at')));
    expect(b.read(F.GuestInterruptibility) & 3).toBe(0);
  });

  it('blocking by MOV SS in the interruptibility state at entry delays it by one instruction', () => {
    const b = vmxBench('nop\nat: nop');
    b.set(F.ProcControls, Proc.InterruptWindowExiting);
    b.write(F.GuestRflags, 0x2 | IF);
    b.write(F.GuestInterruptibility, 2);
    expect(b.run().rip).toBe(b.sym('at'));
  });

  it('has priority over an external interrupt the guest would take (control off: the guest takes it)', () => {
    const b = vmxBench('at: nop');
    b.set(F.ProcControls, Proc.InterruptWindowExiting);
    b.write(F.GuestRflags, 0x2 | IF);
    b.interrupt(0x30);
    expect(b.run().reason).toBe(ExitReason.InterruptWindow);
    expect(b.intc.acknowledged).toEqual([]);
  });

  it('wakes a guest that halted in the STI shadow: RIP after HLT, activity state HLT', () => {
    const b = vmxBench('sti\nhlt\nat: nop');
    b.set(F.ProcControls, Proc.InterruptWindowExiting);
    const e = b.run();
    expect(e.reason).toBe(ExitReason.InterruptWindow);
    expect(hex(e.rip)).toBe(hex(b.sym('at')));
    expect(b.read(F.GuestActivityState)).toBe(1);
  });

  it('control off: no exit with IF = 1', () => {
    const b = vmxBench('nop\nat: cpuid');
    b.write(F.GuestRflags, 0x2 | IF);
    expect(b.run().reason).toBe(ExitReason.Cpuid);
  });
});

describe('the interruptibility state saved by an exit in an STI or MOV SS shadow (SDM 28.3.4)', () => {
  it('CPUID right after STI: blocking by STI is saved (bit 0), with IF = 1', () => {
    const b = vmxBench('sti\nat: cpuid');
    const e = b.run();
    expect(e.reason).toBe(ExitReason.Cpuid);
    expect(hex(e.rip)).toBe(hex(b.sym('at')));
    expect(b.read(F.GuestInterruptibility) & 3).toBe(1);
    expect(b.read(F.GuestRflags) & IF).toBe(IF);
  });

  it('CPUID right after MOV SS: blocking by MOV SS is saved (bit 1)', () => {
    const b = vmxBench('mov ax, ss\nmov ss, ax\nat: cpuid');
    expect(b.run().reason).toBe(ExitReason.Cpuid);
    expect(b.read(F.GuestInterruptibility) & 3).toBe(2);
  });

  it('one instruction later the blocking is over (control)', () => {
    const b = vmxBench('sti\nnop\nat: cpuid');
    expect(b.run().reason).toBe(ExitReason.Cpuid);
    expect(b.read(F.GuestInterruptibility) & 3).toBe(0);
  });
});

describe('NMI-window exiting (exit 8; requires virtual NMIs, SDM "NMI-Window Exiting")', () => {
  const nmiWindow = (b: VmxBench): VmxBench => b.set(F.PinControls, Pin.NmiExiting | Pin.VirtualNmis).set(F.ProcControls, Proc.NmiWindowExiting);

  it('no virtual-NMI blocking: exit before the first instruction', () => {
    const b = nmiWindow(vmxBench('at: nop'));
    const e = b.run();
    expect(e.reason).toBe(ExitReason.NmiWindow);
    expect(hex(e.rip)).toBe(hex(b.sym('at')));
  });

  it('virtual-NMI blocking: no exit until IRET unblocks, then before the next instruction', () => {
    const b = nmiWindow(vmxBench('pushfd\npush cs\npush dword at\niretd\nat: nop'));
    b.write(F.GuestInterruptibility, 8);
    const e = b.run();
    expect(e.reason).toBe(ExitReason.NmiWindow);
    expect(hex(e.rip)).toBe(hex(b.sym('at')));
    expect(b.read(F.GuestInterruptibility) & 8).toBe(0);
  });

  it('control off: no exit', () => {
    const b = vmxBench('nop\nat: cpuid');
    b.set(F.PinControls, Pin.NmiExiting | Pin.VirtualNmis);
    expect(b.run().reason).toBe(ExitReason.Cpuid);
  });
});

describe('IRET and NMI blocking (SDM 6.7.1, 26.3, 28.1, 28.2.3 "NMI unblocking due to IRET")', () => {
  /** An IRET whose frame's CS (0x0f00) lies beyond the GDT limit: #GP(0x0f00), an exit with exception bitmap bit 13. */
  const badIret = 'pushfd\npush dword 0x0f00\npush dword 0\nat: iretd';
  const NMI_BLOCKING = 8;
  const UNBLOCKING = 1 << 12;

  it('virtual NMIs: a faulting IRET ends virtual-NMI blocking before the exit and sets bit 12 of the interruption information', () => {
    const b = vmxBench(badIret);
    b.set(F.PinControls, Pin.NmiExiting | Pin.VirtualNmis);
    b.write(F.ExceptionBitmap, 1 << 13);
    b.write(F.GuestInterruptibility, NMI_BLOCKING);
    const e = b.run();
    expect(e.reason).toBe(ExitReason.ExceptionOrNmi);
    expect(hex(e.interruptionInfo)).toBe(hex(intr(13, 3, true) | UNBLOCKING));
    expect(hex(e.interruptionError)).toBe(hex(0x0f00));
    expect(hex(e.rip)).toBe(hex(b.sym('at')));
    expect(b.read(F.GuestInterruptibility) & NMI_BLOCKING).toBe(0);
  });

  it('virtual NMIs without blocking: the same #GP has bit 12 clear', () => {
    const b = vmxBench(badIret);
    b.set(F.PinControls, Pin.NmiExiting | Pin.VirtualNmis);
    b.write(F.ExceptionBitmap, 1 << 13);
    expect(hex(b.run().interruptionInfo)).toBe(hex(intr(13, 3, true)));
  });

  it('no NMI exiting: a faulting IRET ends blocking by NMI and sets bit 12', () => {
    const b = vmxBench(badIret);
    b.write(F.ExceptionBitmap, 1 << 13);
    b.write(F.GuestInterruptibility, NMI_BLOCKING);
    expect(hex(b.run().interruptionInfo)).toBe(hex(intr(13, 3, true) | UNBLOCKING));
    expect(b.read(F.GuestInterruptibility) & NMI_BLOCKING).toBe(0);
  });

  it('a faulting IRET delivered to the guest (no exit) has still ended the blocking', () => {
    const b = vmxBench(badIret);
    b.set(F.ProcControls, Proc.HltExiting);
    b.write(F.GuestInterruptibility, NMI_BLOCKING);
    expectHandler(b, 13);
    expect(b.read(F.GuestInterruptibility) & NMI_BLOCKING).toBe(0);
  });

  it('a fault after the IRET is not one on IRET: bit 12 clear', () => {
    const b = vmxBench('pushfd\npush cs\npush dword at\niretd\nat: ud2');
    b.set(F.PinControls, Pin.NmiExiting | Pin.VirtualNmis);
    b.write(F.ExceptionBitmap, 1 << 6);
    b.write(F.GuestInterruptibility, NMI_BLOCKING);
    expect(hex(b.run().interruptionInfo)).toBe(hex(intr(6, 3)));
  });

  it('NMI exiting without virtual NMIs: IRET does not affect blocking by NMI', () => {
    const b = vmxBench('pushfd\npush cs\npush dword at\niretd\nat: cpuid');
    b.set(F.PinControls, Pin.NmiExiting);
    b.write(F.GuestInterruptibility, NMI_BLOCKING);
    expect(b.run().reason).toBe(ExitReason.Cpuid);
    expect(b.read(F.GuestInterruptibility) & NMI_BLOCKING).toBe(NMI_BLOCKING);
  });
});

describe('VMX-preemption timer (exit 52; SDM 26.5.1, IA32_VMX_MISC[4:0])', () => {
  const rate = (b: VmxBench): number => {
    b.cpu.msr.read(0x485);
    return b.cpu.msr.lo & 0x1f;
  };

  it('IA32_VMX_MISC reports rate 5: one tick per 32 TSC cycles', () => {
    expect(rate(vmxBench('nop'))).toBe(5);
  });

  it('value 0: exit before the first guest instruction, qualification 0', () => {
    const b = vmxBench('at: nop');
    b.set(F.PinControls, Pin.PreemptionTimer).write(F.PreemptionTimerValue, 0);
    const e = b.run();
    expect(e.reason).toBe(ExitReason.PreemptionTimer);
    expect(hex(e.rip)).toBe(hex(b.sym('at')));
    expect(e.qualification).toBe(0);
  });

  it('value V expires after V ticks of 2^rate TSC cycles, counted from the entry', () => {
    // The guest records its first TSC (EDI) and keeps reading it (ESI); the exit comes V ticks after entry.
    const v = 100;
    const b = vmxBench('rdtsc\nmov edi, eax\nspin: rdtsc\nmov esi, eax\njmp spin');
    b.set(F.PinControls, Pin.PreemptionTimer).write(F.PreemptionTimerValue, v);
    const e = b.run();
    expect(e.reason).toBe(ExitReason.PreemptionTimer);
    const tick = 1 << rate(b);
    const elapsed = (b.cpu.reg32[Reg.ESI] - b.cpu.reg32[Reg.EDI]) >>> 0;
    // The deadline is at most V ticks after the first RDTSC, and one tick less at worst (the first tick can be
    // partial); the guest's last RDTSC is at most one loop iteration (< one tick) before it.
    expect(elapsed).toBeLessThanOrEqual(v * tick);
    expect(elapsed).toBeGreaterThanOrEqual((v - 2) * tick);
  });

  it('"save VMX-preemption timer value": the remaining count is written back on exit; the next entry counts from it', () => {
    // The guest measures the time it runs (EDI: first TSC, ESI: last) before an exiting CPUID.
    const v = 1000;
    const b = vmxBench('rdtsc\nmov edi, eax\nmov ecx, 100\nl: loop l\nrdtsc\nmov esi, eax\ncpuid\nspin: jmp spin');
    b.set(F.PinControls, Pin.PreemptionTimer).set(F.ExitControls, ExitCtl.SavePreemptionTimer).write(F.PreemptionTimerValue, v);
    expect(b.run().reason).toBe(ExitReason.Cpuid);
    const ticks = ((b.cpu.reg32[Reg.ESI] - b.cpu.reg32[Reg.EDI]) >>> 0) / 32;
    expect(ticks).toBeGreaterThan(2);
    const left = b.read(F.PreemptionTimerValue);
    expect(left).toBeLessThanOrEqual(v - Math.floor(ticks) + 1);
    expect(left).toBeGreaterThanOrEqual(v - Math.ceil(ticks) - 1);
    // The next entry counts down from the saved value: the guest's spin lasts `left` ticks.
    b.skip();
    b.write(F.GuestRip, b.sym('spin'));
    const t0 = b.scheduler.now;
    expect(b.run().reason).toBe(ExitReason.PreemptionTimer);
    expect(b.read(F.PreemptionTimerValue)).toBe(0);
    // The clock also moved by the entry's and the exit's own cost (cost-model.ts; no control changed since).
    const spun = (b.scheduler.now - t0 - VM_ENTRY_CYCLES - VM_EXIT_CYCLES) / 32;
    expect(spun).toBeGreaterThan(left - 1);
    expect(spun).toBeLessThanOrEqual(left);
  });

  it('without "save VMX-preemption timer value" the field keeps its value', () => {
    const b = vmxBench('mov ecx, 100\nl: loop l\ncpuid');
    b.set(F.PinControls, Pin.PreemptionTimer).write(F.PreemptionTimerValue, 1000);
    expect(b.run().reason).toBe(ExitReason.Cpuid);
    expect(b.read(F.PreemptionTimerValue)).toBe(1000);
  });

  it('control off: no timer exit', () => {
    const b = vmxBench('mov ecx, 1000\nspin: loop spin\nat: cpuid');
    b.write(F.PreemptionTimerValue, 0);
    expect(b.run().reason).toBe(ExitReason.Cpuid);
  });
});

describe('monitor trap flag (exit 37; SDM 26.5.2)', () => {
  it('exits after one instruction with RIP = the next instruction; again after the next one', () => {
    const b = vmxBench('mov eax, 5\nsecond: inc eax\nthird: nop');
    b.set(F.ProcControls, Proc.MonitorTrapFlag);
    const e = b.run();
    expect(e.reason).toBe(ExitReason.MonitorTrapFlag);
    expect(hex(e.rip)).toBe(hex(b.sym('second')));
    expect(e.qualification).toBe(0);
    expect(b.cpu.reg32[Reg.EAX]).toBe(5);
    const f = b.run();
    expect(f.reason).toBe(ExitReason.MonitorTrapFlag);
    expect(hex(f.rip)).toBe(hex(b.sym('third')));
    expect(b.cpu.reg32[Reg.EAX]).toBe(6);
  });

  it('an instruction that faults: the exit comes after the fault is delivered (RIP = the handler)', () => {
    const b = vmxBench('ud2');
    b.set(F.ProcControls, Proc.MonitorTrapFlag);
    const e = b.run();
    expect(e.reason).toBe(ExitReason.MonitorTrapFlag);
    expect(hex(e.rip)).toBe(hex(STUB_BASE + 6));
  });

  it('an interrupt the guest takes: the exit comes after its delivery, before the handler runs', () => {
    const b = vmxBench('nop\nnop');
    b.set(F.ProcControls, Proc.MonitorTrapFlag);
    b.write(F.GuestRflags, 0x2 | IF);
    b.interrupt(0x31);
    const e = b.run();
    expect(e.reason).toBe(ExitReason.MonitorTrapFlag);
    expect(hex(e.rip)).toBe(hex(STUB_BASE + 0x31));
    expect(b.stack(1).map(hex)).toEqual([hex(GUEST_CODE)]);
  });

  it('control off: no exit', () => {
    const b = vmxBench('nop\nat: cpuid');
    expect(b.run().reason).toBe(ExitReason.Cpuid);
  });
});
