// Test fake for the link peer: a guest NIC + driver in one EthernetPort that records what arrives, can refuse
// frames, and acks / answers after a configurable simulated delay. Its frame codec is written from the
// documented format (frame-format.ts header), independently of the implementation, on purpose.

import type { EthernetPort } from '../../../src/core/ethernet.js';
import type { Scheduler, Timer } from '../../../src/core/scheduler.js';

export const GUEST_MAC = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
export const PEER_MAC = [0x52, 0x54, 0x00, 0x00, 0x00, 0x01];

/** RFC 1071 as the RFC writes it: big-endian 16-bit words, odd byte padded on the right. */
export function rfc1071(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i] << 8) | (i + 1 < bytes.length ? bytes[i + 1] : 0);
  while (sum >>> 16) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export interface Decoded {
  dst: number[];
  src: number[];
  etherType: number;
  seq: number;
  payloadLength: number;
  /** The 16-bit checksum read big-endian from bytes 22-23 (the RFC 1071 value), and bytes 24-25. */
  checksumBe: number;
  checksumHigh: number;
  kind: number;
  flags: number;
  payload: Uint8Array;
}

const u32le = (b: Uint8Array, o: number): number => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;

export function decode(frame: Uint8Array, length: number): Decoded {
  const payloadLength = u32le(frame, 18);
  return {
    dst: Array.from(frame.subarray(0, 6)),
    src: Array.from(frame.subarray(6, 12)),
    etherType: (frame[12] << 8) | frame[13],
    seq: u32le(frame, 14),
    payloadLength,
    checksumBe: (frame[22] << 8) | frame[23],
    checksumHigh: frame[24] | (frame[25] << 8),
    kind: frame[26],
    flags: frame[27],
    payload: frame.slice(30, 30 + Math.min(payloadLength, Math.max(0, length - 30))),
  };
}

export interface EncodeFields {
  dst?: number[];
  src?: number[];
  etherType?: number;
  seq: number;
  kind: number;
  payload?: Uint8Array;
  /** Overrides the payload length field. */
  lengthField?: number;
  /** Overrides the checksum (big-endian 16-bit value at 22-23). */
  checksum?: number;
  /** Frame length (default max(60, 30 + payload)). */
  frameLength?: number;
}

/** A guest -> peer frame, built from the documented layout. */
export function encode(f: EncodeFields): Uint8Array {
  const payload = f.payload ?? new Uint8Array(0);
  const frame = new Uint8Array(f.frameLength ?? Math.max(60, 30 + payload.length));
  frame.set(f.dst ?? PEER_MAC, 0);
  frame.set(f.src ?? GUEST_MAC, 6);
  const et = f.etherType ?? 0x88b5;
  frame[12] = et >> 8;
  frame[13] = et & 0xff;
  const put32 = (o: number, v: number): void => {
    for (let i = 0; i < 4; i++) frame[o + i] = (v >>> (8 * i)) & 0xff;
  };
  put32(14, f.seq);
  put32(18, f.lengthField ?? payload.length);
  const c = f.checksum ?? rfc1071(payload);
  frame[22] = c >> 8;
  frame[23] = c & 0xff;
  frame[26] = f.kind;
  frame.set(payload.subarray(0, Math.max(0, frame.length - 30)), 30);
  return frame;
}

export interface Arrival {
  seq: number;
  kind: number;
  flags: number;
  cycle: number;
  length: number;
  accepted: boolean;
}

export interface FakeNicOptions {
  /** Ack after every N in-order data frames (and on ACK_REQUEST). Default 16. */
  ackEvery?: number;
  /** Cycles from a frame's arrival to the ack / response reaching the peer. Default 0. */
  replyDelay?: number | ((seq: number, attempt: number) => number);
  /** Refuse (drop) this arrival: the NIC has no receive descriptor. */
  refuse?: (seq: number, attempt: number, now: number) => boolean;
  /** Call the peer from inside receive() instead of through a timer (replyDelay ignored). */
  synchronous?: boolean;
  /** Lose this outgoing ack (by ack index, 0-based) instead of sending it. */
  loseAck?: (index: number) => boolean;
  /** Send no acks at all (to test the window). */
  silent?: boolean;
  /** Accept this request but never answer it. */
  mute?: (seq: number, attempt: number) => boolean;
}

