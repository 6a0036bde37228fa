// Dashboard entry: sign-in with a bureau token, the page shell (header, navigation, language switch, live-feed
// indicator), a hash router over the three views, and the live feed that keeps everything current.
import { ApiError, apiJson, apiJsonOr404, authHeaders, clearToken, getToken, setToken, setUnauthorizedHandler } from './api.js';
import { h } from './dom.js';
import { getLang, label, setLang, t } from './i18n.js';
import { FeedClient } from './sse.js';
import { alarmColor, alarmState, applyAlarm, openAlarms, setAlarms } from './alarms.js';
import { setMarkerColor } from './map.js';
import { applyFeed, onLive, setCatalog, setDevices, setLatest, state } from './state.js';
import { mountCompleteness } from './views/completeness.js';
import { mountAlarms, mountDeliveries } from './views/alarms.js';
import { mountDevice } from './views/device.js';
import { mountEvents } from './views/events.js';
import { mountFleet } from './views/fleet.js';
import { mountOverview } from './views/overview.js';

const app = document.getElementById('app');
let current; // the mounted view
let feed;
let feedState = 'stopped';
const main = h('main', { class: 'content' });
const feedBadge = h('span', { class: 'feed-state' });
const alarmCount = h('span', { class: 'nav-count' });
// Markers and clusters take the colour of the device's worst open alarm (its health when it has none).
setMarkerColor(alarmColor);

function renderAlarmCount() {
  const n = openAlarms().length;
  alarmCount.textContent = n ? String(n) : '';
  alarmCount.hidden = !n;
}

const navigate = (hash) => {
  if (location.hash === hash) route();
  else location.hash = hash;
};

function renderFeedBadge() {
  const key = { live: 'feedLive', connecting: 'feedConnecting', reconnecting: 'feedReconnecting', stopped: 'feedStopped' }[feedState];
  feedBadge.dataset.state = feedState;
  feedBadge.replaceChildren(h('i', { class: 'dot' }), t(key));
}

function whoText() {
  const w = state.who;
  if (!w) return t('signedIn');
  if (w.admin) return `${t('admin')} · ${w.name ?? ''}`;
  if (w.bureau) return `${t('bureauOf')}: ${label('bureau', w.bureau)}${w.name ? ` · ${w.name}` : ''}`;
  return `${t('signedIn')}${w.name ? ` · ${w.name}` : ''}`;
}

