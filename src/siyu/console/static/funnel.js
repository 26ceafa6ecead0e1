// The lead-to-deal funnel page: draws `[data-funnel]` charts from embedded JSON with ECharts'
// funnel series. Without ECharts the table beside the chart carries the same figures.
(function () {
  "use strict";
  function draw() {
    if (!window.echarts) return;
    document.querySelectorAll("[data-funnel]").forEach(function (element) {
      var data = document.getElementById(element.dataset.funnel);
      if (!data || element.dataset.drawn) return;
      var spec = JSON.parse(data.textContent);
      element.hidden = false;
      var chart = window.echarts.init(element);
      chart.setOption({
        tooltip: { trigger: "item", formatter: "{b}: {c}" },
        series: [{
          type: "funnel", sort: "none", left: "8%", width: "84%", top: 8, bottom: 8,
          minSize: "6%", gap: 2, label: { position: "inside", formatter: "{b}  {c}" },
          data: spec.steps
        }]
      });
      element.dataset.drawn = "1";
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  document.addEventListener("DOMContentLoaded", draw);
})();
