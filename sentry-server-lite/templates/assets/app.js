// Progressive enhancements only; every page works without JavaScript.
document.addEventListener("click", function (e) {
  var copy = e.target.closest("[data-copy]");
  if (copy) {
    var field = document.getElementById(copy.getAttribute("data-copy"));
    field.select();
    if (navigator.clipboard) { navigator.clipboard.writeText(field.value); } else { document.execCommand("copy"); }
    copy.textContent = "Copied";
  }
  var confirmIt = e.target.closest("[data-confirm]");
  if (confirmIt && !window.confirm(confirmIt.getAttribute("data-confirm"))) { e.preventDefault(); }
});
document.addEventListener("change", function (e) {
  if (e.target.matches("[data-select-all]")) {
    document.querySelectorAll('input[name="id"][form="bulk"]').forEach(function (box) { box.checked = e.target.checked; });
  }
});