/** Guest side of the protocol, as a driver would implement it from the documentation. */
export class FakeNic implements EthernetPort {
  peer: EthernetPort | null = null;
  readonly arrivals: Arrival[] = [];
  /** In-order data frames received (next expected sequence). */
  expected = 0;
  duplicates = 0;
  outOfOrder = 0;
  badFrames = 0;
  /** Count acknowledged as far as the peer knows (acks that have reached it). */
  ackedAtPeer = 0;
  /** Largest (seq + 1 - ackedAtPeer) seen on a data arrival. */
  maxInFlightSeen = 0;
  acksSent = 0;
  acksLost = 0;
  /** Something the machine might count as interrupts: one per reply batch. */
  interrupts = 0;
  private readonly attempts = new Map<number, number>();
  private readonly outbox: Array<{ due: number; frame: Uint8Array; ack: number }> = [];
  private readonly timer: Timer;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly o: FakeNicOptions = {},
  ) {
    this.timer = scheduler.createTimer('fake-nic', (now) => this.flush(now));
  }

  /** The guest's driver is up: HELLO (an ack of 0xFFFFFFFF). */
  hello(): void {
    this.peer!.receive(encode({ seq: 0xffffffff, kind: 1 }), 60);
  }

  receive(frame: Uint8Array, length: number): boolean {
    const now = this.scheduler.now;
    const d = decode(frame, length);
    const attempt = this.attempts.get(d.seq) ?? 0;
    this.attempts.set(d.seq, attempt + 1);
    const ok =
      length >= 60 &&
      d.dst.join() === GUEST_MAC.join() &&
      d.src.join() === PEER_MAC.join() &&
      d.etherType === 0x88b5 &&
      d.payloadLength === length - 30 &&
      d.checksumHigh === 0 &&
      d.checksumBe === rfc1071(d.payload);
    if (!ok) this.badFrames++;
    const accepted = !(this.o.refuse?.(d.seq, attempt, now) ?? false);
    this.arrivals.push({ seq: d.seq, kind: d.kind, flags: d.flags, cycle: now, length, accepted });
    if (!accepted) return false;
    if (d.kind === 0) {
      this.maxInFlightSeen = Math.max(this.maxInFlightSeen, d.seq + 1 - this.ackedAtPeer);
      if (d.seq === this.expected) this.expected++;
      else if (d.seq < this.expected) this.duplicates++;
      else this.outOfOrder++;
      const every = this.o.ackEvery ?? 16;
      if (!this.o.silent && (d.seq === this.expected - 1 || d.seq < this.expected) && ((d.seq + 1) % every === 0 || d.flags & 1)) {
        this.reply(d.seq, attempt, encode({ seq: this.expected - 1, kind: 1 }), this.expected);
      }
    } else if (d.kind === 2) {
      // Echo the request: same sequence, same payload, kind 3.
      if (!this.o.mute?.(d.seq, attempt)) this.reply(d.seq, attempt, encode({ seq: d.seq, kind: 3, payload: d.payload }), 0);
    }
    return true;
  }

  private reply(seq: number, attempt: number, frame: Uint8Array, ack: number): void {
    if (ack > 0 && this.o.loseAck?.(this.acksSent + this.acksLost)) {
      this.acksLost++;
      return;
    }
    if (this.o.synchronous) {
      this.send(frame, ack);
      return;
    }
    const delay = typeof this.o.replyDelay === 'function' ? this.o.replyDelay(seq, attempt) : (this.o.replyDelay ?? 0);
    const due = this.scheduler.now + delay;
    let i = this.outbox.length;
    while (i > 0 && this.outbox[i - 1].due > due) i--;
    this.outbox.splice(i, 0, { due, frame, ack });
    this.timer.armAt(this.outbox[0].due);
  }

  private send(frame: Uint8Array, ack: number): void {
    this.interrupts++;
    if (ack > 0) {
      this.acksSent++;
      this.ackedAtPeer = Math.max(this.ackedAtPeer, ack);
    }
    this.peer!.receive(frame, frame.length);
  }

  private flush(now: number): void {
    while (this.outbox.length > 0 && this.outbox[0].due <= now) {
      const { frame, ack } = this.outbox.shift()!;
      this.send(frame, ack);
    }
    if (this.outbox.length > 0) this.timer.armAt(this.outbox[0].due);
  }
}

/** The machine's run loop in miniature: jump to each deadline and fire what is due. */
export function runScheduler(s: Scheduler, until = Infinity, maxEvents = 5_000_000): void {
  for (let events = 0; ; events++) {
    const next = s.nextDeadline();
    if (next === Infinity || next > until) return;
    if (events >= maxEvents) throw new Error(`runScheduler: still busy at cycle ${s.now} after ${maxEvents} events`);
    s.now = next;
    s.runDue();
  }
}
