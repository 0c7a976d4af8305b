// A <select data-autosubmit> submits its form when changed (the Content-Security-Policy forbids inline handlers).
document.addEventListener("change", (event) => {
  const field = event.target;
  if (field instanceof HTMLElement && field.hasAttribute("data-autosubmit") && field.form) {
    field.form.submit();
  }
});
