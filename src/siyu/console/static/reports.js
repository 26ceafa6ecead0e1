// The cohort heatmap: `[data-cohorts]` drawn from embedded JSON with ECharts' heatmap series.
// Without ECharts the table beside it carries the same figures.
(function () {
  "use strict";
  function draw() {
    if (!window.echarts) return;
    document.querySelectorAll("[data-cohorts]").forEach(function (element) {
      var data = document.getElementById(element.dataset.cohorts);
      if (!data || element.dataset.drawn) return;
      var spec = JSON.parse(data.textContent);
      var locale = document.body.dataset.locale || "zh-CN";
      var format = spec.money
        ? new Intl.NumberFormat(locale, { style: "currency", currency: spec.money }).format
        : function (value) { return value + "%"; };
      element.hidden = false;
      element.style.height = Math.max(240, 28 * spec.y.length + 80) + "px";
      var chart = window.echarts.init(element);
      chart.setOption({
        tooltip: {
          formatter: function (p) {
            return spec.y[p.value[1]] + " · " + spec.x[p.value[0]] + ": " + format(p.value[2]);
          }
        },
        grid: { left: 8, right: 8, top: 8, bottom: 56, containLabel: true },
        xAxis: { type: "category", data: spec.x, splitArea: { show: true } },
        yAxis: { type: "category", data: spec.y, inverse: true, splitArea: { show: true } },
        // Month 0 is everyone by definition: the scale runs over the later months.
        visualMap: { min: 0, max: spec.max || 1, calculable: true, orient: "horizontal",
                     left: "center", bottom: 0, inRange: { color: ["#f4f7ff", "#2f6fed"] } },
        series: [{
          type: "heatmap", data: spec.cells,
          label: { show: spec.x.length <= 13, formatter: function (p) {
            return spec.money ? Math.round(p.value[2]) : p.value[2];
          } }
        }]
      });
      element.dataset.drawn = "1";
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  document.addEventListener("DOMContentLoaded", draw);
})();
