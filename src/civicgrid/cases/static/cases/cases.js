/* Case pages: htmx error swaps, ECharts maps (case point, location picker, open-cases map),
   address search and the console's keyboard helpers. No build step, no network beyond our
   own JSON. */
(function () {
  "use strict";

  // htmx does not swap 4xx bodies by default; ours carry the Chinese error message.
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var status = evt.detail.xhr.status;
    if (status === 400 || status === 403 || status === 404 || status === 409 || status === 429) {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
  });

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

  var COLORS = { overdue: "#c81e1e", warned: "#d97706", ok: "#1a56db", pick: "#c81e1e" };
  var counter = 0;

  function parsePoint(text) {
    if (!text) { return null; }
    var parts = text.split(",").map(Number);
    if (parts.length !== 2 || isNaN(parts[0]) || isNaN(parts[1])) { return null; }
    return parts;
  }

  function baseOption(mapName) {
    return {
      tooltip: {
        trigger: "item",
        formatter: function (p) {
          if (p.seriesType === "scatter") { return (p.data && p.data.title) || ""; }
          return (p.data && p.data.title) || p.name || "";
        }
      },
      geo: {
        map: mapName, roam: true, nameProperty: "code",
        itemStyle: { borderColor: "#52606d", borderWidth: 0.8, areaColor: "#eef2f7" },
        emphasis: { itemStyle: { areaColor: "#fde8e8" }, label: { show: false } },
        label: { show: false }
      },
      series: [{ type: "scatter", coordinateSystem: "geo", symbolSize: 12, data: [], z: 5 }]
    };
  }

  function setPickedPoint(el, lon, lat, fire) {
    var chart = el._chart;
    lon = Math.round(lon * 1e6) / 1e6;
    lat = Math.round(lat * 1e6) / 1e6;
    var form = el.closest("form");
    if (form) {
      form.querySelector("[name=lon]").value = String(lon);
      form.querySelector("[name=lat]").value = String(lat);
    }
    var label = document.getElementById("picked-point");
    if (label) { label.textContent = (el.dataset.labelPicked || "") + ": " + lon + ", " + lat; }
    if (chart) {
      chart.setOption({ series: [{ data: [{ value: [lon, lat], title: el.dataset.labelPicked || "", itemStyle: { color: COLORS.pick } }] }] });
    }
    el.dataset.picked = lon + "," + lat;
    if (fire) { document.body.dispatchEvent(new CustomEvent("pointchange", { bubbles: true })); }
  }

  function drawMap(el) {
    counter += 1;
    var mapName = "cg-cases-" + counter;
    getJSON(el.dataset.geojson).then(function (geo) {
      if (!geo.features || !geo.features.length) { message(el, el.dataset.labelError); return; }
      geo.features.forEach(function (f) { f.properties.name = f.properties.code; });
      echarts.registerMap(mapName, geo);
      var chart = echarts.init(el, null, { renderer: "canvas" });
      el._chart = chart;
      var option = baseOption(mapName);
      option.geo.regions = geo.features.map(function (f) { return { name: f.properties.code }; });
      chart.setOption(option);
      var point = parsePoint(el.dataset.point);
      if (point) {
        chart.setOption({ series: [{ data: [{ value: point, title: el.dataset.pointLabel || "", itemStyle: { color: COLORS.pick } }] }] });
      }
      if (el.dataset.pick === "1") {
        chart.getZr().on("click", function (e) {
          var lonlat = chart.convertFromPixel({ geoIndex: 0 }, [e.offsetX, e.offsetY]);
          if (lonlat && isFinite(lonlat[0]) && isFinite(lonlat[1])) { setPickedPoint(el, lonlat[0], lonlat[1], true); }
        });
      }
      if (el.dataset.points) { loadPoints(el); }
      window.addEventListener("resize", function () { chart.resize(); });
      el.dataset.ready = "1";
    }).catch(function () { message(el, el.dataset.labelError); });
  }

  function loadPoints(el) {
    var chart = el._chart;
    var form = document.getElementById("map-filters");
    var params = new URLSearchParams(form ? new FormData(form) : undefined);
    // Filters can change faster than answers arrive: only the latest request may draw.
    var seq = (el._pointsSeq || 0) + 1;
    el._pointsSeq = seq;
    getJSON(el.dataset.points + "?" + params.toString()).then(function (body) {
      if (seq !== el._pointsSeq) { return; }
      var data = body.points.map(function (p) {
        var state = p.overdue ? "overdue" : (p.warned ? "warned" : "ok");
        return { value: p.value, title: p.title + " · " + p.category, url: p.url, itemStyle: { color: COLORS[state] } };
      });
      chart.setOption({ series: [{ data: data, symbolSize: 9 }] });
      el.dataset.points_loaded = String(data.length);
      var count = document.getElementById("map-count");
      if (count) { count.textContent = data.length + " " + (el.dataset.labelCount || ""); }
    });
    if (!el._clickBound) {
      el._clickBound = true;
      chart.on("click", function (p) {
        if (p.seriesType === "scatter" && p.data && p.data.url) { window.location.href = p.data.url; }
      });
      if (form) { form.addEventListener("change", function () { loadPoints(el); }); }
    }
  }

  // Address search (console): compounds, buildings, roads in the user's scope.
  function bindPlaceSearch() {
    var input = document.getElementById("place-q");
    var list = document.getElementById("place-results");
    if (!input || !list) { return; }
    var timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var q = input.value.trim();
        list.innerHTML = "";
        if (!q) { return; }
        getJSON(input.dataset.url + "?q=" + encodeURIComponent(q)).then(function (body) {
          list.innerHTML = "";
          body.results.forEach(function (place) {
            var li = document.createElement("li");
            var btn = document.createElement("button");
            btn.type = "button";
            btn.className = "place-option linkbtn";
            btn.textContent = place.name + " · " + place.detail;
            btn.addEventListener("click", function () {
              var address = document.getElementById("id_address");
              if (address && !address.value) { address.value = place.name; }
              var map = document.getElementById("pick-map");
              if (map) {
                setPickedPoint(map, place.lon, place.lat, true);
              } else {
                input.form.querySelector("[name=lon]").value = String(place.lon);
                input.form.querySelector("[name=lat]").value = String(place.lat);
              }
              list.innerHTML = "";
              input.value = place.name;
            });
            li.appendChild(btn);
            list.appendChild(li);
          });
        });
      }, 300);
    });
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter") {  // Enter picks the first result instead of submitting the form
        e.preventDefault();
        var first = list.querySelector("button");
        if (first) { first.click(); }
      }
    });
  }

  // Console: merge into a possible duplicate, Ctrl+Enter submits, no double submit.
  function bindConsole() {
    var form = document.getElementById("intake-form");
    if (!form) { return; }
    var mergeInput = form.querySelector("[name=merge_into]");
    var banner = document.getElementById("merge-banner");
    document.addEventListener("click", function (e) {
      var btn = e.target.closest ? e.target.closest(".merge-btn") : null;
      if (btn) {
        mergeInput.value = btn.dataset.merge;
        document.getElementById("merge-target").textContent = btn.dataset.merge;
        banner.hidden = false;
      }
      if (e.target.id === "merge-cancel") { mergeInput.value = ""; banner.hidden = true; }
    });
    form.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        form.requestSubmit(document.getElementById("submit-create"));
      }
    });
    form.addEventListener("submit", function () {
      setTimeout(function () { form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; }); }, 0);
    });
  }

  // Canned replies (常用回复): picking one fills the form's note (or the console's answer).
  function bindTemplatePicks() {
    document.addEventListener("change", function (e) {
      var sel = e.target;
      if (!sel.classList || !sel.classList.contains("template-pick") || !sel.value) { return; }
      var target = sel.dataset.target ? document.getElementById(sel.dataset.target)
        : (sel.form && sel.form.querySelector("textarea[name=note]"));
      if (target) {
        target.value = sel.value;
        target.dispatchEvent(new Event("input", { bubbles: true }));
        target.focus();
      }
    });
    // The console offers the replies of the chosen category (or its parent) and the general ones.
    document.querySelectorAll("select.template-pick[data-filter-category]").forEach(function (sel) {
      var cat = document.getElementById(sel.dataset.filterCategory);
      if (!cat) { return; }
      function filter() {
        var opt = cat.options[cat.selectedIndex];
        var group = opt && opt.parentElement && opt.parentElement.tagName === "OPTGROUP" ? opt.parentElement.label : "";
        Array.prototype.forEach.call(sel.options, function (o) {
          if (!o.value) { return; }
          var c = o.dataset.category, g = o.dataset.group;
          var show = !c || c === cat.value || (!!g && g === group);
          o.hidden = !show;
          o.disabled = !show;
        });
      }
      cat.addEventListener("change", filter);
      filter();
    });
  }

  function init() {
    bindTemplatePicks();
    bindPlaceSearch();
    bindConsole();
    if (typeof echarts === "undefined") { return; }
    document.querySelectorAll(".case-map").forEach(drawMap);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
