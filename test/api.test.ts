// test/api.test.ts: the package's TypeScript API (src/index.ts) as README shows it: boot a guest bare and under
// the hypervisor from vitest, compare, read the VM's exits; drive the VMX unit directly.

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EXIT_REASON_NAMES, VmcsField, assembleFile, runImage } from '../src/index.js';
import { vmxBench } from './helpers/vmx-runner.js';

const guests = fileURLToPath(new URL('../guests/', import.meta.url));

describe('the TypeScript API (README "From TypeScript")', () => {
  it('runs a guest bare and in a VM and compares them', () => {
    const image = assembleFile(join(guests, 'cpu-exceptions.asm')).bytes;
    const bare = runImage(image);
    const trap = runImage(image, { mode: 'trap' });
    expect(trap.serial).toBe(bare.serial);
    expect(trap.exitStatus).toBe(1);
    expect(Object.keys(trap.vm!.exits)).toEqual(['IO_INSTRUCTION']);
  });

  it('names VMCS fields and exit reasons as the SDM and KVM do', () => {
    expect(VmcsField.GuestRip).toBe(0x681e);
    expect(EXIT_REASON_NAMES[10]).toBe('CPUID');
  });

  it('drives VMX from a test: a CPUID exit with its instruction length', () => {
    const b = vmxBench('cpuid\nhlt');
    const e = b.run();
    expect(EXIT_REASON_NAMES[e.reason]).toBe('CPUID');
    expect(e.length).toBe(2);
  });
});
