// Presence: while the agent types into a form of the incident page, its presence ping says
// "editing" (the hidden #presence-editing the htmx ping includes); 30 s after the last keystroke
// it says "viewing" again. No inline script: the CSP.
(function () {
  var idle = null;
  document.addEventListener("input", function (event) {
    var flag = document.getElementById("presence-editing");
    var form = event.target.closest ? event.target.closest("form") : null;
    if (!flag || !form || form.id === "presence-ping") return;
    flag.value = "1";
    clearTimeout(idle);
    idle = setTimeout(function () { flag.value = "0"; }, 30000);
  });
})();
