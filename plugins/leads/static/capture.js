// Campaign page: copy the embeddable form's HTML to the clipboard.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (!source) return;
  const done = () => { const label = button.textContent; button.textContent = button.dataset.copied || label;
    setTimeout(() => { button.textContent = label; }, 1500); };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(source.value).then(done, () => { source.select(); document.execCommand("copy"); done(); });
  } else { source.select(); document.execCommand("copy"); done(); }
});
