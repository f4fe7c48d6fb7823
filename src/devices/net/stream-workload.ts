// The stream workload of the link peer (a TCP_STREAM-like bulk sender to the guest): line-rate data frames,
// a sliding window opened by the guest's acks, go-back-N after drops and timeouts, and its report. The
// frame format is frame-format.ts'; serialisation and shared options are peer-common.ts'.

import type { EthernetLink, EthernetPort } from '../../core/ethernet.js';
import { ETH_MAX_FRAME, ETH_MIN_FRAME, ETH_WIRE_OVERHEAD } from '../../core/ethernet.js';
import type { Rng } from '../../core/rng.js';
import type { Scheduler, Timer } from '../../core/scheduler.js';
import { buildFrame, FrameFlag, FrameKind, HEADER_LENGTH, HELLO_SEQUENCE, INVALID_REASON_NAMES, InvalidReason, setFlags } from './frame-format.js';
import { deliveryCycle, type InvalidCounts, intOption, PeerBase, type PeerOptions, PeerState } from './peer-common.js';
import { formatBitRate, formatDuration, formatInvalid, groupThousands, INVALID_KEYS } from './report-format.js';

export interface StreamOptions extends PeerOptions {
  /** Data frame size in bytes without FCS, 60..1514 (default 1514: 1484 payload bytes). */
  frameSize?: number;
  /** Data frames to deliver and have acknowledged (default 10,000; Infinity with a time limit). */
  frames?: number;
  /** Most frames sent and not yet acknowledged, 1..4096 (default 64). */
  window?: number;
  /** Called once when the workload is done (all frames acknowledged, or the time limit), with the final report. */
  onDone?: (report: StreamReport) => void;
}

export const STREAM_DEFAULTS = { frameSize: ETH_MAX_FRAME, frames: 10_000, window: 64 } as const;

/** Plain numbers only; the same seed and options give the same object. Cycles are the scheduler's. */
export interface StreamReport extends InvalidCounts {
  frameSize: number;
  payloadSize: number;
  window: number;
  /** The configured count; 0 = unlimited (a time-limited run). */
  frames: number;
  rateBps: number;
  frequencyHz: number;
  /** 1 when every frame was acknowledged, 0 when the time limit stopped it (or it is still running). */
  completed: number;
  /** 1 when the peer gave up after maxTimeouts consecutive timeouts (the guest stopped acking). */
  aborted: number;
  framesAcked: number;
  payloadBytesAcked: number;
  frameBytesAcked: number;
  /** Every transmission, including drops and retransmissions. */
  framesSent: number;
  /** Transmissions the NIC accepted (including duplicates resent after a timeout). */
  framesDelivered: number;
  framesDropped: number;
  framesRetransmitted: number;
  timeouts: number;
  acksReceived: number;
  staleAcks: number;
  hellos: number;
  maxInFlight: number;
  /** Cycle the first data frame started serialising (-1 before). */
  firstFrameCycle: number;
  /** Cycle the last accepted data frame was handed to the NIC (-1 before). */
  lastFrameCycle: number;
  /** Cycle of the final ack or of the time limit (now, while running). */
  endCycle: number;
  elapsedNs: number;
  /** Payload bits acknowledged per simulated second, first frame to end. */
  goodputBps: number;
  /** Frame bits (headers included, FCS and preamble excluded) acknowledged per simulated second. */
  throughputBps: number;
  packetsPerSecond: number;
  lineRatePacketsPerSecond: number;
  interrupts?: number;
  interruptsPerSecond?: number;
}

/**
 * Sends `frames` data frames (sequence 0, 1, ...) back to back at line rate while `sent - acked < window`.
 * A frame reaches the NIC when its last bit does. If the NIC refuses one, the peer goes back to it (go-back-N
 * degenerates to "resend this frame", since nothing after it was sent yet) and resends it after a doubling
 * wait (`retryNs`..`maxRetryNs`). If no ack advances for `rtoNs`, it resends from the oldest unacknowledged
 * frame (the guest sees duplicates, which it acks without delivering twice). The guest never sees a gap.
 */
