// The link peer's frame format as the guest sees it: layout, the checksum against an independent RFC 1071
// implementation, deterministic payloads, MAC parsing, the wire arithmetic and the report number formats.

import { describe, expect, it } from 'vitest';
import { Rng } from '../../../src/core/rng.js';
import { Scheduler } from '../../../src/core/scheduler.js';
import { buildFrame, FrameChecker, internetChecksum, parseMac } from '../../../src/devices/net/frame-format.js';
import { deliveryCycle, Wire } from '../../../src/devices/net/peer-common.js';
import { formatBitRate, formatDuration, groupThousands, LatencySamples } from '../../../src/devices/net/report-format.js';
import { StreamWorkload } from '../../../src/devices/net/stream-workload.js';
import { decode, encode, FakeNic, GUEST_MAC, PEER_MAC, rfc1071, runScheduler } from './fake-nic.js';

function build(frameLength: number, seed = 7, seq = 5, kind = 0): Uint8Array {
  const buf = new Uint8Array(frameLength);
  buildFrame(buf, frameLength, Uint8Array.from(GUEST_MAC), Uint8Array.from(PEER_MAC), kind, seq, new Rng(seed));
  return buf;
}

/** What a guest would do: sum LE words of payload + stored checksum and fold; 0xFFFF means good. */
function guestVerify(frame: Uint8Array, payloadLength: number): number {
  let sum = frame[22] | (frame[23] << 8);
  for (let i = 0; i < payloadLength; i += 2) sum += frame[30 + i] | (i + 1 < payloadLength ? frame[31 + i] << 8 : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

describe('frame layout', () => {
  it('puts every field at its documented offset', () => {
    const f = build(100, 7, 0x01020304, 2);
    expect(Array.from(f.subarray(0, 6))).toEqual(GUEST_MAC);
    expect(Array.from(f.subarray(6, 12))).toEqual(PEER_MAC);
    expect([f[12], f[13]]).toEqual([0x88, 0xb5]);
    expect(Array.from(f.subarray(14, 18))).toEqual([4, 3, 2, 1]); // little-endian sequence
    expect(Array.from(f.subarray(18, 22))).toEqual([70, 0, 0, 0]); // payload length 100 - 30
    expect([f[24], f[25]]).toEqual([0, 0]);
    expect(f[26]).toBe(2);
    expect([f[27], f[28], f[29]]).toEqual([0, 0, 0]);
  });

  for (const len of [60, 61, 64, 333, 1513, 1514]) {
    it(`checksums a ${len - 30}-byte payload as RFC 1071 does (independent implementation)`, () => {
      const f = build(len);
      const d = decode(f, len);
      expect(d.payloadLength).toBe(len - 30);
      expect(d.checksumBe).toBe(rfc1071(f.subarray(30, len)));
      expect(d.checksumHigh).toBe(0);
      expect(guestVerify(f, len - 30)).toBe(0xffff);
    });
  }

  it('defines the empty payload checksum as 0xFFFF and handles carries', () => {
    expect(internetChecksum(new Uint8Array(0), 0, 0)).toBe(0xffff);
    const ones = new Uint8Array(1000).fill(0xff);
    expect(internetChecksum(ones, 0, 1000)).toBe(rfc1071(ones));
    const odd = Uint8Array.from([0x12, 0x34, 0x56]);
    expect(internetChecksum(odd, 0, 3)).toBe(((rfc1071(odd) & 0xff) << 8) | (rfc1071(odd) >> 8)); // LE word view = byte swap
  });

  it('draws payloads from the seeded Rng: same seed, same bytes; other seed, other bytes', () => {
    expect(build(1514, 42)).toEqual(build(1514, 42));
    expect(build(1514, 42).subarray(30)).not.toEqual(build(1514, 43).subarray(30));
  });

  it('sends the same payload bytes for the same seed across whole runs', () => {
    const payloads = (seed: number): string => {
      const s = new Scheduler();
      const nic = new FakeNic(s, { ackEvery: 4 });
      const seen: number[] = [];
      const peer = new StreamWorkload(s, new Rng(seed), { waitForGuest: false, frames: 20, frameSize: 80 });
      peer.attach({ receive: (f, n) => (seen.push(...f.subarray(30, n)), nic.receive(f, n)) });
      nic.peer = peer;
      peer.start();
      runScheduler(s);
      return seen.join(',');
    };
    expect(payloads(3)).toBe(payloads(3));
    expect(payloads(3)).not.toBe(payloads(4));
  });
});

describe('FrameChecker', () => {
  const checker = (): FrameChecker => new FrameChecker(Uint8Array.from(PEER_MAC), Uint8Array.from(GUEST_MAC));

  it('parses a valid frame into its fields', () => {
    const c = checker();
    const payload = Uint8Array.from([1, 2, 3, 4, 5]);
    expect(c.check(encode({ seq: 99, kind: 3, payload }), 60)).toBe(true);
    expect([c.sequence, c.kind, c.payloadLength, c.invalidTotal]).toEqual([99, 3, 5, 0]);
  });

  it('never throws on garbage', () => {
    const c = checker();
    const rng = new Rng(9);
    for (let i = 0; i < 2_000; i++) {
      const n = rng.below(80);
      const f = new Uint8Array(n);
      for (let j = 0; j < n; j++) f[j] = rng.below(256);
      if (n > 13) f.set(PEER_MAC, 0);
      expect(() => c.check(f, rng.below(3) === 0 ? n + 5 : n)).not.toThrow();
    }
    expect(c.invalidTotal).toBe(2_000);
  });
});

describe('MAC addresses', () => {
  it('parses strings and byte arrays, and rejects malformed ones', () => {
    expect(Array.from(parseMac('52:54:00:AB:cd:01'))).toEqual([0x52, 0x54, 0, 0xab, 0xcd, 1]);
    expect(Array.from(parseMac([1, 2, 3, 4, 5, 6]))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => parseMac('52:54:00:00:00')).toThrow();
    expect(() => parseMac('52:54:00:00:00:zz')).toThrow();
    expect(() => parseMac([1, 2, 3, 4, 5, 256])).toThrow();
  });
});

describe('wire arithmetic (devices.md 7.3)', () => {
  it('serialises a frame in (frame + 24) x 8 / rate', () => {
    const w = new Wire(10e9, 1e9);
    expect(w.frameCycles(60)).toBeCloseTo(67.2, 10);
    expect(w.frameCycles(1514)).toBeCloseTo(1230.4, 10);
    expect(new Wire(1e9, 1e9).frameCycles(1514)).toBe(12_304);
  });

  it('sends back to back and restarts a burst after an idle gap', () => {
    const w = new Wire(10e9, 1e9);
    expect(w.transmit(0, 60)).toBeCloseTo(67.2, 10);
    expect(w.transmit(10, 60)).toBeCloseTo(134.4, 10);
    expect(w.lastStart).toBeCloseTo(67.2, 10);
    expect(w.transmit(1_000, 60)).toBeCloseTo(1_067.2, 10);
    expect(w.lastStart).toBe(1_000);
  });

  it('does not accumulate rounding over a million frames', () => {
    const w = new Wire(10e9, 1e9);
    let end = 0;
    for (let i = 0; i < 1_000_000; i++) end = w.transmit(0, 60);
    expect(end).toBeCloseTo(67_200_000, 6);
    expect(deliveryCycle(end)).toBe(67_200_000);
  });

  it('rounds a delivery up to the next whole cycle', () => {
    expect(deliveryCycle(67.2)).toBe(68);
    expect(deliveryCycle(336)).toBe(336);
    expect(deliveryCycle(336.00000000000006)).toBe(336);
  });
});

describe('report formatting and percentiles', () => {
  it('groups thousands and formats rates and durations without the locale', () => {
    expect(groupThousands(812_743.8)).toBe('812,744');
    expect(groupThousands(14_880_952.4)).toBe('14,880,952');
    expect(groupThousands(999)).toBe('999');
    expect(groupThousands(-1234)).toBe('-1,234');
    expect(formatBitRate(9.41e9)).toBe('9.41 Gb/s');
    expect(formatBitRate(812.5e6)).toBe('812.50 Mb/s');
    expect(formatDuration(67.2)).toBe('67.2 ns');
    expect(formatDuration(12_345)).toBe('12.35 us');
    expect(formatDuration(12_304_000)).toBe('12.304 ms');
  });

  it('computes nearest-rank percentiles of a known distribution', () => {
    const rng = new Rng(5);
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    for (let i = values.length - 1; i > 0; i--) {
      const j = rng.below(i + 1);
      [values[i], values[j]] = [values[j], values[i]];
    }
    const l = new LatencySamples(4); // grows past its first capacity
    for (const v of values) l.add(v);
    const sorted = l.sorted();
    expect([50, 90, 99, 100].map((p) => LatencySamples.percentile(sorted, p))).toEqual([50, 90, 99, 100]);
    expect(l.mean).toBe(50.5);

    const thousand = new LatencySamples();
    for (let i = 1000; i >= 1; i--) thousand.add(i * 10);
    const s2 = thousand.sorted();
    expect([50, 90, 99, 100].map((p) => LatencySamples.percentile(s2, p))).toEqual([5_000, 9_000, 9_900, 10_000]);

    const one = new LatencySamples();
    one.add(7);
    expect([50, 99, 100].map((p) => LatencySamples.percentile(one.sorted(), p))).toEqual([7, 7, 7]);
    expect(LatencySamples.percentile(new LatencySamples().sorted(), 50)).toBe(0);
  });
});
