// RrWorkload against the fake NIC: round-trip time = serialisation + the guest's delay, percentiles on a known
// distribution, drops, timeouts and duplicates, invalid responses, the hello, time limits and determinism.

import { describe, expect, it } from 'vitest';
import { Rng } from '../../../src/core/rng.js';
import { Scheduler } from '../../../src/core/scheduler.js';
import { type RrOptions, type RrReport, RrWorkload } from '../../../src/devices/net/rr-workload.js';
import { encode, FakeNic, type FakeNicOptions, runScheduler } from './fake-nic.js';

function setup(options: RrOptions = {}, nicOptions: FakeNicOptions = {}, frequencyHz = 1e9, seed = 1) {
  const scheduler = new Scheduler(frequencyHz);
  const dones: RrReport[] = [];
  const peer = new RrWorkload(scheduler, new Rng(seed), { onDone: (r) => dones.push(r), ...options });
  const nic = new FakeNic(scheduler, nicOptions);
  peer.attach(nic);
  nic.peer = peer;
  return { scheduler, peer, nic, dones };
}

function runRr(options: RrOptions = {}, nicOptions: FakeNicOptions = {}, frequencyHz = 1e9, seed = 1) {
  const s = setup({ waitForGuest: false, ...options }, nicOptions, frequencyHz, seed);
  s.peer.start();
  runScheduler(s.scheduler);
  return { ...s, report: s.peer.report() };
}

