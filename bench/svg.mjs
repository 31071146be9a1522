/** A horizontal bar chart of median MB/s per parser, as SVG text. */
export function renderSvg(rows, title) {
  const width = 760;
  const bar = 22;
  const left = 230;
  const max = Math.max(1, ...rows.map((r) => (r.ok && r.correct !== false ? r.mbps.median : 0)));
  const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const items = rows.map((r, i) => {
    const y = 40 + i * (bar + 8);
    const good = r.ok && r.correct !== false;
    const w = good ? Math.max(2, ((width - left - 120) * r.mbps.median) / max) : 0;
    const label = good ? `${Math.round(r.mbps.median).toLocaleString("en-US")} MB/s` : r.ok ? "wrong counts" : "fails";
    return (
      `<text x="${left - 8}" y="${y + 16}" text-anchor="end" font-size="13">${esc(r.parser)}</text>` +
      `<rect x="${left}" y="${y}" width="${w}" height="${bar}" fill="${r.parser.startsWith("kvs") ? "#2b7bb9" : r.parser.startsWith("baseline") ? "#aaa" : "#e08a2c"}"/>` +
      `<text x="${left + w + 6}" y="${y + 16}" font-size="12">${esc(label)}</text>`
    );
  });
  const height = 50 + rows.length * (bar + 8);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">` +
    `<text x="10" y="22" font-size="15" font-weight="bold">${esc(title)}</text>${items.join("")}</svg>\n`
  );
}