function renderShell() {
  const tab = (hash, key, extra) => h('a', { href: hash, class: ['tab', (location.hash || '#/').startsWith(hash) && hash !== '#/' ? 'active' : hash === '#/' && !/^#\/(events|device|alarms|deliveries|completeness|fleet)/.test(location.hash) ? 'active' : ''] }, t(key), extra);
  app.replaceChildren(
    h(
      'header',
      { class: 'topbar' },
      h('div', { class: 'brand' }, h('img', { src: 'favicon.svg', alt: '', width: 24, height: 24 }), h('span', {}, t('appTitle'))),
      h('nav', {}, tab('#/', 'navOverview'), tab('#/alarms', 'navAlarms', alarmCount), tab('#/events', 'navEvents'), tab('#/deliveries', 'navDeliveries'), tab('#/completeness', 'navCompleteness'), state.who?.admin ? tab('#/fleet', 'navFleet') : undefined),
      h('span', { class: 'spacer' }),
      feedBadge,
      h('span', { class: 'who' }, whoText()),
      h('button', { class: 'btn lang', onclick: () => switchLang() }, getLang() === 'zh' ? 'English' : '中文'),
      h('button', { class: 'btn logout', onclick: () => logout() }, t('logout')),
    ),
    main,
  );
  renderFeedBadge();
  renderAlarmCount();
}

function route() {
  current?.unmount();
  current = undefined;
  renderShell();
  const hash = location.hash || '#/';
  const [path, query = ''] = hash.slice(1).split('?');
  const params = new URLSearchParams(query);
  const m = /^\/device\/(.+)$/.exec(path);
  const alarm = /^\/alarms(?:\/(\d+))?$/.exec(path);
  try {
    if (m) current = mountDevice(main, { id: decodeURIComponent(m[1]), params, navigate });
    else if (alarm) current = mountAlarms(main, { navigate, id: alarm[1] });
    else if (path === '/deliveries') current = mountDeliveries(main, { navigate });
    else if (path === '/events') current = mountEvents(main, { navigate });
    else if (path === '/completeness') current = mountCompleteness(main, { navigate });
    else if (path === '/fleet' && state.who?.admin) current = mountFleet(main);
    else current = mountOverview(main, { navigate });
  } catch (err) {
    // A view that cannot draw says so instead of leaving half a page.
    console.error(err);
    main.replaceChildren(h('p', { class: 'error' }, t('loadError'), err?.message ?? String(err)));
  }
  window.scrollTo(0, 0);
}

function switchLang() {
  setLang(getLang() === 'zh' ? 'en' : 'zh');
  if (getToken() && state.devices) route();
  else showLogin();
}

function showLogin(message = '') {
  current?.unmount();
  current = undefined;
  const input = h('input', { type: 'password', id: 'token', autocomplete: 'off', spellcheck: 'false', placeholder: 'yw_…' });
  const msg = h('p', { class: 'login-error', role: 'alert' }, message);
  const button = h('button', { type: 'submit', class: 'btn primary' }, t('login'));
  const form = h(
    'form',
    {
      class: 'login',
      onsubmit: async (e) => {
        e.preventDefault();
        const token = input.value.trim();
        if (!token) return (msg.textContent = t('loginMissing'));
        button.disabled = true;
        msg.textContent = '';
        try {
          await signIn(token);
        } catch (err) {
          msg.textContent = err instanceof ApiError && err.status === 401 ? t('loginBadToken') : err instanceof ApiError && err.status === 0 ? `${t('loginNetwork')}${err.message}` : `${t('loadError')}${err.message}`;
        } finally {
          button.disabled = false;
        }
      },
    },
    h('h1', {}, t('appTitle')),
    h('h2', {}, t('loginTitle')),
    h('p', { class: 'muted' }, t('loginHint')),
    h('label', { for: 'token' }, t('tokenLabel')),
    input,
    msg,
    h('div', { class: 'login-actions' }, button, h('button', { type: 'button', class: 'btn lang', onclick: () => switchLang() }, getLang() === 'zh' ? 'English' : '中文')),
  );
  app.replaceChildren(h('div', { class: 'login-page' }, form));
  input.focus();
}

/** Checks the token by listing devices; only then keeps it and starts the live feed. */
async function signIn(token) {
  const list = await apiJson('/api/v1/devices', { token, quiet401: true });
  setToken(token);
  setDevices(list.devices ?? []);
  // Optional: the collector may say who the token belongs to; older ones answer 404 and we show "signed in".
  state.who = await apiJsonOr404('/api/v1/whoami').catch(() => undefined);
  // Operators (and admins) acknowledge alarms; viewers see them.
  alarmState.canAck = !!state.who && (state.who.admin || state.who.role === 'operator');
  // Tile sources and the boundary; without them (or when this fails) the map draws its offline form.
  state.mapConfig = await apiJson('map.json', { quiet401: true }).catch(() => ({}));
  startFeed(); // before loading latest values so nothing falls between the two
  setLatest((await apiJson('/api/v1/latest')).latest ?? []);
  setAlarms((await apiJson('/api/v1/alarms?state=open')).alarms ?? []);
  route();
}

function startFeed() {
  feed?.stop();
  feed = new FeedClient({
    url: '/api/v1/feed',
    headers: () => authHeaders(),
    onMessage: (msg) => {
      if (msg.event === 'alarm') applyAlarm(msg.data);
      applyFeed(msg);
    },
    onState: (s) => {
      feedState = s;
      renderFeedBadge();
    },
    onUnauthorized: () => expire(),
  });
  feed.start();
}

function logout(message) {
  feed?.stop();
  feed = undefined;
  clearToken();
  state.who = undefined;
  alarmState.byId.clear();
  alarmState.canAck = false;
  setDevices([]);
  setLatest([]);
  history.replaceState(null, '', location.pathname);
  showLogin(message);
}

const expire = () => logout(t('sessionExpired'));

onLive((batch) => {
  if (batch.alarms.length) renderAlarmCount();
  current?.onLive?.(batch);
});
setUnauthorizedHandler(expire);
window.addEventListener('hashchange', () => {
  if (getToken()) route();
});

async function boot() {
  setLang(getLang());
  try {
    const res = await fetch('catalog.json', { cache: 'no-cache' });
    if (res.ok) setCatalog(await res.json());
  } catch {
    /* labels fall back to metric ids */
  }
  const token = getToken();
  if (!token) return showLogin();
  try {
    await signIn(token);
  } catch (err) {
    clearToken();
    showLogin(err instanceof ApiError && err.status === 401 ? t('sessionExpired') : `${t('loadError')}${err.message}`);
  }
}

void boot();
