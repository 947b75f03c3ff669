// The 211 pages' script (no inline script anywhere: the content security policy runs only files served here).
// - Scorecards: each .chart[data-chart] becomes an ECharts bar chart of the figures the page put in data-chart
//   ({"title", "labels", "values"}: on-time rates in percent, best first as the service ranked them).
// - Photo pickers (input[type=file][data-max-each]): a photo over the size limit, or photos over the form's total,
//   are said at once and keep the form from being sent (the console checks again on its side).
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

  function checkPhotos(input) {
    var each = Number(input.getAttribute("data-max-each"));
    var total = Number(input.getAttribute("data-max-total"));
    var sum = 0;
    var message = "";
    Array.prototype.forEach.call(input.files || [], function (file) {
      sum += file.size;
      if (each && file.size > each) message = input.getAttribute("data-too-large");
    });
    if (!message && total && sum > total) message = input.getAttribute("data-too-much");
    input.setCustomValidity(message || "");
    if (message) input.reportValidity();
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (window.echarts) document.querySelectorAll(".chart[data-chart]").forEach(drawChart);
    document.querySelectorAll("input[type=file][data-max-each]").forEach(function (input) {
      input.addEventListener("change", function () { checkPhotos(input); });
    });
  });
})();
