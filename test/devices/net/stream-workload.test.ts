// StreamWorkload against the fake NIC: line-rate spacing, the window, drops and timeouts, the hello, time
// limits, interrupt rates, invalid guest frames by reason, the printed report and determinism.

import { describe, expect, it } from 'vitest';
import { Rng } from '../../../src/core/rng.js';
import { Scheduler } from '../../../src/core/scheduler.js';
import { type StreamOptions, type StreamReport, StreamWorkload } from '../../../src/devices/net/stream-workload.js';
import { encode, FakeNic, type FakeNicOptions, runScheduler } from './fake-nic.js';

function setup(options: StreamOptions = {}, nicOptions: FakeNicOptions = {}, frequencyHz = 1e9, seed = 1) {
  const scheduler = new Scheduler(frequencyHz);
  const dones: StreamReport[] = [];
  const peer = new StreamWorkload(scheduler, new Rng(seed), { onDone: (r) => dones.push(r), ...options });
  const nic = new FakeNic(scheduler, nicOptions);
  peer.attach(nic);
  nic.peer = peer;
  return { scheduler, peer, nic, dones };
}

/** Starts without waiting for a hello and runs to the end. */
function runStream(options: StreamOptions = {}, nicOptions: FakeNicOptions = {}, frequencyHz = 1e9, seed = 1) {
  const s = setup({ waitForGuest: false, ...options }, nicOptions, frequencyHz, seed);
  s.peer.start();
  runScheduler(s.scheduler);
  return { ...s, report: s.peer.report() };
}

describe('line rate (devices.md 7.3)', () => {
  // frame without FCS -> expected 10 GbE packets/s from the table
  const cases: Array<[number, number, number]> = [
    [60, 14_880_952.4, 10e9],
    [1514, 812_743.8, 10e9],
    [60, 1_488_095.2, 1e9],
    [1514, 81_274.4, 1e9],
  ];
  for (const [frameSize, pps, rate] of cases) {
    it(`${frameSize + 4}-byte frames at ${rate / 1e9} Gb/s give ${pps} packets/s`, () => {
      const frames = 20_000;
      const { report, nic } = runStream({ frameSize, frames, window: 64, rateBps: rate }, { ackEvery: 8 });
      expect(report.completed).toBe(1);
      expect(report.framesAcked).toBe(frames);
      expect(report.lineRatePacketsPerSecond).toBeCloseTo(pps, 0);
      // Over the whole run the elapsed time is frames x frame time, within one frame.
      const frameNs = ((frameSize + 24) * 8 * 1e9) / rate;
      expect(Math.abs(report.elapsedNs - frames * frameNs)).toBeLessThan(frameNs);
      expect(Math.abs(report.packetsPerSecond - pps) / pps).toBeLessThan(1 / frames);
      // Every frame k reaches the NIC on the first whole cycle after its last bit: t0 + (k + 1) x T.
      const t0 = report.firstFrameCycle;
      for (let k = 0; k < nic.arrivals.length; k++) {
        expect(nic.arrivals[k].cycle).toBe(Math.ceil(t0 + (k + 1) * frameNs - 1e-6));
      }
      expect(nic.badFrames).toBe(0);
    });
  }

  it('never delivers faster than the line rate, even when the frame time is fractional', () => {
    const { nic } = runStream({ frameSize: 60, frames: 5_000 }, { ackEvery: 4 });
    for (let k = 1; k < nic.arrivals.length; k++) {
      expect(nic.arrivals[k].cycle - nic.arrivals[0].cycle).toBeGreaterThanOrEqual(Math.floor(k * 67.2));
    }
  });

  it('is exact at a frequency that makes the frame time whole (5 GHz: 64 B = 336 cycles)', () => {
    const { nic, report } = runStream({ frameSize: 60, frames: 1_000 }, { ackEvery: 1 }, 5e9);
    const gaps = new Set(nic.arrivals.slice(1).map((a, i) => a.cycle - nic.arrivals[i].cycle));
    expect([...gaps]).toEqual([336]);
    expect(report.elapsedNs).toBeCloseTo(1_000 * 67.2, 6);
  });

  it('reports goodput as payload bits per simulated second', () => {
    const { report } = runStream({ frameSize: 1514, frames: 5_000 }, { ackEvery: 16 });
    // 1484 payload bytes per 1538 wire bytes at 10 Gb/s
    expect(report.goodputBps / 1e9).toBeCloseTo((1484 / 1538) * 10, 2);
    expect(report.payloadBytesAcked).toBe(5_000 * 1484);
  });
});

