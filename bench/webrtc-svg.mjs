/**
 * The WebRTC section's latency rows as SVG text: per row a bar to its p50 and a whisker on to its p99
 * (medians over rounds), on a log scale of ms, with the 100 ms target drawn across.
 */
export function renderWebrtcSvg(rows, targetMs) {
  const width = 820;
  const left = 420;
  const bar = 18;
  const lo = 0.5;
  const hi = 5000;
  const x = (ms) => left + ((Math.log10(Math.min(hi, Math.max(lo, ms))) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * (width - left - 30);
  const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const parts = [];
  let y = 44;
  for (const r of rows) {
    parts.push(`<text x="${left - 8}" y="${y + 14}" text-anchor="end" font-size="12">${esc(r.label)}</text>`);
    if (r.p50 === null || r.p50 === undefined) parts.push(`<text x="${left + 4}" y="${y + 14}" font-size="12">no figure</text>`);
    else {
      const colour = r.label.startsWith("WebRTC") ? "#2b7bb9" : "#e08a2c";
      parts.push(`<rect x="${left}" y="${y}" width="${Math.max(2, x(r.p50) - left)}" height="${bar}" fill="${colour}"/>`);
      if (r.p99 !== null && r.p99 !== undefined)
        parts.push(`<line x1="${x(r.p50)}" x2="${x(r.p99)}" y1="${y + bar / 2}" y2="${y + bar / 2}" stroke="#222" stroke-width="2"/>`);
    }
    y += bar + 8;
  }
  const axis = [1, 10, 100, 1000]
    .map(
      (ms) =>
        `<line x1="${x(ms)}" x2="${x(ms)}" y1="36" y2="${y}" stroke="#ddd"/><text x="${x(ms)}" y="${y + 14}" font-size="11" fill="#666" text-anchor="middle">${ms} ms</text>`,
    )
    .join("");
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y + 24}" font-family="sans-serif">` +
    `<text x="10" y="20" font-size="15" font-weight="bold">Loopback latency of video frames: bar to p50, line on to p99 (log scale)</text>` +
    axis +
    `<line x1="${x(targetMs)}" x2="${x(targetMs)}" y1="30" y2="${y}" stroke="#c00" stroke-dasharray="4 3"/>` +
    `<text x="${x(targetMs) + 3}" y="34" font-size="11" fill="#c00">target p99 ${targetMs} ms</text>${parts.join("")}</svg>\n`
  );
}
