// e1000 receive from devices.md 1.6.1 / 1.7.2 / 1.8: buffers, length/status write-back, multi-buffer frames, ring
// wrap, drop when full (RXO, MPC/RNBC, receive() false), filtering, FCS with SECRC=0, padding, RXDMT0, statistics.

import { describe, expect, it } from 'vitest';
import { ethernetFcs } from '../../../src/devices/e1000/e1000-rx.js';
import { BROADCAST, E1000Fixture, ICR, OUR_MAC, RCTL_DRIVER, REG, changedRanges, makeFrame, ramImage } from './fixture.js';

const RING = 0x10000;
const BUFS = 0x40000;
const N = 8;

function ready(rctl = RCTL_DRIVER, bufferSize = 2048): E1000Fixture {
  const f = new E1000Fixture();
  f.setupRx(RING, N, BUFS, bufferSize, rctl);
  return f;
}

describe('legacy receive (devices.md 1.7.2)', () => {
  it('stores a frame in the buffer at RDH, writes back length and DD|EOP|IXSM, advances RDH, raises RXT0', () => {
    const f = ready();
    const frame = makeFrame([...OUR_MAC], 100);
    const before = ramImage(f);
    expect(f.nic.receive(frame, 100)).toBe(true);
    expect(f.bytes(BUFS, 100)).toEqual(frame);
    expect(f.rxDesc(RING, 0)).toEqual({ length: 100, status: 0x07, errors: 0 });
    expect(f.r32(REG.RDH)).toBe(1);
    expect(f.nic.peek(REG.ICR, 4) & ICR.RXT0).toBe(ICR.RXT0);
    // Only the buffer bytes and the descriptor's write-back bytes 8..15 changed.
    expect(changedRanges(before, ramImage(f)).every(([s, e]) => (s >= BUFS && e <= BUFS + 100) || (s >= RING + 8 && e <= RING + 16))).toBe(true);
    expect(f.r32(REG.GPRC)).toBe(1);
    expect(f.r32(REG.TPR)).toBe(1);
    expect(f.r32(REG.GORCL)).toBe(104);
  });

  it('pads a short frame to 60 bytes with zeros', () => {
    const f = ready();
    f.memory.u8.fill(0xcc, BUFS, BUFS + 64);
    const frame = makeFrame([...OUR_MAC], 42);
    f.nic.receive(frame, 42);
    expect(f.rxDesc(RING, 0).length).toBe(60);
    const expected = new Uint8Array(60);
    expected.set(frame);
    expect(f.bytes(BUFS, 60)).toEqual(expected);
    expect(f.memory.u8[BUFS + 60]).toBe(0xcc);
  });

  it('with SECRC = 0 stores the 4 FCS bytes (CRC-32, LSB first) and counts them in the length', () => {
    const f = ready(RCTL_DRIVER & ~(1 << 26));
    const frame = makeFrame([...OUR_MAC], 100);
    f.nic.receive(frame, 100);
    expect(f.rxDesc(RING, 0).length).toBe(104);
    const fcs = ethernetFcs(frame, 100);
    expect(Array.from(f.bytes(BUFS + 100, 4))).toEqual([fcs & 0xff, (fcs >>> 8) & 0xff, (fcs >>> 16) & 0xff, fcs >>> 24]);
  });

  it('computes the standard CRC-32 (check value of "123456789" is CBF43926)', () => {
    expect(ethernetFcs(new TextEncoder().encode('123456789'), 9)).toBe(0xcbf43926);
  });

  it('splits a frame over several buffers (BSIZE 256): EOP only on the last, lengths per buffer', () => {
    const f = ready((RCTL_DRIVER & ~(3 << 16)) | (3 << 16), 256);
    const frame = makeFrame([...OUR_MAC], 600, 3);
    expect(f.nic.receive(frame, 600)).toBe(true);
    expect(f.rxDesc(RING, 0)).toEqual({ length: 256, status: 0x01, errors: 0 });
    expect(f.rxDesc(RING, 1)).toEqual({ length: 256, status: 0x01, errors: 0 });
    expect(f.rxDesc(RING, 2)).toEqual({ length: 88, status: 0x07, errors: 0 });
    expect(f.bytes(BUFS, 256)).toEqual(frame.subarray(0, 256));
    expect(f.bytes(BUFS + 256, 256)).toEqual(frame.subarray(256, 512));
    expect(f.bytes(BUFS + 512, 88)).toEqual(frame.subarray(512));
    expect(f.r32(REG.RDH)).toBe(3);
  });

  it('honours the buffer sizes of BSIZE/BSEX (devices.md 1.3.3)', async () => {
    const { rxBufferSize } = await import('../../../src/devices/e1000/e1000-rx.js');
    const size = (bsize: number, bsex: number): number => rxBufferSize((bsize << 16) | (bsex << 25));
    expect([0, 1, 2, 3].map((b) => size(b, 0))).toEqual([2048, 1024, 512, 256]);
    expect([1, 2, 3].map((b) => size(b, 1))).toEqual([16384, 8192, 4096]);
  });

  it('wraps the ring and keeps going as software returns descriptors', () => {
    const f = ready();
    for (let i = 0; i < N - 1; i++) expect(f.nic.receive(makeFrame([...OUR_MAC], 60, i), 60)).toBe(true);
    expect(f.r32(REG.RDH)).toBe(7);
    // Software consumed 0..6: clears status and gives them back (RDT = 6).
    for (let i = 0; i < N - 1; i++) f.writeRxDesc(RING, i, BUFS + i * 2048);
    f.w32(REG.RDT, 6);
    const a = makeFrame([...OUR_MAC], 70, 100);
    const b = makeFrame([...OUR_MAC], 80, 101);
    expect(f.nic.receive(a, 70)).toBe(true);
    expect(f.nic.receive(b, 80)).toBe(true);
    expect(f.r32(REG.RDH)).toBe(1);
    expect(f.bytes(BUFS + 7 * 2048, 70)).toEqual(a);
    expect(f.bytes(BUFS, 80)).toEqual(b);
    expect(f.rxDesc(RING, 7).status & 3).toBe(3);
  });

  it('drops a frame when RDH == RDT: RXO, MPC and RNBC counted, receive() false, RAM untouched', () => {
    const f = ready();
    f.w32(REG.RDT, 0);
    const before = ramImage(f);
    expect(f.nic.receive(makeFrame([...OUR_MAC], 60), 60)).toBe(false);
    expect(changedRanges(before, ramImage(f))).toEqual([]);
    expect(f.nic.peek(REG.ICR, 4)).toBe(ICR.RXO);
    expect(f.r32(REG.MPC)).toBe(1);
    expect(f.r32(REG.RNBC)).toBe(1);
    expect(f.nic.stats.rxNoBuffers).toBe(1);
  });

  it('drops a frame larger than all the buffers the hardware owns, touching nothing', () => {
    const f = ready((RCTL_DRIVER & ~(3 << 16)) | (3 << 16) | (1 << 5), 256); // 256-byte buffers, LPE
    f.w32(REG.RDT, 2); // owns 2 descriptors = 512 bytes
    const before = ramImage(f);
    expect(f.nic.receive(makeFrame([...OUR_MAC], 600), 600)).toBe(false);
    expect(changedRanges(before, ramImage(f))).toEqual([]);
    expect(f.r32(REG.RDH)).toBe(0);
    expect(f.nic.peek(REG.ICR, 4) & ICR.RXO).toBe(ICR.RXO);
  });

  it('raises RXDMT0 when free descriptors fall to RDMTS (1/2 of the ring)', () => {
    const f = ready();
    f.w32(REG.RDT, 7); // owns 7
    f.nic.receive(makeFrame([...OUR_MAC], 60), 60); // 6 left: 96 bytes > 64
    f.nic.receive(makeFrame([...OUR_MAC], 60), 60); // 5 left: 80 > 64
    f.nic.receive(makeFrame([...OUR_MAC], 60), 60); // 4 left: 64 <= 64
    expect(f.nic.peek(REG.ICR, 4) & ICR.RXDMT0).toBe(ICR.RXDMT0);
    f.r32(REG.ICR);
    const g = ready();
    g.nic.receive(makeFrame([...OUR_MAC], 60), 60);
    expect(g.nic.peek(REG.ICR, 4) & ICR.RXDMT0).toBe(0);
  });

  it('tells a listener when software returns descriptors (RDT) or enables the receiver', () => {
    const f = ready();
    let calls = 0;
    f.nic.receiveReady = () => calls++;
    f.w32(REG.RDT, 3);
    f.w32(REG.RCTL, RCTL_DRIVER);
    f.w32(REG.RCTL, 0);
    expect(calls).toBe(2);
  });

  it('drops everything while RCTL.EN = 0, the link is down, or Bus Master is off', () => {
    const f = ready(RCTL_DRIVER & ~2);
    expect(f.nic.receive(makeFrame([...OUR_MAC], 60), 60)).toBe(false);
    const g = ready();
    g.nic.setLink(false);
    expect(g.nic.receive(makeFrame([...OUR_MAC], 60), 60)).toBe(false);
    const h = ready();
    h.nic.pci.configWrite(0x04, 2, 0x0002);
    expect(h.nic.receive(makeFrame([...OUR_MAC], 60), 60)).toBe(false);
    expect(f.nic.stats.rxDisabled + g.nic.stats.rxDisabled + h.nic.stats.rxDisabled).toBe(3);
  });

  it('drops frames over 1518 bytes without LPE (ROC), accepts them with LPE', () => {
    const f = ready();
    expect(f.nic.receive(makeFrame([...OUR_MAC], 1519), 1519)).toBe(false);
    expect(f.r32(REG.ROC)).toBe(1);
    expect(f.nic.receive(makeFrame([...OUR_MAC], 1518), 1518)).toBe(true);
    f.w32(REG.RCTL, RCTL_DRIVER | (1 << 5) | (1 << 25) | (1 << 16)); // LPE, BSEX, 16 KiB buffers
    expect(f.nic.receive(makeFrame([...OUR_MAC], 9000), 9000)).toBe(true);
    expect(f.rxDesc(RING, 1).length).toBe(9000);
  });
});

