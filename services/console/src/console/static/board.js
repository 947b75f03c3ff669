// The command-centre board (/board). No inline script (the content security policy runs only files served by the
// console): the page is a frame of panels, filled from one EventSource on /board/live (same origin; the console
// relays patrol's live coverage and alerts' stream and re-reads the records).
//
// Events: "map", "counters", "townships", "cycle", "hazards", "ticker" (a panel's content, sent when it changed),
// "health" (every second: each source's state — ok, since when, or why not) and "signedout". Each panel names its
// sources (data-sources); it is marked stale (data-stale="true", "已过期" with its last good time) when one of them
// is not ok, or when the board's own stream has been silent for STALE_AFTER_MS. A stream that fails is opened again
// after a growing pause, so the board catches up by itself after a service or broker restart. Every name reaches the
// page as text (textContent), never as HTML.
(function () {
  "use strict";

  var STALE_AFTER_MS = 4000;
  var SOURCE_NAMES = {live: "实时巡逻流", alerts_live: "告警推送", patrol: "巡逻记录", places: "点位与隐患",
                      alerts: "告警记录", roster: "排班与到岗", inspection: "211 督查"};
  var LEVELS = {critical: "特急", high: "紧急", medium: "较重", low: "一般"};
  var PHASES = {covert: "暗访阶段", rectification: "整改阶段", closing: "收尾", closed: "已结束"};
  var HAZARDS = {fire: "消防安全", gas: "燃气安全", roads: "道路交通", construction: "建筑工地", campus: "校园安全",
                 enterprise: "企业安全生产", "public-order": "社会治安", other: "其他"};

  var health = {};
  var healthAt = 0;
  var map = null;
  var markers = {};
  var placesShown = "";
  var fitted = false;

  function el(id) { return document.getElementById(id); }

  function node(tag, text, className) {
    var made = document.createElement(tag);
    if (text !== undefined && text !== null) made.textContent = String(text);
    if (className) made.className = className;
    return made;
  }

  function setText(id, value) {
    var target = el(id);
    if (target) target.textContent = value === null || value === undefined ? "—" : String(value);
  }

  function clock(epochSeconds) {
    if (!epochSeconds) return "—";
    return new Date(epochSeconds * 1000).toLocaleTimeString("zh-CN", {hour12: false});
  }

  // --- the map ------------------------------------------------------------------------------------------------
  function startMap() {
    var holder = el("board-map");
    if (!holder || typeof L === "undefined") return;
    var config = {};
    try { config = JSON.parse(document.body.getAttribute("data-map-config") || "{}"); } catch (e) { config = {}; }
    map = L.map(holder, {attributionControl: false, zoomControl: false, zoomSnap: 0.25});
    if (config.tiles) L.tileLayer(config.tiles, {maxZoom: 19}).addTo(map);
    L.control.scale({imperial: false}).addTo(map);
    map.setView([27.78, 120.63], 11);  // 瑞安 until the first points come
    map.placeBounds = [];
    map.placeLayer = L.layerGroup().addTo(map);
    map.pointLayer = L.layerGroup().addTo(map);
    holder.setAttribute("data-ready", "true");
  }

  function drawPlaces(places) {
    var text = JSON.stringify(places);
    if (!map || text === placesShown) return;
    placesShown = text;
    map.placeLayer.clearLayers();
    map.placeBounds = [];
    places.forEach(function (place) {
      if (place.geometry) {
        L.geoJSON(place.geometry, {interactive: false,
          style: function () { return {className: "place-outline place-" + place.kind}; }}).addTo(map.placeLayer);
      }
      if (place.lat !== null && place.lat !== undefined && place.lon !== null && place.lon !== undefined &&
          place.kind === "township") {
        map.placeBounds.push([place.lat, place.lon]);
        L.circleMarker([place.lat, place.lon], {radius: 4, interactive: false, className: "place-dot"})
          .bindTooltip(node("span", place.name), {permanent: true, direction: "right", offset: [8, 0],
                                                  className: "place-label place-label-" + place.kind})
          .addTo(map.placeLayer);
      }
    });
  }

  function drawPoints(points) {
    if (!map) return;
    var seen = {};
    var bounds = [];
    points.forEach(function (point) {
      seen[point.id] = true;
      bounds.push([point.lat, point.lon]);
      var marker = markers[point.id];
      if (!marker) {
        marker = L.circleMarker([point.lat, point.lon], {radius: 11, className: "cp-marker"}).addTo(map.pointLayer);
        marker.bindTooltip(node("span", point.name), {direction: "top", offset: [0, -10], className: "cp-label"});
        markers[point.id] = marker;
      } else {
        marker.setLatLng([point.lat, point.lon]);
      }
      var path = marker.getElement();
      if (path && path.getAttribute("data-state") !== point.state) {
        path.setAttribute("class", "leaflet-interactive cp-marker cp-state-" + point.state);
        path.setAttribute("data-checkpoint", point.id);
        path.setAttribute("data-state", point.state);
      }
    });
    Object.keys(markers).forEach(function (id) {
      if (!seen[id]) { map.pointLayer.removeLayer(markers[id]); delete markers[id]; }
    });
    if (!fitted && bounds.length) {
      // the whole city once: the townships and every checkpoint (a board is not zoomed by hand)
      fitted = true;
      var all = bounds.concat(map.placeBounds);
      if (all.length === 1) map.setView(all[0], 15);
      else map.fitBounds(L.latLngBounds(all), {paddingTopLeft: [40, 40], paddingBottomRight: [150, 40], maxZoom: 15});
    }
  }

  // --- the panels ---------------------------------------------------------------------------------------------
  var render = {
    map: function (data) {
      setText("board-night", data.night);
      drawPlaces(data.places || []);
      drawPoints(data.points || []);
    },
    counters: function (data) {
      // roster shows supervisors who is at work today, not the shifts: then the figure is that, and says so
      setText("c-on_duty", data.on_duty !== null ? data.on_duty : data.present);
      setText("c-on_duty-label", data.on_duty !== null ? "在岗队员" : "今日到岗队员");
      setText("c-patrolling", data.patrolling);
      setText("c-coverage", data.patrolling === null ? null : data.covered + " / " + data.checkpoints);
      ["done", "in_progress", "missed", "late", "pending"].forEach(function (state) {
        setText("c-" + state, data.rounds[state]);
      });
      pills(el("alert-levels"), Object.keys(LEVELS).map(function (level) {
        return {label: LEVELS[level], value: data.alerts.levels[level], cls: "level-" + level};
      }));
      pills(el("alert-steps"), Object.keys(data.alerts.steps).map(function (step) {
        return {label: step, value: data.alerts.steps[step], cls: "step"};
      }));
    },
    townships: function (rows) {
      var body = el("townships");
      body.replaceChildren();
      rows.forEach(function (row) {
        var tr = node("tr");
        tr.setAttribute("data-township", row.township);
        tr.appendChild(node("td", row.township));
        tr.appendChild(node("td", row.done + " / " + row.rounds));
        tr.appendChild(node("td", row.in_progress));
        tr.appendChild(node("td", row.late, row.late ? "warn" : ""));
        tr.appendChild(node("td", row.missed, row.missed ? "bad" : ""));
        tr.appendChild(node("td", row.checkpoints === null ? "—" : row.covered + " / " + row.checkpoints));
        tr.appendChild(node("td", row.rostered === null ? "排班不可见" : row.attending + " / " + row.rostered,
                            row.rostered && row.attending < row.rostered ? "warn" : ""));
        body.appendChild(tr);
      });
      if (!rows.length) body.appendChild(emptyRow(7, "今晚暂无轮次与排班"));
    },
    cycle: function (cycle) {
      var units = el("cycle-units");
      units.replaceChildren();
      if (!cycle) {
        setText("cycle-name", "当前无进行中的督查周期");
        ["cycle-phase", "cycle-days", "cycle-most"].forEach(function (id) { el(id).textContent = ""; });
        return;
      }
      setText("cycle-name", cycle.name);
      setText("cycle-phase", PHASES[cycle.phase] || cycle.phase);
      setText("cycle-days", cycle.days_left === null ? "" : "本阶段剩余 " + cycle.days_left + " 天");
      setText("cycle-open", cycle.totals.open);
      setText("cycle-overdue", cycle.totals.overdue);
      setText("cycle-verified", cycle.totals.verified);
      cycle.units.slice(0, 6).forEach(function (unit) {
        var tr = node("tr");
        tr.appendChild(node("td", unit.unit));
        tr.appendChild(node("td", unit.open));
        tr.appendChild(node("td", unit.overdue, unit.overdue ? "bad" : ""));
        tr.appendChild(node("td", unit.verified));
        units.appendChild(tr);
      });
      if (!cycle.units.length) units.appendChild(emptyRow(4, "本期暂无整改任务"));
      setText("cycle-most", cycle.most_overdue.length ? cycle.most_overdue.map(function (u) {
        return u.unit + "（" + u.overdue + "）";
      }).join("、") : "无");
    },
    hazards: function (items) {
      var list = el("hazards");
      list.replaceChildren();
      items.forEach(function (hazard) {
        var li = node("li");
        li.appendChild(node("span", hazardClock(hazard), "clock" + hazardTone(hazard)));
        li.appendChild(node("span", hazard.received));
        li.appendChild(node("span", (HAZARDS[hazard.category] || hazard.category || "") + " · " +
                                    (hazard.place || "") + " " + (hazard.description || ""), "what"));
        list.appendChild(li);
      });
      if (!items.length) list.appendChild(node("li", "近两日无巡逻上报隐患", "empty-note"));
    },
    ticker: function (lines) {
      var list = el("ticker");
      var newest = list.firstChild ? list.firstChild.getAttribute("data-line") : null;
      list.replaceChildren();
      lines.slice(0, 6).forEach(function (line, index) {  // what the panel holds at 1080 px
        var li = node("li");
        li.setAttribute("data-line", line.at + line.text);
        if (index === 0 && li.getAttribute("data-line") !== newest) li.className = "fresh";
        li.appendChild(node("time", line.at));
        li.appendChild(node("span", line.text));
        list.appendChild(li);
      });
      if (!lines.length) list.appendChild(node("li", "等待最新事件……", "empty-note"));
    }
  };

  function pills(holder, items) {
    holder.replaceChildren();
    items.forEach(function (item) {
      var pill = node("div", null, "pill " + item.cls);
      pill.appendChild(node("b", item.value));
      pill.appendChild(node("span", item.label));
      holder.appendChild(pill);
    });
  }

  function emptyRow(span, text) {
    var tr = node("tr");
    var td = node("td", text, "empty-note");
    td.colSpan = span;
    tr.appendChild(td);
    return tr;
  }

  function hazardClock(hazard) {
    if (hazard.closed) return "已闭环";
    var left = hazard.seconds_left;
    var sign = left < 0 ? "超时 " : "";
    left = Math.abs(left);
    var hours = Math.floor(left / 3600), minutes = Math.floor((left % 3600) / 60);
    return sign + hours + ":" + (minutes < 10 ? "0" : "") + minutes;
  }

  function hazardTone(hazard) {
    if (hazard.closed) return " closed";
    if (hazard.seconds_left < 0) return " over";
    return hazard.seconds_left < 4 * 3600 ? " soon" : "";
  }

  // --- staleness ----------------------------------------------------------------------------------------------
  function judge() {
    var relayLost = Date.now() - healthAt > STALE_AFTER_MS;
    document.querySelectorAll("[data-panel]").forEach(function (panel) {
      var names = (panel.getAttribute("data-sources") || "").split(" ").filter(Boolean);
      var stale = relayLost, refused = [], reasons = [], oldest = null;
      names.forEach(function (name) {
        var h = health[name];
        if (!h) { stale = true; return; }
        if (h.refused) { refused.push(SOURCE_NAMES[name] || name); return; }
        // the services' reasons are "中文 (English)": the board, in Chinese, keeps the Chinese
        if (!h.ok) { stale = true; reasons.push((SOURCE_NAMES[name] || name) + "：" + h.reason.split(" (")[0]); }
        if (h.at && (oldest === null || h.at < oldest)) oldest = h.at;
        if (!h.at) stale = true;
      });
      if (relayLost) reasons.unshift("与控制台的连接中断，正在重连");
      var text = (stale ? "已过期 · " : "") + "数据更新于 " + clock(oldest);
      if (reasons.length) text += " · " + reasons.join("；");
      if (refused.length) text += " · 无权查看：" + refused.join("、");
      panel.setAttribute("data-stale", stale ? "true" : "false");
      panel.setAttribute("data-refused", refused.length ? "true" : "false");
      var footer = panel.querySelector(".panel-state");
      if (footer && footer.textContent !== text) footer.textContent = text;
    });
    var link = el("board-link");
    if (link) {
      var state = relayLost ? (healthAt ? "lost" : "connecting") : "live";
      link.setAttribute("data-state", state);
      link.textContent = {live: "实时", lost: "连接中断，正在重连", connecting: "连接中"}[state];
    }
  }

  // --- the stream ---------------------------------------------------------------------------------------------
  function connect(url) {
    var backoff = 1000;
    var source = null;

    function open() {
      source = new EventSource(url);
      Object.keys(render).forEach(function (name) {
        source.addEventListener(name, function (event) {
          var data;
          try { data = JSON.parse(event.data); } catch (e) { return; }
          render[name](data);
          var panel = document.querySelector('[data-panel="' + name + '"]');
          if (panel) panel.setAttribute("data-filled", "true");
        });
      });
      source.addEventListener("health", function (event) {
        try { health = JSON.parse(event.data).sources || {}; } catch (e) { return; }
        healthAt = Date.now();
        backoff = 1000;
        judge();
      });
      source.addEventListener("signedout", function () {
        source.close();
        window.location.assign("/signin?next=/board");
      });
      source.addEventListener("error", function () {
        // CLOSED: the console answered 204 (no session) or the connection failed for good; else the browser
        // retries by itself. Either way the panels go stale after STALE_AFTER_MS without a health event.
        if (source.readyState === EventSource.CLOSED) {
          window.setTimeout(open, backoff);
          backoff = Math.min(backoff * 2, 30000);
        }
      });
    }

    open();
    window.addEventListener("pagehide", function () { if (source) source.close(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    startMap();
    judge();
    window.setInterval(judge, 1000);
    connect(document.body.getAttribute("data-live"));
  });
})();
