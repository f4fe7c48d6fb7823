// test/cpu/translator.test.ts: the block translator against the interpreter, its reference. Same guests,
// same serial bytes, same instruction and cycle counts; and self-modifying code inside a translated loop.
// Leaves the instructions' own semantics to the oracle tests.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { assemble, assembleFile } from '../../src/asm/index.js';
import { PortBus } from '../../src/core/bus.js';
import { PhysicalMemory } from '../../src/core/physical-memory.js';
import { Scheduler } from '../../src/core/scheduler.js';
import { Cpu } from '../../src/cpu/cpu.js';
import { runImage, type RunResult } from '../../src/machine/run.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const benchDir = process.env.EXITLESS_BENCH_DIR ?? join(repoRoot, '..', 'shared', 'bench');

function run(image: Uint8Array, translate: boolean): RunResult {
  return runImage(image, {
    memoryBytes: 32 << 20,
    maxCycles: 200_000_000,
    machine: { cpuFactory: (deps) => new Cpu({ ...deps, translate }) },
  });
}

function guestImage(file: string): Uint8Array {
  const r = assembleFile(join(repoRoot, 'guests', file));
  expect(r.errors).toEqual([]);
  return r.bytes;
}

describe('translated and interpreted runs agree', () => {
  const manifest = JSON.parse(readFileSync(join(repoRoot, 'guests', 'manifest.json'), 'utf8')) as { guests: { file: string }[] };
  for (const g of manifest.guests) {
    it(`guest ${g.file}`, () => {
      const image = guestImage(g.file);
      const a = run(image, true);
      const b = run(image, false);
      expect(a.serial).toBe(b.serial);
      expect(a.exitStatus).toBe(b.exitStatus);
      expect(a.instructions).toBe(b.instructions);
      expect(a.cycles).toBe(b.cycles);
    });
  }

  for (const name of ['w1-small', 'w2-tiny']) {
    it(`bench image ${name}`, () => {
      const image = new Uint8Array(readFileSync(join(benchDir, `${name}.bin`)));
      const expected = readFileSync(join(benchDir, `${name}.expect`), 'latin1').trim();
      const a = run(image, true);
      const b = run(image, false);
      expect(a.serial).toContain(expected);
      expect(a.serial).toBe(b.serial);
      expect(a.instructions).toBe(b.instructions);
    });
  }
});

describe('self-modifying code in a hot loop', () => {
  // A hot loop (translated after a few iterations) whose add immediate is patched every 256 iterations.
  const source = `
bits 32
org 0x100000
    mov ecx, 3000
    xor ebx, ebx
top:
    add ebx, 1                    ; 83 C3 ib: the immediate is rewritten below
    dec ecx
    jz done
    test ecx, 0xff
    jnz top
    mov eax, ecx
    shr eax, 8
    mov byte [top + 2], al        ; new increment: ECX >> 8
    jmp top
done:
    hlt
`;

  function expected(): { ebx: number } {
    let ebx = 0;
    let inc = 1;
    for (let ecx = 3000; ; ) {
      ebx = (ebx + ((inc << 24) >> 24)) | 0;
      ecx--;
      if (ecx === 0) break;
      if ((ecx & 0xff) === 0) inc = (ecx >> 8) & 0xff;
    }
    return { ebx };
  }

  function runSmc(translate: boolean): Cpu {
    const asm = assemble(source, { fileName: 'smc.asm' });
    expect(asm.errors).toEqual([]);
    const memory = new PhysicalMemory(4 << 20);
    const cpu = new Cpu({ memory, ports: new PortBus(), scheduler: new Scheduler(), translate });
    memory.writeBytes(0x100000, asm.bytes);
    cpu.enterMultibootState(0x100000, 0);
    for (let i = 0; i < 100 && !cpu.halted; i++) cpu.run(cpu.scheduler.now + 1_000_000);
    expect(cpu.halted).toBe(true);
    return cpu;
  }

  it('executes the patched bytes every time (interpreter and translator)', () => {
    const want = expected();
    const interpreted = runSmc(false);
    const translated = runSmc(true);
    expect(interpreted.reg32[3]).toBe(want.ebx);
    expect(translated.reg32[3]).toBe(want.ebx);
    expect(translated.instructions).toBe(interpreted.instructions);
    expect(translated.translator!.compiled).toBeGreaterThan(0);
    expect(translated.smcInvalidations).toBeGreaterThan(0);
  });
});
