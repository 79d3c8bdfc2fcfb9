import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

/** Linux /proc readings: memory of the service, CPU time of the service, PostgreSQL and the whole machine. */

const CLK_TCK = clockTicks();

function clockTicks(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
}

export interface Memory {
  /** VmRSS, MiB */
  rssMb: number;
  /** VmHWM (peak RSS since start or since the last reset), MiB */
  hwmMb: number;
}

export function memoryOf(pid: number): Memory | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** Resets VmHWM to the current RSS (Linux ≥ 4.0, same user or root); false when the kernel refuses. */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

interface Stat {
  state: string;
  ppid: number;
  /** utime + stime, seconds */
  own: number;
  /** cutime + cstime (reaped children), seconds */
  reaped: number;
}

function statOf(pid: number): Stat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces: the fields that matter follow the last ')'.
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const n = (i: number): number => Number(f[i - 3]);
    return { state: f[0] ?? '?', ppid: n(4), own: (n(14) + n(15)) / CLK_TCK, reaped: (n(16) + n(17)) / CLK_TCK };
  } catch {
    return undefined;
  }
}

/** CPU seconds of one process (not its children). */
export function cpuOf(pid: number): number {
  return statOf(pid)?.own ?? NaN;
}

/** CPU seconds of this process's reaped children (pgbench runs end up here once they exit). */
export function reapedChildrenCpu(): number {
  return statOf(process.pid)?.reaped ?? NaN;
}

/**
 * CPU seconds of a PostgreSQL server: the postmaster, its live children (backends, walwriter, …) and the
 * children it already reaped, so that backends ending between two readings still count. A backend reaped
 * while /proc is being walked would be missed (or counted twice), so the reading is repeated until the
 * postmaster's reaped total and the set of children are the same before and after the walk.
 */
export function postgresCpu(postmasterPid: number): number {
  let last = NaN;
  for (let attempt = 0; attempt < 50; attempt++) {
    const before = statOf(postmasterPid);
    if (before === undefined) return NaN;
    const children = childrenOf(postmasterPid);
    const after = statOf(postmasterPid);
    if (after === undefined) return NaN;
    last = after.own + after.reaped + [...children.values()].reduce((a, b) => a + b, 0);
    const again = childrenOf(postmasterPid);
    const stable =
      !Number.isNaN(last) &&
      before.reaped === after.reaped &&
      again.size === children.size &&
      [...again.keys()].every((p) => children.has(p));
    if (stable) return last;
    // A child is exiting: give the postmaster a moment to reap it.
    sleepSync(20);
  }
  return last;
}

/** Live children's CPU seconds by pid; a zombie (exited, not yet reaped) is listed as NaN. */
function childrenOf(parent: number): Map<number, number> {
  const children = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = statOf(Number(entry));
    if (s !== undefined && s.ppid === parent) children.set(Number(entry), s.state === 'Z' ? NaN : s.own);
  }
  return children;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Machine-wide CPU seconds from /proc/stat: busy and total (all cores), and steal, the time a virtual machine's
 * cores were runnable but the hypervisor ran something else (counted in busy, as the cores were not idle).
 */
export function machineCpu(): { busy: number; total: number; steal: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user)
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = v;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy: busy / CLK_TCK, total: (busy + idle + iowait) / CLK_TCK, steal: steal / CLK_TCK };
}

/**
 * Seconds during which some task on the machine was stalled waiting for I/O (pressure stall information,
 * /proc/pressure/io, "some" total, Linux ≥ 4.20 with PSI on); NaN where the kernel does not provide it. A disk
 * that stalls fsync or page-cache misses on data files slows PostgreSQL's commits without using any CPU.
 */
export function ioStallSeconds(): number {
  try {
    const some = /^some .*total=(\d+)/m.exec(readFileSync('/proc/pressure/io', 'utf8'))?.[1];
    return some === undefined ? NaN : Number(some) / 1e6;
  } catch {
    return NaN;
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
