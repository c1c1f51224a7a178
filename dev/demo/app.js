// The demo page: plain DOM code over the JS client (clients/js, served compiled at /client/).
import { Sesame, SesameError, decodeToken } from "/client/index.js";
import { resumeSecondFactor, secondFactorView, twoFactorPanel, waitingSecondFactor } from "/demo/two-factor.js";

const sesame = new Sesame({ baseUrl: location.origin, mode: "cookie" });
const view = document.getElementById("view");
const accounts = document.getElementById("accounts");
const toast = document.getElementById("toast");

// What the page is doing besides showing the session: a code or profile step, or adding an account.
const state = { tab: "signin", pending: null, adding: false, providers: [], token: null };
// Names for the account switcher: the session lists user ids; /me tells who each one is.
const people = JSON.parse(localStorage.getItem("sesame-demo-people") ?? "{}");

const h = (tag, attrs = {}, ...children) => {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) el.setAttribute(k, v === true ? "" : v);
  }
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
};
const field = (label, name, attrs = {}) => [h("label", { for: name }, label), h("input", { id: name, name, ...attrs })];
const initials = (p) => ((p?.first_name?.[0] ?? "") + (p?.last_name?.[0] ?? "") || p?.email?.[0] || "?").toUpperCase();
const nameOf = (p) => [p?.first_name, p?.last_name].filter(Boolean).join(" ") || p?.email || p?.username || "Account";

function showError(e) {
  toast.textContent = e instanceof SesameError ? e.errors.map((x) => x.message).join(" · ") || e.message : String(e);
  toast.hidden = false;
}

async function run(action) {
  toast.hidden = true;
  try {
    await action();
  } catch (e) {
    showError(e);
  }
  await render();
}

function form(onsubmit, ...children) {
  return h("form", {
    onsubmit: (ev) => {
      ev.preventDefault();
      const values = Object.fromEntries(new FormData(ev.target).entries());
      run(() => onsubmit(values));
    },
  }, ...children);
}

// What two-factor.js uses of this page.
const ui = { sesame, h, field, form, run, state, render: () => render() };

// --- the steps ------------------------------------------------------------------------------

function authView() {
  const tabs = h("div", { class: "tabs", role: "tablist" },
    h("button", { role: "tab", "aria-selected": String(state.tab === "signin"), onclick: () => { state.tab = "signin"; render(); } }, "Sign in"),
    h("button", { role: "tab", "aria-selected": String(state.tab === "signup"), onclick: () => { state.tab = "signup"; render(); } }, "Create account"));
  const body = state.tab === "signup"
    ? form(async (v) => {
        const session = await sesame.signUp({ email: v.email, password: v.password, first_name: v.first_name || undefined, last_name: v.last_name || undefined });
        const attempt = session.signup_attempts.at(-1);
        state.pending = { kind: "signup", id: attempt.id, to: v.email };
      },
      h("div", { class: "row" }, h("div", {}, field("First name", "first_name", { autocomplete: "given-name" })), h("div", {}, field("Last name", "last_name", { autocomplete: "family-name" }))),
      field("Email", "email", { type: "email", required: true, autocomplete: "email" }),
      field("Password", "password", { type: "password", required: true, minlength: 8, autocomplete: "new-password" }),
      h("button", { class: "primary", type: "submit" }, "Create account"))
    : form(async (v) => {
        const before = sesame.currentSession;
        state.pending = waitingSecondFactor(before, await sesame.signInWithPassword(v.identifier, v.password));
        state.adding = false;
      },
      field("Email, phone or username", "identifier", { required: true, autocomplete: "username" }),
      field("Password", "password", { type: "password", required: true, autocomplete: "current-password" }),
      h("button", { class: "primary", type: "submit" }, "Sign in"),
      h("button", { class: "secondary", type: "button", onclick: (ev) => {
        const identifier = ev.target.form.identifier.value;
        run(async () => {
          const session = await sesame.signInWithCode(identifier);
          state.pending = { kind: "signin", id: session.signin_attempts.at(-1).id, to: identifier };
        });
      } }, "Email me a code instead"));
  const oauth = state.providers.length
    ? [h("div", { class: "divider" }, "or"), ...state.providers.map((p) => h("button", { class: "secondary", type: "button", onclick: () => run(async () => {
        location.href = await sesame.oauthUrl(p, `${location.origin}/`);
      }) }, `Continue with ${p}`))]
    : [];
  return [
    h("h1", {}, state.adding ? "Add an account" : state.tab === "signup" ? "Create your account" : "Welcome back"),
    h("p", { class: "sub" }, state.adding ? "It joins this browser's session; switch between accounts at the top." : "Sign in to continue."),
    tabs, body, ...oauth,
    state.adding ? h("button", { class: "link", type: "button", onclick: () => { state.adding = false; render(); } }, "Cancel") : null,
  ];
}

