import type { CpuShare, PgbenchPoint, Point, Results, TargetCheck } from './results-model.js';

/** Hand-written analysis between these markers survives the regeneration of BENCHMARKS.md. */
const NOTES_START = '<!-- notes:start -->';
const NOTES_END = '<!-- notes:end -->';

const n0 = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
const n1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const n2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
const pct = (x: number): string => (Number.isFinite(x) ? `${Math.round(x * 100)} %` : 'n/a');

/** CPU microseconds per transfer (or per TPC-B transaction) of each party. */
function cost(cpu: CpuShare, perSecond: number): { service: number; postgres: number; client: number } {
  return {
    service: (cpu.service / perSecond) * 1e6,
    postgres: (cpu.postgres / perSecond) * 1e6,
    client: (cpu.client / perSecond) * 1e6,
  };
}

function cpuText(cpu: CpuShare): string {
  return `service ${n2(cpu.service)}, PostgreSQL ${n2(cpu.postgres)}, client ${n2(cpu.client)}, other ${n2(cpu.other)}`;
}

/** The "why" of each target, from what was measured: CPU split, cost per transfer, failures, lateness. */
export function explain(r: Results): TargetCheck[] {
  const cores = r.machine.cores;
  const ref = r.pgbenchPoints.reduce<PgbenchPoint | undefined>(
    (a, p) => (a === undefined || p.tps > a.tps ? p : a),
    undefined,
  );
  const bestOf = (scenario: string): Point | undefined =>
    r.points
      .filter((p) => p.scenario === scenario)
      .reduce<Point | undefined>(
        (a, p) => (a === undefined || p.transfersPerSecond > a.transfersPerSecond ? p : a),
        undefined,
      );
  const refCost = ref === undefined ? undefined : cost(ref.cpu, ref.tps);
  const costText = (p: Point): string => {
    const c = cost(p.cpu, p.transfersPerSecond);
    return (
      `At its best point (${p.clients} clients) the machine's ${cores} cores were ${n2(p.cpu.machine)} busy ` +
      `(${cpuText(p.cpu)}); a transfer cost ${n0(c.service)} µs of service CPU and ${n0(c.postgres)} µs of ` +
      `PostgreSQL CPU, and a \`SELECT 1\` round trip to PostgreSQL took ${n2(p.pgRoundTripMs.p50)} ms (p50)` +
      (refCost === undefined
        ? '.'
        : `, where a TPC-B transaction cost ${n0(refCost.postgres)} µs of PostgreSQL CPU and ` +
          `${n0(refCost.client)} µs of pgbench CPU (${ref!.clients} clients).`)
    );
  };
  return r.targets.map((t) => {
    if (t.met === null) return { ...t, why: 'Not measured in this run (see above).' };
    if (t.name.startsWith('ledgers4 ≥ uniform')) {
      const byClients = r.settings.clients
        .map((c) => {
          const u = r.points.find((q) => q.scenario === 'uniform' && q.clients === c);
          const l = r.points.find((q) => q.scenario === 'ledgers4' && q.clients === c);
          return u === undefined || l === undefined
            ? undefined
            : `${c} clients: ${n0(l.transfersPerSecond)} vs ${n0(u.transfersPerSecond)}/s ` +
                `(${n2(l.transfersPerSecond / u.transfersPerSecond)}×)`;
        })
        .filter((x) => x !== undefined);
      const p = bestOf('ledgers4');
      return {
        ...t,
        why: `ledgers4 vs uniform at each client count: ${byClients.join('; ')}.${p === undefined ? '' : ` ${costText(p)}`}`,
      };
    }
    if (t.name.startsWith('ledgers4 retries')) {
      const rows = r.points
        .filter((q) => q.scenario === 'ledgers4')
        .map((q) => `${q.clients} clients: ${retriesText(q)} over ${n0(q.requests)} requests`);
      return { ...t, why: `Serialization retries of each ledgers4 point: ${rows.join('; ')}.` };
    }
    const scenario = /^(uniform|hot|batch)\b/.exec(t.name)?.[1];
    if (scenario !== undefined) {
      const p = bestOf(scenario);
      if (p === undefined) return t;
      const failed = r.points.filter((q) => q.scenario === scenario && q.failedRequests > 0);
      const failures =
        failed.length === 0
          ? ''
          : ' Failed requests: ' + failed.map((q) => `${q.clients} clients: ${errorsText(q.errors)}`).join('; ') + '.';
      return { ...t, why: `${costText(p)}${failures}` };
    }
    if (t.name.startsWith('p99') && r.paced !== null) {
      const p = r.paced;
      return {
        ...t,
        why:
          `Open loop with ${p.clients} connections; latency counted from each request's scheduled instant. ` +
          `Max ${n1(p.latencyMs.max)} ms; ${p.lateStarts ?? 0} of ${p.requests} requests left the client more than ` +
          `1 ms after their scheduled instant; CPU: ${cpuText(p.cpu)}.`,
      };
    }
    if (t.name.startsWith('service RSS')) {
      const top = [...r.points, ...(r.paced === null ? [] : [r.paced])].reduce<Point | undefined>(
        (a, p) => (a === undefined || p.peakRssMb > a.peakRssMb ? p : a),
        undefined,
      );
      return {
        ...t,
        why:
          top === undefined
            ? ''
            : `Highest during ${top.scenario} at ${top.clients} clients (${n0(top.peakRssMb)} MB; V8 heap ` +
              `${n0(top.heapMbAtEnd.total)} MB of which ${n0(top.heapMbAtEnd.used)} MB used, external ` +
              `${n0(top.heapMbAtEnd.external)} MB, at the end of that point). ` +
              `The service's RSS was ${n0(r.setup.rssAfterStartMb)} MB once ready and ${n0(r.setup.rssAfterSetupMb)} MB ` +
              'after the set-up. The embedded PostgreSQL runs in processes of its own and is not counted.',
      };
    }
    return t;
  });
}

