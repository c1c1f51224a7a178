// The demo page's second factor (issue 13), over the JS client:
// - `twoFactorPanel`: the signed-in user's "Two-factor" section: an authenticator app (TOTP) set up
//   with its QR code, the backup codes shown once, new backup codes, TOTP off, the SMS factor on or
//   off. These calls need a recent verification: on `403 REVERIFICATION_REQUIRED` the section asks
//   a user with a second factor on for one of them (the authenticator app's code, a backup code,
//   or a texted code when the phone is the SMS factor), else for the password (or a code by email
//   or SMS), and then retries the action. With `REQUIRE_SECOND_FACTOR` and no factor on, a banner
//   asks for one.
// - `secondFactorView`: the sign-in step `verify_second_factor`, with a picker of the attempt's
//   `second_factor_strategies` and, for `phone_otp`, a button that texts the code.
// app.js hands in its helpers (`ui`: sesame, h, field, form, run, state, render). What is shown
// once (the TOTP secret, backup codes) lives only in this module's memory, for the signin it was
// shown to, and is dropped when the user dismisses it; nothing here logs or stores it.
import { SesameError, secondFactorAttempt } from "/client/index.js";

const style = document.createElement("link");
style.rel = "stylesheet";
style.href = "/demo/two-factor.css";
document.head.append(style);

// For the active signin: the enrollment waiting for its code, backup codes to show, and a
// sensitive action waiting for reverification ({label, action}, the second-factor `strategy`
// picked, then `attempt` and `to` while a code is on its way).
let memory = { signin: null, enrollment: null, codes: null, reverify: null };
// Second-factor attempts the user walked away from ("Start over"): not offered again on reload.
const dismissed = new Set(JSON.parse(sessionStorage.getItem("sesame-demo-dismissed-2fa") ?? "[]"));

const STRATEGY_NAMES = { totp: "Authenticator app", backup_code: "Backup code", phone_otp: "Text message" };

/** The dev outbox (newest first); the page reads the codes it would have sent. */
const outbox = () => fetch("/dev/outbox").then((r) => (r.ok ? r.json() : [])).catch(() => []);
const codeIn = (message) => message && /\b(\d{6})\b/.exec(message.body)?.[1];

function outboxHint(ui, code, input) {
  const { h } = ui;
  return code
    ? h("div", { class: "outbox", "data-testid": "outbox" },
        h("span", {}, "Dev outbox: ", h("strong", {}, code)),
        h("button", { class: "link", type: "button", onclick: () => { input.value = code; } }, "Use it"))
    : null;
}

// --- sign-in: the step verify_second_factor -------------------------------------------------

/**
 * What the page waits for after a first factor: the attempt `after` lists at
 * `verify_second_factor` that `before` did not (a password sign-in answers one instead of a
 * signin), as the page's `state.pending`; or null.
 */
export function waitingSecondFactor(before, after) {
  const known = new Set((before?.signin_attempts ?? []).map((a) => a.id));
  const attempt = secondFactorAttempt(after);
  return attempt && !known.has(attempt.id) ? { kind: "second_factor", id: attempt.id } : null;
}

/** On load (back from an OAuth provider, or a reload): an attempt still waiting, unless dismissed. */
export function resumeSecondFactor(session) {
  const attempt = secondFactorAttempt(session);
  return attempt && !dismissed.has(attempt.id) ? { kind: "second_factor", id: attempt.id } : null;
}

