// Test helpers that build multiboot images byte by byte: a.out-kludge flat images and ELF32 executables.
// They exist to make malformed images easy to express; real guests come from the assembler.

export const MB_MAGIC = 0x1badb002;

function put32(b: Uint8Array, o: number, v: number): void {
  new DataView(b.buffer, b.byteOffset).setUint32(o, v >>> 0, true);
}

function put16(b: Uint8Array, o: number, v: number): void {
  new DataView(b.buffer, b.byteOffset).setUint16(o, v, true);
}

export interface AoutOptions {
  /** Where the image loads (header at its start unless headerOffset says otherwise). Default 0x100000. */
  loadAddr?: number;
  /** Machine code placed right after the 32-byte header. */
  code?: Uint8Array | number[];
  bssBytes?: number;
  flags?: number;
  /** Override any header field after the defaults are computed. */
  patch?: Partial<{ headerAddr: number; loadAddr: number; loadEndAddr: number; bssEndAddr: number; entryAddr: number; checksum: number }>;
  /** Bytes of padding before the header in the file. */
  headerOffset?: number;
}

/** A flat multiboot image with the a.out kludge: header, then code; entry = first code byte. */
export function aoutImage(options: AoutOptions = {}): Uint8Array {
  const load = options.loadAddr ?? 0x100000;
  const code = Uint8Array.from(options.code ?? [0xfa, 0xf4]);
  const pad = options.headerOffset ?? 0;
  const image = new Uint8Array(pad + 32 + code.length);
  const h = pad;
  const flags = options.flags ?? 0x00010000;
  const f = {
    headerAddr: load + pad,
    loadAddr: load,
    loadEndAddr: load + image.length,
    bssEndAddr: load + image.length + (options.bssBytes ?? 0),
    entryAddr: load + pad + 32,
    checksum: -(MB_MAGIC + flags),
    ...options.patch,
  };
  put32(image, h, MB_MAGIC);
  put32(image, h + 4, flags);
  put32(image, h + 8, f.checksum);
  put32(image, h + 12, f.headerAddr);
  put32(image, h + 16, f.loadAddr);
  put32(image, h + 20, f.loadEndAddr);
  put32(image, h + 24, f.bssEndAddr);
  put32(image, h + 28, f.entryAddr);
  image.set(code, h + 32);
  return image;
}

export interface ElfSegment {
  paddr: number;
  vaddr?: number;
  data: Uint8Array | number[];
  memsz?: number;
  type?: number;
  /** Override the file offset / size written in the program header. */
  offset?: number;
  filesz?: number;
}

export interface ElfOptions {
  entry: number;
  segments: ElfSegment[];
  machine?: number;
  elfClass?: number;
  dataEncoding?: number;
  type?: number;
  phnum?: number;
  phoff?: number;
  phentsize?: number;
  /** Multiboot header flags (default 0: ELF loading). */
  mbFlags?: number;
}

/** An ELF32 executable with a multiboot header (flags 0 by default) right after the ELF header. */
export function elfImage(o: ElfOptions): Uint8Array {
  const phnum = o.segments.length;
  const phoff = 64; // the ELF header, then the multiboot header at 52, then the program headers
  const headerBytes = phoff + phnum * 32;
  const mb = new Uint8Array(12);
  const mbFlags = o.mbFlags ?? 0;
  put32(mb, 0, MB_MAGIC);
  put32(mb, 4, mbFlags);
  put32(mb, 8, -(MB_MAGIC + mbFlags));
  const datas = o.segments.map((s) => Uint8Array.from(s.data));
  let size = headerBytes;
  const offsets = datas.map((d) => {
    const off = size;
    size += d.length;
    return off;
  });
  const image = new Uint8Array(size);
  image.set([0x7f, 0x45, 0x4c, 0x46, o.elfClass ?? 1, o.dataEncoding ?? 1, 1], 0);
  put16(image, 16, o.type ?? 2);
  put16(image, 18, o.machine ?? 3);
  put32(image, 20, 1);
  put32(image, 24, o.entry);
  put32(image, 28, o.phoff ?? phoff);
  put16(image, 40, 52);
  put16(image, 42, o.phentsize ?? 32);
  put16(image, 44, o.phnum ?? phnum);
  o.segments.forEach((s, i) => {
    const p = phoff + i * 32;
    put32(image, p, s.type ?? 1);
    put32(image, p + 4, s.offset ?? offsets[i]);
    put32(image, p + 8, s.vaddr ?? s.paddr);
    put32(image, p + 12, s.paddr);
    put32(image, p + 16, s.filesz ?? datas[i].length);
    put32(image, p + 20, s.memsz ?? datas[i].length);
    put32(image, p + 24, 5);
    put32(image, p + 28, 0x1000);
  });
  image.set(mb, 52);
  datas.forEach((d, i) => image.set(d, offsets[i]));
  return image;
}
