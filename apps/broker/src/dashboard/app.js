// Dashboard entry: login, a poll of the management API every second, and the shared UI plumbing.
/* global document, window */
import { ApiError, api, forgetCredentials, saveCredentials, savedCredentials } from './api.js';
import { DeadLetterPanel } from './dead-letters.js';
import { $, setText } from './dom.js';
import { TimeAxis } from './history.js';
import { Overview, renderConnections } from './overview.js';
import { QueueTable } from './queues.js';

const POLL_MS = 1000;

const errorBanner = $('#error');
const noticeBanner = $('#notice');
let noticeTimer;
let pollTimer;
let polling = false;

const ui = {
  failed(err) {
    if (err instanceof ApiError && err.status === 401) {
      showLogin('Your session was refused by the broker: log in again.');
      return;
    }
    setText(errorBanner, err instanceof Error ? err.message : String(err));
    errorBanner.hidden = false;
  },
  notify(text) {
    setText(noticeBanner, text);
    noticeBanner.hidden = false;
    window.clearTimeout(noticeTimer);
    noticeTimer = window.setTimeout(() => (noticeBanner.hidden = true), 6000);
  },
  refresh() {
    schedule(0);
  },
  /** A modal yes/no question; resolves true when the user chose `action`. */
  confirm(title, text, action) {
    const dialog = $('#confirm');
    setText($('#confirm-title'), title);
    setText($('#confirm-text'), text);
    setText($('#confirm-ok'), action);
    dialog.returnValue = '';
    dialog.showModal();
    return new Promise((resolve) =>
      dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true }),
    );
  },
};

let views;

function clearError() {
  errorBanner.hidden = true;
}

async function poll() {
  if (polling) return;
  polling = true;
  try {
    const [overview, queues, connections] = await Promise.all([
      api('/api/overview'),
      api('/api/queues'),
      api('/api/connections'),
    ]);
    // Bindings only matter for dead-letter targets behind a named exchange.
    const viaExchange = queues.some((q) => q.options?.deadLetter?.exchange);
    const bindings = viaExchange ? await api('/api/bindings') : [];
    const now = Date.now();
    views.axis.tick();
    views.overview.update(overview, now, views.axis.slots);
    views.queues.update(queues, now, views.axis.slots);
    views.deadLetters.update(queues, bindings);
    renderConnections(connections, now);
    clearError();
    schedule(POLL_MS);
  } catch (err) {
    ui.failed(err);
    if (!(err instanceof ApiError && err.status === 401)) schedule(POLL_MS * 2);
  } finally {
    polling = false;
  }
}

function schedule(delay) {
  window.clearTimeout(pollTimer);
  if (!savedCredentials()) return;
  pollTimer = window.setTimeout(() => void poll(), delay);
}

function showLogin(message) {
  window.clearTimeout(pollTimer);
  forgetCredentials();
  $('#app').hidden = true;
  $('#session').hidden = true;
  $('#login').hidden = false;
  if (message) ui.failed(message);
  else clearError();
  $('#login-form').elements.namedItem('username').focus();
}

function showApp() {
  const credentials = savedCredentials();
  $('#login').hidden = true;
  $('#app').hidden = false;
  $('#session').hidden = false;
  setText($('#session-user'), credentials ? `Signed in as ${credentials.username}` : '');
  views ??= {
    axis: new TimeAxis(),
    overview: new Overview(),
    queues: new QueueTable(ui),
    deadLetters: new DeadLetterPanel(ui),
  };
  schedule(0);
}

$('#login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.currentTarget);
  const username = form.elements.namedItem('username').value;
  const password = form.elements.namedItem('password').value;
  saveCredentials(username, password);
  try {
    await api('/api/overview');
    form.reset();
    clearError();
    showApp();
  } catch (err) {
    forgetCredentials();
    ui.failed(err instanceof ApiError && err.status === 401 ? new Error(err.message) : err);
  }
});

$('#logout').addEventListener('click', () => showLogin());

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') schedule(0);
});

if (savedCredentials()) showApp();
else showLogin();
