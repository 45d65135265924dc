// WASI preview1 file access for the plan runner: paths resolve against the preopened
// directories (`--dir`), the longest matching preopen first; a relative path uses the preopen
// named "." (or the first one). Failures end the process with a message (exit code EXIT_IO).

import {
  args_get, args_sizes_get, proc_exit, fd_close, fd_filestat_get, fd_prestat_dir_name, fd_prestat_get, fd_read, fd_write, path_open,
  filestat, filetype, lookupflags, oflags, prestat, rights,
} from 'bindings/wasi_snapshot_preview1';

export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;
export const EXIT_IO = 3;
export const EXIT_BAD_PLAN = 4;
export const EXIT_BAD_INPUT = 5;
export const EXIT_MEMORY = 6;

const scratch = memory.data(64);

/** Writes text to stdout (1) or stderr (2); a failing write is ignored (nowhere to report it). */
export function say(fd: i32, text: string): void {
  const buf = String.UTF8.encode(text);
  const p = changetype<usize>(buf);
  const n = <usize>buf.byteLength;
  let put: usize = 0;
  while (put < n) {
    store<u32>(scratch, p + put, 32);
    store<u32>(scratch, n - put, 36);
    if (fd_write(fd, scratch + 32, 1, scratch + 40) != 0) return;
    const w = load<u32>(scratch, 40);
    if (w == 0) return;
    put += w;
  }
}

/** Prints `lowbit: msg` on stderr and exits with `code`. */
export function die(code: i32, msg: string): void {
  say(2, 'lowbit: ' + msg + '\n');
  proc_exit(code);
}

/** The command line (argv[0] is the program). */
export function commandLine(): Array<string> {
  const out = new Array<string>();
  if (args_sizes_get(scratch, scratch + 4) != 0) return out;
  const n = load<u32>(scratch);
  const ptrs = heap.alloc(n * 4 + load<u32>(scratch, 4));
  if (args_get(ptrs, ptrs + n * 4) != 0) return out;
  for (let i: u32 = 0; i < n; i++) {
    const p = load<u32>(ptrs + i * 4);
    let e = p;
    while (load<u8>(e)) e++;
    out.push(String.UTF8.decodeUnsafe(p, e - p));
  }
  return out;
}

/** Allocates `n` bytes aligned to 64, growing memory first so a refusal is a message, not a trap. */
export function alloc64(n: u64, what: string): usize {
  const want = n + 128;
  if (want > 0x7000_0000) die(EXIT_MEMORY, what + ' needs more than the 1.75 GiB this build can address');
  const pages = <i32>((want + 0xffff) >> 16);
  if (memory.grow(pages) < 0) die(EXIT_MEMORY, 'out of memory for ' + what);
  return (heap.alloc(<usize>want) + 63) & ~<usize>63;
}

/** The few errno values a user can act on by name, else the number (WASI preview1 codes). */
function errnoText(e: u16): string {
  return e == 44 ? 'no such file or directory' : e == 2 || e == 63 || e == 76 ? 'permission denied (is its directory given with --dir?)'
    : e == 31 ? 'is a directory' : e == 54 ? 'not a directory' : 'WASI errno ' + e.toString();
}

class Preopen {
  constructor(public fd: i32, public name: string) {}
}

let preopens: Array<Preopen> | null = null;

function listPreopens(): Array<Preopen> {
  const out = new Array<Preopen>();
  for (let fd = 3; fd < 64; fd++) {
    if (fd_prestat_get(fd, changetype<prestat>(scratch)) != 0) break;
    const len = load<u32>(scratch, 4);
    const name = heap.alloc(len + 1);
    if (fd_prestat_dir_name(fd, name, len) != 0) continue;
    let s = String.UTF8.decodeUnsafe(name, len, true);
    while (s.length > 1 && s.endsWith('/')) s = s.slice(0, s.length - 1);
    out.push(new Preopen(fd, s));
  }
  return out;
}

/** The preopen a path lives under and the path relative to it. */
function resolve(path: string): Preopen {
  if (!preopens) preopens = listPreopens();
  const list = preopens!;
  let best: Preopen | null = null;
  let bestLen = -1;
  for (let i = 0; i < list.length; i++) {
    const p = list[i];
    const n = p.name;
    let len = -1;
    if (n == '.' || n == './') len = path.startsWith('/') ? -1 : 0;
    else if (path == n || path.startsWith(n + '/') || (n == '/' && path.startsWith('/'))) len = n.length;
    if (len > bestLen) {
      best = p;
      bestLen = len;
    }
  }
  if (!best && !path.startsWith('/') && list.length > 0) best = list[0];
  if (!best) die(EXIT_IO, "no preopened directory holds '" + path + "' (give the runtime --dir)");
  const b = best!;
  let rel = bestLen > 0 ? path.slice(bestLen) : path;
  while (rel.startsWith('/')) rel = rel.slice(1);
  while (rel.startsWith('./')) rel = rel.slice(2);
  return new Preopen(b.fd, rel.length ? rel : '.');
}

export function openFile(path: string, write: bool): i32 {
  const where = resolve(path);
  const p = String.UTF8.encode(where.name);
  const base: u64 = write ? rights.FD_WRITE | rights.FD_FILESTAT_GET : rights.FD_READ | rights.FD_SEEK | rights.FD_FILESTAT_GET;
  const err = path_open(where.fd, lookupflags.SYMLINK_FOLLOW, changetype<usize>(p), p.byteLength,
    write ? oflags.CREAT | oflags.TRUNC : 0, base, 0, 0, scratch);
  if (err != 0) die(EXIT_IO, "cannot open '" + path + "' for " + (write ? 'writing' : 'reading') + ': ' + errnoText(err));
  return load<i32>(scratch);
}

/** Size of an open regular file (anything else is refused: reading a FIFO could block forever). */
export function fileSize(fd: i32, path: string): u64 {
  const st = heap.alloc(64);
  const err = fd_filestat_get(fd, changetype<filestat>(st));
  if (err != 0) die(EXIT_IO, "cannot stat '" + path + "': " + errnoText(err));
  if (load<u8>(st, 16) != filetype.REGULAR_FILE) die(EXIT_IO, "'" + path + "' is not a regular file");
  return load<u64>(st, 32);
}

export function readExact(fd: i32, dst: usize, n: usize, path: string): void {
  let got: usize = 0;
  while (got < n) {
    store<u32>(scratch, dst + got);
    store<u32>(scratch, n - got, 4);
    const err = fd_read(fd, scratch, 1, scratch + 8);
    if (err != 0) die(EXIT_IO, "cannot read '" + path + "': " + errnoText(err));
    const r = load<u32>(scratch, 8);
    if (r == 0) die(EXIT_IO, "'" + path + "' ended early (read " + got.toString() + ' of ' + n.toString() + ' bytes)');
    got += r;
  }
}

export function writeAll(fd: i32, src: usize, n: usize, path: string): void {
  let put: usize = 0;
  while (put < n) {
    store<u32>(scratch, src + put, 16);
    store<u32>(scratch, n - put, 20);
    const err = fd_write(fd, scratch + 16, 1, scratch + 24);
    if (err != 0) die(EXIT_IO, "cannot write '" + path + "': " + errnoText(err));
    put += load<u32>(scratch, 24);
  }
}

export function closeFile(fd: i32): void {
  fd_close(fd);
}
