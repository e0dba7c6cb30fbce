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

// Labels are placed so they never sit on one another: each tries right, left, above and below
// its mark and takes the first free place (the most important labels are placed first).
function textWidth(text, size) {
  let w = 0;
  for (const ch of text) w += /[\u0000-\u00ff]/.test(ch) ? 0.6 : 1.0;
  return w * size;
}
class Labels {
  constructor() { this.boxes = []; }
  free(b) { return !this.boxes.some((o) => b.x < o.x + o.w && o.x < b.x + b.w && b.y < o.y + o.h && o.y < b.y + b.h); }
  // A mark that labels must avoid too (the station square, the kitchen, an incident).
  block(x, y, r) { this.boxes.push({ x: x - r, y: y - r, w: 2 * r, h: 2 * r }); }
  place(x, y, r, text, size, prefer = ["right", "left", "above", "below"]) {
    const w = textWidth(text, size), hgt = size * 1.1;
    const at = {
      right: { x: x + r + size * 0.3, y: y - hgt / 2, anchor: "start" },
      left: { x: x - r - size * 0.3 - w, y: y - hgt / 2, anchor: "start" },
      above: { x: x - w / 2, y: y - r - hgt - size * 0.1, anchor: "start" },
      below: { x: x - w / 2, y: y + r + size * 0.1, anchor: "start" },
    };
    let pick = at[prefer[0]];
    for (const k of prefer) { const b = at[k]; if (this.free({ x: b.x, y: b.y, w, h: hgt })) { pick = b; break; } }
    this.boxes.push({ x: pick.x, y: pick.y, w, h: hgt });
    return { x: pick.x, y: pick.y + hgt * 0.82 };
  }
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

  // Elders by care level; high-risk elders (alone and dependent) larger and ringed.
  const ge = el("g", { class: "elders" });
  for (const e of elders) {
    const [x, y] = project(c, e.lat, e.lng);
    const care = e.care_level === "失能" ? " dis" : e.care_level === "半失能" ? " semi" : "";
    const dot = el("circle", { cx: x, cy: y, r: (e.high_risk ? 3.4 : 2.2) * px, class: `elder${care}${e.high_risk ? " hr" : ""}` });
    const level = e.care_level === "失能" ? labels.disabled : e.care_level === "半失能" ? labels.semi : labels.independent;
    dot.append(el("title", {}, `${e.name} · ${level}${e.high_risk ? ` · ${labels.high_risk}` : ""}`));
    ge.append(dot);
  }
  svg.append(ge);

  const placer = new Labels();
  const [kx, ky] = station.kitchen ? project(c, station.kitchen.lat, station.kitchen.lng) : [null, null];
  // Marks first, so no label covers them.
  placer.block(0, 0, 7 * px);
  if (kx !== null) placer.block(kx, ky, 7 * px);
  const incXY = incidents.map((inc) => project(c, inc.location.lat, inc.location.lng));
  incXY.forEach(([x, y]) => placer.block(x, y, 8 * px));
  const cgXY = caregivers.filter((cg) => cg.location).map((cg) => [cg, ...project(c, cg.location.lat, cg.location.lng)]);
  cgXY.forEach(([, x, y]) => placer.block(x, y, 8.5 * px));
  // Then labels, most important first: calls, caregivers, station, kitchen.
  const incLabels = incidents.map((inc, i) => placer.place(incXY[i][0], incXY[i][1], 8 * px, inc.elder_name, 10 * px, ["above", "right", "left", "below"]));
  const cgLabels = cgXY.map(([cg, x, y]) => placer.place(x, y, 8.5 * px, cg.name, 9 * px));
  const stLabel = placer.place(0, 0, 7 * px, labels.station, 9 * px);
  const kLabel = kx !== null ? placer.place(kx, ky, 7 * px, labels.kitchen, 8 * px) : null;

  // Station and kitchen.
  svg.append(el("rect", { x: -6 * px, y: -6 * px, width: 12 * px, height: 12 * px, class: "station", rx: 2 * px }));
  svg.append(el("text", { x: stLabel.x, y: stLabel.y, "font-size": 9 * px, class: "lbl" }, labels.station));
  if (kx !== null) {
    svg.append(el("path", { d: `M${kx} ${ky - 6 * px}L${kx + 6 * px} ${ky + 5 * px}L${kx - 6 * px} ${ky + 5 * px}Z`, class: "kitchen" }));
    svg.append(el("text", { x: kLabel.x, y: kLabel.y, "font-size": 8 * px, class: "lbl" }, labels.kitchen));
  }

  // Incidents (and the line from the assigned caregiver).
  const cgById = new Map(caregivers.map((x) => [x.id, x]));
  const gi = el("g", { class: "incidents" });
  incidents.forEach((inc, i) => {
    const [x, y] = incXY[i];
    const cg = inc.caregiver_id ? cgById.get(inc.caregiver_id) : null;
    if (cg && cg.location && inc.status !== "arrived") {
      const [cx, cy] = project(c, cg.location.lat, cg.location.lng);
      gi.append(el("line", { x1: cx, y1: cy, x2: x, y2: y, class: "route" }));
    }
    const grp = el("g", { class: `inc k-${inc.kind} st-${inc.status}${inc.id === selected ? " sel" : ""}`, "data-incident": inc.id });
    grp.append(el("circle", { cx: x, cy: y, r: 14 * px, class: "pulse" }));
    grp.append(el("circle", { cx: x, cy: y, r: 7 * px, class: "core" }));
    grp.append(el("text", { x: incLabels[i].x, y: incLabels[i].y, "font-size": 10 * px, class: "inc-lbl" }, inc.elder_name));
    grp.addEventListener("click", () => onIncident && onIncident(inc.id));
    gi.append(grp);
  });
  svg.append(gi);

  // Caregivers by status.
  const gc = el("g", { class: "cgs" });
  cgXY.forEach(([cg, x, y], i) => {
    const grp = el("g", { class: `cgm ${cg.status}`, "data-caregiver": cg.id });
    grp.append(el("circle", { cx: x, cy: y, r: 8 * px }));
    grp.append(el("text", { x, y: y + 3.5 * px, "text-anchor": "middle", "font-size": 9 * px, class: "cg-init" }, cg.name.slice(0, 1)));
    grp.append(el("text", { x: cgLabels[i].x, y: cgLabels[i].y, "font-size": 9 * px, class: "lbl" }, cg.name));
    gc.append(grp);
  });
  svg.append(gc);
  box.replaceChildren(svg);
}
