// Where the command line writes: stdout/stderr as injectable writers, so tests capture output in-process.
// Formatting belongs to each command; this file only moves bytes.

import { closeSync, openSync, writeSync } from 'node:fs';

export interface CliIo {
  stdout(chunk: string | Uint8Array): void;
  stderr(text: string): void;
}

export const processIo: CliIo = {
  stdout: (chunk) => {
    process.stdout.write(chunk);
  },
  stderr: (text) => {
    process.stderr.write(text);
  },
};

/** A byte sink that buffers guest output and flushes at newlines, every 4 KiB, and on flush(). */
export class ByteStream {
  private readonly buffer = new Uint8Array(4096);
  private used = 0;
  constructor(private readonly write: (bytes: Uint8Array) => void) {}

  push(byte: number): void {
    this.buffer[this.used++] = byte;
    if (byte === 0x0a || this.used === this.buffer.length) this.flush();
  }

  flush(): void {
    if (this.used === 0) return;
    this.write(this.buffer.slice(0, this.used));
    this.used = 0;
  }
}

/** A file opened for synchronous appends (guest output and logs are produced by a synchronous run). */
export class SyncFile {
  private readonly fd: number;
  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }
  write(data: string | Uint8Array): void {
    if (typeof data === 'string') writeSync(this.fd, data);
    else writeSync(this.fd, data);
  }
  close(): void {
    closeSync(this.fd);
  }
}
