import { createHash } from 'node:crypto';
import { DASHBOARD_SCRIPT } from './script';
import { DASHBOARD_STYLE } from './style';

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/**
 * Only the page's own inline script and style run (by hash, so the page is static and needs no
 * nonce); it may fetch from this origin only, and nothing else loads.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  `script-src ${sha256(DASHBOARD_SCRIPT)}`,
  `style-src ${sha256(DASHBOARD_STYLE)}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const card = (id: string, label: string, cls = '', sub = ''): string =>
  `<div class="card ${cls}"><div class="label">${label}</div><div class="value" id="${id}">–</div>` +
  `<div class="sub"${sub ? ` id="${sub}"` : ''}></div></div>`;

/** One self-contained page: no build step, no external resources. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>txhook · operations</title>
<link rel="icon" href="data:,">
<style>${DASHBOARD_STYLE}</style>
</head>
<body>
<header><h1>txhook operations</h1><span class="meta" id="updated">loading…</span>
<span class="meta" id="error"></span><span class="state" id="state">…</span>
<button id="forget" type="button" hidden>Forget key</button></header>
<main>
<section class="panel" id="auth" hidden><h2>Operator key</h2>
<div class="toolbar"><input id="key" type="password" placeholder="bearer token (pnpm keygen)" autocomplete="off">
<button id="use-key" type="button">Use key</button><span class="hint" id="key-message"></span></div>
<p class="hint">Kept in this tab only (sessionStorage) and sent as an Authorization header.</p></section>
<div class="cards">
${card('count-PROCESSING', 'Processing', 'processing')}
${card('count-PROCESSED', 'Processed', 'processed')}
${card('count-FAILED', 'Failed', 'failed')}
${card('backlog', 'Backlog (due)')}
${card('oldest', 'Oldest due')}
${card('lag-p50', 'Lag p50', '', 'lag-sample')}
${card('lag-p99', 'Lag p99')}
${card('tput-received', 'Received /min')}
${card('tput-processed', 'Processed /min')}
</div>
<section class="panel"><h2>Throughput</h2>
<div class="legend"><span class="received"><i></i>received per 60 s</span><span class="processed"><i></i>processed per 60 s</span></div>
<svg id="chart" role="img" aria-label="throughput chart"></svg></section>
<section class="panel"><h2>Recent transactions</h2>
<div class="toolbar">
<input id="search" type="search" placeholder="search transaction_id (prefix)" autocomplete="off">
<select id="status-filter"><option value="">all statuses</option><option>PROCESSING</option><option>PROCESSED</option><option>FAILED</option></select>
<span class="hint" id="shown"></span>
</div>
<div class="toolbar">
<span class="hint">Redrive FAILED:</span>
<input id="redrive-source" type="text" placeholder="source (any)" autocomplete="off">
<input id="redrive-prefix" type="text" placeholder="last_error starts with (any)" autocomplete="off">
<input id="redrive-limit" type="number" min="1" max="1000" value="100">
<button id="redrive" type="button">Requeue matching…</button>
<span class="notice" id="action-message"></span>
</div>
<table><thead><tr><th>transaction_id</th><th>status</th><th>amount</th><th title="external calls started / calls that failed / times leased">calls / failed / claims</th><th>created_at</th><th>processed_at</th><th>last_error</th><th>requeued</th><th></th></tr></thead>
<tbody id="tx-body"></tbody></table>
<button id="more" type="button" hidden>Load more</button>
</section>
</main>
<script>${DASHBOARD_SCRIPT}</script>
</body>
</html>
`;
