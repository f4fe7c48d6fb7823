// Observation hooks (STYLE rule 11): null by default, so an untraced run pays one null check per event.
// Formatting and output belong to debug/ and cli/; here are only the event shapes.

/** QEMU `-d` style log items that the machine emits. */
export type LogItem = 'int' | 'cpu_reset' | 'guest_errors' | 'unimp' | 'exec' | 'cpu' | 'vmexit';

export interface Logger {
  enabled(item: LogItem): boolean;
  log(item: LogItem, line: string): void;
}

/** A logger that discards everything. */
export const NULL_LOGGER: Logger = {
  enabled: () => false,
  log: () => {},
};
