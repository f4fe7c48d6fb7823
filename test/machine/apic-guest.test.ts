// test/machine/apic-guest.test.ts: guests/apic-selfipi.asm on the board: CPUID, IA32_APIC_BASE, the xAPIC
// page, x2APIC MSRs, a self-IPI taken after STI and its EOI — the CPU, the APIC and the router together.
// Leaves the APIC's register rules to test/devices/apic. (QEMU 7.2 TCG has no x2APIC, so no QEMU oracle here.)

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { assembleFile } from '../../src/asm/index.js';
import { Cpu } from '../../src/cpu/cpu.js';
import { runImage } from '../../src/machine/run.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

describe('guests/apic-selfipi.asm', () => {
  const asm = assembleFile(join(repoRoot, 'guests', 'apic-selfipi.asm'));

  for (const translate of [true, false]) {
    it(`passes every check (translate=${translate})`, () => {
      expect(asm.errors).toEqual([]);
      const r = runImage(asm.bytes, {
        maxCycles: 10_000_000,
        machine: { cpuFactory: (deps) => new Cpu({ ...deps, translate }) },
      });
      expect(r.serial).not.toContain('FAIL');
      expect(r.serial).toMatch(/^SUMMARY: 8 tests$/m);
      expect(r.exitStatus).toBe(1);
    });
  }
});
