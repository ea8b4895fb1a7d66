/* Indicators pages: the series-vs-target chart (ECharts, vendored), htmx error swaps for the
   entry form, the expected version of the chosen period, and the import's busy indicator. */
(function () {
  "use strict";

  document.addEventListener("htmx:beforeSwap", function (evt) {
    var status = evt.detail.xhr.status;
    if (evt.detail.target && evt.detail.target.id === "indicator-live" &&
        (status === 400 || status === 403 || status === 404 || status === 409)) {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
  });

  function drawChart(root) {
    var el = (root || document).querySelector("#indicator-chart");
    var source = document.getElementById("indicator-chart-data");
    if (!el || !source || !window.echarts) { return; }
    var d = JSON.parse(source.textContent);
    var existing = window.echarts.getInstanceByDom(el);
    if (existing) { existing.dispose(); }
    var chart = window.echarts.init(el);
    var series = [{ name: d.labels.value, type: "bar", data: d.values, itemStyle: { color: "#1a56db" } }];
    var legend = [d.labels.value];
    if (d.cumulative) {
      series.push({ name: d.labels.cumulative, type: "line", data: d.cumulative, connectNulls: false, itemStyle: { color: "#0e9f6e" } });
      legend.push(d.labels.cumulative);
    }
    if (d.target !== null) {
      series.push({
        name: d.labels.target, type: "line", symbol: "none", lineStyle: { type: "dashed", color: "#d97706" },
        itemStyle: { color: "#d97706" }, data: d.periods.map(function () { return d.target; })
      });
      legend.push(d.labels.target);
    }
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: { data: legend, top: 0, left: "center" },
      grid: { left: 60, right: 20, top: 56, bottom: 30 },
      xAxis: { type: "category", data: d.periods },
      yAxis: { type: "value", name: d.unit },
      series: series
    });
    el.setAttribute("data-drawn", "1");
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function syncVersion(form) {
    var select = form.querySelector("select[name=period]");
    var hidden = form.querySelector("input[name=expected_version]");
    if (!select || !hidden) { return; }
    var option = select.options[select.selectedIndex];
    if (option) { hidden.value = option.getAttribute("data-version") || "0"; }
  }

  document.addEventListener("change", function (evt) {
    var target = evt.target;
    if (target && target.name === "period" && target.form && target.form.id === "entry-form") {
      syncVersion(target.form);
    }
  });

  document.addEventListener("submit", function (evt) {
    if (evt.target && evt.target.id === "import-form") {
      var busy = document.getElementById("import-running");
      var button = document.getElementById("import-submit");
      if (busy) { busy.hidden = false; }
      if (button) { button.disabled = true; }
    }
  });

  document.addEventListener("htmx:afterSwap", function (evt) {
    if (evt.detail.target && evt.detail.target.id === "indicator-live") {
      drawChart(document);
    }
  });
  // hx-swap="outerHTML" replaces the target: the new element is the one to look in.
  document.addEventListener("htmx:afterSettle", function () { drawChart(document); });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { drawChart(document); });
  } else {
    drawChart(document);
  }
})();
