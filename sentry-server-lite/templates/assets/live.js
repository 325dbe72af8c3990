// The live page: one list item per committed event or log (text only, never HTML).
(function () {
  "use strict";
  var feed = document.getElementById("feed");
  var status = document.getElementById("status");
  var MAX = 500;
  function line(item) {
    if (item.type === "event") {
      return "event [" + item.level + "] " + item.title + " (" + item.eventId + ")";
    }
    if (item.type === "log") {
      return "log [" + item.level + "] " + item.body + (item.traceId ? " trace " + item.traceId : "");
    }
    return "envelope: " + (item.items || []).join(", ") + " (" + item.bytes + " bytes)";
  }
  var source = new EventSource("/live/events");
  source.onopen = function () { status.textContent = "live"; };
  source.onerror = function () { status.textContent = "disconnected, retrying…"; };
  source.addEventListener("item", function (e) {
    var item;
    try { item = JSON.parse(e.data); } catch (_) { return; }
    var li = document.createElement("li");
    li.className = "live-" + item.type + " level-" + (item.level || "");
    li.textContent = (item.timestamp ? item.timestamp + " " : "") + line(item);
    feed.insertBefore(li, feed.firstChild);
    while (feed.children.length > MAX) { feed.removeChild(feed.lastChild); }
  });
})();
