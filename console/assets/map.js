// The service-circle map, drawn as SVG from data (no tile server). Coordinates are GCJ-02
// as stored; they are projected to metres around the station (equirectangular is exact
// enough for a 2–3 km circle).
const NS = "http://www.w3.org/2000/svg";

function el(tag, attrs = {}, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

export function project(center, lat, lng) {
  const kx = 111320 * Math.cos((center.lat * Math.PI) / 180);
  return [(lng - center.lng) * kx, -(lat - center.lat) * 110574];
}

// Optional raster tiles (Web Mercator XYZ; Chinese providers serve GCJ-02, like the store).
function tileLayer(center, R, url) {
  const g = el("g", { class: "tiles" });
  const lat0 = (center.lat * Math.PI) / 180;
  const z = Math.max(3, Math.min(18, Math.round(Math.log2((40075016 * Math.cos(lat0) * 3) / (2 * R)))));
  const n = 2 ** z;
  const tx = (lng) => ((lng + 180) / 360) * n;
  const ty = (lat) => { const r = (lat * Math.PI) / 180; return ((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n; };
  const lngOf = (x) => (x / n) * 360 - 180;
  const latOf = (y) => (Math.atan(Math.sinh(Math.PI * (1 - (2 * y) / n))) * 180) / Math.PI;
  const dLat = (R * 1.2) / 110574, dLng = (R * 1.2) / (111320 * Math.cos(lat0));
  const x0 = Math.floor(tx(center.lng - dLng)), x1 = Math.floor(tx(center.lng + dLng));
  const y0 = Math.floor(ty(center.lat + dLat)), y1 = Math.floor(ty(center.lat - dLat));
  for (let x = x0; x <= x1; x++) {
    for (let y = y0; y <= y1; y++) {
      const [ax, ay] = project(center, latOf(y), lngOf(x));
      const [bx, by] = project(center, latOf(y + 1), lngOf(x + 1));
      const href = url.replaceAll("{z}", z).replaceAll("{x}", x).replaceAll("{y}", y).replaceAll("{s}", String(1 + ((x + y) % 4)));
      g.append(el("image", { href, x: ax, y: ay, width: bx - ax, height: by - ay, preserveAspectRatio: "none" }));
    }
  }
  return g;
}

export function drawMap(box, { station, elders, caregivers, incidents, selected, labels, onIncident, tileUrl }) {
  const R = station.radius_m;
  const pad = R * 0.12;
  const c = station.center;
  const svg = el("svg", { viewBox: `${-R - pad} ${-R - pad} ${2 * (R + pad)} ${2 * (R + pad)}`,
    class: "map-svg", role: "img", "aria-label": station.name, preserveAspectRatio: "xMidYMid meet" });
  const px = R / 220; // one screen-ish unit, so marks keep their size whatever the radius

  // Grid: a 500 m street-like lattice, with the circle on top.
  const g = el("g", { class: "grid" });
  const step = 500;
  for (let v = -Math.floor((R + pad) / step) * step; v <= R + pad; v += step) {
    g.append(el("line", { x1: v, y1: -R - pad, x2: v, y2: R + pad }));
    g.append(el("line", { x1: -R - pad, y1: v, x2: R + pad, y2: v }));
  }
  svg.append(g);
  if (tileUrl) svg.append(tileLayer(c, R, tileUrl));
  svg.append(el("circle", { cx: 0, cy: 0, r: R, class: "circle" }));
  svg.append(el("circle", { cx: 0, cy: 0, r: R / 2, class: "circle-half" }));
  svg.append(el("text", { x: 0, y: -R - 4 * px, class: "circle-label", "text-anchor": "middle", "font-size": 9 * px },
    `${station.circle_minutes} min · ${(R / 1000).toFixed(1)} km`));
  // Scale bar (500 m).
  svg.append(el("line", { x1: -R - pad + 10 * px, y1: R + pad - 10 * px, x2: -R - pad + 10 * px + 500, y2: R + pad - 10 * px, class: "scale" }));
  svg.append(el("text", { x: -R - pad + 10 * px, y: R + pad - 14 * px, "font-size": 8 * px, class: "scale-t" }, "500 m"));

  // Elders by risk.
  const ge = el("g", { class: "elders" });
  for (const e of elders) {
    const [x, y] = project(c, e.lat, e.lng);
    const cls = e.high_risk ? "elder hr" : e.care_level === "失能" ? "elder dis" : e.care_level === "半失能" ? "elder semi" : "elder";
    const dot = el("circle", { cx: x, cy: y, r: (e.high_risk ? 3.2 : 2.2) * px, class: cls });
    dot.append(el("title", {}, `${e.name} · ${e.care_level}${e.high_risk ? " · 高风险" : ""}`));
    ge.append(dot);
  }
  svg.append(ge);

  // Station and kitchen.
  svg.append(el("rect", { x: -6 * px, y: -6 * px, width: 12 * px, height: 12 * px, class: "station", rx: 2 * px }));
  svg.append(el("text", { x: 9 * px, y: 4 * px, "font-size": 9 * px, class: "lbl" }, labels.station));
  if (station.kitchen) {
    const [kx, ky] = project(c, station.kitchen.lat, station.kitchen.lng);
    svg.append(el("path", { d: `M${kx} ${ky - 6 * px}L${kx + 6 * px} ${ky + 5 * px}L${kx - 6 * px} ${ky + 5 * px}Z`, class: "kitchen" }));
    svg.append(el("text", { x: kx + 8 * px, y: ky + 4 * px, "font-size": 8 * px, class: "lbl" }, labels.kitchen));
  }

  // Incidents (and the line from the assigned caregiver).
  const cgById = new Map(caregivers.map((x) => [x.id, x]));
  const gi = el("g", { class: "incidents" });
  for (const inc of incidents) {
    const [x, y] = project(c, inc.location.lat, inc.location.lng);
    const cg = inc.caregiver_id ? cgById.get(inc.caregiver_id) : null;
    if (cg && cg.location && inc.status !== "arrived") {
      const [cx, cy] = project(c, cg.location.lat, cg.location.lng);
      gi.append(el("line", { x1: cx, y1: cy, x2: x, y2: y, class: "route" }));
    }
    const grp = el("g", { class: `inc k-${inc.kind} st-${inc.status}${inc.id === selected ? " sel" : ""}`, "data-incident": inc.id });
    grp.append(el("circle", { cx: x, cy: y, r: 14 * px, class: "pulse" }));
    grp.append(el("circle", { cx: x, cy: y, r: 7 * px, class: "core" }));
    grp.append(el("text", { x, y: y - 11 * px, "text-anchor": "middle", "font-size": 10 * px, class: "inc-lbl" }, inc.elder_name));
    grp.addEventListener("click", () => onIncident && onIncident(inc.id));
    gi.append(grp);
  }
  svg.append(gi);

  // Caregivers by status.
  const gc = el("g", { class: "cgs" });
  for (const cg of caregivers) {
    if (!cg.location) continue;
    const [x, y] = project(c, cg.location.lat, cg.location.lng);
    const grp = el("g", { class: `cgm ${cg.status}`, "data-caregiver": cg.id });
    grp.append(el("circle", { cx: x, cy: y, r: 8 * px }));
    grp.append(el("text", { x, y: y + 3.5 * px, "text-anchor": "middle", "font-size": 9 * px, class: "cg-init" }, cg.name.slice(0, 1)));
    grp.append(el("text", { x: x + 10 * px, y: y + 3 * px, "font-size": 9 * px, class: "lbl" }, cg.name));
    gc.append(grp);
  }
  svg.append(gc);
  box.replaceChildren(svg);
}
