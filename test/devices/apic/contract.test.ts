// The shared BusDevice contract (test/devices/contract.ts) run against the local APIC's MMIO page in each mode
// and in busy states: peek matches read with no side effects, no access throws, values stay in range.

import { describe, it } from 'vitest';
import type { BusDevice } from '../../../src/core/bus.js';
import { type ContractSubject, checkBusDeviceContract } from '../contract.js';
import { APIC_BASE, BASE, makeApic, runTo, wrmsr, x2apic } from './helpers.js';

const WINDOW = 0x400; // the register file; offsets beyond it in the page read 0 like the reserved ones

function subject(setup: (r: ReturnType<typeof makeApic>) => void): ContractSubject {
  return {
    make: (): BusDevice => {
      const r = makeApic({ apicId: 2 });
      setup(r);
      return r.apic;
    },
    window: WINDOW,
  };
}

const subjects: Record<string, ContractSubject> = {
  'xAPIC at reset': subject(() => {}),
  'xAPIC enabled, interrupts pending and in service, timer running': subject(({ apic, s }) => {
    apic.write(0xf0, 4, 0x1ff);
    apic.write(0x320, 4, 0x20040);
    apic.write(0x3e0, 4, 0x1);
    apic.write(0x380, 4, 1000);
    apic.deliverMsi(0xfee02000, 0x8000 | 0x4000 | 0x51);
    apic.deliverMsi(0xfee02000, 0x62);
    apic.acknowledge();
    apic.write(0x300, 4, 0x40000 | 3); // illegal self IPI: ESR pending
    runTo(s, 12_345);
  }),
  'x2APIC mode (page not the APIC)': subject(({ apic }) => x2apic(apic)),
  'globally disabled': subject(({ apic }) => {
    wrmsr(apic, APIC_BASE, BASE);
  }),
};

describe('local APIC: BusDevice contract', () => {
  for (const [name, s] of Object.entries(subjects)) it(name, () => checkBusDeviceContract(s));
});
