// The assistant's chat panel with JavaScript (issue 22): the same form, sent with fetch to the
// API (POST /api/v1/assistant/conversations and …/{id}/messages); new turns are added to the
// aria-live log, so screen readers announce them. Without JavaScript the form posts the page.
(function () {
  "use strict";
  var form = document.getElementById("ask");
  var log = document.getElementById("log");
  var error = document.getElementById("error");
  var input = document.getElementById("question");
  var idField = document.getElementById("conversation-id");
  var i18n = document.getElementById("i18n");
  if (!form || !log || !window.fetch) return;
  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  var API = "/api/v1/assistant/conversations";
  var lang = document.documentElement.lang === "en" ? "en" : "zh-hant";

  function call(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf, "Accept-Language": lang},
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) throw data;
        return data;
      });
    });
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  }

  function handoffLink(url) {
    var p = el("p");
    var a = el("a", "btn secondary handoff", i18n.dataset.handoff);
    a.href = url;
    p.appendChild(a);
    return p;
  }

  function addTurn(t, handoffUrl) {
    var li = el("li", "turn " + t.role);
    li.id = "turn-" + t.id;
    li.dataset.kind = t.kind;
    li.lang = t.language === "en" ? "en" : "zh-Hant-HK";
    li.appendChild(el("p", "who visually-hidden", t.role === "person" ? i18n.dataset.you : i18n.dataset.assistant));
    if (t.kind === "answer") {
      li.appendChild(el("blockquote", "quote", t.text));
      t.sources.forEach(function (s) {
        var p = el("p", "source", i18n.dataset.from + " ");
        var a = el("a", "", s.title);
        a.href = s.url;
        p.appendChild(a);
        li.appendChild(p);
      });
    } else {
      li.appendChild(el("p", "", t.text));
    }
    if (t.kind === "clarify") {
      var ol = el("ol", "choices");
      t.sources.forEach(function (s, n) {
        var item = el("li");
        var b = el("button", "btn secondary choice", s.title);
        b.type = "button";
        b.addEventListener("click", function () { send({choice: n + 1}); });
        item.appendChild(b);
        ol.appendChild(item);
      });
      li.appendChild(ol);
    }
    if (t.kind === "handoff" || t.kind === "refuse") li.appendChild(handoffLink(handoffUrl));
    log.appendChild(li);
  }

  function showError(data) {
    error.textContent = (data && data.message) || i18n.dataset.failed;
    error.hidden = false;
    input.setAttribute("aria-invalid", "true");
  }

  function conversation() {
    if (idField.value) return Promise.resolve(idField.value);
    return call(API, {language: lang}).then(function (c) {
      idField.value = c.id;
      log.innerHTML = "";
      c.turns.forEach(function (t) { addTurn(t, c.handoff_url); });
      history.replaceState(null, "", "?c=" + encodeURIComponent(c.id));
      return c.id;
    });
  }

  function send(body) {
    error.hidden = true;
    input.removeAttribute("aria-invalid");
    if (body.text !== undefined && !body.text.trim()) {  // the server says the same (question_empty)
      showError({message: i18n.dataset.empty});
      return;
    }
    conversation().then(function (id) {
      return call(API + "/" + encodeURIComponent(id) + "/messages", body);
    }).then(function (out) {
      addTurn(out.question, out.conversation.handoff_url);
      addTurn(out.answer, out.conversation.handoff_url);
      if (body.text !== undefined) input.value = "";
      input.focus();
    }).catch(showError);
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    send({text: input.value});
  });
  // Choices shown by the server (page loaded with a clarifying question) answer through the API too.
  Array.prototype.forEach.call(document.querySelectorAll(".choices button[name=choice]"), function (b) {
    b.addEventListener("click", function (ev) {
      ev.preventDefault();
      send({choice: parseInt(b.value, 10)});
    });
  });
})();
