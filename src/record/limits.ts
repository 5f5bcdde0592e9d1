/**
 * The limits of `record`'s options, apart from the recorder itself so that
 * the option table (which every command loads) does not load it and the
 * child-process module it needs.
 */

/** Ring buffer per CPU, KiB: 4 MiB holds about 60,000 msr events, some seconds of a busy CPU between reads. */
export const DEFAULT_BUFFER_KB = 4096;
export const MIN_BUFFER_KB = 64;
/** 256 MiB per CPU: the kernel allocates it at once, for every CPU. */
export const MAX_BUFFER_KB = 256 * 1024;
/** setTimeout's longest delay is 2^31 - 1 ms (about 24.8 days). */
export const MAX_DURATION_S = Math.floor((2 ** 31 - 1) / 1000);
