// e1000 transmit from devices.md 1.6.2 / 1.7.1 and the 8254x SDM: frames reach the peer byte-exact, DD write-back
// with RS only, TDH advance and ring wrap, multi-descriptor frames, TXDW/TXQE, PSP padding, IC, VLE, statistics.

import { describe, expect, it } from 'vitest';
import { BROADCAST, E1000Fixture, ICR, REG, TX_CMD, changedRanges, makeFrame, ramImage } from './fixture.js';

const RING = 0x10000;
const BUF = 0x20000;
const DST = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];

function placeFrame(f: E1000Fixture, address: number, frame: Uint8Array): void {
  f.memory.u8.set(frame, address);
}

describe('legacy transmit (devices.md 1.7.1)', () => {
  it('sends one frame byte-exact on a TDT write, writes back DD, advances TDH, raises TXDW|TXQE', () => {
    const f = new E1000Fixture();
    f.setupTx(RING, 8);
    const frame = makeFrame(DST, 100);
    placeFrame(f, BUF, frame);
    f.writeTxDesc(RING, 0, BUF, 100, TX_CMD.EOP | TX_CMD.IFCS | TX_CMD.RS);
    f.w32(REG.TDT, 1);
    expect(f.peer.frames).toHaveLength(1);
    expect(f.peer.frames[0]).toEqual(frame);
    expect(f.txStatus(RING, 0) & 1).toBe(1);
    expect(f.r32(REG.TDH)).toBe(1);
    expect(f.nic.peek(REG.ICR, 4)).toBe(ICR.TXDW | ICR.TXQE);
    expect(f.r32(0x40d4)).toBe(1); // TPT
    expect(f.r32(0x40c8)).toBe(104); // TOTL: frame + FCS
  });

  it('does not write back without RS (and raises no TXDW), still transmitting', () => {
    const f = new E1000Fixture();
    f.setupTx(RING, 8);
    placeFrame(f, BUF, makeFrame(DST, 64));
    f.writeTxDesc(RING, 0, BUF, 64, TX_CMD.EOP | TX_CMD.IFCS);
    const before = ramImage(f);
    f.w32(REG.TDT, 1);
    expect(f.peer.frames).toHaveLength(1);
    expect(changedRanges(before, ramImage(f))).toEqual([]);
    expect(f.r32(REG.TDH)).toBe(1);
    expect(f.nic.peek(REG.ICR, 4)).toBe(ICR.TXQE);
  });

  it('gathers a frame from several descriptors up to EOP', () => {
    const f = new E1000Fixture();
    f.setupTx(RING, 8);
    const frame = makeFrame(DST, 300, 5);
    placeFrame(f, BUF, frame.subarray(0, 14));
    placeFrame(f, BUF + 0x1000, frame.subarray(14, 200));
    placeFrame(f, BUF + 0x3000, frame.subarray(200));
    f.writeTxDesc(RING, 0, BUF, 14, 0);
    f.writeTxDesc(RING, 1, BUF + 0x1000, 186, 0);
    f.writeTxDesc(RING, 2, BUF + 0x3000, 100, TX_CMD.EOP | TX_CMD.RS);
    f.w32(REG.TDT, 3);
    expect(f.peer.frames).toEqual([frame]);
    expect(f.txStatus(RING, 0)).toBe(0);
    expect(f.txStatus(RING, 2) & 1).toBe(1);
  });

  it('holds a frame whose EOP descriptor is not yet handed over, and finishes it on the next TDT write', () => {
    const f = new E1000Fixture();
    f.setupTx(RING, 8);
    const frame = makeFrame(DST, 120);
    placeFrame(f, BUF, frame);
    f.writeTxDesc(RING, 0, BUF, 60, TX_CMD.RS);
    f.writeTxDesc(RING, 1, BUF + 60, 60, TX_CMD.EOP | TX_CMD.RS);
    f.w32(REG.TDT, 1);
    expect(f.peer.frames).toHaveLength(0);
    expect(f.r32(REG.TDH)).toBe(1);
    f.w32(REG.TDT, 2);
    expect(f.peer.frames).toEqual([frame]);
  });

  it('wraps the ring: descriptors N-2, N-1, 0, 1', () => {
    const f = new E1000Fixture();
    f.setupTx(RING, 8);
    for (let i = 0; i < 6; i++) {
      placeFrame(f, BUF + i * 0x800, makeFrame(DST, 60, i));
      f.writeTxDesc(RING, i, BUF + i * 0x800, 60, TX_CMD.EOP | TX_CMD.RS);
    }
    f.w32(REG.TDT, 6);
    expect(f.r32(REG.TDH)).toBe(6);
    const frames = [6, 7, 0, 1].map((i) => makeFrame(DST, 60 + i, 10 + i));
    [6, 7, 0, 1].forEach((slot, k) => {
      placeFrame(f, BUF + 0x8000 + k * 0x800, frames[k]);
      f.writeTxDesc(RING, slot, BUF + 0x8000 + k * 0x800, frames[k].length, TX_CMD.EOP | TX_CMD.RS);
    });
    f.w32(REG.TDT, 2);
    expect(f.r32(REG.TDH)).toBe(2);
    expect(f.peer.frames.slice(6)).toEqual(frames);
    for (const slot of [6, 7, 0, 1]) expect(f.txStatus(RING, slot) & 1).toBe(1);
  });

  it('does nothing while TCTL.EN = 0, and transmits when TCTL is written with EN', () => {
    const f = new E1000Fixture();
    f.setupTx(RING, 8);
    f.w32(REG.TCTL, 0);
    placeFrame(f, BUF, makeFrame(DST, 60));
    f.writeTxDesc(RING, 0, BUF, 60, TX_CMD.EOP | TX_CMD.RS);
    f.w32(REG.TDT, 1);
    expect(f.peer.frames).toHaveLength(0);
    expect(f.r32(REG.TDH)).toBe(0);
    f.w32(REG.TCTL, 0x000400fa);
    expect(f.peer.frames).toHaveLength(1);
  });

  it('does no DMA and sends nothing without Bus Master', () => {
    const f = new E1000Fixture({ busMaster: false });
    f.setupTx(RING, 8);
    placeFrame(f, BUF, makeFrame(DST, 60));
    f.writeTxDesc(RING, 0, BUF, 60, TX_CMD.EOP | TX_CMD.RS);
    f.w32(REG.TDT, 1);
    expect(f.peer.frames).toHaveLength(0);
    expect(f.dma.stats.reads).toBe(0);
    expect(f.nic.stats.txKicksIgnored).toBeGreaterThan(0);
  });

  it('pads short frames to 60 bytes with TCTL.PSP, and sends them as they are without it', () => {
    const f = new E1000Fixture();
    f.setupTx(RING, 8);
    const short = makeFrame(DST, 42);
    f.memory.u8.fill(0xee, BUF, BUF + 100);
    placeFrame(f, BUF, short);
    f.writeTxDesc(RING, 0, BUF, 42, TX_CMD.EOP);
    f.w32(REG.TDT, 1);
    const padded = new Uint8Array(60);
    padded.set(short);
    expect(f.peer.frames[0]).toEqual(padded);
    f.w32(REG.TCTL, 0x000400f2); // PSP off
    f.writeTxDesc(RING, 1, BUF, 42, TX_CMD.EOP);
    f.w32(REG.TDT, 2);
    expect(f.peer.frames[1]).toEqual(short);
  });

  it('inserts the ones-complement checksum of [CSS, end) big-endian at CSO with CMD.IC', () => {
    const f = new E1000Fixture();
    f.setupTx(RING, 8);
    const frame = makeFrame(DST, 64);
    frame[50] = 0;
    frame[51] = 0;
    placeFrame(f, BUF, frame);
    f.writeTxDesc(RING, 0, BUF, 64, TX_CMD.EOP | TX_CMD.IC, 50, 34);
    f.w32(REG.TDT, 1);
    const sent = f.peer.frames[0];
    let sum = 0;
    for (let i = 34; i < 64; i += 2) sum += (sent[i] << 8) | sent[i + 1];
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    expect(sum).toBe(0xffff); // a correct checksum makes the covered words sum to all-ones
  });

  it('inserts a VLAN tag (VET, then Special) with CMD.VLE when CTRL.VME is set', () => {
    const f = new E1000Fixture();
    f.setupTx(RING, 8);
    f.w32(REG.CTRL, f.r32(REG.CTRL) | (1 << 30));
    const frame = makeFrame(DST, 60);
    placeFrame(f, BUF, frame);
    f.writeTxDesc(RING, 0, BUF, 60, TX_CMD.EOP | TX_CMD.VLE, 0, 0, 0x2064);
    f.w32(REG.TDT, 1);
    const sent = f.peer.frames[0];
    expect(sent.length).toBe(64);
    expect(Array.from(sent.subarray(12, 16))).toEqual([0x81, 0x00, 0x20, 0x64]);
    expect(sent.subarray(0, 12)).toEqual(frame.subarray(0, 12));
    expect(sent.subarray(16)).toEqual(frame.subarray(12));
  });

  it('counts broadcast frames and good octets (64-bit pair)', () => {
    const f = new E1000Fixture();
    f.setupTx(RING, 8);
    placeFrame(f, BUF, makeFrame([...BROADCAST], 60));
    f.writeTxDesc(RING, 0, BUF, 60, TX_CMD.EOP);
    f.w32(REG.TDT, 1);
    expect(f.r32(0x40f4)).toBe(1); // BPTC
    expect(f.r32(REG.GOTCL)).toBe(64);
    expect(f.r32(REG.GPTC)).toBe(1);
  });

  it('skips context descriptors (DEXT, DTYP 0) and gathers extended data descriptors (DTYP 1)', () => {
    const f = new E1000Fixture();
    f.setupTx(RING, 8);
    const frame = makeFrame(DST, 80);
    placeFrame(f, BUF, frame);
    f.writeTxDesc(RING, 0, 0, 0, TX_CMD.DEXT | TX_CMD.RS);
    const v = f.memory.view;
    f.writeTxDesc(RING, 1, BUF, 0, 0);
    v.setUint32(RING + 16 + 8, (80 | (1 << 20) | ((TX_CMD.DEXT | TX_CMD.EOP | TX_CMD.RS) << 24)) >>> 0, true);
    f.w32(REG.TDT, 2);
    expect(f.peer.frames).toEqual([frame]);
    expect(f.txStatus(RING, 0) & 1).toBe(1);
    expect(f.nic.stats.txContextDescriptors).toBe(1);
  });

  it('counts a frame the peer refuses, and one with no peer attached', () => {
    const f = new E1000Fixture();
    f.setupTx(RING, 8);
    placeFrame(f, BUF, makeFrame(DST, 60));
    f.peer.accept = false;
    f.writeTxDesc(RING, 0, BUF, 60, TX_CMD.EOP);
    f.w32(REG.TDT, 1);
    expect(f.nic.stats.txPeerRefused).toBe(1);
    f.nic.attachPeer(null);
    f.writeTxDesc(RING, 1, BUF, 60, TX_CMD.EOP);
    f.w32(REG.TDT, 2);
    expect(f.nic.stats.txNoPeer).toBe(1);
    expect(f.nic.stats.txFrames).toBe(2);
  });
});