async function codeView() {
  const { pending } = state;
  const ref = pending.kind === "signup" ? { signup_attempt_id: pending.id } : { signin_attempt_id: pending.id };
  const outbox = await fetch("/dev/outbox").then((r) => (r.ok ? r.json() : [])).catch(() => []);
  const message = outbox.find((m) => m.to === pending.to);
  const latest = message && /\b(\d{6})\b/.exec(message.body)?.[1];
  const input = h("input", { id: "code", name: "code", class: "code", inputmode: "numeric", autocomplete: "one-time-code", maxlength: 6, required: true });
  return [
    h("h1", {}, "Check your inbox"),
    h("p", { class: "sub" }, `We sent a 6-digit code to ${pending.to}.`),
    form(async (v) => {
      const session = await sesame.verify(ref, v.code);
      const attempt = [...session.signup_attempts, ...session.signin_attempts].find((a) => a.id === pending.id);
      if (attempt && attempt.current_step === "complete_profile") state.pending = { ...pending, missing: attempt.missing_fields };
      else if (attempt && attempt.current_step === "verify_second_factor") state.pending = { kind: "second_factor", id: attempt.id };
      else Object.assign(state, { pending: null, adding: false, tab: "signin" });
    }, h("label", { for: "code" }, "Code"), input, h("button", { class: "primary", type: "submit" }, "Verify")),
    latest ? h("div", { class: "outbox", "data-testid": "outbox" },
      h("span", {}, "Dev outbox: ", h("strong", {}, latest)),
      h("button", { class: "link", type: "button", onclick: () => { input.value = latest; } }, "Use it")) : null,
    h("div", { class: "divider" }, ""),
    h("button", { class: "link", type: "button", onclick: () => run(() => sesame.resend(ref)) }, "Send a new code"),
    " · ",
    h("button", { class: "link", type: "button", onclick: () => { state.pending = null; render(); } }, "Start over"),
  ];
}

function completeView() {
  const labels = { first_name: "First name", last_name: "Last name", username: "Username", password: "Password", phone_number: "Phone number", email: "Email" };
  return [
    h("h1", {}, "A few more details"),
    h("p", { class: "sub" }, "Your account needs these before it is ready."),
    form(async (v) => {
      await sesame.completeProfile({ attempt_id: state.pending.id, ...v });
      Object.assign(state, { pending: null, adding: false, tab: "signin" });
    }, ...state.pending.missing.map((f) => field(labels[f] ?? f, f, { required: true, type: f === "password" ? "password" : "text" })),
    h("button", { class: "primary", type: "submit" }, "Finish")),
  ];
}

// The user's signins on every browser and device, each but this one with a sign-out.
function devicesView(devices) {
  const when = (t) => new Date(t).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  const agent = (ua) => (ua ?? "Unknown device").replace(/\s*\(.*?\)\s*/g, " ").split(" ").slice(0, 3).join(" ");
  return h("div", { id: "devices" },
    h("h2", {}, "Your devices"),
    h("ul", { class: "devices" }, ...devices.map((d) => h("li", { class: "device", "data-current": String(d.current) },
      h("div", {}, h("strong", {}, agent(d.user_agent)), d.current ? h("span", { class: "badge" }, "this device") : null,
        h("div", { class: "muted" }, `${d.ip ?? "unknown address"} · active ${when(d.last_active_at)}`)),
      d.current ? null : h("button", { class: "link", type: "button", onclick: () => run(() => sesame.revokeDevice(d.id)) }, "Sign out")))),
    devices.length > 1
      ? h("button", { class: "secondary", type: "button", onclick: () => run(() => sesame.revokeOtherDevices()) }, "Sign out of other devices")
      : null);
}

