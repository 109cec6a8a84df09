// The "stored per day" bar chart, drawn as inline SVG.

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 300;
const HEIGHT = 110;
const TOP = 14;
const BOTTOM = 94;

function svg(name, attrs = {}, text) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function shortDate(iso) {
  const [year, month, day] = iso.split("-").map(Number);
  return new Date(year, month - 1, day).toLocaleDateString(undefined, { month: "short", day: "numeric" });
}

/** Draw days = [{date: "YYYY-MM-DD", count}] into the figure element. */
export function renderChart(figure, days) {
  figure.replaceChildren();
  const total = days.reduce((sum, d) => sum + d.count, 0);
  const max = Math.max(1, ...days.map((d) => d.count));
  const busiest = days.reduce((best, d) => (d.count > best.count ? d : best), days[0] || { count: 0 });
  const summary = total
    ? `${total} stored in the last ${days.length} days; most on ${shortDate(busiest.date)} (${busiest.count})`
    : `Nothing stored in the last ${days.length} days`;

  const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": summary });
  chart.append(svg("title", {}, summary));
  chart.append(svg("line", { x1: 0, x2: WIDTH, y1: BOTTOM, y2: BOTTOM, class: "axis" }));
  if (total) chart.append(svg("text", { x: 0, y: 10, class: "label" }, `max ${max} a day`));

  const slot = WIDTH / Math.max(1, days.length);
  days.forEach((day, i) => {
    const height = day.count ? Math.max(2, ((BOTTOM - TOP) * day.count) / max) : 0;
    const bar = svg("rect", {
      x: (i * slot + slot * 0.15).toFixed(2), y: (BOTTOM - height).toFixed(2),
      width: (slot * 0.7).toFixed(2), height: height.toFixed(2), class: "bar", "data-date": day.date,
      "data-count": day.count,
    });
    bar.append(svg("title", {}, `${shortDate(day.date)}: ${day.count}`));
    chart.append(bar);
  });
  if (days.length) {
    chart.append(svg("text", { x: 0, y: HEIGHT - 2, class: "label" }, shortDate(days[0].date)));
    chart.append(svg("text", { x: WIDTH, y: HEIGHT - 2, class: "label end" }, shortDate(days.at(-1).date)));
  }
  const caption = document.createElement("figcaption");
  caption.className = "muted";
  caption.textContent = summary;
  figure.append(chart, caption);
}
