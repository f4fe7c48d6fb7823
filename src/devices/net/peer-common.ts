// What both link-peer workloads share: the options every workload takes, the line-rate serialiser of the
// peer -> guest direction (devices.md 7.2-7.3) and the retry backoff after a drop. Protocol logic is the workloads'.

import { ETH_WIRE_OVERHEAD, type EthernetPort } from '../../core/ethernet.js';
import type { Scheduler } from '../../core/scheduler.js';
import { DEFAULT_GUEST_MAC, FrameChecker, type MacAddress, parseMac, PEER_MAC } from './frame-format.js';

/** Options common to the stream and request/response workloads. */
export interface PeerOptions {
  /** MAC data rate of the peer's transmit direction, bits/s (default 10e9: 10 GbE). */
  rateBps?: number;
  /** The guest NIC's MAC: destination of the peer's frames, required source of the guest's (default 52:54:00:12:34:56). */
  guestMac?: MacAddress;
  /** The peer's MAC (default 52:54:00:00:00:01). */
  peerMac?: MacAddress;
  /** Stay idle after start() until the guest's HELLO (an ack of sequence 0xFFFFFFFF) arrives (default true). */
  waitForGuest?: boolean;
  /** Simulated time limit, ns, counted from the first frame (default none). */
  timeLimitNs?: number;
  /** Retransmission timeout, ns: no progress for this long resends from the oldest unacknowledged frame (default 10 ms). */
  rtoNs?: number;
  /** Consecutive timeouts without progress after which the workload gives up: done, completed 0, aborted 1 (default 8). */
  maxTimeouts?: number;
  /** First wait after the NIC drops a frame before resending it, ns; doubles per consecutive drop (default 1 µs). */
  retryNs?: number;
  /** Cap of the doubling retry wait, ns (default 100 µs). */
  maxRetryNs?: number;
  /** Reads the machine's interrupt counter (e.g. NIC MSIs delivered); sampled at the first frame and at the end. */
  interrupts?: () => number;
}

export interface ResolvedPeerOptions {
  rateBps: number;
  guestMac: Uint8Array;
  peerMac: Uint8Array;
  waitForGuest: boolean;
  timeLimitCycles: number;
  rtoCycles: number;
  maxTimeouts: number;
  retryCycles: number;
  maxRetryCycles: number;
  interrupts: (() => number) | undefined;
}

export const PEER_DEFAULTS = {
  rateBps: 10e9,
  rtoNs: 10_000_000,
  maxTimeouts: 8,
  retryNs: 1_000,
  maxRetryNs: 100_000,
} as const;

export function nsToCycles(ns: number, frequencyHz: number): number {
  return (ns * frequencyHz) / 1e9;
}

export function cyclesToNs(cycles: number, frequencyHz: number): number {
  return (cycles * 1e9) / frequencyHz;
}

function positive(name: string, value: number): number {
  if (!(value > 0)) throw new Error(`link peer: ${name} must be > 0 (got ${value})`);
  return value;
}

/** Integer option in [min, max]; throws at build time otherwise. */
export function intOption(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`link peer: ${name} must be an integer in [${min}, ${max}] (got ${value})`);
  }
  return value;
}

export function resolvePeerOptions(o: PeerOptions, frequencyHz: number): ResolvedPeerOptions {
  const retryNs = positive('retryNs', o.retryNs ?? PEER_DEFAULTS.retryNs);
  return {
    rateBps: positive('rateBps', o.rateBps ?? PEER_DEFAULTS.rateBps),
    guestMac: parseMac(o.guestMac ?? DEFAULT_GUEST_MAC),
    peerMac: parseMac(o.peerMac ?? PEER_MAC),
    waitForGuest: o.waitForGuest ?? true,
    timeLimitCycles: nsToCycles(positive('timeLimitNs', o.timeLimitNs ?? Infinity), frequencyHz),
    rtoCycles: nsToCycles(positive('rtoNs', o.rtoNs ?? PEER_DEFAULTS.rtoNs), frequencyHz),
    maxTimeouts: intOption('maxTimeouts', o.maxTimeouts ?? PEER_DEFAULTS.maxTimeouts, 1, 1_000_000),
    retryCycles: nsToCycles(retryNs, frequencyHz),
    maxRetryCycles: nsToCycles(Math.max(retryNs, o.maxRetryNs ?? PEER_DEFAULTS.maxRetryNs), frequencyHz),
    interrupts: o.interrupts,
  };
}

/**
 * The peer's transmit direction of the full-duplex link: frames go out back to back, each taking
 * (frame + 4 FCS + 20 preamble/SFD/IFG) x 8 / rate seconds (devices.md 7.3). Times are exact (fractional)
 * cycles, computed from the byte count of the current back-to-back burst so that rounding never accumulates
 * and the long-run rate is exact; timers are armed at the next whole cycle (`deliveryCycle`), so a frame
 * never reaches the NIC before its last bit has.
 */
export class Wire {
  /** Exact cycle at which the last frame started serialising. */
  lastStart = 0;
  /** The current back-to-back burst started at `burstStart` and has carried `burstBytes` wire bytes since. */
  private burstStart = 0;
  private burstBytes = 0;

  constructor(
    private readonly rateBps: number,
    private readonly frequencyHz: number,
  ) {}

  /** Cycles `wireBytes` bytes occupy the wire (one multiply and one divide: no accumulated rounding). */
  private cycles(wireBytes: number): number {
    return (wireBytes * 8 * this.frequencyHz) / this.rateBps;
  }

  /** Cycles one frame of `frameLength` bytes (without FCS) occupies the wire. */
  frameCycles(frameLength: number): number {
    return this.cycles(frameLength + ETH_WIRE_OVERHEAD);
  }