describe('window', () => {
  it('never has more than `window` frames unacknowledged', () => {
    const { report, nic } = runStream({ frameSize: 200, frames: 2_000, window: 8 }, { ackEvery: 3, replyDelay: 20_000 });
    expect(report.completed).toBe(1);
    expect(nic.maxInFlightSeen).toBe(8);
    expect(report.maxInFlight).toBe(8);
    // Window-limited: each 8-frame round waits out the 20 us ack delay, far below line rate.
    expect(report.packetsPerSecond).toBeLessThan(report.lineRatePacketsPerSecond / 4);
  });

  it('stops at the window when the guest never acks, and sets ACK_REQUEST on the frame that fills it', () => {
    const s = setup({ waitForGuest: false, window: 5, frames: 100, rtoNs: 1e9 }, { silent: true });
    s.peer.start();
    runScheduler(s.scheduler, 1_000_000);
    expect(s.nic.arrivals.map((a) => a.seq)).toEqual([0, 1, 2, 3, 4]);
    expect(s.nic.arrivals.map((a) => a.flags & 1)).toEqual([0, 0, 0, 0, 1]);
    expect(s.peer.done).toBe(false);
  });

  it('marks the last frame with ACK_REQUEST and FIN', () => {
    const { nic } = runStream({ frames: 10, window: 64 }, { ackEvery: 100 });
    const last = nic.arrivals[nic.arrivals.length - 1];
    expect(last.seq).toBe(9);
    expect(last.flags).toBe(3);
    expect(nic.arrivals.slice(0, -1).every((a) => a.flags === 0)).toBe(true);
  });

  it('is not confused by a NIC that acks synchronously inside receive()', () => {
    const { report, nic } = runStream({ frames: 1_000, window: 4 }, { ackEvery: 2, synchronous: true });
    expect(report.completed).toBe(1);
    expect(nic.expected).toBe(1_000);
    expect(nic.duplicates).toBe(0);
  });
});

describe('drops and retransmission', () => {
  it('counts refused frames and resends them; the guest sees every frame once, in order', () => {
    const refuse = (seq: number, attempt: number): boolean => (seq === 10 && attempt < 3) || (seq === 500 && attempt === 0);
    const { report, nic } = runStream({ frames: 1_000, retryNs: 1_000 }, { refuse });
    expect(report.completed).toBe(1);
    expect(report.framesDropped).toBe(4);
    expect(report.framesRetransmitted).toBe(4);
    expect(report.framesSent).toBe(1_004);
    expect(report.framesDelivered).toBe(1_000);
    expect(nic.expected).toBe(1_000);
    expect(nic.duplicates + nic.outOfOrder).toBe(0);
    // The backoff doubles: retries of seq 10 come 1, 2 and 4 us after each refusal (plus the frame time).
    const tries = nic.arrivals.filter((a) => a.seq === 10).map((a) => a.cycle);
    const frameCycles = 1538 * 0.8;
    const waits = tries.slice(1).map((t, i) => t - tries[i] - frameCycles);
    [1_000, 2_000, 4_000].forEach((w, i) => expect(Math.abs(waits[i] - w)).toBeLessThanOrEqual(1)); // whole-cycle timers
  });

  it('survives a receive ring that overflows (the window larger than the ring)', () => {
    // A ring of 16 descriptors drained at one frame per 2 us: slower than 1514-byte line rate.
    let ring: number[] = [];
    const refuse = (_seq: number, _attempt: number, now: number): boolean => {
      ring = ring.filter((t) => t > now);
      if (ring.length >= 16) return true;
      ring.push(Math.max(now, ring[ring.length - 1] ?? 0) + 2_000);
      return false;
    };
    const { report, nic } = runStream({ frames: 2_000, window: 64 }, { refuse, ackEvery: 8 });
    expect(report.completed).toBe(1);
    expect(report.framesDropped).toBeGreaterThan(0);
    expect(report.framesSent).toBe(report.framesDelivered + report.framesDropped);
    expect(nic.expected).toBe(2_000);
    expect(nic.outOfOrder).toBe(0);
  });

  it('goes back to the oldest unacknowledged frame when no ack comes for rtoNs', () => {
    // The guest acks only when asked (ACK_REQUEST at the window edge); the first such ack is lost.
    const { report, nic } = runStream({ frames: 64, window: 16, rtoNs: 100_000 }, { ackEvery: 1_000, loseAck: (i) => i === 0 });
    expect(report.completed).toBe(1);
    expect(report.timeouts).toBe(1);
    expect(report.framesRetransmitted).toBe(16);
    expect(nic.duplicates).toBe(16);
    expect(nic.outOfOrder).toBe(0);
    // The resent window starts rtoNs after the oldest unacknowledged frame was delivered.
    const resend = nic.arrivals.findIndex((a, i) => i > 0 && a.seq === 0);
    expect(nic.arrivals[resend].cycle - nic.arrivals[0].cycle).toBeGreaterThanOrEqual(100_000);
  });
});

