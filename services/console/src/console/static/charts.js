// Charts without inline script: an element <div class="chart" data-chart="ID"> becomes an ECharts chart whose
// option is the JSON of <script type="application/json" id="ID"> (a block the browser never runs; the page
// builds it on the server, escaped by Jinja's |tojson). A page includes vendor/echarts/echarts.min.js before this.
// - charts are drawn when the page loads and when htmx swaps new ones in;
// - a drawn chart's element gets data-chart-ready="1" (what a test waits for) and follows the window's size;
// - a missing or broken JSON block leaves the element as it is (the table beside every chart still has the data).
(function () {
  "use strict";

  function optionOf(element) {
    var block = document.getElementById(element.getAttribute("data-chart"));
    if (!block) return null;
    try {
      return JSON.parse(block.textContent);
    } catch (error) {
      return null;
    }
  }

  function draw(element) {
    if (!window.echarts || element.getAttribute("data-chart-ready") === "1") return;
    var option = optionOf(element);
    if (!option) return;
    var chart = window.echarts.init(element, null, { renderer: "canvas" });
    chart.setOption(option);
    element.setAttribute("data-chart-ready", "1");
  }

  function drawAll(root) {
    (root || document).querySelectorAll("[data-chart]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.addEventListener("htmx:afterSettle", function (event) { drawAll(event.target); });
  window.addEventListener("resize", function () {
    document.querySelectorAll("[data-chart-ready='1']").forEach(function (element) {
      var chart = window.echarts && window.echarts.getInstanceByDom(element);
      if (chart) chart.resize();
    });
  });
})();
