// test/hypervisor/trap-mode.test.ts: the hypervisor written in TypeScript (src/hypervisor) running guests in a VM:
// the same serial output and exit status as on the bare board (the bare run is the oracle, and the bare run is
// itself checked against QEMU in test/guests/qemu-oracle.test.ts), exits counted by reason, and the stops a VM
// must make instead of resuming silently (an exit with no handler, a failed VM entry).

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { assemble, assembleFile } from '../../src/asm/index.js';
import { runImage } from '../../src/machine/run.js';
import { ExitReason } from '../../src/vmx/controls.js';
import { EXIT_HANDLERS } from '../../src/hypervisor/exits.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const guest = (name: string): Uint8Array => {
  const a = assembleFile(join(repoRoot, 'guests', `${name}.asm`));
  expect(a.errors).toEqual([]);
  return a.bytes;
};

describe('--mode trap runs a guest as the bare board does', () => {
  for (const name of ['hello', 'cpu-exceptions', 'cpu-paging', 'cpu-string', 'cpu-far', 'cpu-shadows']) {
    it(name, () => {
      const image = guest(name);
      const bare = runImage(image, { maxCycles: 2_000_000_000 });
      const trap = runImage(image, { maxCycles: 2_000_000_000, mode: 'trap' });
      expect(bare.stop).toBe('debug-exit');
      expect(trap.stop).toBe('debug-exit');
      expect(trap.serial).toBe(bare.serial);
      expect(trap.exitStatus).toBe(bare.exitStatus);
      // Every COM1 access is an I/O exit: at least one per byte printed.
      expect(trap.vm!.exits.IO_INSTRUCTION).toBeGreaterThanOrEqual(trap.serial.length);
      expect(trap.vm!.entries).toBe(Object.values(trap.vm!.exits).reduce((a, b) => a + b, 0));
      // The exits cost simulated time (cost model): the VM run takes longer than the bare one.
      expect(trap.cycles).toBeGreaterThan(bare.cycles);
    });
  }

  it('cpu-shadows: the 8254 interrupts come back as external-interrupt exits and are injected at the interrupt window', () => {
    const trap = runImage(guest('cpu-shadows'), { maxCycles: 2_000_000_000, mode: 'trap' });
    expect(trap.vm!.exits.EXTERNAL_INTERRUPT).toBeGreaterThan(0);
    expect(trap.vm!.exits.INTERRUPT_WINDOW).toBeGreaterThan(0);
  });

  it('is deterministic: the same image gives the same exits and cycles', () => {
    const a = runImage(guest('cpu-exceptions'), { mode: 'trap' });
    const b = runImage(guest('cpu-exceptions'), { mode: 'trap' });
    expect(b.vm).toEqual(a.vm);
    expect(b.cycles).toBe(a.cycles);
  });
});

/** A flat multiboot kernel from NASM source (a.out kludge header at 1 MiB). */
function kernel(body: string): Uint8Array {
  const src = `bits 32
org 0x100000
header:
  dd 0x1badb002, 0x00010000, -(0x1badb002 + 0x00010000)
  dd header, header, end, end, start
start:
${body}
end:
`;
  const r = assemble(src, { fileName: 'k.asm' });
  expect(r.errors).toEqual([]);
  return r.bytes;
}

