// The 211 pages' script (no inline script anywhere: the content security policy runs only files served here).
// - Scorecards: each .chart[data-chart] becomes an ECharts bar chart of the figures the page put in data-chart
//   ({"title", "labels", "values"}: on-time rates in percent, best first as the service ranked them).
(function () {
  "use strict";

  function drawChart(element) {
    var figures;
    try {
      figures = JSON.parse(element.getAttribute("data-chart"));
    } catch (error) {
      return;
    }
    if (!window.echarts || !figures || !figures.labels || figures.labels.length === 0) return;
    var chart = window.echarts.init(element, null, { renderer: "svg" });
    chart.setOption({
      animation: false,  // the figures as they are at once (a printed page, a screenshot)
      title: { text: figures.title, left: "center", textStyle: { fontSize: 14 } },
      tooltip: { trigger: "axis", valueFormatter: function (value) { return value + "%"; } },
      grid: { left: 8, right: 56, top: 40, bottom: 8, containLabel: true },
      xAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
      // the best ranked at the top
      yAxis: { type: "category", data: figures.labels.slice().reverse() },
      series: [{ type: "bar", data: figures.values.slice().reverse(), itemStyle: { color: "#b3261e" },
                 label: { show: true, position: "right", formatter: "{c}%" } }]
    });
    element.setAttribute("data-chart-drawn", "true");
    window.addEventListener("resize", function () { chart.resize(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".chart[data-chart]").forEach(drawChart);
  });
})();
