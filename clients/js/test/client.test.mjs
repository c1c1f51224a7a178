// The client against a running dev server (scripts/test starts one and sets SESAME_URL).
// Node is a native runtime here: header mode, the credential kept by the client.
import { test } from "node:test";
import assert from "node:assert/strict";

import { Sesame, SesameError, decodeToken, memoryStore } from "../dist/index.js";

const baseUrl = process.env.SESAME_URL;
if (!baseUrl) {
  if (process.env.CI === "true") throw new Error("SESAME_URL is not set (scripts/test sets it)");
  console.log("SESAME_URL unset: start `cargo run` and set SESAME_URL=http://127.0.0.1:3000");
}

let counter = 0;
function unique(prefix) {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now()}-${counter}@example.com`;
}

/** The newest code the dev outbox holds for `to`. */
async function latestCode(to) {
  const messages = await (await fetch(`${baseUrl}/dev/outbox`)).json();
  const message = messages.find((m) => m.to === to);
  assert.ok(message, `no message for ${to} in the outbox`);
  const code = /\b(\d{6})\b/.exec(message.body)?.[1];
  assert.ok(code, `no code in ${message.body}`);
  return code;
}

/** A client whose requests are counted by path. */
function counted(options = {}) {
  const calls = new Map();
  const fetcher = (url, init) => {
    const path = new URL(url).pathname;
    calls.set(path, (calls.get(path) ?? 0) + 1);
    return fetch(url, init);
  };
  return { client: new Sesame({ baseUrl, mode: "header", fetch: fetcher, ...options }), calls };
}

/** Signs a new user up with a password and the emailed code; returns the email. */
async function signUp(client, password = "correct horse battery") {
  const email = unique("ada");
  const started = await client.signUp({ email, password, first_name: "Ada" });
  const attempt = started.signup_attempts.at(-1);
  assert.equal(attempt.current_step, "verify_email_otp");
  const session = await client.verify({ signup_attempt_id: attempt.id }, await latestCode(email));
  assert.ok(session.active_signin, "signed in after the code");
  return email;
}

test("sign up with a code, then read and edit the user", { skip: !baseUrl }, async () => {
  const store = memoryStore();
  const client = new Sesame({ baseUrl, mode: "header", store });
  const email = await signUp(client);
  assert.ok(store.get(), "header mode keeps the credential");
  const me = await client.me();
  assert.equal(me.email, email);
  assert.equal(me.email_verified, true);
  const edited = await client.updateMe({ first_name: "Augusta", last_name: "King" });
  assert.equal(edited.first_name, "Augusta");
  assert.equal((await client.me()).last_name, "King");
});

test("a wrong code is a SesameError with the envelope's code; resend is refused within 30 s", { skip: !baseUrl }, async () => {
  const client = new Sesame({ baseUrl, mode: "header" });
  const email = unique("grace");
  const started = await client.signUp({ email, password: "correct horse battery" });
  const attempt = { signup_attempt_id: started.signup_attempts.at(-1).id };
  const first = await latestCode(email);
  const wrong = first === "000000" ? "111111" : "000000";
  await assert.rejects(client.verify(attempt, wrong), (e) => {
    assert.ok(e instanceof SesameError);
    assert.equal(e.status, 400);
    assert.equal(e.code, "INVALID_CODE");
    return true;
  });
  // A new code goes out at most every 30 s: right after the first, resend is refused.
  await assert.rejects(client.resend(attempt), (e) => e.status === 429 && e.code === "RATE_LIMITED");
  const session = await client.verify(attempt, first);
  assert.ok(session.active_signin);
});

test("sign in with a password and with a code; a wrong password is 401", { skip: !baseUrl }, async () => {
  const email = await signUp(new Sesame({ baseUrl, mode: "header" }), "a long enough secret");
  const client = new Sesame({ baseUrl, mode: "header" });
  await assert.rejects(client.signInWithPassword(email, "not the secret at all"), (e) => e.status === 401 && e.code === "INVALID_CREDENTIALS");
  const byPassword = await client.signInWithPassword(email, "a long enough secret");
  assert.ok(byPassword.active_signin);

  const other = new Sesame({ baseUrl, mode: "header" });
  const pending = await other.signInWithCode(email);
  const attempt = pending.signin_attempts.at(-1);
  assert.equal(attempt.current_step, "verify_email_otp");
  const session = await other.verify({ signin_attempt_id: attempt.id }, await latestCode(email));
  assert.equal(session.active_signin.user_id, byPassword.active_signin.user_id);
});

test("two accounts in one session: switch between them, then sign out of one and of all", { skip: !baseUrl }, async () => {
  const client = new Sesame({ baseUrl, mode: "header" });
  const first = await signUp(client);
  const firstSignin = (await client.session()).active_signin.id;
  const second = await signUp(client);
  const session = await client.session();
  assert.equal(session.signins.length, 2);
  assert.notEqual(session.active_signin.id, firstSignin);
  assert.equal((await client.me()).email, second);

  const switched = await client.switchTo(firstSignin);
  assert.equal(switched.active_signin.id, firstSignin);
  assert.equal((await client.me()).email, first);

  const left = await client.signOut(firstSignin);
  assert.equal(left.signins.length, 1);
  assert.equal(await client.signOut(), null);
  assert.equal(await client.session(), null);
  await assert.rejects(client.me(), (e) => e.status === 401);
});

test("devices: a second device is listed, then revoked, and its requests fail", { skip: !baseUrl }, async () => {
  const laptop = new Sesame({ baseUrl, mode: "header" });
  const email = await signUp(laptop, "a long enough secret");
  const phone = new Sesame({ baseUrl, mode: "header" });
  const phoneSignin = (await phone.signInWithPassword(email, "a long enough secret")).active_signin.id;

  const listed = await laptop.devices();
  assert.equal(listed.length, 2);
  assert.equal(listed.filter((d) => d.current).length, 1);
  assert.ok(listed.some((d) => d.id === phoneSignin && !d.current));

  const left = await laptop.revokeDevice(phoneSignin);
  assert.deepEqual(left.map((d) => d.current), [true]);
  await assert.rejects(phone.me(), (e) => e.status === 401);
  assert.equal((await laptop.me()).email, email);

  const again = new Sesame({ baseUrl, mode: "header" });
  await again.signInWithPassword(email, "a long enough secret");
  assert.equal((await laptop.revokeOtherDevices()).length, 1);
  await assert.rejects(again.me(), (e) => e.status === 401);
});

test("getToken: one request for parallel callers, cached until shortly before expiry", { skip: !baseUrl }, async () => {
  let now = Date.now();
  const { client, calls } = counted({ now: () => now, refreshMarginMs: 30_000 });
  await signUp(client);
  const [a, b, c] = await Promise.all([client.getToken(), client.getToken(), client.getToken()]);
  assert.equal(calls.get("/session/token"), 1, "parallel callers share one request");
  assert.equal(a, b);
  assert.equal(b, c);
  const claims = decodeToken(a);
  assert.equal(claims.sub, client.currentSession.active_signin.user_id);

  assert.equal(await client.getToken(), a, "cached");
  assert.equal(calls.get("/session/token"), 1);

  // Just inside the margin before expiry: renewed, once.
  now = Number(claims.exp) * 1000 - 29_000;
  const [d, e] = await Promise.all([client.getToken(), client.getToken()]);
  assert.equal(calls.get("/session/token"), 2);
  assert.equal(d, e);
});

test("getToken follows the active account and forgets signed-out ones", { skip: !baseUrl }, async () => {
  const { client, calls } = counted();
  await signUp(client);
  const firstSignin = client.currentSession.active_signin.id;
  const firstToken = await client.getToken();
  await signUp(client);
  const secondToken = await client.getToken();
  assert.notEqual(decodeToken(secondToken).sub, decodeToken(firstToken).sub);
  assert.equal(calls.get("/session/token"), 2);
  await client.switchTo(firstSignin);
  assert.equal(await client.getToken(), firstToken, "the first account's token is still cached");
  assert.equal(calls.get("/session/token"), 2);
  await client.signOut(firstSignin);
  assert.notEqual(await client.getToken(), firstToken);
});

test("the OAuth URL points at the configured provider", { skip: !baseUrl || (!process.env.SESAME_OAUTH_PROVIDER && process.env.CI !== "true") }, async () => {
  const client = new Sesame({ baseUrl, mode: "header" });
  const url = new URL(await client.oauthUrl(process.env.SESAME_OAUTH_PROVIDER, `${baseUrl}/`));
  assert.ok(url.searchParams.get("state"), "a state");
  assert.equal(url.searchParams.get("response_type"), "code");
  assert.equal(url.searchParams.get("redirect_uri"), `${baseUrl}/auth/oauth2/callback`);
  await assert.rejects(client.oauthUrl("no-such-provider", `${baseUrl}/`), (e) => e.status === 400);
});