export function secondFactorView(ui, session) {
  const { h, form, sesame, state } = ui;
  const pending = state.pending;
  const attempt = (session?.signin_attempts ?? []).find((a) => a.id === pending.id);
  if (!attempt || attempt.completed || attempt.current_step !== "verify_second_factor") {
    // Expired or finished elsewhere: back to the start.
    state.pending = null;
    return null;
  }
  const strategies = attempt.second_factor_strategies;
  const strategy = strategies.includes(pending.strategy) ? pending.strategy : strategies[0];
  const input = h("input", {
    id: "second-factor-code", name: "code", required: true, autocomplete: "one-time-code",
    ...(strategy === "backup_code" ? { class: "code backup", maxlength: 20, spellcheck: "false" } : { class: "code", inputmode: "numeric", maxlength: 6 }),
  });
  const picker = strategies.length > 1
    ? h("div", { class: "tabs strategies", role: "radiogroup", "aria-label": "How to verify" },
        ...strategies.map((s) => h("button", {
          type: "button", role: "radio", "aria-checked": String(s === strategy), "data-strategy": s,
          onclick: () => { state.pending = { ...pending, strategy: s }; ui.render(); },
        }, STRATEGY_NAMES[s] ?? s)))
    : null;
  const hint = {
    totp: "Enter the 6-digit code your authenticator app shows.",
    backup_code: "Enter one of your backup codes. Each works once.",
    phone_otp: "We text a 6-digit code to your phone.",
  }[strategy];
  return [
    h("h1", {}, "Two-step verification"),
    h("p", { class: "sub" }, `Your account has a second step. ${hint}`),
    picker,
    form(async (v) => {
      const done = await sesame.verifySecondFactor(pending.id, strategy, v.code.trim());
      if (done.active_signin) Object.assign(state, { pending: null, adding: false, tab: "signin" });
    },
    h("label", { for: "second-factor-code" }, strategy === "backup_code" ? "Backup code" : "Code"), input,
    strategy === "phone_otp"
      ? h("button", { class: "secondary", type: "button", id: "send-sms", onclick: () => ui.run(async () => {
          // The dev outbox does not know whose phone this is: the newest SMS this send added.
          const newest = JSON.stringify((await outbox())[0] ?? null);
          await sesame.sendSecondFactorCode(pending.id);
          const added = await outbox();
          const cut = added.findIndex((m) => JSON.stringify(m) === newest);
          state.pending = { ...pending, strategy, sms: codeIn((cut < 0 ? added : added.slice(0, cut)).find((m) => m.channel === "sms")) };
        }) }, pending.sms ? "Text me a new code" : "Text me a code")
      : null,
    h("button", { class: "primary", type: "submit" }, "Verify")),
    strategy === "phone_otp" ? outboxHint(ui, pending.sms, input) : null,
    h("div", { class: "divider" }, ""),
    h("button", { class: "link", type: "button", onclick: () => {
      dismissed.add(pending.id);
      sessionStorage.setItem("sesame-demo-dismissed-2fa", JSON.stringify([...dismissed]));
      state.pending = null;
      ui.render();
    } }, "Start over"),
  ];
}

// --- the signed-in user's panel ------------------------------------------------------------

/** Runs a sensitive action; on REVERIFICATION_REQUIRED it waits for the prompt instead. */
function sensitive(ui, label, action) {
  return () => ui.run(async () => {
    try {
      await action();
    } catch (e) {
      if (!(e instanceof SesameError) || e.code !== "REVERIFICATION_REQUIRED") throw e;
      memory.reverify = { label, action };
    }
  });
}

async function finishReverify() {
  const { action } = memory.reverify;
  memory.reverify = null;
  await action();
}

const attemptIds = (sesame) => new Set((sesame.currentSession?.signin_attempts ?? []).map((a) => a.id));

const cancelLink = (ui) => ui.h("button", { class: "link", type: "button", onclick: () => { memory.reverify = null; ui.render(); } }, "Cancel");

/**
 * The reverification prompt. A user with a second factor on proves one of them (`status.strategies`:
 * the authenticator app's code or a backup code at once, or a texted code when the phone is the
 * SMS factor); a user without one, the password or a code by email or SMS.
 */
