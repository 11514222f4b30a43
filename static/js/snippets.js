// Reply snippets: choosing one inserts its text (already in the customer's language, with their
// name and the incident's reference) into the field it belongs to. No inline script: the CSP.
document.addEventListener("change", function (event) {
  var select = event.target;
  if (!select.matches || !select.matches("select[data-snippet-target]")) return;
  var option = select.options[select.selectedIndex];
  var field = document.getElementById(select.getAttribute("data-snippet-target"));
  if (!field || !option || !option.getAttribute("data-text")) return;
  var text = option.getAttribute("data-text");
  field.value = field.value.trim() ? field.value.replace(/\s+$/, "") + "\n\n" + text : text;
  field.dispatchEvent(new Event("input", { bubbles: true }));
  field.focus();
  select.selectedIndex = 0;
});
