// Copy buttons: <button data-copy="#element-id">. Nothing else runs here.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button) { return; }
  var source = document.querySelector(button.getAttribute("data-copy"));
  if (!source) { return; }
  var text = source.value !== undefined ? source.value : source.textContent;
  if (navigator.clipboard) {
    navigator.clipboard.writeText(text.trim()).then(function () {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = "Copy"; }, 1500);
    });
  } else if (source.select) {
    source.select();
  }
});

// "Try": the page after the button follows its link at once. It is a script navigation, not a
// redirect of the form post, so the form-action policy does not block the tenant's host.
document.addEventListener("DOMContentLoaded", function () {
  var next = document.querySelector("a[data-auto-follow]");
  if (next) { window.location.assign(next.href); }
});
