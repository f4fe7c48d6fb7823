import { describe, expect, it } from 'vitest';
import { GUEST_CODE, vmxBench } from '../helpers/vmx-runner.js';

describe('smoke', () => {
  it('CPUID exits', () => {
    const b = vmxBench('mov eax, 1\ncpuid\nhlt');
    const e = b.run();
    expect(e.reason).toBe(10);
    expect(e.rip).toBe(GUEST_CODE + 5);
    expect(e.length).toBe(2);
    b.skip();
    const h = b.run();
    expect(h.stop).toBe('halt');
  });
});
