// The link peer's wire format (the frames the peer and the guest driver exchange), its checksum, and the
// checker that validates every frame the guest sends. What to send when is the workloads' (stream, rr).
//
// ## Frame format (all multi-byte header fields LITTLE-endian, so an IA-32 guest reads them with one MOV)
//
// | offset | size | field        | value                                                                     |
// |--------|------|--------------|---------------------------------------------------------------------------|
// | 0      | 6    | destination  | peer -> guest: the guest NIC's MAC; guest -> peer: 52:54:00:00:00:01      |
// | 6      | 6    | source       | peer -> guest: 52:54:00:00:00:01; guest -> peer: the guest NIC's MAC      |
// | 12     | 2    | EtherType    | 0x88B5, big-endian as Ethernet requires: byte 12 = 0x88, byte 13 = 0xB5   |
// | 14     | 4    | sequence     | u32 LE (see kinds below)                                                  |
// | 18     | 4    | payload len  | u32 LE: payload bytes that follow the header (frame length >= 30 + len)   |
// | 22     | 4    | checksum     | u32 LE: bits 15:0 = Internet checksum of the payload, bits 31:16 = 0      |
// | 26     | 1    | kind         | 0 = data, 1 = ack, 2 = request, 3 = response                              |
// | 27     | 1    | flags        | bit 0 ACK_REQUEST, bit 1 FIN (peer -> guest only; the guest writes 0)     |
// | 28     | 2    | reserved     | the sender writes 0; the receiver ignores it                              |
// | 30     | len  | payload      | bytes; the peer fills its payloads from the seeded Rng                    |
//
// Frames are 60..1514 bytes without FCS. A frame shorter than 60 bytes must be padded to 60 by the sender
// (TCTL.PSP, or a 60-byte transmit length); bytes after the payload are padding and nobody reads them.
//
// Checksum (RFC 1071 Internet checksum, computed the way a little-endian CPU does it): treat the payload as
// little-endian 16-bit words (an odd last byte is a word with high byte 0), add them into a 32-bit sum, fold
// the carries (`sum = (sum & 0xFFFF) + (sum >>> 16)` until sum <= 0xFFFF) and store `~sum & 0xFFFF`. An empty
// payload has checksum 0xFFFF. (Byte-swapping the result gives the classic big-endian RFC 1071 value; the
// bytes at offsets 22-23 are the same either way.) To verify: sum the payload words and the stored 16-bit
// checksum as above; the folded sum is 0xFFFF. The header is not covered (flags change on retransmission).
//
// Kinds and sequence numbers:
// - data (peer -> guest, stream): sequence numbers 0, 1, 2, ... in order. A retransmission repeats a number.
// - ack (guest -> peer, stream): sequence = the highest sequence received in order (cumulative); an ack with
//   sequence 0xFFFFFFFF ("nothing yet") is the HELLO the guest sends once its receive ring is ready, which
//   starts either workload when it waits for the guest (the default). The guest acks every N data frames
//   and also at once whenever a data frame carries ACK_REQUEST (the peer sets it on the frame that fills
//   its window and on the last frame). FIN marks the last data frame / request of a counted run.
// - request (peer -> guest, rr) / response (guest -> peer): the response carries the request's sequence and
//   any payload with a correct checksum (echoing the request's payload and checksum is the simplest).

import type { Rng } from '../../core/rng.js';

export const ETHERTYPE_EXITLESS = 0x88b5;
export const HEADER_LENGTH = 30;
/** A hello is an ack of "nothing received yet". */
export const HELLO_SEQUENCE = 0xffff_ffff;

/** Byte offsets in a frame (see the table above). */
export const Offset = {
  Destination: 0,
  Source: 6,
  EtherType: 12,
  Sequence: 14,
  PayloadLength: 18,
  Checksum: 22,
  Kind: 26,
  Flags: 27,
  Reserved: 28,
  Payload: 30,
} as const;

export const FrameKind = { Data: 0, Ack: 1, Request: 2, Response: 3 } as const;

export const FrameFlag = { AckRequest: 1, Fin: 2 } as const;

/** The peer's own MAC address. */
export const PEER_MAC = '52:54:00:00:00:01';
/** The guest NIC's MAC when the machine does not say (QEMU's default). */
export const DEFAULT_GUEST_MAC = '52:54:00:12:34:56';

export type MacAddress = string | ArrayLike<number>;

/** Parses "52:54:00:12:34:56" (or takes six bytes) into six bytes; throws on a malformed address (build time). */
export function parseMac(mac: MacAddress): Uint8Array {
  const bytes = typeof mac === 'string' ? mac.split(/[:-]/).map((p) => (/^[0-9a-f]{1,2}$/i.test(p) ? parseInt(p, 16) : NaN)) : Array.from(mac);
  if (bytes.length !== 6 || bytes.some((b) => !Number.isInteger(b) || b < 0 || b > 255)) {
    throw new Error(`bad MAC address: ${String(mac)}`);
  }
  return Uint8Array.from(bytes);
}

