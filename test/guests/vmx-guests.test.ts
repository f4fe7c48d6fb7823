// test/guests/vmx-guests.test.ts: the L1-hypervisor guests in guests/vmx/ (machine-code VMMs that enter VMX
// operation and run an L2 payload) on exitless, and our assembler against nasm on them. Leaves the VMX rules
// themselves to test/vmx/*. (QEMU TCG has no VMX: these guests have no QEMU oracle and are not in manifest.json.)

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { assembleFile } from '../../src/asm/index.js';
import { Cpu } from '../../src/cpu/cpu.js';
import { runImage } from '../../src/machine/run.js';
import { compareWithNasm, findNasm } from '../asm/nasm-compare.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const vmxDir = join(repoRoot, 'guests', 'vmx');
const MAX_CYCLES = 200_000_000;
const SUMMARY_LINE = /^SUMMARY: (\d+) tests(?:, (\d+) unexpected failures)?(?:, (\d+) skipped)?$/m;

interface VmxGuest {
  file: string;
  /** PASS lines expected. */
  passes: number;
  /**
   * FAIL lines caused by known exitless bugs (not by the guest), exactly as printed. Each one is temporary: when
   * the bug is fixed the line turns into a PASS and this list (and `passes`) must be updated.
   */
  knownFailures: string[];
}

// Regressions these guests caught (all fixed): VMLAUNCH right after MOV SS entered the guest instead of
// VMfailValid(26), and a fault-like exit right after STI / MOV SS saved no blocking in the interruptibility state
// (the run loop cleared the shadow before the shadowed instruction ran); a fault while delivering an injected
// event skipped the exception bitmap; an exit during delivery of a software interrupt reported length 0; a faulting
// IRET (a #GP, or an EPT violation reading its frame) left (virtual-)NMI blocking in effect and reported no "NMI
// unblocking due to IRET" (bit 12 of the exit interruption information / EPT-violation qualification).
const GUESTS: VmxGuest[] = [
  { file: 'vmx-basic.asm', passes: 106, knownFailures: [] },
  { file: 'vmx-exits.asm', passes: 91, knownFailures: [] },
  { file: 'vmx-inject.asm', passes: 64, knownFailures: [] },
  { file: 'vmx-preemption.asm', passes: 28, knownFailures: [] },
  { file: 'vmx-ept.asm', passes: 107, knownFailures: [] },
  { file: 'vmx-windows.asm', passes: 116, knownFailures: [] },
];

const nasm = findNasm();

describe('VMX guests assemble exactly like nasm -f bin', () => {
  if (!nasm) {
    it.skip('nasm not installed: byte-for-byte comparison skipped', () => {});
    return;
  }
  for (const g of GUESTS) {
    it(g.file, () => {
      expect(compareWithNasm(nasm, join(vmxDir, g.file)).report).toBe('');
    });
  }
});

describe('VMX guests on exitless', () => {
  for (const g of GUESTS) {
    for (const translate of [true, false]) {
      it(`${g.file} (translate=${translate})`, () => {
        const asm = assembleFile(join(vmxDir, g.file));
        expect(asm.errors).toEqual([]);
        const r = runImage(asm.bytes, { maxCycles: MAX_CYCLES, machine: { cpuFactory: (deps) => new Cpu({ ...deps, translate }) } });
        const lines = r.serial.split('\n');
        const context = `${g.file}:\n${r.serial}`;
        expect(r.stop, context).toBe('debug-exit');
        expect(
          lines.filter((l) => l.startsWith('FAIL') || l.startsWith('ABORT')),
          context,
        ).toEqual(g.knownFailures);
        expect(lines.filter((l) => l.startsWith('SKIP')), context).toEqual([]);
        expect(lines.filter((l) => l.startsWith('PASS')).length, context).toBe(g.passes);
        const summary = SUMMARY_LINE.exec(r.serial);
        expect(summary, context).not.toBeNull();
        expect(Number(summary![1])).toBe(g.passes + g.knownFailures.length);
        expect(summary![2]).toBe(g.knownFailures.length > 0 ? String(g.knownFailures.length) : undefined);
        // isa-debug-exit: status (code << 1) | 1; code 0 = every test passed, 1 = some failed (lib/report.inc).
        expect(r.exitStatus).toBe(g.knownFailures.length > 0 ? 3 : 1);
      });
    }
  }
});
