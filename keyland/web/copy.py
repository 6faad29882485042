"""The copy button: the pages' only JavaScript, inline and allowed by its hash.

A button ``data-copy="<text>"`` copies that text and then reads ``data-done``. Where the
Clipboard API is missing (a page over plain HTTP that is not on this machine is no
secure context) it falls back to selecting the text and ``execCommand('copy')``.
"""

from __future__ import annotations

from keyland.web.html import Html, element

COPY_SCRIPT = """
document.querySelectorAll("button[data-copy]").forEach((button) => {
  const done = () => { button.textContent = button.dataset.done; };
  button.addEventListener("click", () => {
    const text = button.dataset.copy;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, () => fallback(text) && done());
    } else if (fallback(text)) {
      done();
    }
  });
});
function fallback(text) {
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "absolute";
  area.style.left = "-9999px";
  document.body.appendChild(area);
  area.select();
  const copied = document.execCommand("copy");
  area.remove();
  return copied;
}
"""


def copy_button(text: str, *, label: str, done_label: str, id: str | None = None) -> Html:
    """A button that copies ``text``, then says ``done_label``; without JavaScript the
    text stays on the page to copy by hand."""
    return element(
        "button", label, type="button", class_="copy", id=id, data_copy=text, data_done=done_label
    )