async function homeView(session) {
  // REQUIRE_SECOND_FACTOR: no device list until a factor is on (two-factor.js says so).
  const [me, devices] = await Promise.all([sesame.me(), sesame.devices().catch((e) => (e.code === "SECOND_FACTOR_REQUIRED" ? [] : Promise.reject(e)))]);
  people[me.id] = { first_name: me.first_name, last_name: me.last_name, email: me.email };
  localStorage.setItem("sesame-demo-people", JSON.stringify(people));
  const claims = state.token && state.token.signin === session.active_signin.id ? decodeToken(state.token.jwt) : null;
  return [
    h("div", { class: "profile" }, h("div", { class: "avatar" }, initials(me)),
      h("div", {}, h("h1", { id: "who" }, nameOf(me)),
        h("div", { class: "muted" }, me.email ?? me.phone_number ?? me.username, me.email_verified ? h("span", { class: "badge" }, "verified") : null))),
    h("div", { class: "grid" },
      h("div", {},
        h("h2", {}, "Profile"),
        form(async (v) => {
          await sesame.updateMe({ first_name: v.first_name, last_name: v.last_name, username: v.username });
        },
        h("div", { class: "row" }, h("div", {}, field("First name", "first_name", { value: me.first_name ?? "" })), h("div", {}, field("Last name", "last_name", { value: me.last_name ?? "" }))),
        field("Username", "username", { value: me.username ?? "" }),
        h("button", { class: "secondary", type: "submit" }, "Save"))),
      h("div", {},
        h("h2", {}, "Token for your backend"),
        h("p", { class: "muted" }, "getToken() caches it until shortly before it expires."),
        h("button", { class: "secondary", type: "button", id: "get-token", onclick: () => run(async () => {
          state.token = { signin: session.active_signin.id, jwt: await sesame.getToken() };
        }) }, "Get token"),
        claims ? h("pre", { id: "claims" }, JSON.stringify(claims, null, 2)) : null)),
    devicesView(devices),
    await twoFactorPanel(ui, session, me),
    h("div", { class: "row" },
      h("button", { class: "secondary", type: "button", onclick: () => { state.adding = true; state.tab = "signin"; render(); } }, "Add account"),
      h("button", { class: "secondary", type: "button", onclick: () => run(() => sesame.signOut(session.active_signin.id)) }, "Sign out")),
  ];
}

function accountBar(session) {
  const signins = session?.signins ?? [];
  accounts.replaceChildren(...[
    ...signins.map((s) => {
      const p = people[s.user_id];
      const active = s.id === session.active_signin?.id;
      return h("button", { class: active ? "chip active" : "chip", title: p?.email ?? s.user_id, "aria-pressed": String(active),
        onclick: () => run(() => sesame.switchTo(s.id)) }, h("span", { class: "avatar" }, initials(p)), p ? nameOf(p) : s.user_id.slice(0, 10));
    }),
    signins.length > 1 ? h("button", { class: "chip add", onclick: () => run(() => sesame.signOut()) }, "Sign out of all") : null,
  ].filter(Boolean));
}

async function render() {
  const session = await sesame.session().catch(() => null);
  let children;
  if (state.pending?.kind === "second_factor") children = secondFactorView(ui, session) ?? authView();
  else if (state.pending?.missing) children = completeView();
  else if (state.pending) children = await codeView();
  else if (session?.active_signin && !state.adding) children = await homeView(session).catch((e) => { showError(e); return authView(); });
  else children = authView();
  accountBar(session); // after homeView, which learns who the active account is
  view.className = session?.active_signin && !state.adding && !state.pending ? "card wide" : "card";
  view.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
}

// Back from an OAuth provider: `?error=CODE` when it failed.
const back = new URLSearchParams(location.search);
if (back.has("error")) toast.textContent = `Sign-in failed: ${back.get("error")}`, (toast.hidden = false);
state.pending = resumeSecondFactor(await sesame.session().catch(() => null)); // e.g. back from OAuth
state.providers = await fetch("/dev/providers").then((r) => (r.ok ? r.json() : [])).catch(() => []);
await render();
