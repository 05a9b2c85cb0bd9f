// The quiz page and its submit page with JavaScript on: every answer is saved through the quiz
// API as it is given (PUT .../answers/<question id> with a sequence number that only grows, kept
// in localStorage so that a reload never reuses one), queued in localStorage while the connection
// is down and sent when it returns; the timer counts down and submits when time is up; submitting
// goes through the API too. Without JavaScript the same pages post ordinary forms.
import { applyValues, formReader, toApiAnswer, toFormValues } from "./answers.js";

const RETRY_FIRST_MS = 2000;
const RETRY_MAX_MS = 30000;
const TYPING_PAUSE_MS = 800;
const FLUSH_BEFORE_SUBMIT_MS = 10000;

const messageBlock = document.getElementById("quiz-messages");
const messages = messageBlock ? JSON.parse(messageBlock.textContent) : {};

function say(key, values = {}) {
  return (messages[key] ?? key).replace(/%\((\w+)\)[sd]/g, (_match, name) => String(values[name]));
}

// --- Talking to the API --------------------------------------------------------------------------

function apiClient(csrfToken) {
  async function call(method, url, body) {
    const response = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: {
        Accept: "application/json",
        "Content-Type": "application/json",
        "X-CSRFToken": csrfToken,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    return { status: response.status, ok: response.ok, data };
  }
  return {
    get: (url) => call("GET", url),
    put: (url, body) => call("PUT", url, body),
    post: (url, body) => call("POST", url, body ?? {}),
  };
}

// --- What this browser keeps for an attempt ------------------------------------------------------

class AttemptStore {
  constructor(attemptUrl) {
    this.prefix = `ilms:${attemptUrl}:`;
    this.memory = {};
  }

  read(key) {
    try {
      const raw = window.localStorage.getItem(this.prefix + key);
      if (raw !== null) return JSON.parse(raw);
    } catch {
      // Storage is off or full: this page still works from its memory copy.
    }
    return this.memory[key] ?? {};
  }

  write(key, value) {
    this.memory[key] = value;
    try {
      window.localStorage.setItem(this.prefix + key, JSON.stringify(value));
    } catch {
      // As above: keep going with the memory copy.
    }
  }

  clear() {
    this.memory = {};
    try {
      window.localStorage.removeItem(`${this.prefix}pending`);
      window.localStorage.removeItem(`${this.prefix}seq`);
    } catch {
      // Nothing to clear.
    }
  }
}

// --- The save queue ------------------------------------------------------------------------------

/**
 * Sends queued answers one at a time, in the order they were given. `problem` says why it
 * stopped: "offline", "server" (5xx), "session" (logged out) or "submitted" (the attempt ended).
 */
class Saver {
  constructor({ api, store, attemptUrl, onQuestion, onChange, onReplaced }) {
    Object.assign(this, { api, store, attemptUrl, onQuestion, onChange, onReplaced });
    this.problem = null;
    this.running = null;
    this.retryDelay = RETRY_FIRST_MS;
    this.retryTimer = null;
    this.savedOnce = false;
  }

  pending() {
    return this.store.read("pending");
  }

  nextSeq(questionId, serverSeq) {
    const seqs = this.store.read("seq");
    const seq = Math.max(seqs[questionId] ?? 0, serverSeq) + 1;
    seqs[questionId] = seq;
    this.store.write("seq", seqs);
    return seq;
  }

  raiseSeq(questionId, seq) {
    const seqs = this.store.read("seq");
    if ((seqs[questionId] ?? 0) < seq) {
      seqs[questionId] = seq;
      this.store.write("seq", seqs);
    }
  }

  queue(questionId, answer, serverSeq) {
    if (this.problem === "submitted") return;
    const pending = this.pending();
    pending[questionId] = { answer, seq: this.nextSeq(questionId, serverSeq) };
    this.store.write("pending", pending);
    this.onQuestion(questionId, navigator.onLine ? "saving" : "queued");
    this.flush();
  }

  /** Send everything queued; resolves when the queue is empty or sending has to wait. */
  flush() {
    if (!this.running) {
      this.running = this.drain().finally(() => {
        this.running = null;
        if (this.problem && this.problem !== "submitted") {
          for (const questionId of Object.keys(this.pending())) this.onQuestion(questionId, "queued");
        }
        this.onChange();
        this.scheduleRetry();
      });
    }
    this.onChange();
    return this.running;
  }

  async drain() {
    if (this.problem === "submitted") return;
    for (;;) {
      const [questionId, item] = Object.entries(this.pending())[0] ?? [];
      if (questionId === undefined) {
        if (this.problem !== "session") this.problem = null;
        return;
      }
      if (!navigator.onLine) {
        this.problem = "offline";
        return;
      }
      if (!(await this.send(questionId, item))) return;
    }
  }

  /** One save; false when sending must stop for now. */
  async send(questionId, item) {
    let result;
    try {
      result = await this.api.put(`${this.attemptUrl}/answers/${questionId}`, item);
    } catch {
      this.problem = "offline";
      return false;
    }
    if (result.ok) {
      this.problem = null;
      this.retryDelay = RETRY_FIRST_MS;
      this.settle(questionId, item.seq, "saved");
      return true;
    }
    if (result.status === 401) {
      this.problem = "session";
      return false;
    }
    if (![400, 404, 409].includes(result.status)) {
      this.problem = "server";
      return false;
    }
    return this.refused(questionId, item, result);
  }

  /** A 400, 404 or 409: ask the server how the attempt stands to tell the cases apart. */
  async refused(questionId, item, result) {
    let attempt;
    try {
      attempt = await this.api.get(this.attemptUrl);
    } catch {
      this.problem = "offline";
      return false;
    }
    if (attempt.status === 401) {
      this.problem = "session"; // a 400 for an expired CSRF token once the session ended
      return false;
    }
    if (attempt.ok && attempt.data.state !== "open") {
      this.problem = "submitted";
      this.store.write("pending", {});
      this.onChange();
      return false;
    }
    const saved = attempt.data?.answers?.[questionId];
    if (result.status === 409 && saved) {
      // A newer answer (from another window) is already saved: it stays, and this page shows it.
      this.raiseSeq(questionId, saved.seq);
      this.settle(questionId, item.seq, "replaced");
      this.onReplaced(questionId, saved.answer);
      return true;
    }
    this.settle(questionId, item.seq, "error", result.data?.error?.message ?? "");
    return true;
  }

  settle(questionId, seq, state, message) {
    const pending = this.pending();
    if (pending[questionId]?.seq === seq) {
      delete pending[questionId];
      this.store.write("pending", pending);
      this.savedOnce = this.savedOnce || state === "saved" || state === "replaced";
      this.onQuestion(questionId, state, message);
    }
  }

  scheduleRetry() {
    window.clearTimeout(this.retryTimer);
    if (this.problem === "submitted" || !Object.keys(this.pending()).length) return;
    this.retryTimer = window.setTimeout(() => this.flush(), this.retryDelay);
    this.retryDelay = Math.min(this.retryDelay * 2, RETRY_MAX_MS);
  }

  /** The text of the page-wide save state. */
  summary() {
    const waiting = Object.keys(this.pending()).length > 0;
    if (this.problem === "submitted") return say("submitted");
    if (this.problem === "session") return say("session");
    if (this.problem === "offline" || !navigator.onLine) return say("offline");
    if (this.problem === "server") return say("retrying");
    if (waiting || this.running) return say("saving");
    return this.savedOnce ? say("allSaved") : "";
  }
}

// --- The quiz page -------------------------------------------------------------------------------

function setStatus(element, text, state) {
  if (!element) return;
  if (element.textContent !== text) element.textContent = text;
  if (state) element.dataset.state = state;
}

function questionState(section, state, message) {
  const element = section.querySelector(".save-state");
  const texts = {
    saved: say("saved"),
    replaced: say("replaced"),
    saving: say("saving"),
    queued: say("queued"),
    incomplete: say("incomplete"),
    submitted: "",
    error: say("notSaved", { message }),
  };
  setStatus(element, texts[state] ?? "", state);
}

function setUpQuiz(form) {
  const attemptUrl = form.dataset.attemptUrl;
  const store = new AttemptStore(attemptUrl);
  const read = formReader(form);
  const status = document.getElementById("quiz-status");
  const sections = new Map();
  for (const section of form.querySelectorAll("[data-question]")) {
    const spec = JSON.parse(section.dataset.question);
    sections.set(String(spec.id), { section, spec, serverSeq: Number(section.dataset.seq) });
  }
  const saver = new Saver({
    api: apiClient(form.dataset.csrfToken),
    store,
    attemptUrl,
    onQuestion: (id, state, message) => {
      const entry = sections.get(String(id));
      if (entry) questionState(entry.section, state, message);
    },
    onChange: () => {
      setStatus(status, saver.summary(), saver.problem ?? "ok");
      if (saver.problem === "submitted") showEnded(form, status, sections);
    },
    onReplaced: (id, answer) => {
      const entry = sections.get(String(id));
      if (!entry) return;
      applyValues(form, toFormValues(entry.spec, answer));
      entry.last = JSON.stringify(answer);
    },
  });

  // Answers queued by an earlier visit (a reload while offline) are shown, then sent.
  const queued = saver.pending();
  for (const [id, entry] of sections) {
    if (queued[id]) {
      applyValues(form, toFormValues(entry.spec, queued[id].answer));
      questionState(entry.section, "queued");
    }
    entry.last = JSON.stringify(toApiAnswer(entry.spec, read) ?? null);
  }

  function save(entry) {
    let answer;
    try {
      answer = toApiAnswer(entry.spec, read);
    } catch {
      return; // a value the page did not render: nothing to send
    }
    if (answer === undefined) {
      questionState(entry.section, "incomplete");
      return;
    }
    const key = JSON.stringify(answer);
    if (key === entry.last) return;
    entry.last = key;
    saver.queue(entry.spec.id, answer, entry.serverSeq);
  }

  function entryOf(element) {
    const section = element.closest("[data-question]");
    return section ? sections.get(String(JSON.parse(section.dataset.question).id)) : undefined;
  }

  const typing = new Map();
  form.addEventListener("change", (event) => {
    const entry = entryOf(event.target);
    if (!entry) return;
    window.clearTimeout(typing.get(entry));
    save(entry);
  });
  form.addEventListener("input", (event) => {
    const entry = entryOf(event.target);
    if (!entry || !event.target.matches("input[type='text'], textarea")) return;
    window.clearTimeout(typing.get(entry));
    typing.set(entry, window.setTimeout(() => save(entry), TYPING_PAUSE_MS));
  });

  async function saveAll() {
    for (const entry of sections.values()) {
      window.clearTimeout(typing.get(entry));
      save(entry);
    }
    await saver.flush();
    return !Object.keys(saver.pending()).length && saver.problem !== "submitted";
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const review = event.submitter?.name === "review";
    const done = await saveAll();
    if (saver.problem === "submitted") {
      window.location.assign(form.dataset.resultsUrl);
    } else if (review && done) {
      window.location.assign(form.dataset.confirmUrl);
    } else if (review) {
      setStatus(status, say("waitForConnection"), "waiting");
    } else if (done) {
      setStatus(status, say("allSaved"), "ok");
    }
  });

  window.addEventListener("online", () => saver.flush());
  window.addEventListener("offline", () => saver.onChange());
  saver.flush();
  startTimer(async () => {
    await withTimeout(saveAll(), FLUSH_BEFORE_SUBMIT_MS);
    if (!(await submitAttempt(saver, form.dataset.resultsUrl))) {
      setStatus(status, say("submitFailed"), "failed");
    }
  });
}