describe('start, end and the report', () => {
  it('waits for the guest hello by default', () => {
    const s = setup({ frames: 100 });
    s.peer.start();
    runScheduler(s.scheduler, 1_000_000);
    expect(s.nic.arrivals).toHaveLength(0);
    s.scheduler.now = 2_000_000;
    s.nic.hello();
    runScheduler(s.scheduler);
    const r = s.peer.report();
    expect(r.completed).toBe(1);
    expect(r.hellos).toBe(1);
    expect(r.firstFrameCycle).toBe(2_000_000);
    expect(s.dones).toHaveLength(1);
    expect(s.dones[0]).toEqual(r);
  });

  it('starts at once when the hello came before start()', () => {
    const s = setup({ frames: 10 });
    s.nic.hello();
    s.scheduler.now = 700;
    s.peer.start();
    runScheduler(s.scheduler);
    expect(s.peer.report()).toMatchObject({ completed: 1, hellos: 1, firstFrameCycle: 700 });
  });

  it('stops at the time limit with a partial report and calls onDone once', () => {
    const s = setup({ waitForGuest: false, frames: Infinity, timeLimitNs: 100_000, frameSize: 1514 }, { ackEvery: 8 });
    s.peer.start();
    runScheduler(s.scheduler);
    const r = s.peer.report();
    expect(s.peer.done).toBe(true);
    expect(s.dones).toHaveLength(1);
    expect(r.completed).toBe(0);
    expect(r.frames).toBe(0);
    expect(r.endCycle).toBe(100_000);
    expect(Math.abs(r.framesAcked - 100_000 / 1230.4)).toBeLessThan(9);
    expect(s.peer.formatReport()[0]).toMatch(/acknowledged before the time limit in 100\.00 us \(simulated\)$/);
  });

  it('reports interrupts per simulated second from the machine counter', () => {
    const scheduler = new Scheduler(1e9);
    const nic = new FakeNic(scheduler, { ackEvery: 10 });
    const peer = new StreamWorkload(scheduler, new Rng(1), { waitForGuest: false, frames: 1_000, interrupts: () => nic.interrupts * 2 });
    peer.attach(nic);
    nic.peer = peer;
    peer.start();
    runScheduler(scheduler);
    const r = peer.report();
    expect(r.interrupts).toBe(200);
    expect(r.interruptsPerSecond).toBeCloseTo(200 / (r.elapsedNs / 1e9), 6);
    expect(peer.formatReport()[1]).toMatch(/interrupts\/s$/);
  });

  it('gives up after maxTimeouts consecutive timeouts when the guest stops acking', () => {
    const { report, dones, peer } = runStream({ frames: 100, window: 8, rtoNs: 50_000, maxTimeouts: 3 }, { silent: true });
    expect(dones).toHaveLength(1);
    expect(report.aborted).toBe(1);
    expect(report.completed).toBe(0);
    expect(report.timeouts).toBe(3);
    expect(report.framesRetransmitted).toBe(16);
    expect(peer.formatReport()[0]).toMatch(/^stream: 0 data frames .* of 100 acknowledged, then the guest stopped acking \(aborted\), in/);
  });

  it('omits the interrupt fields when there is no counter', () => {
    const { report, peer } = runStream({ frames: 10 });
    expect('interruptsPerSecond' in report).toBe(false);
    expect(peer.formatReport()[1]).not.toMatch(/interrupts/);
  });

  it('prints the CLI lines with simulated figures', () => {
    const { peer } = runStream({ frames: 10_000, frameSize: 1514, window: 64 }, { ackEvery: 16 });
    expect(peer.formatReport()).toEqual([
      'stream: 10,000 data frames of 1514 bytes (1484 payload) acknowledged in 12.304 ms (simulated)',
      'goodput 9.65 Gb/s (simulated), 812,744 packets/s (line rate 812,744)',
      'drops 0, retransmitted 0, timeouts 0, acks 625 (stale 0), max in flight 17 of window 64',
      'invalid frames from guest: 0',
    ]);
  });

  it('gives the same report, byte for byte, for the same seed and options', () => {
    const opts: StreamOptions = { frames: 3_000, window: 32, frameSize: 333 };
    const nicOpts = (): FakeNicOptions => ({ ackEvery: 5, replyDelay: (seq) => 300 + (seq % 7) * 50, refuse: (seq, attempt) => seq % 97 === 3 && attempt < 2 });
    const a = runStream(opts, nicOpts());
    const b = runStream(opts, nicOpts());
    expect(JSON.stringify(a.report)).toBe(JSON.stringify(b.report));
    expect(a.peer.formatReport().join('\n')).toBe(b.peer.formatReport().join('\n'));
    expect(a.report.framesDropped).toBeGreaterThan(0);
  });

  it('rejects bad options at build time', () => {
    const s = new Scheduler();
    expect(() => new StreamWorkload(s, new Rng(1), { frameSize: 59 })).toThrow(/frameSize/);
    expect(() => new StreamWorkload(s, new Rng(1), { frameSize: 1515 })).toThrow(/frameSize/);
    expect(() => new StreamWorkload(s, new Rng(1), { window: 0 })).toThrow(/window/);
    expect(() => new StreamWorkload(s, new Rng(1), { frames: Infinity })).toThrow(/timeLimitNs/);
    expect(() => new StreamWorkload(s, new Rng(1), { guestMac: '52:54:00' })).toThrow(/MAC/);
    expect(() => new StreamWorkload(s, new Rng(1)).start()).toThrow(/attach/);
  });
});