describe('the exit table', () => {
  it('names every basic exit reason (STYLE rule 8)', () => {
    // Every ExitReason the SDM defines for this CPU has an entry: a handler, or null for "must not happen".
    const reasons = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 36, 37, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56];
    for (const r of reasons) expect(r in EXIT_HANDLERS, `reason ${r}`).toBe(true);
    expect(EXIT_HANDLERS[ExitReason.Cpuid]).not.toBeNull();
  });

  it('a guest touching guest-physical memory outside RAM stops the VM with a dump (EPT violation)', () => {
    const r = runImage(kernel('mov eax, [0xd0000000]\nhlt'), { mode: 'trap', memoryBytes: 16 << 20 });
    expect(r.stop).toBe('unhandled-exit');
    expect(r.error).toMatch(/EPT violation at guest-physical d0000000/);
  });

  it('CPUID in the VM hides VMX and the local APIC; VMX instructions are #UD', () => {
    // CPUID.1:ECX[5] (VMX) and EDX[9] (APIC) are 0 in the VM; the bare CPU reports both.
    const body = `mov eax, 1
cpuid
mov esi, ecx
mov edi, edx
mov dx, 0xf4
mov eax, esi
shr eax, 5
and eax, 1
shl eax, 1
mov ebx, edi
shr ebx, 9
and ebx, 1
or eax, ebx
out dx, eax`;
    const bare = runImage(kernel(body), { memoryBytes: 16 << 20 });
    const trap = runImage(kernel(body), { mode: 'trap', memoryBytes: 16 << 20 });
    expect(bare.exitValue).toBe(3);
    expect(trap.exitValue).toBe(0);
    expect(trap.vm!.exits.CPUID).toBe(1);
  });

  it('an injected #GP: WRMSR to an MSR the VM lacks goes to the guest handler, not the host', () => {
    // IDT with one gate (#GP, vector 13) whose handler reports through the debug-exit port.
    const body = `mov esp, 0x90000
lgdt [gdtr]
lidt [idtr]
mov ecx, 0x12345
wrmsr
mov dx, 0xf4
mov eax, 0x55
out dx, eax
gp:
mov dx, 0xf4
mov eax, [esp]      ; the error code
add eax, 0x20
out dx, eax
align 8
idt:
  times 13 dq 0
  dw gp - 0x100000 + 0x0000, 0x08, 0x8e00, 0x0010
idtr:
  dw 14*8-1
  dd idt
gdt:
  dq 0
  dq 0x00cf9b000000ffff
  dq 0x00cf93000000ffff
gdtr:
  dw 3*8-1
  dd gdt`;
    const bare = runImage(kernel(body), { memoryBytes: 16 << 20 });
    expect(bare.exitValue).toBe(0x20);
    const trap = runImage(kernel(body), { mode: 'trap', memoryBytes: 16 << 20 });
    expect(trap.stop).toBe('debug-exit');
    expect(trap.exitValue).toBe(0x20); // error code 0
    expect(trap.vm!.exits.MSR_WRITE).toBe(1);
  });
});

describe('hostile guests under the hypervisor', () => {
  it('REP OUTSB with ECX = 0xFFFFFFFF is emulated in chunks: the run ends at the cycle limit, not in a host loop', () => {
    const body = `mov esp, 0x90000
mov ecx, 0xffffffff
mov esi, 0x200000
mov dx, 0x3ff        ; COM1 scratch register
rep outsb
hlt`;
    const r = runImage(kernel(body), { mode: 'trap', memoryBytes: 16 << 20, maxCycles: 50_000_000 });
    expect(r.stop).toBe('max-cycles');
    const ioExits = r.vm!.exits.IO_INSTRUCTION;
    expect(ioExits).toBeGreaterThan(1);
  });

  it('a REP INSB that fits in one chunk leaves ECX = 0 and ESI/EDI advanced, as on bare metal', () => {
    const body = `mov esp, 0x90000
mov edi, 0x200000
mov ecx, 5000
mov dx, 0x3fd        ; COM1 LSR
cld
rep insb
mov eax, edi
sub eax, 0x200000
add eax, ecx         ; 5000 + 0
mov dx, 0xf4
shr eax, 3           ; 625
out dx, eax`;
    const bare = runImage(kernel(body), { memoryBytes: 16 << 20 });
    const trap = runImage(kernel(body), { mode: 'trap', memoryBytes: 16 << 20 });
    expect(bare.exitValue).toBe(625);
    expect(trap.exitValue).toBe(625);
    expect(trap.vm!.exits.IO_INSTRUCTION).toBe(3); // two chunks of the REP INSB (4096 + 904), then the OUT
  });
});
