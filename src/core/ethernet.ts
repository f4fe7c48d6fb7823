// The wire between a NIC and whatever is on the other end (the link peer, or a second NIC): frames as bytes,
// on simulated time. Devices implement it; machine/ connects the two ends.

/** Minimum and maximum frame sizes without FCS (devices.md 7.2). */
export const ETH_MIN_FRAME = 60;
export const ETH_MAX_FRAME = 1514;
/** Preamble, SFD and inter-frame gap: wire bytes per frame beyond the frame itself (incl. 4 FCS bytes). */
export const ETH_WIRE_OVERHEAD = 20 + 4;

/** One end of a full-duplex link. */
export interface EthernetPort {
  /**
   * A frame arrives from the other end (bytes [0, length) of `frame`, without FCS). The receiver copies
   * what it keeps before returning (the buffer is reused). Returns false when the frame was dropped (no
   * receive descriptor, receiver disabled, filtered): the sender counts it.
   */
  receive(frame: Uint8Array, length: number): boolean;
}

/** Connects two ends: each sends by calling the other's receive. */
export interface EthernetLink {
  attach(port: EthernetPort): void;
}