describe('receive filtering (devices.md 1.8)', () => {
  const other = [0x02, 0x99, 0x99, 0x99, 0x99, 0x99];

  it('accepts its unicast address (RAL0/RAH0 with AV) and drops another', () => {
    const f = ready();
    expect(f.nic.receive(makeFrame([...OUR_MAC], 60), 60)).toBe(true);
    expect(f.nic.receive(makeFrame(other, 60), 60)).toBe(false);
    expect(f.nic.stats.rxFiltered).toBe(1);
  });

  it('matches any of the 16 pairs with AV, and ignores a pair without AV', () => {
    const f = ready();
    f.w32(REG.RAL0 + 8 * 5, 0x99999902);
    f.w32(REG.RAH0 + 8 * 5, 0x9999);
    expect(f.nic.receive(makeFrame(other, 60), 60)).toBe(false);
    f.w32(REG.RAH0 + 8 * 5, 0x80009999);
    expect(f.nic.receive(makeFrame(other, 60), 60)).toBe(true);
  });

  it('accepts broadcast only with BAM', () => {
    const f = ready(RCTL_DRIVER & ~(1 << 15));
    expect(f.nic.receive(makeFrame([...BROADCAST], 60), 60)).toBe(false);
    f.w32(REG.RCTL, RCTL_DRIVER);
    expect(f.nic.receive(makeFrame([...BROADCAST], 60), 60)).toBe(true);
    expect(f.r32(REG.BPRC)).toBe(1);
  });

  it('accepts a multicast address whose MTA hash bit is set (MO = 0: DA[5]:DA[4] >> 4)', () => {
    const f = ready();
    const mc = [0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb]; // mDNS
    expect(f.nic.receive(makeFrame(mc, 60), 60)).toBe(false);
    const hash = ((0xfb << 8) | 0x00) >> 4; // 0xfb0
    f.w32(REG.MTA + 4 * (hash >>> 5), 1 << (hash & 31));
    expect(f.nic.receive(makeFrame(mc, 60), 60)).toBe(true);
    expect(f.r32(REG.MPRC)).toBe(1);
    // MO = 3 takes the low 12 bits instead: same address hashes elsewhere.
    f.w32(REG.RCTL, RCTL_DRIVER | (3 << 12));
    expect(f.nic.receive(makeFrame(mc, 60), 60)).toBe(false);
    const h3 = ((0xfb << 8) | 0x00) & 0xfff;
    f.w32(REG.MTA + 4 * (h3 >>> 5), 1 << (h3 & 31));
    expect(f.nic.receive(makeFrame(mc, 60), 60)).toBe(true);
  });

  it('UPE accepts every unicast, MPE every multicast', () => {
    const f = ready(RCTL_DRIVER | (1 << 3));
    expect(f.nic.receive(makeFrame(other, 60), 60)).toBe(true);
    expect(f.nic.receive(makeFrame([0x01, 1, 2, 3, 4, 5], 60), 60)).toBe(false);
    f.w32(REG.RCTL, RCTL_DRIVER | (1 << 4));
    expect(f.nic.receive(makeFrame([0x01, 1, 2, 3, 4, 5], 60), 60)).toBe(true);
    expect(f.nic.receive(makeFrame(other, 60), 60)).toBe(false);
  });
});