function errorsText(errors: Record<string, number>): string {
  const entries = Object.entries(errors).sort((a, b) => b[1] - a[1]);
  return entries.length === 0 ? '—' : entries.map(([k, v]) => `${k} × ${n0(v)}`).join(', ');
}

function retriesText(p: Point): string {
  const states = Object.entries(p.retries)
    .map(([k, v]) => `${k}: ${n0(v)}`)
    .join(', ');
  // Results written before the share was recorded have no retriesPercent: it is worked out from the requests.
  const share = p.retriesPercent ?? (p.requests === 0 ? NaN : (p.retriesTotal / p.requests) * 100);
  const parts = [`${n2(share)} %`, ...(states === '' ? [] : [states])].join('; ');
  return `${n0(p.retriesTotal)} (${parts})${p.retriesExhausted > 0 ? `, ${n0(p.retriesExhausted)} exhausted` : ''}`;
}

export function markdown(r: Results, resultsFile: string, previous: string | undefined): string {
  const notes = previous === undefined ? undefined : extractNotes(previous);
  const pgb = 'missing' in r.pgbench ? undefined : r.pgbench;
  // Judged on the CPU other processes used during the points: the load average at the start still counts the
  // build that `npm run bench` runs first.
  const busy = r.machine.otherCpuMedian > 0.2;
  // NaN (no reading: no PSI in the kernel) compares false.
  const stolen = r.machine.stealMedian > 0.1;
  const stalled = r.machine.ioStallMedian > 0.1;
  const lines: string[] = [];
  lines.push('# Benchmarks', '');
  lines.push(
    `Generated by \`npm run bench\` (\`bench/run.ts\`, issue #8) on ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC` +
      `${r.commit === null ? '' : ` at commit \`${r.commit.slice(0, 12)}\``}. Raw figures: \`${resultsFile}\`.`,
    '',
  );
  lines.push(
    'The service is built and started as a child process in production mode (`NODE_ENV=production`, ' +
      '`LOG_LEVEL=warn`, ' +
      (r.postgres.mode === 'embedded' ? 'embedded PostgreSQL in a fresh temporary data directory' : '`DATABASE_URL`') +
      `, \`DB_POOL_SIZE=${r.settings.dbPoolSize}\`). An operator user drives it over HTTP/1.1 keep-alive ` +
      '(undici `Pool` with one connection per client, a fresh `Idempotency-Key` on every request, closed loop: ' +
      'each client sends its next request when the previous one is answered). ' +
      `${n0(r.settings.accounts)} credit-normal accounts are each funded with 10,000,000.00 USD from one ` +
      'funding account (`allowNegative: true`), 100 transfers per batch, all in the `default` ledger. ' +
      (r.setup.ledgers4 === undefined
        ? ''
        : `For ledgers4, ${r.setup.ledgers4.ledgers.length} more ledgers (${r.setup.ledgers4.ledgers.map((l) => `\`${l}\``).join(', ')}) ` +
          `each have a funding account and ${n0(r.setup.ledgers4.accountsCreated / r.setup.ledgers4.ledgers.length - 1)} ` +
          'accounts funded the same way. ') +
      'Each point runs ' +
      `${r.settings.warmupSeconds} s of warm-up, then ${r.settings.seconds} s measured.`,
    '',
  );
  lines.push(
    '- **uniform**: `POST /v1/transfers` between two random distinct accounts (1–100 cents).',
    '- **hot**: `POST /v1/transfers`, every one debiting the funding account and crediting a random account.',
    `- **batch**: \`POST /v1/transfers/batch\` with ${r.settings.batchSize} uniform transfers per call; ` +
      'transfers/s counts transfers, latency is per call.',
    '- **ledgers4**: uniform spread over 4 ledgers of their own: each request picks a random ledger, then two ' +
      'random distinct accounts of it; to compare with uniform (one ledger) at the same client count.',
    "- **pgbench**: PostgreSQL's built-in TPC-B-like script, `pgbench -M prepared -c N -j 2 -T " +
      `${r.settings.seconds} -n\` (after a ${r.settings.warmupSeconds} s warm-up run), scale ` +
      `${pgb?.scale ?? '-'}, in a database of its own on the same server, at the server's default isolation ` +
      `(${r.postgres.isolationDefault}). The ledger's transactions are SERIALIZABLE.`,
    '',
  );

  lines.push('## Machine', '');
  lines.push('| | |', '|---|---|');
  lines.push(`| CPU | ${r.machine.cores} cores (${r.machine.cpuModel}) |`);
  lines.push(`| memory | ${r.machine.memoryGiB} GiB |`);
  lines.push(`| OS | ${r.machine.platform} |`);
  lines.push(`| Node.js | ${r.machine.node} |`);
  lines.push(
    `| PostgreSQL | ${r.postgres.version} (${r.postgres.mode}; max_connections ${r.postgres.maxConnections}) |`,
  );
  lines.push(
    `| pgbench | ${pgb === undefined ? `**absent**: ${'missing' in r.pgbench ? r.pgbench.missing : ''}` : `\`${pgb.path}\`, ${pgb.version}, found ${pgb.foundIn === 'PATH' ? 'on PATH' : pgb.foundIn}`} |`,
  );
  lines.push(
    `| load average | ${r.machine.loadAverageStart.map(n2).join(' ')} at the start, ` +
      `${r.machine.loadAverageEnd.map(n2).join(' ')} at the end |`,
  );
  lines.push(
    `| other work | median ${n2(r.machine.otherCpuMedian)} cores busy with processes outside the benchmark during the points |`,
  );
  lines.push(
    `| steal, I/O stall | median ${n2(r.machine.stealMedian)} cores stolen by the hypervisor; some task ` +
      `waited for I/O ${pct(r.machine.ioStallMedian)} of the time (\`/proc/pressure/io\`) during the points |`,
  );
  lines.push(
    `| set-up | ${n0(r.setup.accountsCreated)} accounts created in ${n1(r.setup.createSeconds)} s, funded in ` +
      `${n1(r.setup.fundSeconds)} s` +
      (r.setup.ledgers4 === undefined
        ? ''
        : `; ledgers4: ${n0(r.setup.ledgers4.accountsCreated)} accounts in ${r.setup.ledgers4.ledgers.length} ` +
          `ledgers created in ${n1(r.setup.ledgers4.createSeconds)} s, funded in ${n1(r.setup.ledgers4.fundSeconds)} s`) +
      `${pgb === undefined ? '' : `; \`pgbench -i -s ${pgb.scale}\` ${n1(pgb.initSeconds)} s`} |`,
  );
  lines.push('');
  lines.push(
    'Everything (PostgreSQL, the service, the load generator, pgbench) shares these cores, so every figure ' +
      'below includes the cost of generating the load on the same machine.' +
      (busy
        ? ' **The machine was not idle**: other processes (other test suites) were running during the run, ' +
          'see the "other" CPU column; figures are lower and noisier than on a quiet machine.'
        : '') +
      (stolen || stalled
        ? ` **The virtual machine was contended**: ${stolen ? 'the hypervisor took CPU time from its cores' : ''}` +
          `${stolen && stalled ? ', and ' : ''}${stalled ? 'tasks waited for I/O (page-cache misses, slow fsync)' : ''}; ` +
          'see the steal and I/O stall column. Ratios to pgbench in the same run still compare like with like; ' +
          'absolute figures are not comparable with a run on a quiet machine.'
        : ''),
    '',
  );

  lines.push('## Results', '');
  lines.push(
    '| scenario | clients | transfers/s | requests/s | p50 ms | p95 ms | p99 ms | errors by code | serialization retries | groups/s × units, mean ms (over 50 ms) | peak RSS MB | × pgbench | CPU cores: service / PG / client / other | steal cores / I/O stall | `SELECT 1` p50 ms |',
    '|---|---:|---:|---:|---:|---:|---:|---|---|---|---:|---:|---|---|---:|',
  );
  for (const clients of r.settings.clients) {
    const ref = r.pgbenchPoints.find((p) => p.clients === clients);
    if (ref !== undefined) {
      lines.push(
        `| pgbench TPC-B | ${clients} | ${n0(ref.tps)} tps | | avg ${n2(ref.latencyAvgMs)} | | | ` +
          `${ref.failedTransactions === 0 ? '—' : `${n0(ref.failedTransactions)} failed`} | | | | 1.00 | ${cpuRow(ref.cpu)} | ` +
          `${contentionRow(ref.cpu)} | ` +
          `${n2(ref.pgRoundTripMs.p50)} |`,
      );
    }
    for (const p of r.points.filter((q) => q.clients === clients)) lines.push(pointRow(p));
  }
  if (r.paced !== null) lines.push(pointRow(r.paced, `uniform, open loop at ${n0(r.paced.targetRate ?? NaN)}/s`));
  lines.push('');
  lines.push(
    'p50/p95/p99 are per request, measured by the client from sending the request to reading the whole answer ' +
      '(the open-loop row: from the instant the request was scheduled). Retries are the increase of ' +
      '`ledger_transaction_retries_total` over the measured window, and (in brackets) that count as a share of ' +
      'the requests completed in the window, then by SQLSTATE. Groups are the group-commit transactions of ' +
      'that window (`ledger_group_commit_units`, `ledger_group_commit_duration_seconds`): how many per second, ' +
      'how many units (transfers) each carried on average, how long each took from start to commit, and (in ' +
      'brackets) how many took over 50 ms: every request that arrives during such a stall waits it out. ' +
      '`SELECT 1` is the latency of one statement ' +
      'round trip from a Node process to PostgreSQL, sampled every 50 ms during the point. ' +
      "Peak RSS is the service process's VmHWM " +
      "(reset before each point's warm-up) and 250 ms VmRSS samples. " +
      `Over the whole run, including set-up, the service's peak RSS was **${n0(r.peakRssMb)} MB**.`,
    '',
  );

  if (r.webhook !== undefined) {
    const ms = (x: number): string => (Number.isFinite(x) ? n0(x) : 'never');
    lines.push('## With a webhook', '');
    lines.push(
      'One webhook subscribed to every event type delivers to a receiver on loopback, a process of its own (it ' +
        'answers 204 at once and does not check signatures; its CPU counts as "other"). Each row runs again, with the webhook, a point of ' +
        'the table above: the best uniform and batch points, and the open-loop uniform one. Before each, the ' +
        "webhook's cursor is moved to the newest event; after it, the bench waits up to 30 s for the events the " +
        "point wrote (warm-up included). The lag runs from an event's `occurredAt` to its arrival at the receiver.",
      '',
    );
    lines.push(
      '| scenario | clients | transfers/s | without | ratio | events received | lag p50 ms | p95 ms | p99 ms | max ms | request p99 ms | CPU cores: service / PG / client / other |',
      '|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|',
    );
    for (const p of [...r.webhook.points, ...(r.webhook.paced === null ? [] : [r.webhook.paced])]) {
      const l = p.webhookLagMs;
      lines.push(
        `| ${p.targetRate === undefined ? p.scenario : `uniform, open loop at ${n0(p.targetRate)}/s`} | ${p.clients} | ` +
          `${n0(p.transfersPerSecond)} | ${p.withoutWebhook === null ? '' : n0(p.withoutWebhook)} | ` +
          `${p.withoutWebhook === null ? '' : n2(p.transfersPerSecond / p.withoutWebhook)} | ${l.received} of ${l.events} | ` +
          `${ms(l.p50)} | ${ms(l.p95)} | ${ms(l.p99)} | ${ms(l.max)} | ${n1(p.latencyMs.p99)} | ${cpuRow(p.cpu)} |`,
      );
    }
    lines.push('');
  }

  lines.push('## Targets', '');
  lines.push('Ratios are to pgbench TPC-B at READ COMMITTED in the same run, best client count of each.', '');
  lines.push('| target | measured | status |', '|---|---|---|');
  for (const t of r.targets) {
    lines.push(
      `| ${t.name} | ${t.measured} | ${t.met === null ? 'not measured' : t.met ? '**met**' : '**not met**'} |`,
    );
  }
  lines.push('');
  for (const t of r.targets) {
    lines.push(`- **${t.name}** — ${t.met === null ? 'not measured' : t.met ? 'met' : 'not met'}. ${t.why}`);
  }
  lines.push('');
  const manyLedgers = new Set(r.trialBalanceAfter.currencies.map((c) => c.ledger)).size > 1;
  lines.push(
    `Trial balance after the run (\`GET /v1/audit/trial-balance\`): ` +
      (r.trialBalanceAfter.balanced ? 'balanced' : '**NOT balanced**') +
      ` (${r.trialBalanceAfter.currencies.map((c) => `${manyLedgers && c.ledger !== undefined ? `${c.ledger} ` : ''}${c.currency}: total debits ${c.totalDebits}${c.balanced ? ' = total credits' : ' ≠ total credits'}`).join('; ')}).`,
    '',
  );
  if (r.serviceLog.linesAtWarnOrAbove > 0) {
    lines.push(
      `The service logged ${r.serviceLog.linesAtWarnOrAbove} lines at warn or above (${r.serviceLog.errorLines} at error); ` +
        `the first ones are in \`serviceLog\` of the JSON file.`,
      '',
    );
  } else {
    lines.push('The service logged nothing at warn or above during the run.', '');
  }

  lines.push('## Analysis', '');
  lines.push(NOTES_START);
  lines.push(notes ?? '_(no hand-written analysis yet: write it between these markers; `npm run bench` keeps it)_');
  lines.push(NOTES_END, '');
  return lines.join('\n');
}

