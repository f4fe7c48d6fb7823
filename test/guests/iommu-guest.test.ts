// test/guests/iommu-guest.test.ts: guests/iommu.asm on the board: the VT-d unit, the e1000 behind it and the
// x2APIC together (DMA translation, fault recording, the fault event MSI, interrupt remapping of the NIC's MSI).
// Leaves VT-d register and walk rules to the unit tests. (QEMU's `pc` board has no VT-d unit: no oracle here.)

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { assembleFile } from '../../src/asm/index.js';
import { Cpu } from '../../src/cpu/cpu.js';
import { runImage } from '../../src/machine/run.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

describe('guests/iommu.asm', () => {
  const asm = assembleFile(join(repoRoot, 'guests', 'iommu.asm'));

  for (const translate of [true, false]) {
    it(`passes every check (translate=${translate})`, () => {
      expect(asm.errors).toEqual([]);
      const r = runImage(asm.bytes, {
        maxCycles: 200_000_000,
        machine: { cpuFactory: (deps) => new Cpu({ ...deps, translate }) },
      });
      expect(r.stop).toBe('debug-exit');
      expect(r.serial).not.toContain('FAIL');
      expect(r.serial).toMatch(/^PASS: DMA fault: FRCD\[0\]: F, T = read, FR = 6 \(read not allowed\)$/m);
      expect(r.serial).toMatch(/^PASS: fault event: fault event MSI delivered \(vector 0x50\) once after STI$/m);
      expect(r.serial).toMatch(/^PASS: interrupt remapping: NIC MSI remapped to vector 0x51 and delivered once$/m);
      expect(r.serial).toMatch(/^SUMMARY: 66 tests$/m);
      expect(r.exitStatus).toBe(1);
    });
  }
});
