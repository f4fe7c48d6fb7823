// The request/response workload of the link peer (a TCP_RR / UDP_RR-like client): one request outstanding,
// the round trip timed on the simulated clock, latency percentiles. Frame format: frame-format.ts; the
// serialiser and shared options: peer-common.ts.

import type { EthernetLink, EthernetPort } from '../../core/ethernet.js';
import { ETH_MAX_FRAME, ETH_MIN_FRAME } from '../../core/ethernet.js';
import type { Rng } from '../../core/rng.js';
import type { Scheduler, Timer } from '../../core/scheduler.js';
import { buildFrame, FrameFlag, FrameKind, HELLO_SEQUENCE, INVALID_REASON_NAMES, InvalidReason, setFlags } from './frame-format.js';
import { cyclesToNs, deliveryCycle, type InvalidCounts, intOption, nsToCycles, PeerBase, type PeerOptions, PeerState } from './peer-common.js';
import { formatDuration, formatInvalid, groupThousands, INVALID_KEYS, LatencySamples } from './report-format.js';

export interface RrOptions extends PeerOptions {
  /** Request frame size in bytes without FCS, 60..1514 (default 60: the minimum frame, 30 payload bytes). */
  requestSize?: number;
  /** Transactions to complete (default 1,000; Infinity with a time limit). */
  transactions?: number;
  /** Wait between a response and the next request, ns (default 0: netperf's back-to-back transactions). */
  thinkNs?: number;
  onDone?: (report: RrReport) => void;
}

export const RR_DEFAULTS = { requestSize: ETH_MIN_FRAME, transactions: 1_000, thinkNs: 0 } as const;

/** Plain numbers only; latencies in simulated ns, from the start of the request's first serialisation to the response. */
export interface RrReport extends InvalidCounts {
  requestSize: number;
  rateBps: number;
  frequencyHz: number;
  /** The configured count; 0 = unlimited (a time-limited run). */
  transactionsTarget: number;
  completed: number;
  /** 1 when the peer gave up after maxTimeouts consecutive timeouts (the guest stopped answering). */
  aborted: number;
  transactions: number;
  /** Every request transmission, including drops and resends after a timeout. */
  requestsSent: number;
  requestsDropped: number;
  timeouts: number;
  duplicateResponses: number;
  hellos: number;
  firstFrameCycle: number;
  endCycle: number;
  elapsedNs: number;
  transactionsPerSecond: number;
  latencyMeanNs: number;
  latencyMinNs: number;
  latencyP50Ns: number;
  latencyP90Ns: number;
  latencyP99Ns: number;
  latencyMaxNs: number;
  interrupts?: number;
  interruptsPerSecond?: number;
}

/**
 * Sends request 0, waits for response 0, sends request 1, ... A request the NIC refuses is resent after a
 * doubling wait; a request unanswered for `rtoNs` is resent with the same sequence (the latency sample still
 * counts from the first transmission, as the user of a real RR client would see it). A response to an
 * earlier sequence is a duplicate (counted, not invalid).
 */
export class RrWorkload extends PeerBase implements EthernetPort, EthernetLink {
  private readonly requestSize: number;
  private readonly transactions: number;
  private readonly thinkCycles: number;
  private readonly onDone: ((report: RrReport) => void) | undefined;
  private readonly request: Uint8Array;
  private readonly latency: LatencySamples;
  private readonly txTimer: Timer;
  private readonly retryTimer: Timer;
  private readonly rtoTimer: Timer;
  private readonly limitTimer: Timer;

  /** Sequence of the transaction in progress. */
  private current = 0;
  /** Sequence whose request is in `request` (-1: none), and the one on the wire. */
  private builtSeq = -1;
  private pendingSeq = 0;
  /** While the NIC's receive() runs: the sequence being handed over + 1 (a synchronous answer may come), else 0. */
  private inReceive = 0;
  /** Exact cycle the current request first started serialising (-1: not yet). */
  private currentStart = -1;
  /** The current request has reached the NIC at least once. */
  private delivered = false;
  /** A send of the current request is wanted as soon as the wire and backoff allow, no earlier than `earliest`. */
  private wantSend = false;
  private earliest = 0;
  private txBusy = false;
  private backingOff = false;
  private completed = 0;
  private requestsSent = 0;
  private requestsDropped = 0;
  private timeouts = 0;
  private duplicateResponses = 0;

