/**
 * Bar chart of each contender's speed as a ratio to the walker (median over interleaved rounds, with a
 * q1–q3 whisker), one group per throughput case, as SVG text.
 */
export function renderSvg(cases) {
  const width = 820;
  const bar = 18;
  const left = 300;
  const scale = (width - left - 140) / 1.2; // 1.2× the walker at most on the axis
  const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const parts = [];
  let y = 40;
  for (const t of cases) {
    parts.push(`<text x="10" y="${y + 4}" font-size="13" font-weight="bold">${esc(`${t.input}, ${t.chunk / 1024} KiB chunks (${t.rounds} rounds)`)}</text>`);
    y += 12;
    for (const [c, r] of Object.entries(t.vsWalker ?? {})) {
      if (c === "walker (A/A)") continue;
      const colour = c.startsWith("kvs") ? "#2b7bb9" : "#e08a2c";
      parts.push(`<text x="${left - 8}" y="${y + 14}" text-anchor="end" font-size="12">${esc(c)}</text>`);
      if (r) {
        const w = Math.max(2, Math.min(1.2, r.median) * scale);
        parts.push(`<rect x="${left}" y="${y}" width="${w}" height="${bar}" fill="${colour}"/>`);
        parts.push(
          `<line x1="${left + Math.min(1.2, r.q1) * scale}" x2="${left + Math.min(1.2, r.q3) * scale}" y1="${y + bar / 2}" y2="${y + bar / 2}" stroke="#222" stroke-width="2"/>`,
        );
        parts.push(`<text x="${left + w + 8}" y="${y + 14}" font-size="12">${r.median.toFixed(2)}× (${r.q1.toFixed(2)}–${r.q3.toFixed(2)})</text>`);
      } else parts.push(`<text x="${left + 4}" y="${y + 14}" font-size="12">fails</text>`);
      y += bar + 6;
    }
    y += 18;
  }
  const x1 = left + scale;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y + 10}" font-family="sans-serif">` +
    `<text x="10" y="20" font-size="15" font-weight="bold">Speed ÷ a minimal streaming walker in the same round (median, q1–q3)</text>` +
    `<line x1="${x1}" x2="${x1}" y1="30" y2="${y}" stroke="#999" stroke-dasharray="4 3"/>` +
    `<text x="${x1 + 3}" y="${y}" font-size="11" fill="#666">walker = 1</text>${parts.join("")}</svg>\n`
  );
}
