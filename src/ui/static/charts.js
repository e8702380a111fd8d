// specmill dashboard charts: draws each `.chart` element's embedded data with uPlot, and
// on a zoom (drag across the plot) asks the server for that range again, so the zoomed
// view has as many buckets as the whole one. Without JavaScript the pages show the same
// data as tables.
(function () {
  "use strict";
  if (typeof uPlot === "undefined") return;
  var palette = ["#2f6fde", "#e5484d", "#30a46c", "#f76b15", "#8e4ec6", "#0d74ce", "#d6409f", "#978365", "#12a594", "#6e56cf"];
  // metric (or "metric|runs" on a chart of several runs) -> { plot, el }
  var charts = (window.specmillCharts = {});

  function key(el) {
    return el.dataset.metric + (el.dataset.runs.indexOf(",") >= 0 ? "|" + el.dataset.runs : "");
  }

  function options(el, chart) {
    var series = [{ label: chart.axis }];
    chart.labels.forEach(function (label, i) {
      series.push({ label: label, stroke: palette[i % palette.length], width: 1.5, spanGaps: true, points: { show: false } });
    });
    return {
      width: Math.max(320, el.clientWidth || 560),
      height: 260,
      scales: { x: { time: chart.axis === "time" } },
      series: series,
      cursor: { drag: { x: true, y: false, setScale: false } },
      hooks: {
        setSelect: [
          function (u) {
            if (u.select.width < 3) return;
            var a = u.posToVal(u.select.left, "x");
            var b = u.posToVal(u.select.left + u.select.width, "x");
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            load(el, a, b);
          },
        ],
      },
    };
  }

  // What the tests (and curious people) can read off the element.
  function mark(el, chart) {
    el.dataset.series = String(chart.labels.length);
    el.dataset.points = String(chart.data.length ? chart.data[0].length : 0);
    el.dataset.range = chart.range ? chart.range[0] + "," + chart.range[1] : "";
    el.dataset.loads = String((+el.dataset.loads || 0) + 1);
  }

  function draw(el, chart) {
    var entry = charts[key(el)];
    var same = entry && entry.labels.join("\u0000") === chart.labels.join("\u0000");
    if (same) {
      entry.plot.setData(chart.data);
    } else {
      if (entry) entry.plot.destroy();
      var plot = new uPlot(options(el, chart), chart.data, el);
      plot.over.addEventListener("dblclick", function () {
        load(el, null, null);
      });
      entry = charts[key(el)] = { plot: plot, el: el, labels: chart.labels };
    }
    mark(el, chart);
    return entry.plot;
  }

  function status(el, text) {
    var s = el.querySelector(".chart-status");
    if (!s) {
      s = document.createElement("div");
      s.className = "chart-status";
      el.appendChild(s);
    }
    s.textContent = text;
  }

  // Re-reads the chart for [from, to] (both null: everything) and redraws it.
  function load(el, from, to) {
    var url = "/ui/chart?runs=" + encodeURIComponent(el.dataset.runs) + "&metric=" + encodeURIComponent(el.dataset.metric) + "&x=" + el.dataset.x;
    if (from !== null && to !== null) url += "&from=" + encodeURIComponent(from) + "&to=" + encodeURIComponent(to);
    status(el, "loading…");
    return fetch(url, { credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (chart) {
        draw(el, chart);
        status(el, chart.range ? "zoomed to " + chart.range[0] + " – " + chart.range[1] + " (double-click to zoom out)" : "");
        return chart;
      })
      .catch(function (e) {
        status(el, "could not load: " + e.message);
        throw e;
      });
  }

  // Zoom the chart of `metric` (the first one when several) to [from, to].
  window.specmillZoom = function (metric, from, to) {
    var el = document.querySelector('.chart[data-metric="' + CSS.escape(metric) + '"]');
    return el ? load(el, from, to) : Promise.reject(new Error("no chart " + metric));
  };

  document.querySelectorAll(".chart").forEach(function (el) {
    var script = el.querySelector("script.chart-data");
    if (!script) return;
    draw(el, JSON.parse(script.textContent));
  });
})();
