// Företagslotsen: progressive enhancement only; every page works without JavaScript.
document.querySelectorAll("[data-confirm]").forEach((element) => {
  element.addEventListener("click", (event) => {
    if (!window.confirm(element.dataset.confirm)) event.preventDefault();
  });
});
document.querySelectorAll("[data-autosubmit]").forEach((element) => {
  element.addEventListener("change", () => element.form && element.form.requestSubmit());
});
// After a failed submit the error summary takes the focus, so that screen readers and
// keyboard users start from the list of what to correct.
const errorSummary = document.getElementById("error-summary");
if (errorSummary) {
  errorSummary.focus();
  errorSummary.scrollIntoView({ block: "start" });
}
