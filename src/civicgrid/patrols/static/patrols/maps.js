/* Patrol maps (ECharts, drawn from our own GeoJSON, no network beyond our JSON):
   - #tracks-map: today's tracks of a territory node over its grids/communities, coloured by
     state (counted / flagged / active / not counted); pages through /api/patrols/tracks.
   - #review-map: one patrol's track over the worker's assigned grids and roads. */
(function () {
  "use strict";

  var COLORS = { counted: "#0e9f6e", flagged: "#d97706", active: "#1a56db", not_counted: "#9aa5b1", road: "#7e3af2" };
  var counter = 0;

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) { throw new Error(String(r.status)); }
      return r.json();
    });
  }

  function message(el, text) {
    el.innerHTML = "";
    var p = document.createElement("p");
    p.className = "map-message";
    p.textContent = text || "";
    el.appendChild(p);
  }

  function bboxCollection(lines) {
    var minx = Infinity, miny = Infinity, maxx = -Infinity, maxy = -Infinity;
    lines.forEach(function (line) {
      line.forEach(function (p) {
        minx = Math.min(minx, p[0]); maxx = Math.max(maxx, p[0]);
        miny = Math.min(miny, p[1]); maxy = Math.max(maxy, p[1]);
      });
    });
    if (!isFinite(minx)) { minx = 111.6; miny = 40.76; maxx = 111.64; maxy = 40.78; }
    var dx = Math.max((maxx - minx) * 0.1, 0.001), dy = Math.max((maxy - miny) * 0.1, 0.001);
    var ring = [[minx - dx, miny - dy], [maxx + dx, miny - dy], [maxx + dx, maxy + dy], [minx - dx, maxy + dy], [minx - dx, miny - dy]];
    return { type: "FeatureCollection", features: [{ type: "Feature", properties: { code: "bbox", name: "" }, geometry: { type: "Polygon", coordinates: [ring] } }] };
  }

  function initMap(el, geo, highlight) {
    counter += 1;
    var mapName = "cg-patrols-" + counter;
    geo.features.forEach(function (f) { f.properties.name = f.properties.code; });
    echarts.registerMap(mapName, geo);
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      tooltip: { trigger: "item", formatter: function (p) { return (p.data && p.data.title) || ""; } },
      geo: {
        map: mapName, roam: true, nameProperty: "code",
        itemStyle: { borderColor: "#52606d", borderWidth: 0.8, areaColor: highlight ? "#e1effe" : "#eef2f7" },
        emphasis: { itemStyle: { areaColor: "#fdf6b2" }, label: { show: false } },
        label: { show: false }
      },
      series: []
    });
    window.addEventListener("resize", function () { chart.resize(); });
    return chart;
  }

  function drawTracks(el) {
    var tracks = [];
    function page(offset) {
      return getJSON(el.dataset.tracks + "&offset=" + offset).then(function (body) {
        tracks = tracks.concat(body.items);
        if (body.next_offset !== null && body.next_offset !== undefined) { return page(body.next_offset); }
        return tracks;
      });
    }
    Promise.all([getJSON(el.dataset.geojson), page(0)]).then(function (res) {
      var geo = res[0], items = res[1];
      var lines = items.filter(function (t) { return t.coordinates.length > 1; });
      if (!geo.features || !geo.features.length) { geo = bboxCollection(lines.map(function (t) { return t.coordinates; })); }
      var chart = initMap(el, geo, false);
      chart.setOption({
        series: [{
          type: "lines", coordinateSystem: "geo", polyline: true, z: 5,
          data: lines.map(function (t) {
            return {
              coords: t.coordinates,
              title: t.worker + " · " + t.started_at.slice(11, 16) + " · " + Math.round(t.coverage * 100) + "%",
              lineStyle: { color: COLORS[t.state] || COLORS.not_counted, width: t.state === "flagged" ? 3 : 2, opacity: 0.85 }
            };
          })
        }]
      });
      el.dataset.tracks_loaded = String(lines.length);
      var count = document.getElementById("tracks-count");
      if (count) { count.textContent = "(" + items.length + " " + (el.dataset.labelCount || "") + ")"; }
      el.dataset.ready = "1";
    }).catch(function () { message(el, el.dataset.labelError); el.dataset.ready = "error"; });
  }

  function drawReview(el) {
    getJSON(el.dataset.track).then(function (body) {
      var roadLines = [];
      body.roads.forEach(function (r) { r.lines.forEach(function (l) { roadLines.push({ coords: l, title: r.name }); }); });
      var geo = body.areas;
      if (!geo.features || !geo.features.length) {
        geo = bboxCollection(roadLines.map(function (l) { return l.coords; }).concat([body.track]));
      }
      var chart = initMap(el, geo, true);
      var series = [{
        type: "lines", coordinateSystem: "geo", polyline: true, z: 4,
        data: roadLines.map(function (l) { return { coords: l.coords, title: (el.dataset.labelRoad || "") + " " + l.title, lineStyle: { color: COLORS.road, width: 6, opacity: 0.45 } }; })
      }];
      if (body.track.length > 1) {
        series.push({
          type: "lines", coordinateSystem: "geo", polyline: true, z: 6,
          data: [{ coords: body.track, title: el.dataset.labelTrack || "", lineStyle: { color: COLORS.flagged, width: 3, opacity: 0.95 } }]
        });
        series.push({
          type: "scatter", coordinateSystem: "geo", z: 7, symbolSize: 9,
          data: [{ value: body.track[0], title: "start", itemStyle: { color: COLORS.counted } },
                 { value: body.track[body.track.length - 1], title: "end", itemStyle: { color: "#c81e1e" } }]
        });
      }
      chart.setOption({ series: series });
      el.dataset.points = String(body.track.length);
      el.dataset.ready = "1";
    }).catch(function () { message(el, el.dataset.labelError); el.dataset.ready = "error"; });
  }

  function boot() {
    if (!window.echarts) { return; }
    var t = document.getElementById("tracks-map");
    if (t) { drawTracks(t); }
    var r = document.getElementById("review-map");
    if (r) { drawReview(r); }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", boot); } else { boot(); }
})();
