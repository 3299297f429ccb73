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

  // An action button that asks first (data-confirm) inside a form htmx posts: hx-confirm would
  // ask the form's one question, so ask the button's own, and send confirm=1 once agreed, as
  // the confirmation page does without JavaScript.
  function asking(evt) {
    var submitter = evt.detail.triggeringEvent && evt.detail.triggeringEvent.submitter;
    return submitter && submitter.dataset.confirm ? submitter : null;
  }
  document.addEventListener("htmx:confirm", function (evt) {
    var button = asking(evt);
    if (!button) { return; }
    evt.preventDefault();
    if (window.confirm(button.dataset.confirm)) { evt.detail.issueRequest(true); }
  });
  document.addEventListener("htmx:configRequest", function (evt) {
    if (asking(evt)) { evt.detail.parameters.confirm = "1"; }
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
