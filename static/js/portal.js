// Företagslotsen: progressive enhancement only; every page works without JavaScript.
document.querySelectorAll("[data-confirm]").forEach((element) => {
  element.addEventListener("click", (event) => {
    if (!window.confirm(element.dataset.confirm)) event.preventDefault();
  });
});
document.querySelectorAll("[data-autosubmit]").forEach((element) => {
  element.addEventListener("change", () => element.form && element.form.requestSubmit());
});
// "Infoga": quote a unit's contribution into the answer box at the cursor.
document.querySelectorAll("[data-insert-into]").forEach((button) => {
  button.addEventListener("click", () => {
    const box = document.getElementById(button.dataset.insertInto);
    const source = document.getElementById(button.dataset.insertFrom);
    if (!box || !source) return;
    const text = source.textContent.trim();
    const start = box.selectionStart ?? box.value.length;
    const end = box.selectionEnd ?? box.value.length;
    const before = box.value.slice(0, start);
    const glue = before && !before.endsWith("\n\n") ? (before.endsWith("\n") ? "\n" : "\n\n") : "";
    box.value = before + glue + text + "\n\n" + box.value.slice(end);
    box.focus();
    const caret = (before + glue + text + "\n\n").length;
    box.setSelectionRange(caret, caret);
  });
});
// Wide tables: secondary columns fold away until "Visa alla kolumner" is pressed.
document.querySelectorAll("[data-collapsible]").forEach((section) => {
  const button = section.querySelector("[data-toggle-columns]");
  if (!button) return;
  const show = (all) => {
    section.classList.toggle("columns-collapsed", !all);
    button.setAttribute("aria-expanded", String(all));
    button.textContent = all ? button.dataset.hide : button.dataset.show;
  };
  show(false);
  button.hidden = false;
  button.addEventListener("click", () => show(section.classList.contains("columns-collapsed")));
});
// An action item's owner list shows only the chosen unit's people.
document.querySelectorAll("[data-owner-filter]").forEach((unitSelect) => {
  const ownerSelect = document.getElementById(unitSelect.dataset.ownerFilter);
  if (!ownerSelect) return;
  const filter = () => {
    const unit = unitSelect.value;
    Array.from(ownerSelect.options).forEach((option) => {
      if (!option.value) return;
      const fits = Boolean(unit) && (option.dataset.units || "").split(" ").includes(unit);
      option.hidden = !fits;
      option.disabled = !fits;
      if (!fits && option.selected) ownerSelect.value = "";
    });
  };
  unitSelect.addEventListener("change", filter);
  filter();
});
// After a failed submit the error summary takes the focus, so that screen readers and
// keyboard users start from the list of what to correct.
const errorSummary = document.getElementById("error-summary");
if (errorSummary) {
  errorSummary.focus();
  errorSummary.scrollIntoView({ block: "start" });
}
