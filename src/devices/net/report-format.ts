// Number formatting for the link peer's report lines and the latency percentile arithmetic: locale-free and
// deterministic (no toLocaleString, whose output depends on the ICU build). What to report is the workloads'.

/** 812743.8 -> "812,744"; digits grouped by three, rounded to an integer. */
export function groupThousands(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const rounded = Math.round(value);
  const digits = String(Math.abs(rounded));
  let out = '';
  for (let i = 0; i < digits.length; i++) {
    if (i > 0 && (digits.length - i) % 3 === 0) out += ',';
    out += digits[i];
  }
  return rounded < 0 ? `-${out}` : out;
}

/** Bits per second with a decimal unit: "9.41 Gb/s", "812.50 Mb/s". */
export function formatBitRate(bitsPerSecond: number): string {
  const units: Array<[number, string]> = [
    [1e9, 'Gb/s'],
    [1e6, 'Mb/s'],
    [1e3, 'kb/s'],
  ];
  for (const [scale, unit] of units) {
    if (bitsPerSecond >= scale) return `${(bitsPerSecond / scale).toFixed(2)} ${unit}`;
  }
  return `${bitsPerSecond.toFixed(2)} b/s`;
}

/** Nanoseconds with a readable unit: "67.2 ns", "12.35 us", "4.000 ms", "1.250 s". */
export function formatDuration(ns: number): string {
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(3)} s`;
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(3)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} us`;
  return `${ns.toFixed(1)} ns`;
}

/**
 * Round-trip samples (cycles) in a growable Float64Array: amortised doubling, no allocation per sample in
 * the steady state. Percentiles use the nearest-rank method: the p-th percentile of n sorted samples is
 * sample number ceil(p / 100 x n) (1-based), so p50 of 1..100 is 50, p99 is 99, p100 (max) is 100.
 */
export class LatencySamples {
  private samples: Float64Array;
  count = 0;
  private sum = 0;

  constructor(capacity = 1024) {
    this.samples = new Float64Array(Math.max(1, capacity));
  }

  add(value: number): void {
    if (this.count === this.samples.length) {
      const bigger = new Float64Array(this.samples.length * 2);
      bigger.set(this.samples);
      this.samples = bigger;
    }
    this.samples[this.count++] = value;
    this.sum += value;
  }

  get mean(): number {
    return this.count === 0 ? 0 : this.sum / this.count;
  }

  /** Sorted copy of the samples (report time only). */
  sorted(): Float64Array {
    return this.samples.slice(0, this.count).sort();
  }

  /** Nearest-rank percentile of an already sorted array; 0 when empty. */
  static percentile(sorted: Float64Array, p: number): number {
    if (sorted.length === 0) return 0;
    const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p * sorted.length) / 100)));
    return sorted[rank - 1];
  }
}

/** "invalid frames from guest: 3 (checksum 2, kind 1)" or "... 0". */
export function formatInvalid(counts: Record<string, number>, names: readonly string[], keys: readonly string[]): string {
  const parts: string[] = [];
  let total = 0;
  for (let i = 0; i < keys.length; i++) {
    const n = counts[keys[i]];
    if (n > 0) parts.push(`${names[i]} ${groupThousands(n)}`);
    total += n;
  }
  return parts.length === 0 ? 'invalid frames from guest: 0' : `invalid frames from guest: ${groupThousands(total)} (${parts.join(', ')})`;
}

export const INVALID_KEYS = [
  'invalidShort',
  'invalidDestination',
  'invalidSource',
  'invalidEtherType',
  'invalidPayloadLength',
  'invalidChecksum',
  'invalidKind',
  'invalidSequence',
] as const;
