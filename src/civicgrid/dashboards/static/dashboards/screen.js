/* The wall screen (大屏): draws the charts from the embedded data, then polls the JSON API
   every data-refresh seconds and redraws in place (no page reload). Every figure and every
   chart element links to the list of the cases it counts. ECharts is vendored; the grid map
   is drawn from our own GeoJSON (echarts.registerMap), so nothing leaves the network. */
(function () {
  "use strict";

  var root, charts = {}, mapReady = false, lastData = null;
  var COLORS = ["#3ba0ff", "#36cfc9", "#ffc53d", "#ff7a45", "#9254de", "#73d13d", "#f759ab", "#40a9ff"];
  var AXIS = { axisLine: { lineStyle: { color: "#3d5a80" } }, axisLabel: { color: "#9fb3c8" },
               splitLine: { lineStyle: { color: "rgba(61,90,128,0.35)" } } };

  function get(obj, path) {
    return path.split(".").reduce(function (o, k) { return o == null ? o : o[k]; }, obj);
  }

  function go(url) { if (url) { window.location.href = url; } }

  function chart(id) {
    if (!charts[id]) {
      charts[id] = echarts.init(document.getElementById(id), null, { renderer: "canvas" });
      charts[id].on("click", function (p) { go(p.data && p.data.url); });
    }
    return charts[id];
  }

  function figures(d) {
    root.querySelectorAll("[data-fig]").forEach(function (el) {
      var fig = get(d, el.dataset.fig);
      if (!fig) { return; }
      var target = el.querySelector("b") || el;
      target.textContent = fig.display;
      if (fig.url) { el.setAttribute("href", fig.url); }
      if (fig.whole != null) { el.title = fig.part + " / " + fig.whole; }
    });
    document.getElementById("screen-area").textContent = d.area.name;
    if (d.time_zone) { root.dataset.timeZone = d.time_zone; }
    var at = new Date(d.generated_at || "");
    document.getElementById("screen-updated").textContent = root.dataset.labelUpdated + " " +
      (isNaN(at.getTime()) ? (d.generated_at || "").slice(11, 19) : districtTime(at).time);
  }

  /* Times are shown in the district's zone (data.time_zone, Asia/Shanghai), not the viewer's:
     the wall may be watched from anywhere, and its clock must agree with "更新于". */
  var formats = {};
  function districtTime(date) {
    var zone = root.dataset.timeZone || "";
    if (!formats[zone]) {
      var opts = { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
                   second: "2-digit", hourCycle: "h23" };
      try {
        formats[zone] = new Intl.DateTimeFormat("en-CA", Object.assign({ timeZone: zone || undefined }, opts));
      } catch (e) {  // an unknown zone name: the viewer's zone rather than no clock at all
        formats[zone] = new Intl.DateTimeFormat("en-CA", opts);
      }
    }
    var p = {};
    formats[zone].formatToParts(date).forEach(function (x) { p[x.type] = x.value; });
    return { date: p.year + "-" + p.month + "-" + p.day, time: p.hour + ":" + p.minute + ":" + p.second };
  }

  function channelChart(d) {
    chart("chart-channel").setOption({
      color: COLORS,
      tooltip: { trigger: "item", formatter: "{b}: {c} ({d}%)" },
      legend: { orient: "vertical", right: 4, top: "middle", textStyle: { color: "#c9d6e3" } },
      series: [{
        type: "pie", radius: ["42%", "70%"], center: ["38%", "52%"],
        label: { color: "#c9d6e3", formatter: "{d}%" },
        data: d.channels.map(function (c) { return { name: c.label, value: c.received, url: c.url }; })
      }]
    }, true);
  }

  function categoryChart(d) {
    var rows = d.categories.slice(0, 10);
    chart("chart-category").setOption({
      color: ["#3ba0ff", "#36cfc9"],
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { data: [root.dataset.labelReceived, root.dataset.labelClosed], textStyle: { color: "#c9d6e3" }, top: 0 },
      grid: { left: 96, right: 18, top: 28, bottom: 18 },
      xAxis: Object.assign({ type: "value" }, AXIS),
      yAxis: Object.assign({ type: "category", inverse: true, data: rows.map(function (c) { return c.label; }) }, AXIS),
      series: [
        { name: root.dataset.labelReceived, type: "bar", barMaxWidth: 12,
          data: rows.map(function (c) { return { value: c.received, url: c.url }; }) },
        { name: root.dataset.labelClosed, type: "bar", barMaxWidth: 12,
          data: rows.map(function (c) { return { value: c.closed, url: c.url }; }) }
      ]
    }, true);
  }

  function trendChart(d) {
    chart("chart-trend").setOption({
      color: ["#3ba0ff", "#73d13d"],
      tooltip: { trigger: "axis" },
      legend: { data: [root.dataset.labelReceived, root.dataset.labelClosed], textStyle: { color: "#c9d6e3" }, top: 0 },
      grid: { left: 48, right: 18, top: 30, bottom: 26 },
      xAxis: Object.assign({ type: "category", data: d.weeks.map(function (w) { return w.label; }) }, AXIS),
      yAxis: Object.assign({ type: "value" }, AXIS),
      series: [
        { name: root.dataset.labelReceived, type: "bar", barMaxWidth: 22,
          data: d.weeks.map(function (w) { return { value: w.received, url: w.url }; }) },
        { name: root.dataset.labelClosed, type: "line", smooth: true, symbolSize: 6,
          data: d.weeks.map(function (w) { return { value: w.closed, url: w.url }; }) }
      ]
    }, true);
  }

  function mapChart(d) {
    if (!mapReady) { return; }
    var el = document.getElementById("chart-map");
    var byCode = {};
    d.heat.items.forEach(function (i) { byCode[i.code] = i; });
    var features = JSON.parse(el.dataset.features || "[]");
    var data = features.map(function (f) {
      var hit = byCode[f.code];
      return { name: f.code, value: hit ? hit.open : 0, title: f.name, url: hit ? hit.url : d.heat.drill_base + f.code };
    });
    chart("chart-map").setOption({
      tooltip: { trigger: "item", formatter: function (p) {
        var x = p.data || {}; return (x.title || p.name) + "<br>" + root.dataset.labelOpen + ": " + (x.value || 0);
      } },
      visualMap: { min: 0, max: Math.max(d.heat.max, 1), left: 10, bottom: 10, calculable: true, itemHeight: 110,
                   textStyle: { color: "#c9d6e3" }, inRange: { color: ["#10324f", "#1d6fa5", "#ffc53d", "#ff4d4f"] } },
      series: [{
        type: "map", map: el.dataset.mapName, nameProperty: "code", roam: true, selectedMode: false,
        itemStyle: { borderColor: "#5b8cc4", borderWidth: 0.6, areaColor: "#10324f" },
        emphasis: { itemStyle: { areaColor: "#36cfc9" }, label: { show: true, color: "#fff",
          formatter: function (p) { return (p.data && p.data.title) || ""; } } },
        label: { show: data.length <= 40, color: "#e6f0fa", fontSize: 11,
          formatter: function (p) { return (p.data && p.data.title) || ""; } },
        data: data
      }]
    }, true);
  }

  function loadMap() {
    var el = document.getElementById("chart-map");
    fetch(el.dataset.geojson, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(function (geo) {
        echarts.registerMap(el.dataset.mapName, geo);
        el.dataset.features = JSON.stringify((geo.features || []).map(function (f) {
          return { code: f.properties.code, name: f.properties.name };
        }));
        el.dataset.regions = String((geo.features || []).length);
        mapReady = true;
        if (lastData) { mapChart(lastData); }
      })
      .catch(function () {
        el.textContent = root.dataset.labelMapError;
        el.classList.add("chart-message");
      });
  }

  function cell(tr, text, href, cls) {
    var td = document.createElement("td");
    if (cls) { td.className = cls; }
    if (href) {
      var a = document.createElement("a"); a.href = href; a.textContent = text; td.appendChild(a);
    } else {
      td.textContent = text;
    }
    tr.appendChild(td);
  }

  function emptyRow(tbody, cols) {
    var tr = document.createElement("tr");
    var td = document.createElement("td"); td.colSpan = cols; td.className = "muted";
    td.textContent = root.dataset.labelNone; tr.appendChild(td); tbody.appendChild(tr);
  }

  function tables(d) {
    var body = document.querySelector("#overdue-table tbody");
    body.innerHTML = "";
    d.overdue.items.forEach(function (c) {
      var tr = document.createElement("tr");
      cell(tr, c.title, c.url); cell(tr, c.place); cell(tr, c.holder); cell(tr, c.due, null, "warn");
      body.appendChild(tr);
    });
    if (!d.overdue.items.length) { emptyRow(body, 4); }

    var ind = document.querySelector("#indicator-table tbody");
    ind.innerHTML = "";
    (d.indicators || []).forEach(function (i) {
      var tr = document.createElement("tr");
      cell(tr, i.name, i.url || null);
      cell(tr, (i.value == null ? "-" : i.value) + i.unit);
      cell(tr, i.target == null ? "-" : String(i.target));
      cell(tr, i.percent == null ? "-" : i.percent + "%", null, i.on_track === false ? "warn" : "");
      ind.appendChild(tr);
    });
    if (!(d.indicators || []).length) { emptyRow(ind, 4); }

    var list = document.getElementById("patrol-pending");
    if (list && d.patrols) {
      list.innerHTML = "";
      d.patrols.pending.forEach(function (p) {
        var li = document.createElement("li");
        [[p.name, ""], [p.place + " · " + p.duty, "muted"], [p.counted + "/" + p.required, "warn"]].forEach(function (x) {
          var s = document.createElement("span"); s.textContent = x[0]; if (x[1]) { s.className = x[1]; } li.appendChild(s);
        });
        list.appendChild(li);
      });
    }
  }

  function render(d) {
    lastData = d;
    figures(d);
    channelChart(d);
    categoryChart(d);
    trendChart(d);
    mapChart(d);
    tables(d);
    root.dataset.renders = String(Number(root.dataset.renders || "0") + 1);
  }

  function status(text) {
    var el = document.getElementById("screen-status");
    el.textContent = text || "";
    el.hidden = !text;
  }

  function refresh() {
    return fetch(root.dataset.api, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(function (d) { status(""); render(d); })
      .catch(function () { status(root.dataset.labelError); });
  }

  function fit() {
    var s = Math.min(window.innerWidth / 1920, window.innerHeight / 1080);
    root.style.transform = s < 0.999 || s > 1.001 ? "scale(" + s + ")" : "";
    Object.keys(charts).forEach(function (k) { charts[k].resize(); });
  }

  function clock() {
    var now = districtTime(new Date());
    document.getElementById("screen-clock").textContent = now.date + " " + now.time;
  }

  function init() {
    root = document.getElementById("screen");
    if (!root || typeof echarts === "undefined") { return; }
    var select = document.getElementById("screen-target");
    if (select) { select.addEventListener("change", function () { go(select.value); }); }
    render(JSON.parse(document.getElementById("screen-data").textContent));
    loadMap();
    clock();
    setInterval(clock, 1000);
    var seconds = Math.max(Number(root.dataset.refresh) || 60, 10);
    setInterval(refresh, seconds * 1000);
    window.addEventListener("resize", fit);
    fit();
    window.civicgridScreen = { refresh: refresh, charts: charts };
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
