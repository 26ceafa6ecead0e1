// The RFM page: draws `[data-rfm]` heatmaps (recency × frequency, cell = buyers, tooltip with
// the average spend) from embedded JSON with ECharts. Without ECharts the table carries them.
(function () {
  "use strict";
  var yuan = function (fen) {
    return fen == null ? "—" : "¥" + (fen / 100).toLocaleString(undefined, { maximumFractionDigits: 2 });
  };
  function draw() {
    if (!window.echarts) return;
    document.querySelectorAll("[data-rfm]").forEach(function (element) {
      var data = document.getElementById(element.dataset.rfm);
      if (!data || element.dataset.drawn) return;
      var spec = JSON.parse(data.textContent);
      element.hidden = false;
      var chart = window.echarts.init(element);
      chart.setOption({
        tooltip: {
          formatter: function (item) {
            var cell = item.data;
            return spec.y[cell[1]] + " " + spec.x[cell[0]] + "<br>" + spec.labels.contacts + ": " +
              cell[2].toLocaleString() + "<br>" + spec.labels.average + ": " + yuan(cell[3]);
          }
        },
        grid: { left: 48, right: 16, top: 8, bottom: 64 },
        xAxis: { type: "category", data: spec.x, splitArea: { show: true } },
        yAxis: { type: "category", data: spec.y, splitArea: { show: true } },
        visualMap: {
          min: 0, max: Math.max(spec.max, 1), calculable: true, orient: "horizontal",
          left: "center", bottom: 0, inRange: { color: ["#eef2ff", "#4338ca"] }
        },
        series: [{
          type: "heatmap", data: spec.cells, label: { show: true, formatter: function (item) {
            return item.data[2].toLocaleString();
          } }
        }]
      });
      element.dataset.drawn = "1";
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", draw);
})();
