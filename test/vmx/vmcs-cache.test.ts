// The processor's VMCS cache (SDM Vol. 3 24.11.1): VMCLEAR writes a VMCS's data to its region and VMPTRLD reads it
// back, so the data survives any number of VMCSs in between; the cache stays bounded whatever a guest does.

import { describe, expect, it } from 'vitest';
import { VmcsField as F } from '../../src/vmx/vmcs-fields.js';
import { VMCS_REVISION } from '../../src/vmx/capabilities.js';
import { VMCS_REGION, vmxBench } from '../helpers/vmx-runner.js';

describe('VMCS data across VMCLEAR / VMPTRLD', () => {
  it('a VMCLEARed VMCS keeps its fields and launch state clear through 100 other VMCSs', () => {
    const b = vmxBench('hlt');
    const vmx = b.vmx;
    expect(vmx.apiVmwrite(F.GuestRip, 0x1234).status).toBe('succeed');
    expect(vmx.apiVmwrite(F.TscOffset + 1, 0x55).status).toBe('succeed'); // a HIGH half
    expect(vmx.apiVmclear(VMCS_REGION).status).toBe('succeed');
    for (let i = 0; i < 100; i++) {
      const region = 0x1200000 + i * 0x1000;
      b.memory.write(region, 4, VMCS_REVISION);
      expect(vmx.apiVmclear(region).status).toBe('succeed');
      expect(vmx.apiVmptrld(region).status).toBe('succeed');
      expect(vmx.apiVmwrite(F.GuestRip, i).status).toBe('succeed');
    }
    expect(vmx.apiVmptrld(VMCS_REGION).status).toBe('succeed');
    expect(vmx.vmread(F.GuestRip)).toBe(0x1234);
    expect(vmx.vmread(F.TscOffset + 1)).toBe(0x55);
    // Each of the others kept its own value, including those evicted from the cache without a VMCLEAR.
    for (let i = 0; i < 100; i += 7) {
      expect(vmx.apiVmptrld(0x1200000 + i * 0x1000).status).toBe('succeed');
      expect(vmx.vmread(F.GuestRip)).toBe(i);
    }
    // VMLAUNCH needs a clear VMCS: the reloaded one is clear, so the launch runs to the guest's HLT.
    expect(vmx.apiVmptrld(VMCS_REGION).status).toBe('succeed');
    b.write(F.GuestRip, 0x10000);
    expect(b.enter().status).toBe('succeed');
  });

  it('the launch state survives eviction: VMLAUNCH of a launched VMCS is still error 4 after 40 other VMCSs', () => {
    const b = vmxBench('hlt');
    const vmx = b.vmx;
    expect(b.run().stop).toBeDefined();
    for (let i = 0; i < 40; i++) {
      const region = 0x1200000 + i * 0x1000;
      b.memory.write(region, 4, VMCS_REVISION);
      vmx.apiVmptrld(region);
    }
    expect(vmx.apiVmptrld(VMCS_REGION).status).toBe('succeed');
    const r = vmx.apiVmlaunch();
    expect(r.status).toBe('fail-valid');
    expect(r.error).toBe(4);
  });
});