  constructor(
    scheduler: Scheduler,
    private readonly rng: Rng,
    options: RrOptions = {},
  ) {
    super(scheduler, options);
    this.requestSize = intOption('requestSize', options.requestSize ?? RR_DEFAULTS.requestSize, ETH_MIN_FRAME, ETH_MAX_FRAME);
    const transactions = options.transactions ?? RR_DEFAULTS.transactions;
    this.transactions = transactions === Infinity ? Infinity : intOption('transactions', transactions, 1, HELLO_SEQUENCE - 1);
    if (this.transactions === Infinity && this.opts.timeLimitCycles === Infinity) {
      throw new Error('link peer: Infinity transactions need timeLimitNs');
    }
    const thinkNs = options.thinkNs ?? RR_DEFAULTS.thinkNs;
    if (!(thinkNs >= 0)) throw new Error(`link peer: thinkNs must be >= 0 (got ${thinkNs})`);
    this.thinkCycles = nsToCycles(thinkNs, scheduler.frequencyHz);
    this.onDone = options.onDone;
    this.request = new Uint8Array(this.requestSize);
    this.latency = new LatencySamples(Math.min(this.transactions, 1 << 16));
    this.txTimer = scheduler.createTimer('peer-rr-tx', (now) => this.onTransmitted(now));
    this.retryTimer = scheduler.createTimer('peer-rr-retry', (now) => this.onRetry(now));
    this.rtoTimer = scheduler.createTimer('peer-rr-rto', (now) => this.onTimeout(now));
    this.limitTimer = scheduler.createTimer('peer-rr-limit', (now) => this.finish(now));
  }

  /** EthernetPort: a frame from the guest. Never dropped. */
  receive(frame: Uint8Array, length: number): boolean {
    if (this.state === PeerState.Done) return true;
    if (!this.checker.check(frame, length)) return true;
    const now = this.scheduler.now;
    if (this.checker.kind === FrameKind.Ack && this.checker.sequence === HELLO_SEQUENCE) {
      this.hello(now);
      return true;
    }
    if (this.checker.kind !== FrameKind.Response) {
      this.checker.reject(InvalidReason.Kind);
      return true;
    }
    this.onResponse(this.checker.sequence, now);
    return true;
  }

  protected onBegin(now: number): void {
    if (this.opts.timeLimitCycles !== Infinity) this.limitTimer.armAt(Math.ceil(now + this.opts.timeLimitCycles));
    this.beginTransaction(now);
  }

  private beginTransaction(earliest: number): void {
    this.currentStart = -1;
    this.delivered = false;
    this.wantSend = true;
    this.earliest = earliest;
    this.trySend();
  }

  private trySend(): void {
    if (this.state !== PeerState.Running || !this.wantSend || this.txBusy || this.backingOff) return;
    if (this.builtSeq !== this.current) {
      // Built only once the wire is free, so a stale resend still on the wire keeps its bytes.
      buildFrame(this.request, this.requestSize, this.opts.guestMac, this.opts.peerMac, FrameKind.Request, this.current, this.rng);
      setFlags(this.request, this.current + 1 === this.transactions ? FrameFlag.Fin : 0);
      this.builtSeq = this.current;
    }
    this.pendingSeq = this.current;
    const arrival = this.wire.transmit(this.earliest, this.requestSize);
    if (this.currentStart < 0) this.currentStart = this.wire.lastStart;
    if (this.firstFrameCycle < 0) this.firstFrameCycle = this.wire.lastStart;
    this.wantSend = false;
    this.txBusy = true;
    this.txTimer.armAt(deliveryCycle(arrival));
  }

  private onTransmitted(now: number): void {
    this.requestsSent++;
    const seq = this.pendingSeq;
    this.inReceive = seq + 1;
    const accepted = this.nic!.receive(this.request, this.requestSize);
    this.inReceive = 0;
    this.txBusy = false;
    if (this.state !== PeerState.Running) return;
    if (seq !== this.current) {
      this.trySend(); // a stale resend, or answered synchronously inside receive(): on to the current request
      return;
    }
    if (accepted) {
      this.delivered = true;
      this.backoff.reset();
      this.rtoTimer.armAt(Math.ceil(now + this.opts.rtoCycles));
    } else {
      this.requestsDropped++;
      this.backingOff = true;
      this.wantSend = true;
      this.retryTimer.armAt(Math.ceil(now + this.backoff.take()));
    }
    this.trySend();
  }

  private onRetry(now: number): void {
    this.backingOff = false;
    this.earliest = now;
    this.trySend();
  }

