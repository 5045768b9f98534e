/** The dashboard's stylesheet (inline, allowed by its hash in the CSP). */
export const DASHBOARD_STYLE = `
:root { color-scheme: light; --bg: #f4f6f8; --card: #fff; --ink: #1d2733; --muted: #5f6b7a;
  --line: #d9dee5; --processing: #b7791f; --processed: #2f855a; --failed: #c53030; --accent: #2b6cb0; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  background: var(--bg); color: var(--ink); }
header { display: flex; align-items: baseline; gap: 16px; padding: 14px 24px; background: #1d2733; color: #fff; }
header h1 { margin: 0; font-size: 18px; font-weight: 600; }
header .meta { color: #b8c2cf; font-size: 12px; }
header .state { margin-left: auto; font-size: 12px; padding: 2px 8px; border-radius: 10px; background: #2f855a; }
header .state.down { background: var(--failed); }
main { padding: 18px 24px; display: grid; gap: 18px; max-width: 1280px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(120px, 1fr)); gap: 12px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .value { font-size: 26px; font-weight: 600; font-variant-numeric: tabular-nums; margin-top: 4px; }
.card .sub { color: var(--muted); font-size: 12px; }
.card.processing .value { color: var(--processing); }
.card.processed .value { color: var(--processed); }
.card.failed .value { color: var(--failed); }
section.panel { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 14px; }
section.panel h2 { margin: 0 0 10px; font-size: 15px; }
.legend { display: flex; gap: 16px; color: var(--muted); font-size: 12px; margin-bottom: 6px; }
.legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; }
.legend .received i { background: var(--accent); }
.legend .processed i { background: var(--processed); }
#chart { width: 100%; height: 180px; display: block; }
#chart .grid { stroke: var(--line); stroke-width: 1; }
#chart .axis { fill: var(--muted); font-size: 10px; }
#chart .received { fill: none; stroke: var(--accent); stroke-width: 2; }
#chart .processed { fill: none; stroke: var(--processed); stroke-width: 2; }
.toolbar { display: flex; gap: 8px; margin-bottom: 10px; align-items: center; flex-wrap: wrap; }
.toolbar input, .toolbar select, .toolbar button { font: inherit; padding: 6px 8px; border: 1px solid var(--line);
  border-radius: 6px; background: #fff; }
.toolbar input { min-width: 280px; }
.toolbar button { cursor: pointer; }
.toolbar .hint { color: var(--muted); font-size: 12px; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { color: var(--muted); font-weight: 500; font-size: 12px; }
td.id { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
td.amount { text-align: right; }
.badge { font-size: 11px; font-weight: 600; padding: 2px 6px; border-radius: 4px; color: #fff; }
.badge.PROCESSING { background: var(--processing); }
.badge.PROCESSED { background: var(--processed); }
.badge.FAILED { background: var(--failed); }
#error { color: var(--failed); }
#more { margin-top: 10px; }
#forget { font: inherit; font-size: 12px; background: none; color: #b8c2cf; border: 1px solid #5f6b7a;
  border-radius: 6px; padding: 2px 8px; cursor: pointer; }
#redrive-source, #redrive-prefix { min-width: 160px; }
#redrive-limit { width: 80px; min-width: 0; }
.notice { font-size: 12px; color: var(--processed); }
.notice.bad { color: var(--failed); }
td.action button { font: inherit; font-size: 12px; padding: 2px 8px; border: 1px solid var(--line);
  border-radius: 6px; background: #fff; cursor: pointer; }
.empty { color: var(--muted); padding: 12px 8px; }
`;
