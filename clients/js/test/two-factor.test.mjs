// The client's second-factor calls against a running dev server (scripts/test_dx sets SESAME_URL):
// TOTP enrollment with codes computed here (RFC 6238 over node:crypto, independent of the server's
// implementation), backup codes, the SMS factor, sign-ins finished at `verify_second_factor`, and
// reverification with the second factor.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac, randomInt } from "node:crypto";

import { Sesame, SesameError, secondFactorAttempt } from "../dist/index.js";

const baseUrl = process.env.SESAME_URL;
if (!baseUrl && process.env.CI === "true") throw new Error("SESAME_URL is not set (scripts/test_dx sets it)");

const PASSWORD = "correct horse battery";
let counter = 0;
const uniqueEmail = () => `twofa-${process.pid}-${Date.now()}-${(counter += 1)}@example.com`;
const uniquePhone = () => `+1555${String(randomInt(10_000_000)).padStart(7, "0")}`;

/** RFC 4648 base32 (the secret's alphabet), no padding. */
function base32Decode(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of text.replace(/=+$/, "").toUpperCase()) {
    const v = alphabet.indexOf(c);
    assert.ok(v >= 0, `not base32: ${c}`);
    bits += v.toString(2).padStart(5, "0");
  }
  const bytes = bits.match(/.{8}/g) ?? [];
  return Buffer.from(bytes.map((b) => parseInt(b, 2)));
}

/** RFC 6238 with the defaults an authenticator app uses: HMAC-SHA1, 30 s steps, 6 digits. */
function totp(secret, atMs = Date.now()) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(atMs / 1000 / 30)));
  const mac = createHmac("sha1", base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(value).padStart(6, "0");
}

test("the TOTP helper matches RFC 6238's SHA-1 test vectors", () => {
  // Appendix B: the ASCII secret "12345678901234567890", 8 digits there; the last 6 here.
  const secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
  assert.equal(totp(secret, 59_000), "287082");
  assert.equal(totp(secret, 1_111_111_109_000), "081804");
  assert.equal(totp(secret, 2_000_000_000_000), "279037");
});

/** The newest code the dev outbox holds for `to`. */
async function latestCode(to) {
  const messages = await (await fetch(`${baseUrl}/dev/outbox`)).json();
  const message = messages.find((m) => m.to === to);
  assert.ok(message, `no message for ${to} in the outbox`);
  const code = /\b(\d{6})\b/.exec(message.body)?.[1];
  assert.ok(code, "no code in the newest message");
  return code;
}

/** A new signed-in user: by email (the default) or by phone. */
async function signUp(client, body) {
  const started = await client.signUp({ password: PASSWORD, ...body });
  const attempt = started.signup_attempts.at(-1);
  const to = body.email ?? body.phone_number;
  const session = await client.verify({ signup_attempt_id: attempt.id }, await latestCode(to));
  assert.ok(session.active_signin, "signed in after the code");
}

/** Enrolls TOTP for the client's active user; answers the secret and the backup codes. */
async function enroll(client) {
  const enrollment = await client.enrollTotp();
  const backup = await client.confirmTotp(totp(enrollment.secret));
  return { secret: enrollment.secret, codes: backup.backup_codes };
}

/** A password sign-in of a user with a second factor: the attempt waiting for it. */
async function firstFactor(identifier) {
  const client = new Sesame({ baseUrl, mode: "header" });
  const session = await client.signInWithPassword(identifier, PASSWORD);
  assert.equal(session.active_signin, null, "no signin before the second factor");
  const attempt = secondFactorAttempt(session);
  assert.ok(attempt, "an attempt waits at verify_second_factor");
  return { client, attempt };
}

const isError = (status, code) => (e) => {
  assert.ok(e instanceof SesameError, String(e));
  assert.equal(e.status, status);
  assert.equal(e.code, code);
  return true;
};