describe('checking the guest frames', () => {
  it('counts invalid frames by reason and keeps running', () => {
    const s = setup({ waitForGuest: false, frames: 200 }, { ackEvery: 10 });
    s.peer.start();
    runScheduler(s.scheduler, 50_000); // some frames out, some acked
    const peer = s.peer;
    const good = encode({ seq: 0, kind: 1 });
    peer.receive(good, 20); // short
    peer.receive(good, NaN); // nonsense length
    peer.receive(good, 10_000); // longer than the buffer
    peer.receive(encode({ seq: 0, kind: 1, dst: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff] }), 60);
    peer.receive(encode({ seq: 0, kind: 1, src: [2, 0, 0, 0, 0, 1] }), 60);
    peer.receive(encode({ seq: 0, kind: 1, etherType: 0x0800 }), 60);
    peer.receive(encode({ seq: 0, kind: 1, lengthField: 31 }), 60);
    peer.receive(encode({ seq: 0, kind: 1, lengthField: 0xffffffff }), 60);
    peer.receive(encode({ seq: 0, kind: 1, payload: new Uint8Array([1, 2, 3]), checksum: 0x1234 }), 60);
    peer.receive(encode({ seq: 0, kind: 0 }), 60); // data from the guest
    peer.receive(encode({ seq: 0, kind: 3 }), 60); // response in a stream
    peer.receive(encode({ seq: 0, kind: 9 }), 60); // unknown kind
    peer.receive(encode({ seq: 150, kind: 1 }), 60); // acks a frame never sent
    peer.receive(encode({ seq: 0, kind: 1, payload: new Uint8Array([7, 8, 9]) }), 60); // valid (stale) ack with a payload
    runScheduler(s.scheduler);
    const r = peer.report();
    expect(r.completed).toBe(1);
    expect([r.invalidShort, r.invalidDestination, r.invalidSource, r.invalidEtherType, r.invalidPayloadLength]).toEqual([3, 1, 1, 1, 2]);
    expect([r.invalidChecksum, r.invalidKind, r.invalidSequence, r.invalidFrames]).toEqual([1, 3, 1, 13]);
    expect(r.staleAcks).toBeGreaterThanOrEqual(1);
    expect(peer.formatReport()[3]).toBe(
      'invalid frames from guest: 13 (short 3, destination 1, source 1, etherType 1, payloadLength 2, checksum 1, kind 3, sequence 1)',
    );
  });

  it('accepts a padded ack, and an ack with an odd-length payload and a correct checksum', () => {
    const s = setup({ waitForGuest: false, frames: 3, window: 3 }, { silent: true });
    s.peer.start();
    runScheduler(s.scheduler, 100_000);
    s.peer.receive(encode({ seq: 1, kind: 1, payload: new Uint8Array([0xab, 0xcd, 0xef]) }), 60);
    s.peer.receive(encode({ seq: 2, kind: 1 }), 60);
    expect(s.peer.done).toBe(true);
    expect(s.peer.report().invalidFrames).toBe(0);
  });

  it('freezes the report once done', () => {
    const { peer, report } = runStream({ frames: 50 });
    peer.receive(encode({ seq: 0, kind: 0 }), 60);
    expect(peer.report()).toEqual(report);
  });
});
