import { markup, type Html } from './html.js';

const BOX_W = 150;
const BOX_H = 34;
const GAP = 16;
const ROW = 80;

/**
 * A task's neighbourhood as a small SVG: what it depends on above, what depends on it below, each a link
 * coloured by its status. One level each way; following a link shows the next level.
 */
export function dependencyGraph(
  id: string,
  status: string,
  dependsOn: string[],
  neededBy: string[],
  statuses: Record<string, string>,
): Html {
  if (dependsOn.length === 0 && neededBy.length === 0) return markup``;
  const widest = Math.max(dependsOn.length, neededBy.length, 1);
  const width = widest * (BOX_W + GAP) + GAP;
  const rows = [dependsOn, [id], neededBy].filter((r, i) => i === 1 || r.length > 0);
  const height = rows.length * ROW;
  const place = (ids: string[], row: number) =>
    ids.map((name, i) => ({
      name,
      x: (width - ids.length * (BOX_W + GAP) + GAP) / 2 + i * (BOX_W + GAP),
      y: row * ROW + (ROW - BOX_H) / 2,
    }));
  const self = place([id], dependsOn.length > 0 ? 1 : 0)[0] as { name: string; x: number; y: number };
  const above = place(dependsOn, 0);
  const below = place(neededBy, self.y > ROW ? 2 : 1);
  const line = (a: { x: number; y: number }, b: { x: number; y: number }) =>
    markup`<line x1="${a.x + BOX_W / 2}" y1="${a.y + BOX_H}" x2="${b.x + BOX_W / 2}" y2="${b.y}" />`;
  const box = (n: { name: string; x: number; y: number }, st: string, link: boolean) => {
    const label = n.name.length > 20 ? `${n.name.slice(0, 19)}…` : n.name;
    const inner = markup`<rect x="${n.x}" y="${n.y}" width="${BOX_W}" height="${BOX_H}" rx="6" class="${st}" /><text x="${n.x + BOX_W / 2}" y="${n.y + BOX_H / 2 + 4}">${label}</text>`;
    return link
      ? markup`<a href="/tasks/${n.name}"><title>${n.name}: ${st}</title>${inner}</a>`
      : markup`<g><title>${n.name}: ${st}</title>${inner}</g>`;
  };
  return markup`<svg class="graph" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="dependencies of ${id}">
${above.map((n) => line(n, self))}${below.map((n) => line(self, n))}
${above.map((n) => box(n, statuses[n.name] ?? 'missing', true))}${box(self, status, false)}${below.map((n) => box(n, statuses[n.name] ?? 'missing', true))}
</svg>`;
}