describe('round trips', () => {
  it('measures the fake delay plus the request serialisation (5 GHz: exact cycles)', () => {
    // 60-byte request = 84 wire bytes = 67.2 ns = 336 cycles; the guest answers 5,000 cycles (1 us) later.
    const { report, nic } = runRr({ transactions: 100 }, { replyDelay: 5_000 }, 5e9);
    expect(report.completed).toBe(1);
    expect(report.transactions).toBe(100);
    for (const v of [report.latencyMinNs, report.latencyMeanNs, report.latencyP50Ns, report.latencyP99Ns, report.latencyMaxNs]) {
      expect(v).toBeCloseTo(1_067.2, 6);
    }
    expect(report.transactionsPerSecond).toBeCloseTo(1e9 / 1_067.2, 3);
    expect(report.elapsedNs).toBeCloseTo(100 * 1_067.2, 6);
    expect(nic.badFrames).toBe(0);
    expect(nic.arrivals.map((a) => a.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(nic.arrivals[99].flags).toBe(2); // FIN on the last request
  });

  it('is within one cycle of delay + serialisation when the frame time is fractional (1 GHz)', () => {
    const { report } = runRr({ transactions: 50, requestSize: 1514 }, { replyDelay: 3_000 });
    expect(report.latencyMinNs).toBeGreaterThanOrEqual(3_000 + 1_230.4);
    expect(report.latencyMaxNs).toBeLessThan(3_000 + 1_230.4 + 1);
  });

  it('gives netperf-style percentiles over a known delay distribution', () => {
    // Delays are a permutation of 1..100 us across the 100 transactions (37 is coprime to 100).
    const { report } = runRr({ transactions: 100 }, { replyDelay: (seq) => (((seq * 37) % 100) + 1) * 5_000 }, 5e9);
    const ser = 67.2;
    expect(report.latencyMinNs).toBeCloseTo(1_000 + ser, 6);
    expect(report.latencyP50Ns).toBeCloseTo(50_000 + ser, 6);
    expect(report.latencyP90Ns).toBeCloseTo(90_000 + ser, 6);
    expect(report.latencyP99Ns).toBeCloseTo(99_000 + ser, 6);
    expect(report.latencyMaxNs).toBeCloseTo(100_000 + ser, 6);
    expect(report.latencyMeanNs).toBeCloseTo(50_500 + ser, 6);
  });

  it('waits thinkNs between a response and the next request', () => {
    const { report, nic } = runRr({ transactions: 10, thinkNs: 2_000 }, { replyDelay: 1_000 });
    expect(report.latencyP50Ns).toBeCloseTo(1_068, 6);
    expect(nic.arrivals[1].cycle - nic.arrivals[0].cycle).toBe(1_000 + 2_000 + 68);
  });

  it('handles a NIC that answers synchronously inside receive()', () => {
    const { report } = runRr({ transactions: 20 }, { synchronous: true }, 5e9);
    expect(report.completed).toBe(1);
    expect(report.latencyMaxNs).toBeCloseTo(67.2, 6);
    expect(report.elapsedNs).toBeCloseTo(20 * 67.2, 6);
  });
});

describe('losses', () => {
  it('resends a refused request after the backoff and counts the wait in its latency', () => {
    const { report } = runRr({ transactions: 10, retryNs: 1_000 }, { refuse: (seq, attempt) => seq === 3 && attempt < 2, replyDelay: 500 }, 5e9);
    expect(report.completed).toBe(1);
    expect(report.requestsDropped).toBe(2);
    expect(report.requestsSent).toBe(12);
    // Three serialisations, 1 us + 2 us of backoff, the 100 ns answer.
    expect(report.latencyMaxNs).toBeCloseTo(3 * 67.2 + 3_000 + 100, 6);
    expect(report.latencyP50Ns).toBeCloseTo(167.2, 6);
  });

  it('resends an unanswered request after rtoNs, and counts a late answer as a duplicate', () => {
    const { report, nic } = runRr(
      { transactions: 20, rtoNs: 20_000 },
      { replyDelay: (seq, attempt) => (seq === 2 && attempt === 0 ? 30_000 : 1_000) },
    );
    expect(report.completed).toBe(1);
    expect(report.timeouts).toBe(1);
    expect(report.duplicateResponses).toBe(1);
    expect(report.invalidFrames).toBe(0);
    expect(nic.arrivals.filter((a) => a.seq === 2)).toHaveLength(2);
    // Transaction 2: first send -> delivered at 68, RTO 20,000 later, resend 68, answer 1,000.
    expect(report.latencyMaxNs).toBe(68 + 20_000 + 68 + 1_000);
  });

  it('gives up after maxTimeouts when the guest stops answering', () => {
    const { report, dones } = runRr({ transactions: 5, rtoNs: 10_000, maxTimeouts: 4 }, { mute: (seq) => seq >= 2 });
    expect(dones).toHaveLength(1);
    expect(report.aborted).toBe(1);
    expect(report.transactions).toBe(2);
    expect(report.timeouts).toBe(4);
    expect(report.completed).toBe(0);
  });
});

describe('checking and the run', () => {
  it('counts invalid responses by reason', () => {
    const s = setup({ transactions: 3 }, { replyDelay: 100_000 });
    s.peer.receive(encode({ seq: 0, kind: 3 }), 60); // a response before anything was asked
    s.peer.start();
    s.nic.hello();
    runScheduler(s.scheduler, 50_000);
    s.peer.receive(encode({ seq: 7, kind: 3 }), 60); // not the outstanding sequence
    s.peer.receive(encode({ seq: 0, kind: 0 }), 60); // data from the guest
    s.peer.receive(encode({ seq: 0, kind: 2 }), 60); // a request from the guest
    s.peer.receive(encode({ seq: 5, kind: 1 }), 60); // an ack that is not a hello
    s.peer.receive(encode({ seq: 0, kind: 3, payload: Uint8Array.from([9]), checksum: 0 }), 60);
    runScheduler(s.scheduler);
    const r = s.peer.report();
    expect(r.completed).toBe(1);
    expect([r.invalidSequence, r.invalidKind, r.invalidChecksum, r.invalidFrames]).toEqual([2, 3, 1, 6]);
    expect(r.hellos).toBe(1);
    expect(s.peer.formatReport()[4]).toBe('invalid frames from guest: 6 (checksum 1, kind 3, sequence 2)');
  });

  it('waits for the hello by default, then runs', () => {
    const s = setup({ transactions: 3 }, { replyDelay: 1_000 });
    s.peer.start();
    runScheduler(s.scheduler);
    expect(s.nic.arrivals).toHaveLength(0);
    s.scheduler.now = 500;
    s.nic.hello();
    runScheduler(s.scheduler);
    expect(s.peer.done).toBe(true);
    expect(s.dones).toHaveLength(1);
    expect(s.dones[0]).toEqual(s.peer.report());
    expect(s.peer.report().firstFrameCycle).toBe(500);
  });

  it('stops at the time limit', () => {
    const { report, dones } = runRr({ transactions: Infinity, timeLimitNs: 100_500 }, { replyDelay: 932 });
    expect(dones).toHaveLength(1);
    expect(report.transactionsTarget).toBe(0);
    expect(report.transactions).toBe(100); // 1,000 ns per round trip
    expect(report.endCycle).toBe(100_500);
  });

  it('reports interrupts per second and prints simulated figures', () => {
    const scheduler = new Scheduler(1e9);
    const nic = new FakeNic(scheduler, { replyDelay: 932 });
    const peer = new RrWorkload(scheduler, new Rng(1), { waitForGuest: false, transactions: 1_000, interrupts: () => nic.interrupts });
    peer.attach(nic);
    nic.peer = peer;
    peer.start();
    runScheduler(scheduler);
    expect(peer.report().interruptsPerSecond).toBeCloseTo(1e6, 3);
    expect(peer.formatReport()).toEqual([
      'request/response: 1,000 transactions, 60-byte requests, in 1.000 ms (simulated)',
      '1,000,000 transactions/s (simulated), 1,000,000 interrupts/s',
      'latency (simulated) mean 1.00 us, p50 1.00 us, p90 1.00 us, p99 1.00 us, max 1.00 us',
      'drops 0, timeouts 0, duplicate responses 0',
      'invalid frames from guest: 0',
    ]);
  });

  it('gives the same report, byte for byte, for the same seed and options', () => {
    const nicOpts = (): FakeNicOptions => ({
      replyDelay: (seq, attempt) => (seq % 13 === 4 && attempt === 0 ? 40_000 : 500 + (seq % 11) * 97),
      refuse: (seq, attempt) => seq % 17 === 5 && attempt === 0,
    });
    const a = runRr({ transactions: 500, rtoNs: 30_000, requestSize: 99 }, nicOpts());
    const b = runRr({ transactions: 500, rtoNs: 30_000, requestSize: 99 }, nicOpts());
    expect(JSON.stringify(a.report)).toBe(JSON.stringify(b.report));
    expect(a.peer.formatReport()).toEqual(b.peer.formatReport());
    expect(a.report.timeouts).toBeGreaterThan(0);
    expect(a.report.requestsDropped).toBeGreaterThan(0);
  });
});