export class StreamWorkload extends PeerBase implements EthernetPort, EthernetLink {
  private readonly frameSize: number;
  private readonly frames: number;
  private readonly window: number;
  private readonly onDone: ((report: StreamReport) => void) | undefined;
  /** One frame buffer per window slot: sequence s lives in slot s % window until acknowledged. */
  private readonly slotViews: Uint8Array[] = [];
  private readonly txTimer: Timer;
  private readonly retryTimer: Timer;
  private readonly rtoTimer: Timer;
  private readonly limitTimer: Timer;

  /** Next sequence to transmit (rewinds on drop and timeout). */
  private nextSeq = 0;
  /** Sequences [0, built) have had their payload generated (in order, so the Rng stream is fixed). */
  private built = 0;
  /** Sequences [0, attempted) have been transmitted at least once. */
  private attempted = 0;
  /** Sequences [0, deliveredHigh) have reached the NIC at least once. */
  private deliveredHigh = 0;
  /** Cumulative: sequences [0, acked) are acknowledged. */
  private acked = 0;
  private pendingSeq = 0;
  /** While the NIC's receive() runs for sequence s: s + 1 (an ack sent synchronously may cover it), else 0. */
  private inReceive = 0;
  private txBusy = false;
  private backingOff = false;

  private framesSent = 0;
  private framesDelivered = 0;
  private framesDropped = 0;
  private framesRetransmitted = 0;
  private timeouts = 0;
  private acksReceived = 0;
  private staleAcks = 0;
  private maxInFlight = 0;
  private lastFrameCycle = -1;

  constructor(
    scheduler: Scheduler,
    private readonly rng: Rng,
    options: StreamOptions = {},
  ) {
    super(scheduler, options);
    this.frameSize = intOption('frameSize', options.frameSize ?? STREAM_DEFAULTS.frameSize, ETH_MIN_FRAME, ETH_MAX_FRAME);
    const frames = options.frames ?? STREAM_DEFAULTS.frames;
    this.frames = frames === Infinity ? Infinity : intOption('frames', frames, 1, HELLO_SEQUENCE - 1);
    this.window = intOption('window', options.window ?? STREAM_DEFAULTS.window, 1, 4096);
    if (this.frames === Infinity && this.opts.timeLimitCycles === Infinity) {
      throw new Error('link peer: a stream of Infinity frames needs timeLimitNs');
    }
    this.onDone = options.onDone;
    const slots = new Uint8Array(this.window * this.frameSize);
    for (let i = 0; i < this.window; i++) this.slotViews.push(slots.subarray(i * this.frameSize, (i + 1) * this.frameSize));
    this.txTimer = scheduler.createTimer('peer-stream-tx', (now) => this.onTransmitted(now));
    this.retryTimer = scheduler.createTimer('peer-stream-retry', (now) => this.onRetry(now));
    this.rtoTimer = scheduler.createTimer('peer-stream-rto', (now) => this.onTimeout(now));
    this.limitTimer = scheduler.createTimer('peer-stream-limit', (now) => this.finish(now));
  }

  /** EthernetPort: a frame from the guest. The peer is an infinitely fast sink: it never drops. */
  receive(frame: Uint8Array, length: number): boolean {
    if (this.state === PeerState.Done) return true; // the report is frozen
    if (!this.checker.check(frame, length)) return true;
    if (this.checker.kind !== FrameKind.Ack) {
      this.checker.reject(InvalidReason.Kind);
      return true;
    }
    this.onAck(this.checker.sequence, this.scheduler.now);
    return true;
  }

  protected onBegin(now: number): void {
    if (this.opts.timeLimitCycles !== Infinity) this.limitTimer.armAt(Math.ceil(now + this.opts.timeLimitCycles));
    this.trySend(now);
  }

