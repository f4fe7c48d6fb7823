// Unit tests of the 8259A pair: init sequence, masking, EOI kinds, OCW3 reads, priority, cascade, spurious.

import { describe, expect, it } from 'vitest';
import { DualPic8259 } from '../../src/devices/pic-8259.js';

/** The Linux/kvm-unit-tests remap: master at 0x20, slave at 0x28, cascade on IRQ2, 8086 mode. */
function init(pic: DualPic8259, masterMask = 0xff, slaveMask = 0xff): void {
  pic.master.write(0, 1, 0x11);
  pic.master.write(1, 1, 0x20);
  pic.master.write(1, 1, 0x04);
  pic.master.write(1, 1, 0x01);
  pic.slave.write(0, 1, 0x11);
  pic.slave.write(1, 1, 0x28);
  pic.slave.write(1, 1, 0x02);
  pic.slave.write(1, 1, 0x01);
  pic.master.write(1, 1, masterMask);
  pic.slave.write(1, 1, slaveMask);
}

const EOI = 0x20;

describe('8259A pair', () => {
  it('takes the ICW sequence and then OCW1 as the mask', () => {
    const pic = new DualPic8259();
    init(pic, 0xfe, 0xff);
    expect(pic.master.vectorBase).toBe(0x20);
    expect(pic.slave.vectorBase).toBe(0x28);
    expect(pic.master.read(1, 1)).toBe(0xfe);
    expect(pic.master.initialised).toBe(true);
  });

  it('latches edges, not levels, and honours the mask', () => {
    const pic = new DualPic8259();
    init(pic, 0xfe);
    pic.line(1).set(true);
    expect(pic.hasInterrupt()).toBe(false); // IRQ1 masked
    pic.line(0).set(true);
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x20);
    expect(pic.hasInterrupt()).toBe(false);
    pic.master.write(0, 1, EOI);
    expect(pic.hasInterrupt()).toBe(false); // line still high: no new edge
    pic.line(0).set(false);
    pic.line(0).set(true);
    expect(pic.hasInterrupt()).toBe(true);
  });

  it('blocks lower priorities while one is in service, until EOI', () => {
    const pic = new DualPic8259();
    init(pic, 0x00, 0xff);
    pic.line(3).set(true);
    expect(pic.acknowledge()).toBe(0x23);
    pic.line(4).set(true);
    expect(pic.hasInterrupt()).toBe(false);
    pic.line(1).set(true); // higher priority nests
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x21);
    pic.master.write(0, 1, EOI); // non-specific: clears the highest in service (IRQ1)
    expect(pic.master.isr).toBe(0x08);
    pic.master.write(0, 1, 0x63); // specific EOI for IRQ3
    expect(pic.master.isr).toBe(0);
    expect(pic.acknowledge()).toBe(0x24);
  });

  it('reads IRR or ISR on the command port as OCW3 selects', () => {
    const pic = new DualPic8259();
    init(pic, 0x00);
    pic.line(5).set(true);
    pic.line(6).set(true);
    expect(pic.master.read(0, 1)).toBe(0x60); // IRR by default
    pic.acknowledge();
    pic.master.write(0, 1, 0x0b);
    expect(pic.master.read(0, 1)).toBe(0x20);
    pic.master.write(0, 1, 0x0a);
    expect(pic.master.read(0, 1)).toBe(0x40);
  });

  it('cascades slave IRQs through master IRQ2 and needs EOI on both', () => {
    const pic = new DualPic8259();
    init(pic, 0xfb, 0x00);
    pic.line(12).set(true);
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x2c);
    expect(pic.slave.isr).toBe(0x10);
    expect(pic.master.isr).toBe(0x04);
    pic.line(9).set(true); // higher than 12 on the slave, but master IRQ2 is in service
    expect(pic.hasInterrupt()).toBe(false);
    pic.slave.write(0, 1, EOI);
    pic.master.write(0, 1, EOI);
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x29);
  });

  it('answers an acknowledge with nothing pending with the spurious IRQ7 vector', () => {
    const pic = new DualPic8259();
    init(pic, 0x00);
    expect(pic.acknowledge()).toBe(0x27);
    expect(pic.master.isr).toBe(0);
    expect(pic.spurious).toBe(1);
  });

  it('supports automatic EOI and rotation', () => {
    const pic = new DualPic8259();
    pic.master.write(0, 1, 0x11);
    pic.master.write(1, 1, 0x08);
    pic.master.write(1, 1, 0x04);
    pic.master.write(1, 1, 0x03); // AEOI
    pic.master.write(1, 1, 0x00);
    pic.line(0).set(true);
    expect(pic.acknowledge()).toBe(0x08);
    expect(pic.master.isr).toBe(0);
    pic.master.write(0, 1, 0xc4); // set priority: IRQ4 lowest, so IRQ5 highest
    pic.line(3).set(true);
    pic.line(6).set(true);
    expect(pic.acknowledge()).toBe(0x0e);
  });

  it('polls: a read after OCW3 poll acknowledges the highest request', () => {
    const pic = new DualPic8259();
    init(pic, 0x00);
    pic.line(4).set(true);
    pic.master.write(0, 1, 0x0c);
    expect(pic.master.peek(0, 1)).toBe(0x84);
    expect(pic.master.read(0, 1)).toBe(0x84);
    expect(pic.master.isr).toBe(0x10);
    expect(pic.master.read(0, 1)).toBe(0x00); // poll mode ends after one read: IRR now
  });

  it('sets the CPU signal when INTR rises', () => {
    const pic = new DualPic8259();
    const signal = { interruptPending: false };
    pic.signal = signal;
    init(pic, 0xfe);
    pic.line(0).set(true);
    expect(signal.interruptPending).toBe(true);
  });

  it('rejects line numbers outside 0-15', () => {
    expect(() => new DualPic8259().line(16)).toThrow(RangeError);
  });
});