test("enroll TOTP, then sign in with a TOTP code once and with a backup code once", { skip: !baseUrl }, async () => {
  const client = new Sesame({ baseUrl, mode: "header" });
  const email = uniqueEmail();
  await signUp(client, { email });
  assert.deepEqual(await client.twoFactor(), {
    two_factor_enabled: false, totp_enabled: false, phone_enabled: false, backup_codes_left: 0, strategies: [], required: false,
  });

  const enrollment = await client.enrollTotp();
  assert.match(enrollment.secret, /^[A-Z2-7]{32}$/, "160 bits of base32");
  const uri = new URL(enrollment.otpauth_uri);
  assert.equal(uri.protocol, "otpauth:");
  assert.equal(uri.searchParams.get("secret"), enrollment.secret);
  assert.match(enrollment.qr_svg, /<svg[\s>]/);
  const right = totp(enrollment.secret);
  const wrong = right === "000000" ? "111111" : "000000";
  await assert.rejects(client.confirmTotp(wrong), isError(400, "INVALID_CODE"));
  const { backup_codes: codes } = await client.confirmTotp(right);
  assert.equal(codes.length, 10);
  assert.equal(new Set(codes).size, 10);
  const status = await client.twoFactor();
  assert.equal(status.totp_enabled, true);
  assert.equal(status.backup_codes_left, 10);
  assert.deepEqual([...status.strategies].sort(), ["backup_code", "totp"]);
  assert.equal((await client.me()).two_factor_enabled, true);
  await assert.rejects(client.enrollTotp(), isError(409, "TOTP_ALREADY_ENABLED"));

  // The enrollment code's time step is spent: the next step's code (valid one step early).
  const next = totp(enrollment.secret, Date.now() + 30_000);
  const first = await firstFactor(email);
  assert.deepEqual([...first.attempt.second_factor_strategies].sort(), ["backup_code", "totp"]);
  const signedIn = await first.client.verifySecondFactor(first.attempt.id, "totp", next);
  assert.ok(signedIn.active_signin, "signed in after the TOTP code");
  assert.equal((await first.client.me()).email, email);

  // The same code again, from another browser: refused.
  const replay = await firstFactor(email);
  await assert.rejects(replay.client.verifySecondFactor(replay.attempt.id, "totp", next), isError(400, "INVALID_CODE"));
  await assert.rejects(replay.client.me(), (e) => e.status === 401);

  const byBackup = await firstFactor(email);
  const done = await byBackup.client.verifySecondFactor(byBackup.attempt.id, "backup_code", codes[0]);
  assert.ok(done.active_signin, "signed in with a backup code");
  assert.equal((await client.twoFactor()).backup_codes_left, 9);
  const again = await firstFactor(email);
  await assert.rejects(again.client.verifySecondFactor(again.attempt.id, "backup_code", codes[0]), isError(400, "INVALID_CODE"));
});

test("new backup codes replace the old ones; turning TOTP off signs in with the password alone", { skip: !baseUrl }, async () => {
  const client = new Sesame({ baseUrl, mode: "header" });
  const email = uniqueEmail();
  await signUp(client, { email });
  const { codes: old } = await enroll(client);

  const { backup_codes: fresh } = await client.regenerateBackupCodes();
  assert.equal(fresh.length, 10);
  assert.ok(fresh.every((c) => !old.includes(c)), "all new");
  const stale = await firstFactor(email);
  await assert.rejects(stale.client.verifySecondFactor(stale.attempt.id, "backup_code", old[1]), isError(400, "INVALID_CODE"));
  const ok = await stale.client.verifySecondFactor(stale.attempt.id, "backup_code", fresh[1]);
  assert.ok(ok.active_signin);

  const off = await client.disableTotp();
  assert.equal(off.two_factor_enabled, false);
  assert.equal(off.totp_enabled, false);
  assert.equal(off.backup_codes_left, 0, "no factor left: the backup codes go too");
  await assert.rejects(client.disableTotp(), isError(409, "SECOND_FACTOR_NOT_ENABLED"));
  await assert.rejects(client.regenerateBackupCodes(), isError(409, "SECOND_FACTOR_NOT_ENABLED"));
  const plain = await new Sesame({ baseUrl, mode: "header" }).signInWithPassword(email, PASSWORD);
  assert.ok(plain.active_signin, "the password alone signs in again");
  assert.equal(secondFactorAttempt(plain), undefined);
});