/** The Internet checksum of `length` bytes at `offset` as defined above (little-endian words). */
export function internetChecksum(buf: Uint8Array, offset: number, length: number): number {
  let sum = 0;
  const end = offset + length;
  let i = offset;
  for (; i + 1 < end; i += 2) sum += buf[i] | (buf[i + 1] << 8);
  if (i < end) sum += buf[i];
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

function writeU32(buf: Uint8Array, offset: number, value: number): void {
  buf[offset] = value & 0xff;
  buf[offset + 1] = (value >>> 8) & 0xff;
  buf[offset + 2] = (value >>> 16) & 0xff;
  buf[offset + 3] = (value >>> 24) & 0xff;
}

export function readU32(buf: Uint8Array, offset: number): number {
  return (buf[offset] | (buf[offset + 1] << 8) | (buf[offset + 2] << 16) | (buf[offset + 3] << 24)) >>> 0;
}

/**
 * Builds a peer -> guest frame of `frameLength` bytes in `buf` (from offset 0): header, `frameLength - 30`
 * payload bytes drawn from `rng`, their checksum. The flags byte is written by `setFlags` at send time.
 */
export function buildFrame(
  buf: Uint8Array,
  frameLength: number,
  dst: Uint8Array,
  src: Uint8Array,
  kind: number,
  sequence: number,
  rng: Rng,
): void {
  for (let i = 0; i < 6; i++) {
    buf[Offset.Destination + i] = dst[i];
    buf[Offset.Source + i] = src[i];
  }
  buf[Offset.EtherType] = ETHERTYPE_EXITLESS >>> 8;
  buf[Offset.EtherType + 1] = ETHERTYPE_EXITLESS & 0xff;
  const payloadLength = frameLength - HEADER_LENGTH;
  writeU32(buf, Offset.Sequence, sequence);
  writeU32(buf, Offset.PayloadLength, payloadLength);
  buf[Offset.Kind] = kind;
  buf[Offset.Flags] = 0;
  buf[Offset.Reserved] = 0;
  buf[Offset.Reserved + 1] = 0;
  const end = HEADER_LENGTH + payloadLength;
  for (let i = HEADER_LENGTH; i < end; i += 4) {
    const v = rng.u32();
    buf[i] = v & 0xff;
    if (i + 1 < end) buf[i + 1] = (v >>> 8) & 0xff;
    if (i + 2 < end) buf[i + 2] = (v >>> 16) & 0xff;
    if (i + 3 < end) buf[i + 3] = v >>> 24;
  }
  writeU32(buf, Offset.Checksum, internetChecksum(buf, HEADER_LENGTH, payloadLength));
}

export function setFlags(buf: Uint8Array, flags: number): void {
  buf[Offset.Flags] = flags;
}

/** Why a frame from the guest was rejected; indexes FrameChecker.invalid. */
export const InvalidReason = {
  /** Shorter than the 30-byte header (or a nonsensical length). */
  Short: 0,
  /** Destination is not the peer's MAC. */
  Destination: 1,
  /** Source is not the guest NIC's MAC. */
  Source: 2,
  EtherType: 3,
  /** Payload length field runs past the end of the frame. */
  PayloadLength: 4,
  Checksum: 5,
  /** A kind the workload does not expect from the guest (or an unknown kind). */
  Kind: 6,
  /** A sequence number that does not fit the exchange (an ack beyond what was sent, a response to nothing). */
  Sequence: 7,
} as const;

export const INVALID_REASON_NAMES = ['short', 'destination', 'source', 'etherType', 'payloadLength', 'checksum', 'kind', 'sequence'] as const;

/**
 * Validates guest -> peer frames without allocating. `check` returns false (and counts the reason) for a
 * malformed frame; on true the parsed fields are in `sequence`, `kind`, `flags`, `payloadLength`. The
 * workload then judges kind and sequence and calls `reject` when they do not fit.
 */
export class FrameChecker {
  readonly invalid = new Float64Array(INVALID_REASON_NAMES.length);
  sequence = 0;
  kind = 0;
  flags = 0;
  payloadLength = 0;

  constructor(
    private readonly peerMac: Uint8Array,
    private readonly guestMac: Uint8Array,
  ) {}

  check(frame: Uint8Array, length: number): boolean {
    if (!Number.isInteger(length) || length < HEADER_LENGTH || length > frame.length) return this.reject(InvalidReason.Short);
    for (let i = 0; i < 6; i++) {
      if (frame[Offset.Destination + i] !== this.peerMac[i]) return this.reject(InvalidReason.Destination);
    }
    for (let i = 0; i < 6; i++) {
      if (frame[Offset.Source + i] !== this.guestMac[i]) return this.reject(InvalidReason.Source);
    }
    if (frame[Offset.EtherType] !== ETHERTYPE_EXITLESS >>> 8 || frame[Offset.EtherType + 1] !== (ETHERTYPE_EXITLESS & 0xff)) {
      return this.reject(InvalidReason.EtherType);
    }
    const payloadLength = readU32(frame, Offset.PayloadLength);
    if (payloadLength > length - HEADER_LENGTH) return this.reject(InvalidReason.PayloadLength);
    const stored = readU32(frame, Offset.Checksum);
    if (stored !== internetChecksum(frame, HEADER_LENGTH, payloadLength)) return this.reject(InvalidReason.Checksum);
    this.sequence = readU32(frame, Offset.Sequence);
    this.kind = frame[Offset.Kind];
    this.flags = frame[Offset.Flags];
    this.payloadLength = payloadLength;
    return true;
  }

  /** Counts an invalid frame; returns false so callers can `return checker.reject(...)`. */
  reject(reason: number): false {
    this.invalid[reason]++;
    return false;
  }

  get invalidTotal(): number {
    let n = 0;
    for (let i = 0; i < this.invalid.length; i++) n += this.invalid[i];
    return n;
  }
}
