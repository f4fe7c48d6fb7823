// The Bochs/QEMU debug console at port 0xE9 ("port E9 hack"): each byte written goes to a sink.
// Where the bytes end up (stdout, a file, nowhere) is decided by machine/ and cli/.

import { BytePortDevice } from './byte-port-device.js';

/** Reading the port returns 0xE9, which is how guests detect that the console exists. */
export const DEBUGCON_READBACK = 0xe9;

export class DebugCon extends BytePortDevice {
  readonly name = 'debugcon';
  readonly length = 1;

  constructor(private readonly sink: (byte: number) => void) {
    super();
  }

  protected readByte(): number {
    return DEBUGCON_READBACK;
  }

  protected peekByte(): number {
    return DEBUGCON_READBACK;
  }

  protected writeByte(_offset: number, value: number): void {
    this.sink(value);
  }
}
