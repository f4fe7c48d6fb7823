// Unit tests of the 16550 model: reset values, THR output, DLAB, FIFO bits, input, IIR priority, IRQ gating.

import { describe, expect, it } from 'vitest';
import { Uart16550 } from '../../src/devices/uart-16550.js';
import { RecordingIrq } from '../helpers/recording-irq.js';

function make(): { u: Uart16550; out: number[]; irq: RecordingIrq } {
  const out: number[] = [];
  const irq = new RecordingIrq();
  return { u: new Uart16550({ sink: (b) => out.push(b), irq }), out, irq };
}

describe('16550 UART', () => {
  it('has QEMU reset values', () => {
    const { u } = make();
    expect([1, 2, 3, 4, 5, 6].map((o) => u.read(o, 1))).toEqual([0x00, 0x01, 0x00, 0x08, 0x60, 0xb0]);
    expect(u.baudDivisor).toBe(0x0c);
  });

  it('sends THR writes to the sink and keeps LSR at THRE|TEMT', () => {
    const { u, out } = make();
    for (const c of 'hi\n') u.write(0, 1, c.charCodeAt(0));
    expect(String.fromCharCode(...out)).toBe('hi\n');
    expect(u.read(5, 1)).toBe(0x60);
  });

  it('programs the divisor through DLAB without transmitting', () => {
    const { u, out } = make();
    u.write(3, 1, 0x80);
    u.write(0, 1, 0x01);
    u.write(1, 1, 0x00);
    expect(u.read(0, 1)).toBe(1);
    u.write(3, 1, 0x03);
    expect(u.baudDivisor).toBe(1);
    expect(out).toEqual([]);
    expect(u.read(3, 1)).toBe(0x03);
  });

  it('keeps the scratch register and reports FIFO mode in IIR', () => {
    const { u } = make();
    u.write(7, 1, 0x5a);
    expect(u.read(7, 1)).toBe(0x5a);
    u.write(2, 1, 0xc7);
    expect(u.read(2, 1)).toBe(0xc1);
  });

  it('queues input: DR set, RBR pops in order, DR clears', () => {
    const { u } = make();
    u.feed([0x41, 0x42]);
    expect(u.read(5, 1) & 1).toBe(1);
    expect(u.read(0, 1)).toBe(0x41);
    expect(u.read(0, 1)).toBe(0x42);
    expect(u.read(5, 1) & 1).toBe(0);
    expect(u.read(0, 1)).toBe(0);
  });

  it('raises IRQ for received data only with IER.RDA and MCR.OUT2', () => {
    const { u, irq } = make();
    u.write(4, 1, 0x00); // OUT2 off
    u.write(1, 1, 0x01);
    u.feed([0x31]);
    expect(irq.level).toBe(false);
    expect(u.read(2, 1)).toBe(0x04);
    u.write(4, 1, 0x08);
    expect(irq.level).toBe(true);
    u.read(0, 1);
    expect(irq.level).toBe(false);
    expect(u.read(2, 1)).toBe(0x01);
  });

  it('raises THRE on enabling it, clears it on reading IIR, re-raises after a THR write', () => {
    const { u, irq } = make();
    u.write(1, 1, 0x02);
    expect(irq.level).toBe(true);
    expect(u.peek(2, 1)).toBe(0x02);
    expect(u.read(2, 1)).toBe(0x02);
    expect(irq.level).toBe(false);
    expect(u.read(2, 1)).toBe(0x01);
    u.write(0, 1, 0x20);
    expect(irq.level).toBe(true);
  });

  it('gives received data priority over THR empty', () => {
    const { u } = make();
    u.write(1, 1, 0x03);
    u.feed([1]);
    expect(u.read(2, 1)).toBe(0x04);
    u.read(0, 1);
    expect(u.read(2, 1)).toBe(0x02);
  });

  it('loops bytes back in loopback mode and reports overrun as a line-status interrupt', () => {
    const { u, out } = make();
    u.write(4, 1, 0x1b); // LOOP | OUT2 | RTS | DTR
    u.write(0, 1, 0x77);
    expect(out).toEqual([]);
    expect(u.read(0, 1)).toBe(0x77);
    expect(u.read(6, 1) & 0xf0).toBe(0xb0); // DCD (OUT2), CTS (RTS), DSR (DTR)
    u.write(1, 1, 0x04);
    u.feed(new Uint8Array(4097));
    expect(u.read(2, 1)).toBe(0x06);
    expect(u.read(5, 1) & 0x02).toBe(0x02);
    expect(u.read(5, 1) & 0x02).toBe(0);
  });

  it('clears the receive FIFO through FCR', () => {
    const { u } = make();
    u.feed([1, 2, 3]);
    u.write(2, 1, 0x03);
    expect(u.read(5, 1) & 1).toBe(0);
  });
});