  private trySend(now: number): void {
    if (this.state !== PeerState.Running || this.txBusy || this.backingOff) return;
    const seq = this.nextSeq;
    if (seq >= this.frames || seq - this.acked >= this.window) return;
    const slot = this.slotViews[seq % this.window];
    if (seq === this.built) {
      buildFrame(slot, this.frameSize, this.opts.guestMac, this.opts.peerMac, FrameKind.Data, seq, this.rng);
      this.built++;
    }
    const inFlight = seq + 1 - this.acked;
    let flags = 0;
    if (inFlight >= this.window || seq + 1 >= this.frames) flags |= FrameFlag.AckRequest;
    if (seq + 1 === this.frames) flags |= FrameFlag.Fin;
    setFlags(slot, flags);
    if (inFlight > this.maxInFlight) this.maxInFlight = inFlight;
    const arrival = this.wire.transmit(now, this.frameSize);
    if (this.firstFrameCycle < 0) this.firstFrameCycle = this.wire.lastStart;
    this.pendingSeq = seq;
    this.nextSeq = seq + 1;
    this.txBusy = true;
    this.txTimer.armAt(deliveryCycle(arrival));
  }

  /** The last bit of the pending frame has arrived: hand it to the NIC. */
  private onTransmitted(now: number): void {
    const seq = this.pendingSeq;
    this.framesSent++;
    if (seq < this.attempted) this.framesRetransmitted++;
    else this.attempted = seq + 1;
    // txBusy stays set across receive(): a NIC (or fake) that answers synchronously must not start a send.
    this.inReceive = seq + 1;
    const accepted = this.nic!.receive(this.slotViews[seq % this.window], this.frameSize);
    this.inReceive = 0;
    this.txBusy = false;
    if (this.state !== PeerState.Running) return;
    if (accepted) {
      this.framesDelivered++;
      this.lastFrameCycle = now;
      if (seq + 1 > this.deliveredHigh) this.deliveredHigh = seq + 1;
      this.backoff.reset();
      if (!this.rtoTimer.armed && this.deliveredHigh > this.acked) this.rtoTimer.armAt(Math.ceil(now + this.opts.rtoCycles));
      // Back to back: the next frame starts when this one's last bit left (the exact wire time), not at the
      // whole cycle the timer fired on, or rounding would slow the line below its rate.
      this.trySend(Math.min(now, this.wire.freeAt));
    } else {
      this.framesDropped++;
      if (seq < this.nextSeq) this.nextSeq = Math.max(seq, this.acked); // go back to the dropped frame
      this.backingOff = true;
      this.retryTimer.armAt(Math.ceil(now + this.backoff.take()));
    }
  }

  private onRetry(now: number): void {
    this.backingOff = false;
    this.trySend(now);
  }

  private onTimeout(now: number): void {
    if (this.state !== PeerState.Running || this.deliveredHigh <= this.acked) return;
    this.timeouts++;
    if (++this.consecutiveTimeouts >= this.opts.maxTimeouts) {
      this.aborted = 1;
      this.finish(now);
      return;
    }
    this.nextSeq = this.acked;
    this.rtoTimer.armAt(Math.ceil(now + this.opts.rtoCycles));
    this.trySend(now);
  }

