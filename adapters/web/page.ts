/** The console page: one static document; all data arrives as JSON and is rendered with textContent. */
export const CONSOLE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Slipway console</title>
<style>
  :root { font-family: system-ui, sans-serif; color: #1d1c1d; background: #f6f6f8; }
  body { margin: 0; display: flex; flex-direction: column; height: 100vh; }
  header { background: #1f2a44; color: #fff; padding: 10px 16px; display: flex; justify-content: space-between; align-items: center; }
  header h1 { font-size: 18px; margin: 0; }
  #log { flex: 1; overflow-y: auto; padding: 16px; display: flex; flex-direction: column; gap: 10px; }
  .msg { background: #fff; border-radius: 8px; border-left: 5px solid #8a8fa3; padding: 10px 14px; box-shadow: 0 1px 2px rgba(0,0,0,.08); max-width: 860px; }
  .msg.success { border-left-color: #2eb67d; } .msg.error { border-left-color: #e01e5a; }
  .msg.warning { border-left-color: #ecb22e; } .msg.pending { border-left-color: #9e9ea6; }
  .msg.running { border-left-color: #36c5f0; } .msg.echo { border-left-color: #1f2a44; background: #eef1f8; } .msg.ephemeral { opacity: .9; background: #fffbe8; }
  .who { font-size: 12px; color: #616061; margin-bottom: 4px; }
  .title { font-weight: 700; margin-bottom: 4px; }
  .text { white-space: pre-wrap; }
  .fields { display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap: 6px; margin-top: 8px; }
  .field b { display: block; font-size: 12px; color: #616061; }
  pre { background: #1d1c1d; color: #e8e8e8; padding: 8px; border-radius: 6px; overflow-x: auto; }
  .buttons { margin-top: 8px; display: flex; gap: 8px; }
  button { border: 1px solid #bbb; background: #fff; border-radius: 4px; padding: 5px 12px; cursor: pointer; }
  button.primary { background: #007a5a; color: #fff; border-color: #007a5a; }
  button.danger { background: #e01e5a; color: #fff; border-color: #e01e5a; }
  .footer { font-size: 12px; color: #616061; margin-top: 6px; }
  form#cmd { display: flex; gap: 8px; padding: 12px 16px; background: #fff; border-top: 1px solid #ddd; }
  form#cmd input { flex: 1; font-size: 15px; padding: 8px; }
  #login { margin: 80px auto; background: #fff; padding: 24px; border-radius: 8px; display: flex; flex-direction: column; gap: 10px; width: 320px; }
  .hidden { display: none !important; }
</style>
</head>
<body>
<header><h1>Slipway console</h1><span><span id="me"></span> <button id="logout" type="button" class="hidden">Sign out</button></span></header>
<section id="login" class="hidden">
  <b>Sign in with a link</b>
  <div class="text">Sign-in links are personal, work once and expire after 15 minutes. Get one by typing <code>/slipway console</code> in Slack, Discord or Teams, or ask whoever runs Slipway: <code>slipway console-login platform:workspace:user</code>.</div>
  <div id="login-error" class="text"></div>
</section>
<main id="log" class="hidden" aria-live="polite"></main>
<form id="cmd" class="hidden">
  <input id="cmd-text" placeholder="/deploy api staging   ·   /slipway help" autocomplete="off">
  <button type="submit" class="primary">Send</button>
</form>
<script>
const $ = (id) => document.getElementById(id);
const log = $('log');
function el(tag, cls, text) { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }
function render(m) {
  const r = m.reply;
  const box = el('div', 'msg ' + (m.echo ? 'echo' : (r.status || 'info')) + (r.ephemeral ? ' ephemeral' : ''));
  box.dataset.id = String(m.id);
  box.appendChild(el('div', 'who', m.echo ? m.author : 'Slipway' + (r.ephemeral ? ' · only you can see this' : '') + (m.author ? ' · for ' + m.author : '')));
  if (r.title) box.appendChild(el('div', 'title', r.title));
  box.appendChild(el('div', 'text', r.text));
  if (r.fields && r.fields.length) {
    const f = el('div', 'fields');
    for (const field of r.fields) { const d = el('div', 'field'); d.appendChild(el('b', '', field.label)); d.appendChild(el('span', '', field.value)); f.appendChild(d); }
    box.appendChild(f);
  }
  if (r.code) box.appendChild(el('pre', '', r.code));
  if (r.buttons && r.buttons.length) {
    const b = el('div', 'buttons');
    for (const button of r.buttons) {
      const btn = el('button', button.style || '', button.label);
      btn.type = 'button';
      btn.dataset.action = button.actionId;
      btn.addEventListener('click', async () => {
        if (button.confirm && !confirm(button.confirm)) return;
        await post('/console/api/action', { actionId: button.actionId, value: button.value, messageId: m.id });
      });
      b.appendChild(btn);
    }
    box.appendChild(b);
  }
  if (r.footer) box.appendChild(el('div', 'footer', r.footer));
  const existing = log.querySelector('[data-id="' + m.id + '"]');
  if (existing) existing.replaceWith(box); else { log.appendChild(box); log.scrollTop = log.scrollHeight; }
}
async function post(url, body) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), credentials: 'same-origin' });
  if (res.status === 401) { showLogin('Your session ended: sign in again with a new link.'); return null; }
  return res.json().catch(() => null);
}
function showLogin(message) { $('login').classList.remove('hidden'); log.classList.add('hidden'); $('cmd').classList.add('hidden'); $('logout').classList.add('hidden'); if (message) $('login-error').textContent = message; }
function start(me) {
  $('login').classList.add('hidden'); log.classList.remove('hidden'); $('cmd').classList.remove('hidden'); $('logout').classList.remove('hidden');
  $('me').textContent = me.name + ' (' + me.user + ')';
  const events = new EventSource('/console/api/events');
  events.addEventListener('message', (e) => render(JSON.parse(e.data)));
  events.addEventListener('open', () => document.body.dataset.live = 'yes');
  $('cmd-text').focus();
}
$('logout').addEventListener('click', async () => {
  await fetch('/console/logout', { method: 'POST', credentials: 'same-origin' });
  location.replace('/console');
});
$('cmd').addEventListener('submit', async (e) => {
  e.preventDefault();
  const text = $('cmd-text').value.trim();
  if (!text) return;
  $('cmd-text').value = '';
  await post('/console/api/command', { text });
});
// A sign-in link carries its one-time token in the fragment (never sent to a server by the browser):
// post it once, drop it from the address bar and history, then open the console.
async function boot() {
  const match = /^#sign-in=([A-Za-z0-9_-]+)$/.exec(location.hash);
  if (match) {
    history.replaceState(null, '', '/console');
    const res = await fetch('/console/sign-in', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: match[1] }), credentials: 'same-origin' });
    if (!res.ok) return showLogin((await res.json().catch(() => ({}))).message || 'That sign-in link is not valid.');
  }
  const res = await fetch('/console/api/me', { credentials: 'same-origin' });
  if (res.ok) start(await res.json()); else showLogin();
}
boot();
</script>
</body>
</html>
`;
