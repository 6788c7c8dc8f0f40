/* Progressive enhancement for the customer page (maps/templates/page.html).
 * The server already rendered the results list; this adds the map and "use my location". Everything is local: Leaflet comes from /assets, data from the page itself. */
(function () {
  "use strict";

  var root = document.documentElement;
  root.classList.remove("no-js");
  root.classList.add("js");

  var dataEl = document.getElementById("locator-data");
  var data = null;
  try {
    data = dataEl ? JSON.parse(dataEl.textContent || "null") : null;
  } catch (e) {
    data = null;
  }
  var labels = (data && data.labels) || {};

  // The form's datetime-local value has no offset: the server reads it as local time at the searched
  // place (as the hint under the field says), with or without JavaScript, so nothing is added here.

  // "Use my location": fill lat/lon, drop the typed text (lat/lon and q are alternatives) and
  // submit the ordinary GET form, so the server renders the answer exactly as without JS.
  var locate = document.getElementById("locate");
  var status = document.getElementById("geo-status");
  var form = locate ? locate.form : null;
  if (locate && form && "geolocation" in navigator) {
    locate.hidden = false;
    locate.addEventListener("click", function () {
      if (status) status.textContent = labels.locating || "";
      locate.disabled = true;
      navigator.geolocation.getCurrentPosition(
        function (pos) {
          form.elements.lat.value = pos.coords.latitude.toFixed(6);
          form.elements.lon.value = pos.coords.longitude.toFixed(6);
          form.elements.q.value = "";
          form.submit();
        },
        function () {
          locate.disabled = false;
          if (status) status.textContent = labels.geo_denied || "";
          form.elements.q.focus();
        },
        { enableHighAccuracy: false, timeout: 15000, maximumAge: 300000 }
      );
    });
  }
  // A typed query replaces a previous position.
  if (form) {
    form.elements.q.addEventListener("input", function () {
      form.elements.lat.value = "";
      form.elements.lon.value = "";
    });
  }

  // After a search the answer is a new page whose form comes first: on a phone the results start a screen
  // further down, and a screen reader does not announce text a live region held at load. Go to the outcome.
  var outcome = document.querySelector(".error") || document.querySelector("#results-summary[tabindex]");
  if (outcome) outcome.focus();

  var mapEl = document.getElementById("map");
  if (!data || !mapEl || !window.L) return;

  var map = L.map(mapEl, { scrollWheelZoom: false });
  map.attributionControl.setPrefix(false);
  if (data.tiles && data.tiles.url) {
    L.tileLayer(data.tiles.url, { attribution: data.tiles.attribution || "", maxZoom: 19 }).addTo(map);
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text) node.textContent = text;  // never innerHTML: names come from vendor feeds
    return node;
  }

  function popupFor(p) {
    var box = el("div", "map-popup");
    var heading = el("strong", null, p.n + ". ");
    heading.appendChild(el("bdi", null, p.name));  // a right-to-left name stays apart from the number
    box.appendChild(heading);
    box.appendChild(el("div", null, p.kind_label + (p.distance ? " · " + p.distance : "")));
    (p.address || []).forEach(function (line) { box.appendChild(el("div", null, line)); });
    box.appendChild(el("div", "state", p.state));
    if (p.directions) {
      var a = el("a", null, labels.directions || "Directions");
      a.href = p.directions;
      a.rel = "noopener noreferrer";
      box.appendChild(a);
    }
    return box;
  }

  var bounds = [];
  var markers = [];
  if (data.origin) {
    L.marker([data.origin.lat, data.origin.lon], {
      icon: L.divIcon({ className: "origin-icon", html: "", iconSize: [18, 18] }),
      title: data.origin.label,
      alt: data.origin.label,
      keyboard: false
    }).addTo(map).bindTooltip(el("span", null, data.origin.label));  // a string would be parsed as HTML
    bounds.push([data.origin.lat, data.origin.lon]);
  }
  (data.places || []).forEach(function (p) {
    var state = p.open ? (p.closing_soon ? "closing-soon" : "open") : "closed";
    var badge = el("span", null, String(p.n));
    var m = L.marker([p.lat, p.lon], {
      icon: L.divIcon({
        className: "place-icon kind-" + p.kind + " state-" + state,
        html: badge.outerHTML,
        iconSize: [28, 28],
        iconAnchor: [14, 14],
        popupAnchor: [0, -14]
      }),
      title: p.title,
      riseOnHover: true
    }).addTo(map).bindPopup(popupFor(p));
    // Leaflet makes markers focusable; give the icon a name screen readers can announce.
    m.on("add", function () {
      var icon = m.getElement();
      if (icon) icon.setAttribute("aria-label", p.title);
    });
    var iconNode = m.getElement();
    if (iconNode) iconNode.setAttribute("aria-label", p.title);
    markers[p.n - 1] = m;
    bounds.push([p.lat, p.lon]);
  });

  if (bounds.length > 1) {
    map.fitBounds(bounds, { padding: [30, 30], maxZoom: 16 });
  } else if (bounds.length === 1) {
    map.setView(bounds[0], 14);
  } else {
    map.setView([0, 0], 2);
  }

  // List buttons open the place on the map, which keeps the map usable from the keyboard.
  Array.prototype.forEach.call(document.querySelectorAll(".show-on-map"), function (btn) {
    var m = markers[Number(btn.getAttribute("data-index"))];
    if (!m) return;
    btn.hidden = false;
    btn.addEventListener("click", function () {
      map.setView(m.getLatLng(), Math.max(map.getZoom(), 15));
      m.openPopup();
      if (mapEl.scrollIntoView) mapEl.scrollIntoView({ block: "nearest" });
    });
  });
  mapEl.setAttribute("data-ready", "true");
})();
