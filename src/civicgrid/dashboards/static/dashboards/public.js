/* The public transparency page (/open/): the communities drawn from our own GeoJSON
   (echarts.registerMap, no tile server) coloured by their closure rate, and the public cases as
   counts per 200 m lattice cell (the cell's centre, never a case's own position). */
(function () {
  "use strict";
  var el = document.getElementById("open-map");
  if (!el || typeof echarts === "undefined") { return; }
  var L = el.dataset;
  var chart = echarts.init(el);
  var rows = JSON.parse(document.getElementById("open-closure-data").textContent);
  var byCode = {};
  rows.forEach(function (r) { byCode[r.code] = r; });

  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) { throw new Error(String(r.status)); }
      return r.json();
    });
  }

  function esc(s) {
    return String(s).replace(/[&<>"]/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]; });
  }

  function draw(geo, cells) {
    echarts.registerMap(L.mapName, geo);
    el.dataset.regions = String((geo.features || []).length);
    var names = {};
    (geo.features || []).forEach(function (f) { names[f.properties.code] = f.properties.name; });
    var regionData = Object.keys(names).map(function (code) {
      var r = byCode[code];
      var rate = r && r.closure_rate !== null ? Math.round(r.closure_rate * 1000) / 10 : NaN;
      return { name: code, value: rate, title: names[code], received: r ? r.received : 0, closed: r ? r.closed : 0 };
    });
    var maxCount = Math.max(cells.max || 1, 1);
    chart.setOption({
      tooltip: {
        trigger: "item", confine: true,
        formatter: function (p) {
          if (p.seriesId === "cells") {
            var d = p.data;
            return L.labelCell + ": " + L.labelCases + " " + d.count + ", " + L.labelClosed + " " + d.closed;
          }
          var x = p.data || {};
          var rate = isNaN(x.value) ? "-" : x.value + "%";
          return "<b>" + esc(x.title || names[p.name] || "") + "</b><br>" + L.labelRate + ": " + rate +
            " (" + (x.closed || 0) + "/" + (x.received || 0) + ")";
        },
      },
      geo: {
        map: L.mapName, nameProperty: "code", roam: true, selectedMode: false,
        itemStyle: { borderColor: "#52606d", borderWidth: 0.8, areaColor: "#e4e7eb" },
        emphasis: { itemStyle: { areaColor: "#bfdbfe" }, label: { show: false } },
      },
      visualMap: [{
        type: "continuous", seriesIndex: 0, min: 0, max: 100, left: 10, bottom: 10, itemHeight: 100, calculable: false,
        text: [L.labelRate + " 100%", "0%"], inRange: { color: ["#fde2e1", "#fcd34d", "#6ee7b7", "#059669"] },
      }],
      series: [
        { id: "communities", type: "map", map: L.mapName, nameProperty: "code", geoIndex: 0, data: regionData },
        {
          id: "cells", type: "scatter", coordinateSystem: "geo",
          symbolSize: function (v, p) { return 6 + 16 * Math.sqrt(p.data.count / maxCount); },
          itemStyle: { color: "rgba(26,86,219,0.65)", borderColor: "#fff", borderWidth: 1 },
          data: cells.cells.map(function (c) { return { value: [c.lon, c.lat], count: c.count, closed: c.closed }; }),
        },
      ],
    });
    el.dataset.cells = String(cells.cells.length);
  }

  Promise.all([getJSON(L.geojson), getJSON(L.mapUrl)]).then(function (res) {
    draw(res[0], res[1]);
  }).catch(function () {
    el.textContent = L.labelError;
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
