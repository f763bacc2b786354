// Submits the response_mode=form_post form as soon as the page loads (the button remains for
// browsers without JavaScript).
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("form-post");
  if (form) { form.submit(); }
});
