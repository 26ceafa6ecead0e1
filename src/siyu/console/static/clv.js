// The lifetime value page: draws `[data-clv]` bar charts (predicted against actual holdout
// purchases per calibration frequency) from embedded JSON with ECharts. Without ECharts the
// table carries them.
(function () {
  "use strict";
  function draw() {
    if (!window.echarts) return;
    document.querySelectorAll("[data-clv]").forEach(function (element) {
      var data = document.getElementById(element.dataset.clv);
      if (!data || element.dataset.drawn) return;
      var spec = JSON.parse(data.textContent);
      element.hidden = false;
      var chart = window.echarts.init(element);
      chart.setOption({
        tooltip: { trigger: "axis" },
        legend: { data: [spec.labels.actual, spec.labels.predicted], bottom: 0 },
        grid: { left: 56, right: 16, top: 16, bottom: 64 },
        xAxis: { type: "category", data: spec.x, name: spec.labels.x, nameLocation: "middle", nameGap: 28 },
        yAxis: { type: "value", name: spec.labels.y },
        series: [
          { name: spec.labels.actual, type: "bar", data: spec.actual, itemStyle: { color: "#94a3b8" } },
          { name: spec.labels.predicted, type: "bar", data: spec.predicted, itemStyle: { color: "#4338ca" } }
        ]
      });
      element.dataset.drawn = "1";
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", draw);
})();