  /** Exact cycle at which the wire is next free. */
  get freeAt(): number {
    return this.burstStart + this.cycles(this.burstBytes);
  }

  /** Starts a frame no earlier than `earliest`; returns the exact cycle its last bit arrives. */
  transmit(earliest: number, frameLength: number): number {
    const free = this.freeAt;
    if (earliest > free) {
      this.burstStart = earliest;
      this.burstBytes = 0;
    }
    this.lastStart = this.freeAt;
    this.burstBytes += frameLength + ETH_WIRE_OVERHEAD;
    return this.freeAt;
  }
}

/**
 * The whole cycle at which a frame whose last bit arrives at exact cycle `arrival` is handed to the NIC
 * (the tolerance absorbs the last-bit rounding of a product that is mathematically an integer).
 */
export function deliveryCycle(arrival: number): number {
  return Math.ceil(arrival - Math.max(1e-9, arrival * 1e-12));
}

/** Exponential retry wait after consecutive drops: retry, 2 x retry, ... up to max; reset on a delivery. */
export class Backoff {
  private next: number;

  constructor(
    private readonly first: number,
    private readonly max: number,
  ) {
    this.next = first;
  }

  take(): number {
    const wait = this.next;
    this.next = Math.min(this.max, this.next * 2);
    return wait;
  }

  reset(): void {
    this.next = this.first;
  }
}

/** State shared by both workloads; the workload subclasses drive the protocol. */
export const PeerState = { Idle: 0, WaitingForGuest: 1, Running: 2, Done: 3 } as const;
export type PeerState = (typeof PeerState)[keyof typeof PeerState];

/** The fields both workloads keep; a small base so the two stay in step (not a framework). */
export abstract class PeerBase {
  protected readonly opts: ResolvedPeerOptions;
  protected readonly wire: Wire;
  protected readonly checker: FrameChecker;
  protected readonly backoff: Backoff;
  protected nic: EthernetPort | null = null;
  protected state: PeerState = PeerState.Idle;
  /** Exact cycle the first frame started serialising (-1 before). */
  protected firstFrameCycle = -1;
  protected doneCycle = -1;
  protected hellos = 0;
  /** Timeouts since the last progress (ack advance / completed transaction); at maxTimeouts the run aborts. */
  protected consecutiveTimeouts = 0;
  protected aborted = 0;
  protected interruptsAtStart = 0;
  protected interruptsAtEnd = 0;

  constructor(
    protected readonly scheduler: Scheduler,
    options: PeerOptions,
  ) {
    this.opts = resolvePeerOptions(options, scheduler.frequencyHz);
    this.wire = new Wire(this.opts.rateBps, scheduler.frequencyHz);
    this.checker = new FrameChecker(this.opts.peerMac, this.opts.guestMac);
    this.backoff = new Backoff(this.opts.retryCycles, this.opts.maxRetryCycles);
  }

  /** EthernetLink: the NIC port this peer sends to. */
  attach(port: EthernetPort): void {
    this.nic = port;
  }

  /** True once the workload has finished (count reached or time limit); the report is then frozen. */
  get done(): boolean {
    return this.state === PeerState.Done;
  }

  /**
   * Starts the workload now, or arms it to start on the guest's HELLO when `waitForGuest` (the default; a
   * hello already received starts it now).
   */
  start(): void {
    if (this.state !== PeerState.Idle) throw new Error('link peer: start() called twice');
    if (this.nic === null) throw new Error('link peer: attach() the NIC port before start()');
    // A hello that came before start() (the guest was quicker than the machine) counts.
    if (this.opts.waitForGuest && this.hellos === 0) this.state = PeerState.WaitingForGuest;
    else this.begin(this.scheduler.now);
  }

  protected begin(now: number): void {
    this.state = PeerState.Running;
    this.interruptsAtStart = this.opts.interrupts?.() ?? 0;
    this.onBegin(now);
  }

  /** A valid ack from the guest with the HELLO sequence: starts a waiting workload, else just counted. */
  protected hello(now: number): void {
    this.hellos++;
    if (this.state === PeerState.WaitingForGuest) this.begin(now);
  }

  protected markFinished(now: number): void {
    this.state = PeerState.Done;
    this.doneCycle = now;
    this.interruptsAtEnd = this.opts.interrupts?.() ?? 0;
  }

  protected abstract onBegin(now: number): void;

  /** Invalid-frame counters by reason, flattened into report fields. */
  protected invalidFields(): InvalidCounts {
    const c = this.checker.invalid;
    return {
      invalidFrames: this.checker.invalidTotal,
      invalidShort: c[0],
      invalidDestination: c[1],
      invalidSource: c[2],
      invalidEtherType: c[3],
      invalidPayloadLength: c[4],
      invalidChecksum: c[5],
      invalidKind: c[6],
      invalidSequence: c[7],
    };
  }

  /** The interrupt fields, present only when the machine supplied a counter. */
  protected interruptFields(elapsedSeconds: number): { interrupts?: number; interruptsPerSecond?: number } {
    if (this.opts.interrupts === undefined) return {};
    const end = this.state === PeerState.Done ? this.interruptsAtEnd : this.opts.interrupts();
    const interrupts = end - this.interruptsAtStart;
    return { interrupts, interruptsPerSecond: elapsedSeconds > 0 ? interrupts / elapsedSeconds : 0 };
  }
}

export interface InvalidCounts {
  invalidFrames: number;
  invalidShort: number;
  invalidDestination: number;
  invalidSource: number;
  invalidEtherType: number;
  invalidPayloadLength: number;
  invalidChecksum: number;
  invalidKind: number;
  invalidSequence: number;
}
