// The devices a VM sees behind I/O exits: an emulated COM1 (a 16550 model of its own), the isa-debug-exit
// port, debugcon and the Bochs shutdown port, on a port bus of the VM's own. Handling the exits is exits.ts'.

import { PortBus } from '../core/bus.js';
import { DebugCon } from '../devices/debugcon.js';
import { DebugExit } from '../devices/debug-exit.js';
import { PortSink } from '../devices/port-sink.js';
import { Uart16550 } from '../devices/uart-16550.js';

export interface VirtualDeviceSinks {
  /** Each byte the guest's COM1 transmits. */
  serial(byte: number): void;
  /** The value written to isa-debug-exit (the run ends). */
  debugExit(value: number): void;
  debugcon(byte: number): void;
}

/** The VM's port space (the same ports the bare board decodes for these devices, devices.md 6.2). */
export class VirtualDevices {
  readonly ports = new PortBus();
  readonly uart: Uart16550;
  readonly bochsShutdown = new PortSink('bochs-shutdown', 1);
  /** COM1's interrupt line: no virtual interrupt controller yet, so edges are only counted. */
  uartIrqEdges = 0;

  constructor(sinks: VirtualDeviceSinks) {
    let level = false;
    this.uart = new Uart16550({
      name: 'vm-com1',
      irq: {
        set: (l: boolean) => {
          if (l && !level) this.uartIrqEdges++;
          level = l;
        },
      },
      sink: (byte) => sinks.serial(byte),
    });
    this.ports.map(0x3f8, 8, this.uart);
    this.ports.map(0xf4, 4, new DebugExit((value) => sinks.debugExit(value)));
    this.ports.map(0xe9, 1, new DebugCon((byte) => sinks.debugcon(byte)));
    this.ports.map(0x8900, 1, this.bochsShutdown);
  }
}