function reverifyPrompt(ui, me, status, sent) {
  const { h, form, field, sesame } = ui;
  const waiting = memory.reverify;
  const title = h("strong", {}, `Confirm it's you to ${waiting.label}`);
  const byCode = async (strategy, to) => {
    const known = attemptIds(sesame);
    const session = await sesame.reverify({ strategy });
    const attempt = session.signin_attempts.find((a) => !known.has(a.id));
    memory.reverify = { ...waiting, attempt: attempt?.id, to };
  };
  if (waiting.attempt) {
    const input = h("input", { id: "reverify-code", name: "code", class: "code", inputmode: "numeric", autocomplete: "one-time-code", maxlength: 6, required: true });
    return h("div", { class: "reverify", "data-testid": "reverify" },
      title,
      h("p", { class: "muted" }, `We sent a 6-digit code to ${waiting.to}.`),
      form(async (v) => {
        // The code finishes the reverification (a reverification attempt has no second step).
        await sesame.verify({ signin_attempt_id: waiting.attempt }, v.code.trim());
        await finishReverify();
      }, h("label", { for: "reverify-code" }, "Code"), input, h("button", { class: "primary", type: "submit" }, "Confirm")),
      outboxHint(ui, sent, input),
      cancelLink(ui));
  }
  if (status.two_factor_enabled) {
    const strategies = status.strategies;
    const strategy = strategies.includes(waiting.strategy) ? waiting.strategy : strategies[0];
    const picker = strategies.length > 1
      ? h("div", { class: "tabs strategies", role: "radiogroup", "aria-label": "How to confirm" },
          ...strategies.map((s) => h("button", {
            type: "button", role: "radio", "aria-checked": String(s === strategy), "data-strategy": s,
            onclick: () => { memory.reverify = { ...waiting, strategy: s }; ui.render(); },
          }, STRATEGY_NAMES[s] ?? s)))
      : null;
    const body = strategy === "phone_otp"
      ? [h("p", { class: "muted" }, `We text a 6-digit code to ${me.phone_number}.`),
          h("button", { class: "primary", type: "button", onclick: () => ui.run(() => byCode("phone_otp", me.phone_number)) }, "Text me a code")]
      : [form(async (v) => {
          await sesame.reverify({ strategy, code: v.code.trim() });
          await finishReverify();
        },
        h("label", { for: "reverify-second-code" }, strategy === "backup_code" ? "Backup code" : "Authenticator code"),
        h("input", {
          id: "reverify-second-code", name: "code", required: true, autocomplete: "one-time-code",
          ...(strategy === "backup_code" ? { class: "code backup", maxlength: 20, spellcheck: "false" } : { class: "code", inputmode: "numeric", maxlength: 6 }),
        }),
        h("button", { class: "primary", type: "submit" }, "Confirm"))];
    return h("div", { class: "reverify", "data-testid": "reverify" },
      title,
      h("p", { class: "muted" }, "Your account has a second step: confirm with it."),
      picker, ...body, cancelLink(ui));
  }
  return h("div", { class: "reverify", "data-testid": "reverify" },
    title,
    h("p", { class: "muted" }, "It has been a while since you signed in."),
    form(async (v) => {
      await sesame.reverify({ strategy: "password", password: v.password });
      await finishReverify();
    }, ...field("Password", "reverify-password", { name: "password", type: "password", required: true, autocomplete: "current-password" }),
    h("button", { class: "primary", type: "submit" }, "Confirm")),
    h("div", { class: "row-links" },
      me.email && me.email_verified ? h("button", { class: "link", type: "button", onclick: () => ui.run(() => byCode("email_otp", me.email)) }, "Email me a code instead") : null,
      me.phone_number && me.phone_verified ? h("button", { class: "link", type: "button", onclick: () => ui.run(() => byCode("phone_otp", me.phone_number)) }, "Text me a code instead") : null,
      cancelLink(ui)));
}

