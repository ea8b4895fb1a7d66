/* Territory maps: every .territory-map element fetches its GeoJSON (data-geojson),
   registers it with ECharts and draws one region per feature. Clicking a region opens
   its page (feature property "url"). No tiles, no network beyond our own JSON. */
(function () {
  "use strict";

  function message(el, text) {
    el.innerHTML = "";
    var p = document.createElement("p");
    p.className = "map-message";
    p.textContent = text;
    el.appendChild(p);
  }

  function draw(el) {
    fetch(el.dataset.geojson, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (geo) {
        if (!geo.features || !geo.features.length) { message(el, el.dataset.labelEmpty); return; }
        var mapName = el.dataset.mapName;
        echarts.registerMap(mapName, geo);
        var maxPopulation = 0;
        var data = geo.features.map(function (f) {
          var p = f.properties;
          maxPopulation = Math.max(maxPopulation, p.population || 0);
          return { name: p.code, value: p.population || 0, title: p.name, households: p.households || 0, url: p.url };
        });
        var many = data.length > 40;
        var chart = echarts.init(el, null, { renderer: "canvas" });
        chart.setOption({
          tooltip: {
            trigger: "item",
            formatter: function (params) {
              var d = params.data || {};
              return (d.title || params.name) + "<br>" + el.dataset.labelPopulation + ": " + (d.value || 0) +
                "<br>" + el.dataset.labelHouseholds + ": " + (d.households || 0);
            }
          },
          visualMap: (maxPopulation > 0 && data.length > 1) ? {
            min: 0, max: maxPopulation, left: 8, bottom: 8, calculable: true, itemHeight: 90,
            inRange: { color: ["#fff5f5", "#f8b4b4", "#e05252"] }
          } : undefined,
          series: [{
            type: "map", map: mapName, nameProperty: "code", roam: true, selectedMode: false,
            label: {
              show: !many, fontSize: 12, color: "#1f2933", textBorderColor: "#fff", textBorderWidth: 2,
              formatter: function (params) { return (params.data && params.data.title) || ""; }
            },
            itemStyle: { borderColor: "#52606d", borderWidth: 0.8, areaColor: "#fde8e8" },
            emphasis: {
              itemStyle: { areaColor: "#fbd38d" },
              label: { show: true, formatter: function (params) { return (params.data && params.data.title) || ""; } }
            },
            data: data
          }]
        });
        if (el.dataset.clickable === "1") {
          chart.on("click", function (params) {
            if (params.data && params.data.url) { window.location.href = params.data.url; }
          });
        }
        window.addEventListener("resize", function () { chart.resize(); });
        el.dataset.regions = String(data.length);
      })
      .catch(function () { message(el, el.dataset.labelError); });
  }

  function init() {
    if (typeof echarts === "undefined") { return; }
    document.querySelectorAll(".territory-map").forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
