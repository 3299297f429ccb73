// ckbiz: the few behaviours htmx does not cover. No inline scripts anywhere (CSP).
(function () {
  "use strict";

  function toast(message, level) {
    var box = document.getElementById("toast");
    if (!box || !message) { return; }
    box.textContent = message;
    box.className = "toast" + (level === "error" ? " error" : "");
    box.hidden = false;
    clearTimeout(box._timer);
    box._timer = setTimeout(function () { box.hidden = true; }, 6000);
  }

  // Server-sent messages for htmx requests: HX-Trigger {"showMessage": {...}}.
  document.addEventListener("showMessage", function (evt) {
    toast(evt.detail.message, evt.detail.level);
  });

  // htmx does not swap 4xx/5xx; say what went wrong instead of failing silently.
  document.addEventListener("htmx:responseError", function (evt) {
    var xhr = evt.detail.xhr;
    var text = xhr.getResponseHeader("Content-Type") || "";
    toast(text.indexOf("text/plain") === 0 ? xhr.responseText
          : "Не удалось выполнить действие (" + xhr.status + "). Обновите страницу.", "error");
  });
  document.addEventListener("htmx:sendError", function () {
    toast("Нет связи с сервером. Проверьте подключение и повторите.", "error");
  });

  // Dialogs delivered as fragments open themselves and go away when closed.
  // The swapped element may be the dialog itself (an outerHTML swap) or hold one.
  document.addEventListener("htmx:afterSettle", function (evt) {
    var elt = evt.detail.elt;
    var dialogs = elt.querySelectorAll ? Array.prototype.slice.call(elt.querySelectorAll("dialog[data-autoopen]")) : [];
    if (elt.matches && elt.matches("dialog[data-autoopen]")) { dialogs.push(elt); }
    dialogs.forEach(function (d) {
      if (!d.open) { d.showModal(); }
      d.addEventListener("close", function () { d.remove(); }, { once: true });
    });
  });
  // «↻»: a new captcha image without reloading the form.
  document.addEventListener("click", function (evt) {
    var refresh = evt.target.closest("[data-refresh-captcha]");
    if (!refresh) { return; }
    evt.preventDefault();
    document.getElementById("captcha-image").src = refresh.dataset.refreshCaptcha + "?" + Date.now();
  });
  document.addEventListener("click", function (evt) {
    var closer = evt.target.closest("[data-close-dialog]");
    var dialog = closer && closer.closest("dialog");
    if (dialog) { evt.preventDefault(); dialog.close(); }
  });
})();
