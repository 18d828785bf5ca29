/* rtp console: renders GET /v1/console every 2 s. Plain DOM and SVG, no library. */
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";

  function $(id) { return document.getElementById(id); }
  function text(id, value) { $(id).textContent = value; }
  function fmt(value, digits) {
    return value === null || value === undefined ? "–" : Number(value).toFixed(digits);
  }
  function pct(value) { return value === null || value === undefined ? "–" : (100 * value).toFixed(2) + "%"; }
  function cell(tr, value, cls) {
    var td = document.createElement("td");
    td.textContent = value;
    if (cls) { td.className = cls; }
    tr.appendChild(td);
    return td;
  }
  function rows(tableId) {
    var body = $(tableId).tBodies[0];
    while (body.firstChild) { body.removeChild(body.firstChild); }
    return body;
  }
  function el(name, attrs, parent) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (parent) { parent.appendChild(node); }
    return node;
  }
  function clear(svg) { while (svg.firstChild) { svg.removeChild(svg.firstChild); } }

  function band(svg, points, x, y, lowHigh, fill) {
    var top = [], bottom = [];
    points.forEach(function (p) {
      var b = lowHigh(p);
      if (b && b[0] !== null && b[1] !== null) {
        top.push(x(p.at_ms) + "," + y(b[1]));
        bottom.unshift(x(p.at_ms) + "," + y(b[0]));
      }
    });
    if (top.length > 1) { el("polygon", {points: top.concat(bottom).join(" "), fill: fill}, svg); }
  }

  function liftChart(experiment) {
    var svg = $("lift-chart");
    clear(svg);
    var points = (experiment && experiment.timeline) || [];
    if (!points.length) {
      el("text", {x: 20, y: 40, "font-size": 14}, svg).textContent =
        (experiment && experiment.error) || "no decisions yet";
      return;
    }
    var W = 900, H = 260, L = 60, R = 20, T = 10, B = 30;
    var t0 = points[0].at_ms, t1 = points[points.length - 1].at_ms;
    var lo = 0, hi = 0;
    points.forEach(function (p) {
      [p.lift].concat(p.ci || [], p.always_valid || []).forEach(function (v) {
        if (v !== null && v !== undefined) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      });
    });
    if (hi - lo < 1e-9) { hi = lo + 0.01; }
    var x = function (t) { return L + (t1 > t0 ? (t - t0) / (t1 - t0) : 1) * (W - L - R); };
    var y = function (v) { return T + (hi - v) / (hi - lo) * (H - T - B); };
    band(svg, points, x, y, function (p) { return p.always_valid; }, "#dfe8f7");
    band(svg, points, x, y, function (p) { return p.ci; }, "#a9c1ea");
    el("line", {x1: L, x2: W - R, y1: y(0), y2: y(0), stroke: "#888", "stroke-dasharray": "4 3"}, svg);
    var line = points.filter(function (p) { return p.lift !== null; })
      .map(function (p) { return x(p.at_ms) + "," + y(p.lift); });
    if (line.length) { el("polyline", {points: line.join(" "), fill: "none", stroke: "#1f4fa8", "stroke-width": 2}, svg); }
    [hi, 0, lo].forEach(function (v) {
      el("text", {x: L - 6, y: y(v) + 4, "text-anchor": "end", "font-size": 11}, svg).textContent = (100 * v).toFixed(1) + "%";
    });
    [t0, t1].forEach(function (t, i) {
      el("text", {x: x(t), y: H - 8, "text-anchor": i ? "end" : "start", "font-size": 11}, svg)
        .textContent = new Date(t).toISOString().slice(11, 19);
    });
  }

  function rateChart(series) {
    var svg = $("rate-chart");
    clear(svg);
    var W = 420, H = 160, L = 36, B = 20, T = 8;
    var max = 1;
    series.forEach(function (s) { max = Math.max(max, s[1]); });
    var w = (W - L) / Math.max(series.length, 1);
    series.forEach(function (s, i) {
      var h = (H - B - T) * s[1] / max;
      el("rect", {x: L + i * w, y: H - B - h, width: Math.max(w - 0.5, 0.5), height: h, fill: "#1f4fa8"}, svg);
    });
    el("text", {x: L - 4, y: T + 8, "text-anchor": "end", "font-size": 11}, svg).textContent = String(max);
    el("text", {x: L - 4, y: H - B, "text-anchor": "end", "font-size": 11}, svg).textContent = "0";
    el("text", {x: W, y: H - 4, "text-anchor": "end", "font-size": 11}, svg).textContent =
      "last " + series.length + " s";
  }

  function render(d) {
    var feed = d.feed || {};
    text("feed-status", (feed.caught_up ? "live" : "catching up (" + feed.behind + " behind)") +
      (feed.missing && feed.missing.length ? " · waiting for " + feed.missing.join(", ") : "") +
      (feed.error ? " · " + feed.error : ""));
    var read = 0;
    Object.keys(d.records).forEach(function (k) { read += d.records[k]; });
    var updated = $("updated");
    updated.textContent = "updated " + new Date(d.now_ms).toISOString().slice(11, 19) + " · " + read + " records read";
    updated.setAttribute("data-records", JSON.stringify(d.records));

    text("decisions-total", String(d.decisions.total));
    text("decisions-per-second", fmt(d.decisions.per_second, 1));
    text("rate-label", "decisions per second (last " + d.decisions.window_s + " s)");
    text("latency-p99", fmt(d.latency.p99_ms, 0));
    text("latency-p50", fmt(d.latency.p50_ms, 0));
    var dead = 0;
    Object.keys(d.dead_letters).forEach(function (t) {
      Object.keys(d.dead_letters[t]).forEach(function (r) { dead += d.dead_letters[t][r]; });
    });
    text("dead-letters-total", String(dead));

    var ex = d.experiment || {};
    // The objective's metric leads: money as an amount, rates as a percentage.
    var hl = ex.headline, ob = d.objective || {};
    var show = function (v) { return ob.metric === "revenue_per_visitor" ? fmt(v, 2) : pct(v); };
    text("headline", hl ? show(hl.personalized) + " vs " + show(hl.control) : "–");
    $("headline").setAttribute("data-metric", ob.metric || "");
    text("headline-label", (ob.headline || "headline metric") + ", personalized vs control" +
      (hl && hl.ci ? " (lift " + show(hl.lift) + ", " + Math.round(100 * ex.confidence) + "% CI " +
        show(hl.ci[0]) + " … " + show(hl.ci[1]) + ")" : "") +
      (ob.name ? " — objective: " + ob.name : ""));
    text("lift", ex.lift === undefined ? "–" : pct(ex.lift));
    text("lift-label", ex.ci ? "conversion lift (" + Math.round(100 * ex.confidence) + "% CI " + pct(ex.ci[0]) + " … " + pct(ex.ci[1]) + ")" : "conversion lift");
    liftChart(ex);
    var arms = rows("arms");
    Object.keys(d.decisions.by_arm).forEach(function (arm) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-arm", arm);
      cell(tr, arm);
      cell(tr, String(d.decisions.by_arm[arm]), "count");
      var a = (ex.arms || {})[arm] || {};
      cell(tr, a.visitors === undefined ? "–" : String(a.visitors), "count");
      cell(tr, pct(a.conversion), "count");
      arms.appendChild(tr);
    });
    text("experiment-warnings", (ex.warnings || []).join(" · "));

    rateChart(d.decisions.series);
    text("model-versions", "model versions deciding: " + Object.keys(d.decisions.model_versions).map(function (v) {
      return (v || "(none)") + " × " + d.decisions.model_versions[v];
    }).join(", "));

    var signals = rows("signals"), smax = 1;
    Object.keys(d.signals).forEach(function (r) { smax = Math.max(smax, d.signals[r]); });
    Object.keys(d.signals).forEach(function (rule) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-rule", rule);
      cell(tr, rule);
      cell(tr, String(d.signals[rule]), "count");
      var bar = cell(tr, "");
      var svg = el("svg", {viewBox: "0 0 100 10", width: 120, height: 12});
      el("rect", {x: 0, y: 0, height: 10, width: 100 * d.signals[rule] / smax, fill: "#c2571a"}, svg);
      bar.appendChild(svg);
      signals.appendChild(tr);
    });

    text("catalog-version", d.catalog ? "catalog version " + d.catalog.version + " (" + d.catalog.actions + " actions, " + String(d.catalog.fingerprint).slice(0, 12) + ")" : "");
    $("catalog-version").setAttribute("data-version", d.catalog ? String(d.catalog.version) : "");
    var actions = rows("actions");
    d.actions.forEach(function (a) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-action", a.action_id);
      cell(tr, a.action_id + (a.in_catalog ? "" : " (not in catalog)"), a.in_catalog ? "" : "warn");
      cell(tr, a.slot || "–");
      cell(tr, String(a.decisions.personalized || 0), "count personalized");
      cell(tr, String(a.decisions.control || 0), "count control");
      cell(tr, String(a.clicks), "count");
      cell(tr, pct(a.click_rate), "count");
      cell(tr, String(a.conversions), "count");
      cell(tr, pct(a.conversion_rate), "count");
      actions.appendChild(tr);
    });

    var letters = rows("dead-letters");
    Object.keys(d.dead_letters).forEach(function (topic) {
      Object.keys(d.dead_letters[topic]).forEach(function (reason) {
        var tr = document.createElement("tr");
        tr.setAttribute("data-topic", topic);
        tr.setAttribute("data-reason", reason);
        cell(tr, topic);
        cell(tr, reason);
        cell(tr, String(d.dead_letters[topic][reason]), "count");
        letters.appendChild(tr);
      });
    });
    document.body.setAttribute("data-rendered", String(d.now_ms));
  }

  function refresh() {
    fetch("/v1/console", {cache: "no-store"}).then(function (r) {
      if (r.status === 401) { location.href = "/console/login"; }  // the session ended
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    }).then(render).catch(function (e) {
      text("feed-status", "console unavailable: " + e.message);
    }).then(function () { setTimeout(refresh, 2000); });
  }
  refresh();
}());
