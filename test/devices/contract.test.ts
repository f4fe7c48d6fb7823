// Runs the BusDevice contract (contract.ts) against every device in src/devices, in several states each.
// Behaviour specific to a device is tested in its own file.

import { describe, it } from 'vitest';
import type { BusDevice } from '../../src/core/bus.js';
import { Scheduler } from '../../src/core/scheduler.js';
import { DebugCon } from '../../src/devices/debugcon.js';
import { DebugExit } from '../../src/devices/debug-exit.js';
import { DualPic8259 } from '../../src/devices/pic-8259.js';
import { Pit8254 } from '../../src/devices/pit-8254.js';
import { PortSink } from '../../src/devices/port-sink.js';
import { Uart16550 } from '../../src/devices/uart-16550.js';
import { RecordingIrq } from '../helpers/recording-irq.js';
import { type ContractSubject, checkBusDeviceContract } from './contract.js';

function uart(setup: (u: Uart16550) => void): () => BusDevice {
  return () => {
    const u = new Uart16550({ sink: () => {}, irq: new RecordingIrq() });
    setup(u);
    return u;
  };
}

function initPic(pic: DualPic8259): void {
  for (const [chip, base] of [
    [pic.master, 0x20],
    [pic.slave, 0x28],
  ] as const) {
    chip.write(0, 1, 0x11);
    chip.write(1, 1, base);
    chip.write(1, 1, chip === pic.master ? 4 : 2);
    chip.write(1, 1, 0x01);
  }
}

function pic(which: 'master' | 'slave', setup: (p: DualPic8259) => void): () => BusDevice {
  return () => {
    const p = new DualPic8259();
    setup(p);
    return which === 'master' ? p.master : p.slave;
  };
}

function pit(setup: (p: Pit8254, s: Scheduler) => void): () => BusDevice {
  return () => {
    const s = new Scheduler();
    const p = new Pit8254(s, new RecordingIrq());
    setup(p, s);
    return p;
  };
}

const subjects: Record<string, ContractSubject> = {
  'uart at reset': { make: uart(() => {}), window: 8 },
  'uart with input, all interrupts, FIFO': {
    make: uart((u) => {
      u.write(2, 1, 0xc7);
      u.write(1, 1, 0x0f);
      u.feed([0x41, 0x42, 0x43]);
    }),
    window: 8,
  },
  'uart with THRE pending': {
    make: uart((u) => {
      u.write(1, 1, 0x02);
      u.write(0, 1, 0x55);
    }),
    window: 8,
  },
  'uart with DLAB set': {
    make: uart((u) => {
      u.write(3, 1, 0x80);
      u.write(0, 1, 0x01);
    }),
    window: 8,
  },
  'uart in loopback with overrun': {
    make: uart((u) => {
      u.write(4, 1, 0x1f);
      u.write(1, 1, 0x0f);
      u.feed(new Uint8Array(5000).fill(0x61));
    }),
    window: 8,
  },
  'isa-debug-exit': { make: () => new DebugExit(() => {}), window: 4 },
  debugcon: { make: () => new DebugCon(() => {}), window: 1 },
  'port sink': { make: () => new PortSink('post', 1), window: 1 },
  'pic master at reset': { make: pic('master', () => {}), window: 2 },
  'pic master initialised with requests': {
    make: pic('master', (p) => {
      initPic(p);
      p.master.write(1, 1, 0x00);
      p.line(0).set(true);
      p.line(4).set(true);
      p.line(9).set(true);
    }),
    window: 2,
  },
  'pic master with ISR selected and one in service': {
    make: pic('master', (p) => {
      initPic(p);
      p.line(1).set(true);
      p.acknowledge();
      p.line(3).set(true);
      p.master.write(0, 1, 0x0b);
    }),
    window: 2,
  },
  'pic master in poll mode': {
    make: pic('master', (p) => {
      initPic(p);
      p.line(5).set(true);
      p.master.write(0, 1, 0x0c);
    }),
    window: 2,
  },
  'pic slave mid-initialisation': {
    make: pic('slave', (p) => {
      p.slave.write(0, 1, 0x11);
      p.slave.write(1, 1, 0x70);
    }),
    window: 2,
  },
  'pit at reset': { make: pit(() => {}), window: 4 },
  'pit channel 0 periodic, running': {
    make: pit((p, s) => {
      p.write(3, 1, 0x34);
      p.write(0, 1, 0x9c);
      p.write(0, 1, 0x2e);
      s.now = 12_345_678;
    }),
    window: 4,
  },
  'pit with a latched count and status': {
    make: pit((p, s) => {
      p.write(3, 1, 0x36);
      p.write(0, 1, 0x00);
      p.write(0, 1, 0x10);
      s.now = 1_000_000;
      p.write(3, 1, 0x00);
      p.write(3, 1, 0xe4); // read-back: latch status of channel 1
    }),
    window: 4,
  },
  'pit halfway through a word read': {
    make: pit((p, s) => {
      p.write(3, 1, 0xb0);
      p.write(2, 1, 0x34);
      p.write(2, 1, 0x12);
      s.now = 99_999;
      p.read(2, 1);
    }),
    window: 4,
  },
};

describe('BusDevice contract', () => {
  for (const [name, subject] of Object.entries(subjects)) {
    it(name, () => checkBusDeviceContract(subject));
  }
});
