/* The live grid map (/dashboards/map/<code>/): the grids of a territory node drawn from our own
   GeoJSON (echarts.registerMap, no tile server, nothing from the internet), coloured by the
   chosen measure (visualMap), with live layers: open cases, cameras, today's patrol tracks
   (GET /api/patrols/tracks) and a heat map of the period's cases. Markers and measures are
   fetched again every data-refresh seconds without reloading the page. Clicking a grid opens
   its territory page; clicking a case or a camera opens its page. */
(function () {
  "use strict";
  var root = document.getElementById("gridmap-root");
  if (!root || typeof echarts === "undefined") { return; }
  var L = root.dataset;
  var el = document.getElementById("gridmap");
  var chart = echarts.init(el);
  var state = {
    measure: L.measure || "open",
    grids: JSON.parse(document.getElementById("gridmap-data").textContent),
    markers: null, heat: null, tracks: [], mapReady: false,
  };
  var COLOURS = {
    up: ["#e8f1fb", "#8fc1ec", "#f6c343", "#e4572e", "#9b1c1c"],
    patrol: ["#9b1c1c", "#f6c343", "#0e9f6e"],
  };
  var TRACK_COLOURS = { active: "#9061f9", counted: "#5850ec", not_counted: "#c27803", flagged: "#e02424" };

  function byCode() {
    var out = {};
    state.grids.grids.forEach(function (g) { out[g.code] = g; });
    return out;
  }

  function measureInfo(key) {
    return state.grids.measures.filter(function (m) { return m.key === key; })[0] || state.grids.measures[0];
  }

  function layerOn(name) {
    var box = document.getElementById("layer-" + name);
    return !!(box && box.checked);
  }

  function gridData() {
    var key = state.measure;
    return state.grids.grids.map(function (g) {
      var v = g[key];
      return { name: g.code, value: v === null || v === undefined ? NaN : v, title: g.name };
    });
  }

  function visualMap() {
    var key = state.measure;
    var info = measureInfo(key);
    var max = key === "patrol" ? 100 : Math.max(Number(state.grids.max[key]) || 0, 1);
    return {
      id: "measure", type: "continuous", seriesIndex: 0, min: 0, max: max, calculable: true,
      left: 10, bottom: 10, itemHeight: 120, text: [info.label + " " + max, "0"],
      inRange: { color: key === "patrol" ? COLOURS.patrol : COLOURS.up },
      outOfRange: { color: ["#d2d6dc"] },
    };
  }

  function heatVisualMap() {
    var max = state.heat ? Math.max(state.heat.max, 1) : 1;
    return {
      id: "heat", type: "continuous", seriesIndex: 1, min: 0, max: max, show: layerOn("heat"),
      right: 10, bottom: 10, itemHeight: 80, text: [L.labelHeat + " " + max, "0"],
      inRange: { color: ["rgba(59,130,246,0.2)", "#3b82f6", "#facc15", "#ef4444"] },
    };
  }

  function tooltip(p) {
    var grids = byCode();
    if (p.seriesId === "cases" || p.seriesId === "cameras") { return p.data.tip; }
    if (p.seriesId === "tracks") { return L.labelTrack + ": " + (p.data.worker || ""); }
    if (p.seriesId === "heat") { return L.labelHeat + ": " + p.data[2]; }
    var g = grids[p.name];
    if (!g) { return ""; }
    var chiefs = g.chiefs.length ? g.chiefs.map(function (c) { return c.name + "(" + c.duty_label + ")"; }).join(L.listSep) : L.labelNone;
    var lines = [
      "<b>" + esc(g.name) + "</b>",
      L.labelChiefs + ": " + esc(chiefs),
      L.labelPopulation + ": " + g.population,
    ];
    state.grids.measures.forEach(function (m) {
      var v = g[m.key];
      lines.push(esc(m.label) + ": " + (v === null || v === undefined ? "-" : v + (m.key === "patrol" ? "%" : "")));
    });
    lines.push(L.labelReceived + ": " + g.received);
    return lines.join("<br>");
  }

  // A translated template from a data- attribute with {name} placeholders, filled in: the whole
  // sentence is translated, so the word order is the language's own.
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, name) { return name in values ? String(values[name]) : all; });
  }

  function esc(s) {
    return String(s).replace(/[&<>"]/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]; });
  }

  function caseData() {
    if (!layerOn("cases") || !state.markers) { return []; }
    return state.markers.cases.items.map(function (c) {
      return {
        value: [c.lon, c.lat], url: c.url, id: c.id,
        itemStyle: { color: c.overdue ? "#e02424" : "#1a56db" },
        tip: esc(c.title) + "<br>" + esc(c.category) + " · " + esc(c.status_label) + (c.overdue ? " · " + L.labelOverdue : "") + "<br>" + c.received_at,
      };
    });
  }

  function cameraData() {
    if (!layerOn("cameras") || !state.markers) { return []; }
    return state.markers.cameras.items.map(function (c) {
      var label = c.status === "online" ? L.labelOnline : (c.status === "disabled" ? L.labelDisabled : L.labelOffline);
      return {
        value: [c.lon, c.lat], url: c.url, id: c.id, status: c.status,
        itemStyle: { color: c.status === "online" ? "#057a55" : "#7b8794" },
        tip: L.labelCamera + " " + esc(c.code) + "<br>" + esc(c.name) + " · " + label,
      };
    });
  }

  function trackData() {
    if (!layerOn("tracks")) { return []; }
    return state.tracks.filter(function (t) { return t.coordinates && t.coordinates.length > 1; }).map(function (t) {
      return { coords: t.coordinates, worker: t.worker, lineStyle: { color: TRACK_COLOURS[t.state] || "#9061f9" } };
    });
  }

  function heatData() {
    if (!layerOn("heat") || !state.heat) { return []; }
    return state.heat.points;
  }

  function baseOption() {
    return {
      tooltip: { trigger: "item", confine: true, formatter: tooltip },
      geo: {
        map: L.mapName, nameProperty: "code", roam: true, selectedMode: false,
        itemStyle: { borderColor: "#52606d", borderWidth: 0.8, areaColor: "#e4e7eb" },
        emphasis: { itemStyle: { areaColor: "#7ed3fc" }, label: { show: false } },
        label: { show: false },
        tooltip: { show: true },
      },
      visualMap: [visualMap(), heatVisualMap()],
      series: [
        { id: "grids", type: "map", map: L.mapName, nameProperty: "code", geoIndex: 0, data: gridData() },
        { id: "heat", type: "heatmap", coordinateSystem: "geo", pointSize: 14, blurSize: 18, data: heatData() },
        { id: "tracks", type: "lines", coordinateSystem: "geo", polyline: true, lineStyle: { width: 2, opacity: 0.85 }, data: trackData() },
        { id: "cases", type: "scatter", coordinateSystem: "geo", symbolSize: 8, data: caseData() },
        { id: "cameras", type: "scatter", coordinateSystem: "geo", symbol: "rect", symbolSize: 7, data: cameraData() },
      ],
    };
  }

  function redrawLayers() {
    if (!state.mapReady) { return; }
    chart.setOption({
      visualMap: [visualMap(), heatVisualMap()],
      series: [
        { id: "grids", data: gridData() },
        { id: "heat", data: heatData() },
        { id: "tracks", data: trackData() },
        { id: "cases", data: caseData() },
        { id: "cameras", data: cameraData() },
      ],
    });
    counts();
    root.dataset.renders = String(Number(root.dataset.renders || "0") + 1);
  }

  function counts() {
    var m = state.markers;
    var set = function (id, text) { var e = document.getElementById(id); if (e) { e.textContent = text; } };
    if (m) {
      set("gm-count-cases", layerOn("cases") ? fill(L.labelCasesShown, { shown: m.cases.shown, total: m.cases.total }) : "");
      set("gm-count-cameras", layerOn("cameras") ? L.labelCamera + " " + m.cameras.shown : "");
    }
    set("gm-count-tracks", layerOn("tracks") ? L.labelTracks + " " + state.tracks.length : "");
    set("gm-count-heat", layerOn("heat") && state.heat ? L.labelHeat + " " + state.heat.total + " (" + L.labelCell + " " + state.heat.cell_m + "m)" : "");
  }

  function topTable() {
    var body = document.querySelector("#gm-top tbody");
    if (!body) { return; }
    var key = state.measure;
    var rows = state.grids.grids.slice().sort(function (a, b) {
      var x = a[key] === null ? -1 : a[key], y = b[key] === null ? -1 : b[key];
      return key === "patrol" ? x - y : y - x;
    }).slice(0, 20);
    body.innerHTML = "";
    rows.forEach(function (g) {
      var tr = document.createElement("tr");
      tr.dataset.code = g.code;
      var cells = [
        [g.name, g.url], [g.chiefs.map(function (c) { return c.name; }).join(L.listSep) || "-"], [String(g.population)],
        [String(g.open), g.open_url], [String(g.overdue)], [g.per_1000 === null ? "-" : String(g.per_1000)],
      ];
      if (state.grids.patrols_enabled) {
        cells.push([g.patrol === null ? "-" : g.patrol + "% (" + g.patrol_met + "/" + g.patrol_workers + ")"]);
      }
      cells.forEach(function (c) {
        var td = document.createElement("td");
        if (c[1]) { var a = document.createElement("a"); a.href = c[1]; a.textContent = c[0]; td.appendChild(a); }
        else { td.textContent = c[0]; }
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) { throw new Error(String(r.status)); }
      return r.json();
    });
  }

  function periodQuery() {
    var q = new URLSearchParams();
    q.set("start", document.getElementById("gm-start").value);
    q.set("end", document.getElementById("gm-end").value);
    return q;
  }

  function problem(on) {
    var e = document.getElementById("gm-error");
    e.hidden = !on;
    e.textContent = on ? L.labelError : "";
  }

  function loadTracks() {
    if (!document.getElementById("layer-tracks") || !state.markers || !state.markers.tracks_url) { return Promise.resolve([]); }
    var all = [];
    function page(offset, left) {
      return getJSON(state.markers.tracks_url + "&offset=" + offset + "&limit=500").then(function (d) {
        all = all.concat(d.items);
        if (d.next_offset !== null && d.next_offset !== undefined && left > 1) { return page(d.next_offset, left - 1); }
        return all;
      });
    }
    return page(0, 4);
  }

  function loadHeat() {
    if (!layerOn("heat")) { return Promise.resolve(state.heat); }
    var q = periodQuery();
    q.set("category", document.getElementById("gm-category").value);
    return getJSON(L.heatUrl + "?" + q.toString()).then(function (h) { state.heat = h; return h; });
  }

  function refresh() {
    var jobs = [
      getJSON(L.gridsUrl + "?" + periodQuery().toString()).then(function (d) { state.grids = d; }),
      getJSON(L.markersUrl).then(function (d) { state.markers = d; return loadTracks(); }).then(function (t) { state.tracks = t; }),
      loadHeat(),
    ];
    return Promise.all(jobs).then(function () {
      problem(false);
      document.getElementById("gm-updated").textContent = L.labelUpdated + " " + String(state.grids.generated_at).slice(11, 19);
      root.dataset.refreshes = String(Number(root.dataset.refreshes || "0") + 1);
      topTable();
      redrawLayers();
    }).catch(function () { problem(true); });
  }

  function setMeasure(key) {
    state.measure = key;
    root.dataset.measure = key;
    var hidden = document.querySelector("#gm-period input[name=measure]");
    if (hidden) { hidden.value = key; }
    var url = new URL(window.location.href);
    url.searchParams.set("measure", key);
    window.history.replaceState(null, "", url.toString());
    topTable();
    redrawLayers();
  }

  function wire() {
    document.querySelectorAll("#gm-measures input[name=measure]").forEach(function (r) {
      r.addEventListener("change", function () { if (r.checked) { setMeasure(r.value); } });
    });
    ["cases", "cameras", "tracks"].forEach(function (name) {
      var box = document.getElementById("layer-" + name);
      if (box) { box.addEventListener("change", redrawLayers); }
    });
    document.getElementById("layer-heat").addEventListener("change", function () {
      if (layerOn("heat") && !state.heat) { loadHeat().then(redrawLayers).catch(function () { problem(true); }); }
      else { redrawLayers(); }
    });
    document.getElementById("gm-period").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var url = new URL(window.location.href);
      var q = periodQuery();
      url.searchParams.set("start", q.get("start"));
      url.searchParams.set("end", q.get("end"));
      url.searchParams.set("category", document.getElementById("gm-category").value);
      window.history.replaceState(null, "", url.toString());
      state.heat = null;
      refresh();
    });
    var target = document.getElementById("gm-target");
    if (target) { target.addEventListener("change", function () { window.location.href = target.value; }); }
    chart.on("click", function (p) {
      if ((p.seriesId === "cases" || p.seriesId === "cameras") && p.data && p.data.url) {
        window.location.href = p.data.url; return;
      }
      if (p.componentType === "geo" || p.seriesType === "map") {
        var g = byCode()[p.name];
        if (g) { window.location.href = g.url; }
      }
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function start() {
    wire();
    topTable();
    getJSON(L.geojson).then(function (geo) {
      echarts.registerMap(L.mapName, geo);
      root.dataset.regions = String((geo.features || []).length);
      state.mapReady = true;
      chart.setOption(baseOption(), true);
      root.dataset.renders = "1";
      return refresh();
    }).catch(function () {
      el.textContent = L.labelMapError;
    });
    var every = Math.max(Number(L.refresh) || 60, 10) * 1000;
    window.setInterval(refresh, every);
  }

  start();
})();