function pointRow(p: Point, label?: string): string {
  return (
    `| ${label ?? p.scenario} | ${p.clients} | ${n0(p.transfersPerSecond)} | ${n0(p.requestsPerSecond)} | ` +
    `${n1(p.latencyMs.p50)} | ${n1(p.latencyMs.p95)} | ${n1(p.latencyMs.p99)} | ${errorsText(p.errors)} | ` +
    `${retriesText(p)} | ${n0(p.groups.perSecond)} × ${n1(p.groups.meanUnits)}, ${n1(p.groups.meanMs)}${p.groups.over50Ms === undefined ? '' : ` (${p.groups.over50Ms})`} | ${n0(p.peakRssMb)} | ${p.ratioToPgbench === null ? '' : n2(p.ratioToPgbench)} | ${cpuRow(p.cpu)} | ${contentionRow(p.cpu)} | ` +
    `${n2(p.pgRoundTripMs.p50)} |`
  );
}

function cpuRow(c: CpuShare): string {
  return `${n2(c.service)} / ${n2(c.postgres)} / ${n2(c.client)} / ${n2(c.other)}`;
}

function contentionRow(c: CpuShare): string {
  return `${n2(c.steal)} / ${pct(c.ioStall)}`;
}

function extractNotes(text: string): string | undefined {
  const start = text.indexOf(NOTES_START);
  const end = text.indexOf(NOTES_END);
  if (start < 0 || end < start) return undefined;
  const notes = text.slice(start + NOTES_START.length, end).trim();
  return notes === '' || notes.startsWith('_(no hand-written analysis yet') ? undefined : notes;
}
