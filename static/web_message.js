// response_mode=web_message (Auth0's): hands the authorization response to the application's
// window, the parent of a silent-authentication iframe or the opener of a login popup, and to
// that window only if it is at the application's origin (postMessage's target origin).
(function () {
  var el = document.getElementById("web-message");
  var target = window.opener || (window.parent !== window ? window.parent : null);
  if (!el || !target) { return; }
  target.postMessage(
    { type: "authorization_response", response: JSON.parse(el.getAttribute("data-response")) },
    el.getAttribute("data-origin")
  );
})();
