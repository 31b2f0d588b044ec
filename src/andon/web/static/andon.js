// andon dashboard: a little progressive enhancement. Every page works without it; with it, the review
// queue is driven from the keyboard and a decision can be taken back for a few seconds before it is sent.
(function () {
  "use strict";

  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    if (tag === "textarea" || tag === "select") return true;
    if (tag !== "input") return false;
    var type = (target.getAttribute("type") || "text").toLowerCase();
    return ["radio", "checkbox", "button", "submit"].indexOf(type) < 0;
  }

  function reviewQueue(root) {
    var form = document.getElementById("decide-form");
    if (!form) return;
    var bar = document.getElementById("undo-bar");
    var text = document.getElementById("undo-text");
    var undo = document.getElementById("undo");
    var now = document.getElementById("send-now");
    var submit = document.getElementById("decide-submit");
    var skip = document.getElementById("skip");
    var wait = parseInt(root.getAttribute("data-undo-ms"), 10) || 0;
    var timer = null;

    function chosen() {
      var picked = form.querySelector("input[name=label]:checked") || form.querySelector("input[name=label]");
      return picked ? picked.value : "";
    }

    function cancel() {
      if (timer === null) return;
      window.clearTimeout(timer);
      timer = null;
      bar.hidden = true;
      submit.disabled = false;
      form.removeAttribute("data-pending");
      var first = form.querySelector("input[name=label]:checked") || form.querySelector("input");
      if (first) first.focus();
    }

    form.addEventListener("submit", function (event) {
      if (wait <= 0) return;  // no undo window: the form is sent as it would be without script
      event.preventDefault();
      if (timer !== null) return;
      submit.disabled = true;
      form.setAttribute("data-pending", "1");
      text.textContent = text.getAttribute("data-pending").replace("{label}", chosen());
      bar.hidden = false;
      undo.focus();
      timer = window.setTimeout(function () {
        timer = null;
        form.submit();  // does not fire "submit" again
      }, wait);
    });
    function sendNow() {
      if (timer === null) return;
      window.clearTimeout(timer);
      timer = null;
      form.submit();
    }

    undo.addEventListener("click", cancel);
    now.addEventListener("click", sendNow);

    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      var key = event.key;
      if (key === "u" || key === "U" || (key === "Escape" && timer !== null)) {
        if (timer !== null) { event.preventDefault(); cancel(); }
        return;
      }
      if (timer !== null) {
        if (key === "Enter") { event.preventDefault(); sendNow(); }
        return;
      }
      if (typing(event.target)) return;
      if (/^[1-9]$/.test(key)) {
        var radio = form.querySelector('input[name=label][data-key="' + key + '"]');
        if (radio) { event.preventDefault(); radio.checked = true; radio.focus(); }
      } else if (key === "Enter") {
        if (event.target && event.target.tagName && event.target.tagName.toLowerCase() === "button") return;
        event.preventDefault();
        form.requestSubmit();
      } else if ((key === "s" || key === "S") && skip) {
        event.preventDefault();
        skip.click();
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.querySelector(".review[data-undo-ms]");
    if (root) reviewQueue(root);
  });

  // --- webtraces ---
  // "Copy citation": the citation is selectable text without script; with it, one button copies it.
  function copyButtons() {
    var buttons = document.querySelectorAll("button[data-copy]");
    Array.prototype.forEach.call(buttons, function (button) {
      var source = document.getElementById(button.getAttribute("data-copy"));
      var status = document.getElementById(button.id + "-status");
      if (!source) return;
      function say(text) { if (status) status.textContent = text; }
      function byHand() {
        source.focus();
        source.select();
        var done = false;
        try { done = document.execCommand("copy"); } catch (e) { done = false; }
        say(button.getAttribute(done ? "data-copied" : "data-failed"));
      }
      button.hidden = false;
      button.addEventListener("click", function () {
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(source.value).then(function () {
            say(button.getAttribute("data-copied"));
          }, byHand);
        } else {
          byHand();
        }
      });
    });
  }
  document.addEventListener("DOMContentLoaded", copyButtons);
  // --- end webtraces ---
})();