  private onAck(sequence: number, now: number): void {
    if (sequence === HELLO_SEQUENCE) {
      this.hello(now);
      return;
    }
    const count = sequence + 1;
    if (count > this.deliveredHigh && count > this.inReceive) {
      this.checker.reject(InvalidReason.Sequence); // acks a frame the NIC never got
      return;
    }
    this.acksReceived++;
    if (count <= this.acked) {
      this.staleAcks++;
      return;
    }
    this.acked = count;
    this.consecutiveTimeouts = 0;
    if (this.nextSeq < count) this.nextSeq = count;
    if (count >= this.frames) {
      this.finish(now);
      return;
    }
    if (this.deliveredHigh > this.acked) this.rtoTimer.armAt(Math.ceil(now + this.opts.rtoCycles));
    else this.rtoTimer.cancel();
    this.trySend(now);
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

  report(): StreamReport {
    const freq = this.scheduler.frequencyHz;
    const endCycle = this.state === PeerState.Done ? this.doneCycle : this.scheduler.now;
    const elapsedCycles = this.firstFrameCycle < 0 ? 0 : Math.max(0, endCycle - this.firstFrameCycle);
    const seconds = elapsedCycles / freq;
    const payloadSize = this.frameSize - HEADER_LENGTH;
    const perSecond = (n: number): number => (seconds > 0 ? n / seconds : 0);
    return {
      frameSize: this.frameSize,
      payloadSize,
      window: this.window,
      frames: this.frames === Infinity ? 0 : this.frames,
      rateBps: this.opts.rateBps,
      frequencyHz: freq,
      completed: this.acked >= this.frames ? 1 : 0,
      aborted: this.aborted,
      framesAcked: this.acked,
      payloadBytesAcked: this.acked * payloadSize,
      frameBytesAcked: this.acked * this.frameSize,
      framesSent: this.framesSent,
      framesDelivered: this.framesDelivered,
      framesDropped: this.framesDropped,
      framesRetransmitted: this.framesRetransmitted,
      timeouts: this.timeouts,
      acksReceived: this.acksReceived,
      staleAcks: this.staleAcks,
      hellos: this.hellos,
      maxInFlight: this.maxInFlight,
      firstFrameCycle: this.firstFrameCycle,
      lastFrameCycle: this.lastFrameCycle,
      endCycle,
      elapsedNs: seconds * 1e9,
      goodputBps: perSecond(this.acked * payloadSize * 8),
      throughputBps: perSecond(this.acked * this.frameSize * 8),
      packetsPerSecond: perSecond(this.acked),
      lineRatePacketsPerSecond: this.opts.rateBps / ((this.frameSize + ETH_WIRE_OVERHEAD) * 8),
      ...this.invalidFields(),
      ...this.interruptFields(seconds),
    };
  }

  /** The lines the CLI prints; every rate is marked simulated. */
  formatReport(): string[] {
    return formatStreamReport(this.report());
  }
}

export function formatStreamReport(r: StreamReport): string[] {
  const what = `${groupThousands(r.framesAcked)} data frames of ${r.frameSize} bytes (${r.payloadSize} payload)`;
  const status = r.aborted === 1 ? `of ${groupThousands(r.frames)} acknowledged, then the guest stopped acking (aborted),` : r.completed === 1 ? 'acknowledged' : r.frames === 0 ? 'acknowledged before the time limit' : `of ${groupThousands(r.frames)} acknowledged`;
  let line3 = `goodput ${formatBitRate(r.goodputBps)} (simulated), ${groupThousands(r.packetsPerSecond)} packets/s`;
  line3 += ` (line rate ${groupThousands(r.lineRatePacketsPerSecond)})`;
  if (r.interruptsPerSecond !== undefined) line3 += `, ${groupThousands(r.interruptsPerSecond)} interrupts/s`;
  return [
    `stream: ${what} ${status} in ${formatDuration(r.elapsedNs)} (simulated)`,
    line3,
    `drops ${groupThousands(r.framesDropped)}, retransmitted ${groupThousands(r.framesRetransmitted)}, timeouts ${groupThousands(r.timeouts)}, ` +
      `acks ${groupThousands(r.acksReceived)} (stale ${groupThousands(r.staleAcks)}), max in flight ${r.maxInFlight} of window ${r.window}`,
    formatInvalid(r as unknown as Record<string, number>, INVALID_REASON_NAMES, INVALID_KEYS),
  ];
}