/** The attempt was submitted elsewhere or closed when time ran out: say so and link the results. */
function showEnded(form, status, sections) {
  for (const { section } of sections.values()) questionState(section, "submitted");
  if (document.getElementById("quiz-ended-link")) return;
  const link = document.createElement("a");
  link.id = "quiz-ended-link";
  link.href = form.dataset.resultsUrl;
  link.textContent = say("seeResults");
  status.after(link);
}

// --- Submitting ----------------------------------------------------------------------------------

function withTimeout(promise, ms) {
  return Promise.race([promise, new Promise((resolve) => window.setTimeout(resolve, ms))]);
}

/** POST the submit; true when the attempt is submitted (then the results page opens). */
async function submitAttempt(saver, resultsUrl) {
  let result;
  try {
    result = await saver.api.post(`${saver.attemptUrl}/submit`);
  } catch {
    return false;
  }
  if (!result.ok) return false;
  saver.store.clear();
  window.location.assign(resultsUrl);
  return true;
}

function setUpSubmit(form) {
  const attemptUrl = form.dataset.attemptUrl;
  const button = form.querySelector("button[type='submit']");
  const status = document.getElementById("quiz-status");
  const saver = new Saver({
    api: apiClient(form.dataset.csrfToken),
    store: new AttemptStore(attemptUrl),
    attemptUrl,
    onQuestion: () => {},
    onChange: () => {},
    onReplaced: () => {},
  });
  let sending = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (sending) return; // a double click sends one submit
    sending = true;
    button.disabled = true;
    setStatus(status, say("submitting"), "submitting");
    await saver.flush();
    const ready = !Object.keys(saver.pending()).length || saver.problem === "submitted";
    if (ready && (await submitAttempt(saver, form.dataset.resultsUrl))) return;
    setStatus(status, say(ready ? "submitFailed" : "waitForConnection"), "failed");
    sending = false;
    button.disabled = false;
    button.focus();
  });
  startTimer(() => form.requestSubmit());
}