test("the SMS factor: needs a verified phone; sign in with the texted code", { skip: !baseUrl }, async () => {
  const noPhone = new Sesame({ baseUrl, mode: "header" });
  await signUp(noPhone, { email: uniqueEmail() });
  await assert.rejects(noPhone.setPhoneSecondFactor(true), isError(400, "INVALID_FIELD"));

  const client = new Sesame({ baseUrl, mode: "header" });
  const phone = uniquePhone();
  await signUp(client, { phone_number: phone, strategy: "phone_otp" });
  const on = await client.setPhoneSecondFactor(true);
  assert.equal(on.phone_enabled, true);
  assert.equal(on.two_factor_enabled, true);
  assert.deepEqual(on.strategies, ["phone_otp"]);

  const { client: other, attempt } = await firstFactor(phone);
  assert.deepEqual(attempt.second_factor_strategies, ["phone_otp"]);
  const sent = await other.sendSecondFactorCode(attempt.id);
  assert.equal(secondFactorAttempt(sent)?.id, attempt.id, "still waiting for the code");
  const done = await other.verifySecondFactor(attempt.id, "phone_otp", await latestCode(phone));
  assert.ok(done.active_signin, "signed in with the texted code");

  const off = await client.setPhoneSecondFactor(false);
  assert.equal(off.two_factor_enabled, false);
  assert.ok((await new Sesame({ baseUrl, mode: "header" }).signInWithPassword(phone, PASSWORD)).active_signin);
});

test("a code strategy the attempt does not offer is refused", { skip: !baseUrl }, async () => {
  const client = new Sesame({ baseUrl, mode: "header" });
  const email = uniqueEmail();
  await signUp(client, { email });
  await enroll(client);
  const { client: other, attempt } = await firstFactor(email);
  await assert.rejects(other.sendSecondFactorCode(attempt.id), (e) => {
    assert.ok(e instanceof SesameError);
    assert.equal(e.status, 400);
    return true;
  });
  await assert.rejects(other.verifySecondFactor(attempt.id, "phone_otp", "123456"), (e) => e instanceof SesameError && e.status === 400);
  assert.equal(secondFactorAttempt(other.currentSession)?.id, attempt.id, "the attempt still waits");
});

test("a user with a second factor reverifies with it: TOTP once, a backup code; not the password", { skip: !baseUrl }, async () => {
  const client = new Sesame({ baseUrl, mode: "header" });
  const email = uniqueEmail();
  await signUp(client, { email });
  // No factor yet: the password reverifies.
  const before = await client.reverify({ strategy: "password", password: PASSWORD });
  assert.ok(before.active_signin, "still signed in");
  const { secret, codes } = await enroll(client);

  // The password or an emailed code alone are refused now, naming the strategy.
  for (const body of [{ strategy: "password", password: PASSWORD }, { strategy: "email_otp" }]) {
    await assert.rejects(client.reverify(body), (e) => {
      assert.ok(e instanceof SesameError, String(e));
      assert.equal(e.status, 400);
      assert.equal(e.code, "INVALID_FIELD");
      assert.ok(e.errors.some((f) => f.field === "strategy"), JSON.stringify(e.errors));
      return true;
    });
  }
  // The SMS strategy is not a second factor of this user (no phone factor on).
  await assert.rejects(client.reverify({ strategy: "phone_otp" }), isError(400, "INVALID_FIELD"));

  // The authenticator's code (the enrollment's step is spent: the next step's, valid one step
  // early) reverifies at once: no attempt opened, the signin unchanged.
  const signin = client.currentSession.active_signin.id;
  const attempts = client.currentSession.signin_attempts.length;
  const code = totp(secret, Date.now() + 30_000);
  const done = await client.reverify({ strategy: "totp", code });
  assert.equal(done.active_signin.id, signin, "the same signin");
  assert.equal(done.signin_attempts.length, attempts, "no attempt opened");
  // The same code again is spent.
  await assert.rejects(client.reverify({ strategy: "totp", code }), isError(400, "INVALID_CODE"));
  // A wrong backup code is refused; a right one reverifies once and is gone.
  await assert.rejects(client.reverify({ strategy: "backup_code", code: "not-a-code" }), (e) => e instanceof SesameError && e.status === 400);
  assert.ok((await client.reverify({ strategy: "backup_code", code: codes[0] })).active_signin);
  assert.equal((await client.twoFactor()).backup_codes_left, 9);
  await assert.rejects(client.reverify({ strategy: "backup_code", code: codes[0] }), isError(400, "INVALID_CODE"));
});
