// The patrol pages' maps and the rounds page's refresh. No inline script anywhere (the content security policy runs
// only files served by the console): a page hands its data over as JSON in data-* attributes, built by the server.
//
// Maps (Leaflet, vendored): #patrol-map carries data-map-kind, data-map (points, routes, the directory's places)
// and data-map-config (the tile URL template, empty for none; the words in the person's language). Without tiles
// the map is a plain background with the places' outlines and labels, the points and a scale. Every name reaches
// Leaflet as a text node, never as HTML (a checkpoint named <script> stays text).
//
// Refresh: the element marked data-live-refresh (the rounds table and the map's data) is asked for again every
// data-poll-seconds by firing "patrol-refresh", which htmx turns into a GET of the fragment. Polling stops while
// the page is hidden or the person has been away longer than data-idle-seconds (the session's idle time), so an
// unattended screen lets its session expire as any other page would.
(function () {
  "use strict";

  function json(el, name) {
    var raw = el ? el.getAttribute(name) : null;
    if (!raw) return null;
    try { return JSON.parse(raw); } catch (e) { return null; }
  }

  function textNode(tag, value, className) {
    var el = document.createElement(tag);
    el.textContent = value === null || value === undefined ? "" : String(value);
    if (className) el.className = className;
    return el;
  }

  function escapeText(value) {
    var holder = document.createElement("span");
    holder.textContent = value || "";
    return holder.innerHTML;
  }

  function baseMap(el, config, places) {
    var map = L.map(el, {attributionControl: false, zoomSnap: 0.5});
    if (config.tiles) {
      L.tileLayer(config.tiles, {maxZoom: 19}).addTo(map);
      if (config.attribution) {
        L.control.attribution({prefix: false}).addAttribution(escapeText(config.attribution)).addTo(map);
      }
    }
    L.control.scale({imperial: false}).addTo(map);
    var bounds = [];
    (places || []).forEach(function (place) {
      if (place.geometry) {
        L.geoJSON(place.geometry, {
          interactive: false,
          style: function () { return {className: "place-outline place-" + place.kind}; },
          pointToLayer: function (feature, latlng) { return L.circleMarker(latlng, {radius: 2}); }
        }).addTo(map);
      }
      if (place.lat !== null && place.lat !== undefined && place.lon !== null && place.lon !== undefined) {
        var dot = L.circleMarker([place.lat, place.lon], {
          radius: place.kind === "township" ? 4 : 2, interactive: false, className: "place-dot place-" + place.kind
        }).addTo(map);
        dot.bindTooltip(textNode("span", place.name), {
          permanent: true, direction: "right", offset: [6, 0], className: "place-label place-label-" + place.kind
        });
        bounds.push([place.lat, place.lon]);
      }
    });
    map.placeBounds = bounds;
    return map;
  }

  function fit(map, points) {
    var all = points.length ? points : map.placeBounds;
    if (all.length === 1) {
      map.setView(all[0], 16);
    } else if (all.length) {
      map.fitBounds(L.latLngBounds(all), {padding: [24, 24], maxZoom: 17});
    } else {
      map.setView([30, 115], 4);
    }
  }

  // --- checkpoints (and the new checkpoint's picker) ----------------------------------------------------------
  function checkpointMarker(point, words) {
    var marker = L.circleMarker([point.lat, point.lon], {
      radius: 7, className: "cp-marker cp-method-" + (point.method || "any")
    });
    var box = document.createElement("div");
    box.appendChild(textNode("strong", point.name));
    box.appendChild(textNode("div", point.id, "popup-id"));
    if (point.method) box.appendChild(textNode("div", (words.methods || {})[point.method] || point.method));
    if (point.area) box.appendChild(textNode("div", point.area));
    marker.bindPopup(box);
    marker.bindTooltip(textNode("span", point.name), {direction: "top", offset: [0, -6]});
    return marker;
  }

  function drawCheckpoints(map, data, config) {
    var points = [];
    (data.checkpoints || []).forEach(function (point) {
      var marker = checkpointMarker(point, config.words || {}).addTo(map);
      var el = marker.getElement();
      if (el) el.setAttribute("data-checkpoint", point.id);
      points.push([point.lat, point.lon]);
    });
    return points;
  }

  function numberIn(input) {
    var value = input ? parseFloat(input.value) : NaN;
    return isFinite(value) ? value : null;
  }

  function enablePicking(map) {
    var lat = document.getElementById("f-latitude");
    var lon = document.getElementById("f-longitude");
    if (!lat || !lon) return [];
    var chosen = null;
    function place(latlng) {
      if (chosen) { chosen.setLatLng(latlng); return; }
      chosen = L.circleMarker(latlng, {radius: 9, className: "cp-marker cp-new", interactive: false}).addTo(map);
    }
    map.on("click", function (event) {
      lat.value = event.latlng.lat.toFixed(6);
      lon.value = event.latlng.lng.toFixed(6);
      place(event.latlng);
    });
    function typed() {
      var y = numberIn(lat), x = numberIn(lon);
      if (y !== null && x !== null && Math.abs(y) <= 90 && Math.abs(x) <= 180) place([y, x]);
    }
    lat.addEventListener("change", typed);
    lon.addEventListener("change", typed);
    typed();
    return chosen ? [chosen.getLatLng()] : [];
  }

  // --- rounds and routes, coloured by state -------------------------------------------------------------------
  function roundPopup(route, point, words) {
    var box = document.createElement("div");
    box.appendChild(textNode("strong", point.name));
    box.appendChild(textNode("div", route.route_name + (route.window ? " · " + route.window : "") +
                                    (route.team_id ? " · " + route.team_id : "")));
    var states = words.states || {};
    box.appendChild(textNode("div", (words.state || "") + "：" + (states[point.state] || point.state)));
    if (route.round_id) {
      var link = textNode("a", words.open_round || route.round_id);
      link.setAttribute("href", "/patrol/rounds/" + encodeURIComponent(route.round_id));
      box.appendChild(link);
    }
    return box;
  }

  function drawRoutes(layer, routes, config) {
    layer.clearLayers();
    var points = [];
    (routes || []).forEach(function (route) {
      var line = route.points.map(function (p) { return [p.lat, p.lon]; });
      if (line.length > 1) {
        L.polyline(line, {interactive: false, className: "route-line route-state-" + route.state}).addTo(layer);
      }
      route.points.forEach(function (point, index) {
        var marker = L.circleMarker([point.lat, point.lon], {
          radius: 8, className: "cp-marker cp-state-" + point.state
        }).addTo(layer);
        marker.bindPopup(roundPopup(route, point, config.words || {}));
        marker.bindTooltip(textNode("span", (route.ordered ? (index + 1) + ". " : "") + point.name),
                           {direction: "top", offset: [0, -6]});
        var el = marker.getElement();
        if (el) {
          el.setAttribute("data-checkpoint", point.id);
          el.setAttribute("data-state", point.state);
          if (route.round_id) el.setAttribute("data-round", route.round_id);
        }
        points.push([point.lat, point.lon]);
      });
    });
    return points;
  }

  function liveRoutes() {
    var live = json(document.getElementById("rounds-live"), "data-rounds");
    return live ? live.routes || [] : [];
  }

  function start() {
    var el = document.getElementById("patrol-map");
    if (!el || typeof L === "undefined") return;
    var kind = el.getAttribute("data-map-kind");
    var data = json(el, "data-map") || {};
    var config = json(el, "data-map-config") || {};
    var map = baseMap(el, config, data.places);
    var routes = kind === "rounds" ? liveRoutes() : data.routes || [];
    // the view first: Leaflet makes a layer's SVG element only once its map has one
    var points = (data.checkpoints || []).map(function (p) { return [p.lat, p.lon]; });
    routes.forEach(function (route) {
      route.points.forEach(function (p) { points.push([p.lat, p.lon]); });
    });
    if (kind === "pick") {
      var y = numberIn(document.getElementById("f-latitude")), x = numberIn(document.getElementById("f-longitude"));
      if (y !== null && x !== null && Math.abs(y) <= 90 && Math.abs(x) <= 180) points.push([y, x]);
    }
    fit(map, points);
    if (kind === "checkpoints" || kind === "pick") drawCheckpoints(map, data, config);
    if (kind === "pick") enablePicking(map);
    if (kind === "route" || kind === "rounds") {
      var layer = L.layerGroup().addTo(map);
      drawRoutes(layer, routes, config);
      var shown = JSON.stringify(routes);
      if (kind === "rounds") {
        document.body.addEventListener("htmx:afterSettle", function () {
          var now = JSON.stringify(liveRoutes());
          if (now === shown) return;  // redrawing unchanged data would close an open popup every few seconds
          shown = now;
          drawRoutes(layer, liveRoutes(), config);
        });
      }
    }
    el.setAttribute("data-ready", "true");
  }

  // --- the route form: clicking a checkpoint adds its id to the ordered list ----------------------------------
  function enableCheckpointPicks() {
    document.querySelectorAll("button.pick-checkpoint").forEach(function (button) {
      button.addEventListener("click", function () {
        var target = document.getElementById(button.getAttribute("data-target"));
        if (!target) return;
        var id = button.getAttribute("data-checkpoint-id");
        var lines = target.value.split(/\s*[\n,，、;；]\s*|\s+/).filter(function (v) { return v; });
        if (lines.indexOf(id) < 0) lines.push(id);
        target.value = lines.join("\n");
      });
    });
  }

  // --- refresh ------------------------------------------------------------------------------------------------
  var lastInput = Date.now();
  function away(el) {
    var idle = parseInt(el.getAttribute("data-idle-seconds"), 10) || 1800;
    return Date.now() - lastInput > idle * 1000;
  }

  function tick() {
    var el = document.querySelector("[data-live-refresh]");
    if (!el) return;
    var paused = away(el);
    el.classList.toggle("live-paused", paused);
    if (!paused && document.visibilityState !== "hidden") el.dispatchEvent(new CustomEvent("patrol-refresh"));
  }

  function startRefresh() {
    var el = document.querySelector("[data-live-refresh]");
    if (!el) return;
    var seconds = parseInt(el.getAttribute("data-poll-seconds"), 10) || 5;
    ["pointerdown", "pointermove", "keydown", "scroll", "touchstart", "wheel"].forEach(function (name) {
      document.addEventListener(name, function () {
        var current = document.querySelector("[data-live-refresh]");
        var wasAway = current && away(current);
        lastInput = Date.now();
        if (wasAway) tick();
      }, {passive: true, capture: true});
    });
    window.setInterval(tick, seconds * 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    start();
    enableCheckpointPicks();
    startRefresh();
  });
})();