// --- The timer -----------------------------------------------------------------------------------

function clock(ms) {
  const total = Math.max(Math.ceil(ms / 1000), 0);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${seconds}` : `${minutes}:${seconds}`;
}

/**
 * Count down to the deadline. The visible clock changes every second but is not announced; the
 * polite announcement speaks every five minutes and at one minute left, and the clock turns into a
 * warning from five minutes. `whenUp` runs once, when time is up.
 */
function startTimer(whenUp) {
  const timer = document.getElementById("quiz-timer");
  if (!timer) return;
  const announcer = document.getElementById("timer-announcement");
  const announcements = JSON.parse(timer.dataset.announcements || "{}");
  const skew = Date.parse(timer.dataset.now) - Date.now();
  const deadline = Date.parse(timer.dataset.deadline);
  let lastMinute = null;
  let interval = null;
  const tick = () => {
    const left = deadline - (Date.now() + skew);
    setStatus(timer, say("timeLeft", { time: clock(left) }));
    const minute = Math.ceil(left / 60000);
    if (lastMinute !== null && minute !== lastMinute && announcements[minute]) {
      setStatus(announcer, announcements[minute]);
    }
    lastMinute = minute;
    timer.classList.toggle("quiz-timer-warning", left <= 5 * 60000);
    if (left <= 0) {
      window.clearInterval(interval);
      setStatus(announcer, say("timeUp"));
      whenUp();
    }
  };
  tick();
  interval = window.setInterval(tick, 1000);
}

// --- Start ---------------------------------------------------------------------------------------

const summary = document.querySelector(".error-summary");
if (summary) summary.focus();
const quizForm = document.getElementById("quiz-form");
if (quizForm) setUpQuiz(quizForm);
const submitForm = document.getElementById("submit-form");
if (submitForm) setUpSubmit(submitForm);