function enrollmentBox(ui) {
  const { h, form, sesame } = ui;
  const { enrollment } = memory;
  return h("div", { class: "enroll", "data-testid": "totp-enrollment" },
    h("img", { class: "qr", alt: "QR code for your authenticator app", width: 180, height: 180,
      src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(enrollment.qr_svg)}` }),
    h("div", {},
      h("p", {}, "Scan the code with your authenticator app, or enter this key:"),
      h("code", { class: "secret", "data-testid": "totp-secret" }, enrollment.secret),
      form(async (v) => {
        const { backup_codes } = await sesame.confirmTotp(v.code.trim());
        Object.assign(memory, { enrollment: null, codes: backup_codes });
      },
      h("label", { for: "totp-code" }, "Code from the app"),
      h("input", { id: "totp-code", name: "code", class: "code", inputmode: "numeric", autocomplete: "one-time-code", maxlength: 6, required: true }),
      h("button", { class: "primary", type: "submit" }, "Turn on")),
      h("button", { class: "link", type: "button", onclick: () => { memory.enrollment = null; ui.render(); } }, "Cancel")));
}

function backupCodesBox(ui) {
  const { h } = ui;
  return h("div", { class: "backup-codes" },
    h("strong", {}, "Your backup codes"),
    h("p", { class: "muted" }, "Save them somewhere safe now: they are not shown again. Each signs in once when your phone is not at hand."),
    h("ol", { "data-testid": "backup-codes" }, ...memory.codes.map((c) => h("li", {}, h("code", {}, c)))),
    h("button", { class: "secondary", type: "button", onclick: () => { memory.codes = null; ui.render(); } }, "I saved them"));
}

/** The "Two-factor" section of the signed-in user `me` (its own <section>, for homeView). */
export async function twoFactorPanel(ui, session, me) {
  const { h, sesame } = ui;
  if (memory.signin !== session.active_signin.id) memory = { signin: session.active_signin.id, enrollment: null, codes: null, reverify: null };
  const status = await sesame.twoFactor();
  // A reverification code on its way: the dev outbox's newest for that address.
  const to = memory.reverify?.to;
  const sent = to ? codeIn((await outbox()).find((m) => m.to === to && codeIn(m))) : null;
  const on = [status.totp_enabled && "authenticator app", status.phone_enabled && "text messages"].filter(Boolean);
  const phone = me.phone_number && me.phone_verified ? me.phone_number : null;
  return h("section", { id: "two-factor", class: "two-factor" },
    h("h2", {}, "Two-factor"),
    h("p", { class: "muted", "data-testid": "two-factor-status" },
      status.two_factor_enabled
        ? [h("span", { class: "badge" }, "on"), ` ${on.join(" and ")} · ${status.backup_codes_left} backup code${status.backup_codes_left === 1 ? "" : "s"} left`]
        : status.required ? "Off." : "Off: a password or a code is enough to sign in. Add a second step."),
    status.required && !status.two_factor_enabled
      ? h("p", { class: "banner", role: "alert", "data-testid": "two-factor-required" },
          "This service requires a second step: set up an authenticator app or text-message codes to continue.")
      : null,
    memory.reverify ? reverifyPrompt(ui, me, status, sent) : null,
    memory.codes ? backupCodesBox(ui) : null,
    memory.enrollment ? enrollmentBox(ui) : null,
    h("div", { class: "actions" },
      !status.totp_enabled && !memory.enrollment
        ? h("button", { class: "secondary", type: "button", onclick: sensitive(ui, "set up an authenticator app", async () => {
            memory.enrollment = await sesame.enrollTotp();
          }) }, "Set up authenticator app")
        : null,
      status.totp_enabled
        ? h("button", { class: "secondary", type: "button", onclick: sensitive(ui, "turn off the authenticator app", async () => {
            await sesame.disableTotp();
            memory.codes = null;
          }) }, "Turn off authenticator app")
        : null,
      status.two_factor_enabled && status.totp_enabled
        ? h("button", { class: "secondary", type: "button", onclick: sensitive(ui, "replace your backup codes", async () => {
            memory.codes = (await sesame.regenerateBackupCodes()).backup_codes;
          }) }, "New backup codes")
        : null),
    h("label", { class: "toggle" },
      h("input", { type: "checkbox", id: "phone-factor", checked: status.phone_enabled, disabled: !phone && !status.phone_enabled,
        onchange: sensitive(ui, status.phone_enabled ? "turn off text-message codes" : "turn on text-message codes", async () => {
          await sesame.setPhoneSecondFactor(!status.phone_enabled);
        }) }),
      phone ? ` Text-message codes to ${phone}` : " Text-message codes (needs a verified phone number)"));
}
