// The link peer: a deterministic traffic source and sink on the far end of the NIC's wire (stream and
// request/response workloads, the frame format they share with guest drivers). Wiring is machine/'s.

export * from './frame-format.js';
export { type PeerOptions, PEER_DEFAULTS, Wire } from './peer-common.js';
export { formatBitRate, formatDuration, groupThousands, LatencySamples } from './report-format.js';
export { formatRrReport, RR_DEFAULTS, type RrOptions, type RrReport, RrWorkload } from './rr-workload.js';
export { formatStreamReport, STREAM_DEFAULTS, type StreamOptions, type StreamReport, StreamWorkload } from './stream-workload.js';
