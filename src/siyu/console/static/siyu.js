// Siyu console: toasts, charts from embedded JSON, HTMX error toasts. Everything here is an
// extra: pages work without it (forms post, figures are also tables).
(function () {
  "use strict";

  var TOAST_MS = 5000;

  function toast(message, level) {
    var box = document.getElementById("toasts");
    if (!box || !message) return;
    var item = document.createElement("div");
    item.className = "toast toast-" + (level || "info");
    item.textContent = message;
    box.appendChild(item);
    dismissLater(item);
  }

  function dismissLater(item) {
    setTimeout(function () {
      item.classList.add("leaving");
      setTimeout(function () { item.remove(); }, 400);
    }, TOAST_MS);
  }

  function moneyFormatter(currency) {
    var locale = document.body.dataset.locale || "zh-CN";
    var format = new Intl.NumberFormat(locale, { style: "currency", currency: currency });
    return function (value) { return format.format(value); };
  }

  function option(spec) {
    var money = spec.money ? moneyFormatter(spec.money) : null;
    var tooltip = { trigger: spec.type === "pie" ? "item" : "axis" };
    if (money) tooltip.valueFormatter = money;
    if (spec.type === "pie") {
      return {
        tooltip: tooltip,
        legend: { bottom: 0, type: "scroll" },
        series: spec.series.map(function (s) {
          return { name: s.name, type: "pie", radius: ["40%", "70%"], data: s.data };
        }),
      };
    }
    return {
      tooltip: tooltip,
      legend: { bottom: 0, type: "scroll" },
      grid: { left: 8, right: 8, top: 16, bottom: 40, containLabel: true },
      xAxis: { type: "category", data: spec.categories },
      yAxis: { type: "value", axisLabel: money ? { formatter: money } : {} },
      series: spec.series.map(function (s) {
        return { name: s.name, type: spec.type, data: s.data, stack: spec.stack ? "total" : undefined };
      }),
    };
  }

  function drawCharts(root) {
    if (!window.echarts) return;
    root.querySelectorAll("[data-chart]").forEach(function (element) {
      var data = document.getElementById(element.dataset.chart);
      if (!data || element.dataset.drawn) return;
      element.hidden = false;
      var chart = window.echarts.init(element);
      chart.setOption(option(JSON.parse(data.textContent)));
      element.dataset.drawn = "1";
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("#toasts .toast").forEach(dismissLater);
    drawCharts(document);
  });
  // Server responses say `HX-Trigger: {"siyu:toast": {"message": …, "level": …}}`; htmx
  // dispatches the event on the requesting element and it bubbles up to the document.
  document.addEventListener("siyu:toast", function (event) {
    toast(event.detail.message, event.detail.level);
  });
  document.addEventListener("htmx:afterSettle", function (event) { drawCharts(event.target); });
  document.addEventListener("htmx:sendError", function () {
    toast(document.body.dataset.networkError, "error");
  });
})();