  private onTimeout(now: number): void {
    if (this.state !== PeerState.Running) return;
    this.timeouts++;
    if (++this.consecutiveTimeouts >= this.opts.maxTimeouts) {
      this.aborted = 1;
      this.finish(now);
      return;
    }
    this.wantSend = true;
    this.earliest = now;
    this.trySend();
  }

  private onResponse(seq: number, now: number): void {
    if (this.state !== PeerState.Running) {
      this.checker.reject(InvalidReason.Sequence); // nothing was asked yet
      return;
    }
    if (seq < this.current) {
      this.duplicateResponses++;
      return;
    }
    if (seq !== this.current || !(this.delivered || this.inReceive === seq + 1)) {
      this.checker.reject(InvalidReason.Sequence);
      return;
    }
    this.latency.add(now - this.currentStart);
    this.completed++;
    this.consecutiveTimeouts = 0;
    this.rtoTimer.cancel();
    this.wantSend = false; // a resend still waiting (backoff / wire) is no longer needed
    if (this.completed >= this.transactions) {
      this.finish(now);
      return;
    }
    this.current++;
    this.beginTransaction(now + this.thinkCycles);
  }

  private finish(now: number): void {
    if (this.state === PeerState.Done) return;
    this.markFinished(now);
    this.txTimer.cancel();
    this.retryTimer.cancel();
    this.rtoTimer.cancel();
    this.limitTimer.cancel();
    this.onDone?.(this.report());
  }

  report(): RrReport {
    const freq = this.scheduler.frequencyHz;
    const endCycle = this.state === PeerState.Done ? this.doneCycle : this.scheduler.now;
    const elapsedCycles = this.firstFrameCycle < 0 ? 0 : Math.max(0, endCycle - this.firstFrameCycle);
    const seconds = elapsedCycles / freq;
    const sorted = this.latency.sorted();
    const ns = (cycles: number): number => cyclesToNs(cycles, freq);
    return {
      requestSize: this.requestSize,
      rateBps: this.opts.rateBps,
      frequencyHz: freq,
      transactionsTarget: this.transactions === Infinity ? 0 : this.transactions,
      completed: this.completed >= this.transactions ? 1 : 0,
      aborted: this.aborted,
      transactions: this.completed,
      requestsSent: this.requestsSent,
      requestsDropped: this.requestsDropped,
      timeouts: this.timeouts,
      duplicateResponses: this.duplicateResponses,
      hellos: this.hellos,
      firstFrameCycle: this.firstFrameCycle,
      endCycle,
      elapsedNs: seconds * 1e9,
      transactionsPerSecond: seconds > 0 ? this.completed / seconds : 0,
      latencyMeanNs: ns(this.latency.mean),
      latencyMinNs: ns(sorted.length > 0 ? sorted[0] : 0),
      latencyP50Ns: ns(LatencySamples.percentile(sorted, 50)),
      latencyP90Ns: ns(LatencySamples.percentile(sorted, 90)),
      latencyP99Ns: ns(LatencySamples.percentile(sorted, 99)),
      latencyMaxNs: ns(LatencySamples.percentile(sorted, 100)),
      ...this.invalidFields(),
      ...this.interruptFields(seconds),
    };
  }

  formatReport(): string[] {
    return formatRrReport(this.report());
  }
}

export function formatRrReport(r: RrReport): string[] {
  let rate = `${groupThousands(r.transactionsPerSecond)} transactions/s (simulated)`;
  if (r.interruptsPerSecond !== undefined) rate += `, ${groupThousands(r.interruptsPerSecond)} interrupts/s`;
  let target = r.completed === 1 || r.transactionsTarget === 0 ? '' : ` of ${groupThousands(r.transactionsTarget)}`;
  if (r.aborted === 1) target += ' (aborted: the guest stopped answering)';
  return [
    `request/response: ${groupThousands(r.transactions)}${target} transactions, ${r.requestSize}-byte requests, in ${formatDuration(r.elapsedNs)} (simulated)`,
    rate,
    `latency (simulated) mean ${formatDuration(r.latencyMeanNs)}, p50 ${formatDuration(r.latencyP50Ns)}, p90 ${formatDuration(r.latencyP90Ns)}, ` +
      `p99 ${formatDuration(r.latencyP99Ns)}, max ${formatDuration(r.latencyMaxNs)}`,
    `drops ${groupThousands(r.requestsDropped)}, timeouts ${groupThousands(r.timeouts)}, duplicate responses ${groupThousands(r.duplicateResponses)}`,
    formatInvalid(r as unknown as Record<string, number>, INVALID_REASON_NAMES, INVALID_KEYS),
  ];
}
