// hedgebot dashboard: plain JavaScript, no dependencies, no CDN.
// Reads the REST API, draws the PnL chart as inline SVG, and refreshes whenever the
// server's event stream (/events/stream) reports a new store position.
"use strict";

(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const COLORS = ["#2563eb", "#d97706", "#059669", "#dc2626", "#7c3aed", "#0891b2", "#be185d", "#4d7c0f"];
  const CHART_HEIGHT = 300;
  const MARGIN = { left: 70, right: 16, top: 12, bottom: 28 };

  let lastPosition = null;
  let refreshing = false;
  let pending = false;
  let refreshes = 0;
  let lastPnl = [];
  let lastSummary = null;

  function byId(id) {
    return document.getElementById(id);
  }

  function cell(row, text, className) {
    const td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "—" : String(text);
    if (className) td.className = className;
    row.appendChild(td);
    return td;
  }

  function fill(tbody, rows) {
    tbody.replaceChildren(...rows);
  }

  function quantity(text) {
    if (text === null || text === undefined) return "—";
    const value = Number(text);
    if (!Number.isFinite(value)) return text;
    return value.toLocaleString("en-US", { maximumFractionDigits: 6 });
  }

  function money(text) {
    if (text === null || text === undefined) return "—";
    const value = Number(text);
    if (!Number.isFinite(value)) return text;
    return value.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }

  function signClass(text) {
    const value = Number(text);
    if (!Number.isFinite(value) || value === 0) return "num";
    return value > 0 ? "num pos" : "num neg";
  }

  function shortTime(text) {
    if (!text) return "—";
    return text.replace("T", " ").replace(/\.\d+Z$/, "").replace(/Z$/, "");
  }

  async function getJson(path) {
    const response = await fetch(path, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    return response.json();
  }

  function renderPositions(positions) {
    const rows = positions.map((p) => {
      const tr = document.createElement("tr");
      tr.dataset.symbol = p.symbol;
      cell(tr, p.symbol);
      cell(tr, quantity(p.net), signClass(p.net));
      cell(tr, quantity(p.accumulated_long), "num");
      cell(tr, quantity(p.accumulated_short), "num");
      cell(tr, money(p.last_price_usdc), "num");
      cell(tr, money(p.exposure_usdc), signClass(p.exposure_usdc));
      const t = p.threshold;
      cell(tr, t ? (t.kind === "shares" ? `${quantity(t.value)} ${Number(t.value) === 1 ? "share" : "shares"}` : `$${money(t.value)}`) : "—");
      cell(
        tr,
        p.pending_execution_id === null
          ? "—"
          : `#${p.pending_execution_id} ${p.pending_direction || ""} ${quantity(p.pending_shares)}`,
      );
      if (p.hedging_suspended) {
        cell(tr, `suspended (${p.consecutive_failures} failures)`, "suspended");
      } else {
        cell(tr, "active");
      }
      return tr;
    });
    fill(byId("positions").tBodies[0], rows);
    byId("positions-empty").classList.toggle("hidden", positions.length > 0);
  }

  function renderTrades(trades) {
    fill(
      byId("trades").tBodies[0],
      trades.map((t) => {
        const tr = document.createElement("tr");
        tr.dataset.tradeId = t.trade_id;
        cell(tr, shortTime(t.created_at));
        cell(tr, t.symbol);
        cell(tr, t.direction);
        cell(tr, quantity(t.amount), "num");
        cell(tr, money(t.price_usdc), "num");
        return tr;
      }),
    );
  }

  function renderOrders(orders, counts) {
    fill(
      byId("orders").tBodies[0],
      orders.map((o) => {
        const tr = document.createElement("tr");
        tr.dataset.executionId = String(o.execution_id);
        cell(tr, o.execution_id);
        cell(tr, o.symbol);
        cell(tr, o.direction);
        cell(tr, quantity(o.status === "FILLED" ? o.shares_filled : o.shares), "num");
        cell(tr, o.state === "PartiallyFilled" ? "SUBMITTED (partial)" : o.status, `status-${o.status}`);
        const cents = o.price_cents !== null ? o.price_cents : o.avg_price_cents;
        cell(tr, cents === null ? "—" : money(cents / 100), "num");
        return tr;
      }),
    );
    const box = byId("order-counts");
    box.replaceChildren(
      ...Object.entries(counts).map(([status, count]) => {
        const span = document.createElement("span");
        span.className = `status-${status}`;
        span.dataset.status = status;
        span.textContent = `${status} ${count}`;
        return span;
      }),
    );
  }

  function svg(name, attributes, text) {
    const node = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function renderPnl(rows, summary) {
    lastPnl = rows;
    lastSummary = summary;
    const chart = byId("pnl-chart");
    const width = Math.max(320, Math.round(chart.clientWidth || 900));
    chart.setAttribute("viewBox", `0 0 ${width} ${CHART_HEIGHT}`);
    const series = new Map();
    for (const row of rows) {
      const time = Date.parse(row.traded_at);
      const value = Number(row.cumulative_pnl);
      if (!Number.isFinite(time) || !Number.isFinite(value)) continue;
      if (!series.has(row.symbol)) series.set(row.symbol, []);
      series.get(row.symbol).push([time, value]);
    }
    const nodes = [];
    const legend = [];
    byId("pnl-total").textContent = summary
      ? `Total realised: $${money(summary.total_realized_pnl)}`
      : "";
    if (series.size === 0) {
      nodes.push(svg("text", { x: width / 2, y: CHART_HEIGHT / 2, "text-anchor": "middle" }, "no PnL yet"));
      chart.replaceChildren(...nodes);
      byId("pnl-legend").replaceChildren();
      return;
    }
    let minT = Infinity, maxT = -Infinity, minV = 0, maxV = 0;
    for (const points of series.values()) {
      for (const [t, v] of points) {
        minT = Math.min(minT, t);
        maxT = Math.max(maxT, t);
        minV = Math.min(minV, v);
        maxV = Math.max(maxV, v);
      }
    }
    if (maxT === minT) { minT -= 60000; maxT += 60000; }
    if (maxV === minV) { minV -= 1; maxV += 1; }
    const plotW = width - MARGIN.left - MARGIN.right;
    const plotH = CHART_HEIGHT - MARGIN.top - MARGIN.bottom;
    const x = (t) => MARGIN.left + ((t - minT) / (maxT - minT)) * plotW;
    const y = (v) => MARGIN.top + (1 - (v - minV) / (maxV - minV)) * plotH;

    for (let i = 0; i <= 4; i += 1) {
      const value = minV + ((maxV - minV) * i) / 4;
      nodes.push(svg("line", { class: "grid", x1: MARGIN.left, x2: width - MARGIN.right, y1: y(value), y2: y(value) }));
      nodes.push(svg("text", { x: MARGIN.left - 6, y: y(value) + 4, "text-anchor": "end" }, `$${money(value)}`));
    }
    nodes.push(svg("line", { class: "zero", x1: MARGIN.left, x2: width - MARGIN.right, y1: y(0), y2: y(0) }));
    nodes.push(svg("line", { class: "axis", x1: MARGIN.left, x2: MARGIN.left, y1: MARGIN.top, y2: CHART_HEIGHT - MARGIN.bottom }));
    const base = CHART_HEIGHT - MARGIN.bottom;
    nodes.push(svg("line", { class: "axis", x1: MARGIN.left, x2: width - MARGIN.right, y1: base, y2: base }));
    nodes.push(svg("text", { x: MARGIN.left, y: CHART_HEIGHT - 8 }, shortTime(new Date(minT).toISOString())));
    nodes.push(svg("text", { x: width - MARGIN.right, y: CHART_HEIGHT - 8, "text-anchor": "end" }, shortTime(new Date(maxT).toISOString())));

    let index = 0;
    for (const [symbol, points] of [...series.entries()].sort()) {
      const color = COLORS[index % COLORS.length];
      index += 1;
      // cumulative PnL is a step function: it changes only at trades
      let d = "";
      points.forEach(([t, v], i) => {
        d += i === 0 ? `M${x(t).toFixed(1)},${y(v).toFixed(1)}` : `H${x(t).toFixed(1)}V${y(v).toFixed(1)}`;
      });
      d += `H${x(maxT).toFixed(1)}`;
      nodes.push(svg("path", { class: "series", d, stroke: color, "data-symbol": symbol }));
      for (const [t, v] of points) {
        nodes.push(svg("circle", { class: "point", cx: x(t).toFixed(1), cy: y(v).toFixed(1), r: 3, fill: color }));
      }
      const last = points[points.length - 1][1];
      const item = document.createElement("span");
      item.dataset.symbol = symbol;
      const swatch = svg("svg", { width: 16, height: 6 });
      swatch.appendChild(svg("line", { x1: 0, x2: 16, y1: 3, y2: 3, stroke: color, "stroke-width": 3 }));
      item.append(swatch, document.createTextNode(`${symbol} $${money(last)}`));
      legend.push(item);
    }
    chart.replaceChildren(...nodes);
    byId("pnl-legend").replaceChildren(...legend);
  }

  async function renderHealth() {
    const pill = byId("health");
    try {
      const response = await fetch("/health", { headers: { Accept: "application/json" } });
      const body = await response.json();
      pill.textContent = body.ready ? "ready" : "degraded";
      pill.className = body.ready ? "pill ok" : "pill bad";
      pill.title = JSON.stringify(body.checks);
    } catch (error) {
      pill.textContent = "unreachable";
      pill.className = "pill bad";
    }
  }

  async function refresh() {
    if (refreshing) {
      pending = true;
      return;
    }
    refreshing = true;
    try {
      do {
        pending = false;
        const [positions, trades, orders, counts, pnl] = await Promise.all([
          getJson("/positions"),
          getJson("/trades?limit=15"),
          getJson("/orders?limit=15"),
          getJson("/orders/counts"),
          getJson("/pnl?order=desc&limit=1000"),
        ]);
        renderPositions(positions.items);
        renderTrades(trades.items);
        renderOrders(orders.items, counts);
        renderPnl(pnl.items.slice().reverse(), pnl.summary);
        await renderHealth();
        refreshes += 1;
        document.body.dataset.refreshes = String(refreshes);
        document.body.dataset.position = lastPosition === null ? "" : String(lastPosition);
        byId("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
        byId("error").classList.add("hidden");
      } while (pending);
    } catch (error) {
      const box = byId("error");
      box.textContent = `Could not load data: ${error.message}`;
      box.classList.remove("hidden");
    } finally {
      refreshing = false;
    }
  }

  function listen() {
    const live = byId("live");
    const source = new EventSource("/events/stream");
    source.onopen = () => {
      live.textContent = "live";
      live.className = "pill ok";
    };
    source.onmessage = (message) => {
      const data = JSON.parse(message.data);
      if (data.position !== lastPosition) {
        lastPosition = data.position;
        refresh();
      }
    };
    source.onerror = () => {
      live.textContent = "reconnecting";
      live.className = "pill off";
    };
  }

  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => renderPnl(lastPnl, lastSummary), 150);
  });

  document.addEventListener("DOMContentLoaded", () => {
    refresh();
    listen();
  });
})();
