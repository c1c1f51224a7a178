// Sesame's client: a thin, typed layer over the HTTP API. The types come from openapi.json
// (`npm run generate`); everything here is hand-written.
//
// Two ways to hold the session:
// - cookie mode (browsers, the default there): the browser keeps the `__Host-session` cookie;
//   every request is sent with `credentials: "include"`.
// - header mode (Node, React Native, Deno, ...): the client keeps the credential itself, sends
//   `X-Session-Mode: header` and `Authorization: Bearer <credential>`, and replaces it with each
//   answer's `X-Session-Token` (an empty value means the session ended: it is discarded).

import type { components } from "./schema.js";
import { creationOptions, credentialJson, requestOptions } from "./webauthn.js";

type Schemas = components["schemas"];
export type Session = Schemas["SessionView"];
export type Signin = Schemas["SigninView"];
export type SignupAttempt = Schemas["SignupAttemptView"];
export type SigninAttempt = Schemas["SigninAttemptView"];
export type User = Schemas["UserView"];
export type Token = Schemas["TokenView"];
export type Device = Schemas["DeviceView"];
export type FieldError = Schemas["FieldError"];
export type ErrorCode = Schemas["ErrorCode"];
export type SignupBody = Schemas["SignupBody"];
export type SigninBody = Schemas["SigninBody"];
export type CompleteProfileBody = Schemas["CompleteProfileBody"];
export type MeBody = Schemas["MeBody"];
export type TwoFactor = Schemas["TwoFactorView"];
export type TotpEnrollment = Schemas["TotpEnrollmentView"];
export type BackupCodes = Schemas["BackupCodesView"];
export type SecondFactorStrategy = Schemas["SecondFactorStrategy"];
export type ReverifyBody = Schemas["ReverifyBody"];
export type Passkey = Schemas["PasskeyView"];
/**
 * What `reverify` sends, one shape per strategy. A user with a second factor on (`twoFactor()`)
 * proves one of its second factors: `totp` or `backup_code` with the code (at once; the code is
 * spent), or `phone_otp` when the SMS factor is on; `password` and `email_otp` then answer `400
 * INVALID_FIELD`. A user without one uses `password`, `email_otp` or `phone_otp`.
 */
export type Reverification =
  | { strategy: "password"; password: string }
  | { strategy: "email_otp" | "phone_otp" }
  | { strategy: "totp" | "backup_code"; code: string };

/** The envelope every answer but the public documents has. */
export interface Envelope<T> {
  status: number;
  message: string;
  data: T;
  session: Session | null;
  errors: FieldError[];
}

/** Where header mode keeps the credential; the default keeps it in memory. */
export interface CredentialStore {
  get(): string | null | Promise<string | null>;
  set(credential: string | null): void | Promise<void>;
}

export function memoryStore(initial: string | null = null): CredentialStore {
  let value = initial;
  return {
    get: () => value,
    set: (v) => {
      value = v;
    },
  };
}

export interface SesameOptions {
  /** The API's origin, e.g. `https://auth.example.com` or `http://127.0.0.1:3000`. */
  baseUrl: string;
  /** `cookie` where a browser holds the session, `header` elsewhere (the default follows `document`). */
  mode?: "cookie" | "header";
  /** Header mode: where the credential is kept (default: memory). */
  store?: CredentialStore;
  /** A token is renewed this long before its `expires_at` (default 30 s). */
  refreshMarginMs?: number;
  /** `fetch` to use (default: the global one). */
  fetch?: typeof fetch;
  /** The clock, in milliseconds (default `Date.now`). */
  now?: () => number;
}

/** A refused request: the HTTP status and the envelope's errors. */
export class SesameError extends Error {
  readonly status: number;
  readonly errors: FieldError[];
  readonly session: Session | null;

  constructor(envelope: Envelope<unknown>) {
    super(envelope.message || `request failed with ${envelope.status}`);
    this.name = "SesameError";
    this.status = envelope.status;
    this.errors = envelope.errors ?? [];
    this.session = envelope.session ?? null;
  }

  /** The first error's code, e.g. `INVALID_CODE`. */
  get code(): ErrorCode | undefined {
    return this.errors[0]?.code;
  }
}

/** Which attempt a code or a new code is for. */
export type AttemptRef = { signup_attempt_id: string } | { signin_attempt_id: string };

interface CachedToken {
  jwt: string;
  expiresAtMs: number;
}

export class Sesame {
  readonly mode: "cookie" | "header";
  private readonly baseUrl: string;
  private readonly store: CredentialStore;
  private readonly margin: number;
  private readonly fetcher: typeof fetch;
  private readonly now: () => number;
  private readonly tokens = new Map<string, CachedToken>();
  private readonly pending = new Map<string, Promise<CachedToken>>();
  private latest: Session | null = null;

  constructor(options: SesameOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.mode = options.mode ?? (typeof document === "undefined" ? "header" : "cookie");
    this.store = options.store ?? memoryStore();
    this.margin = options.refreshMarginMs ?? 30_000;
    this.fetcher = options.fetch ?? ((input, init) => fetch(input, init));
    this.now = options.now ?? Date.now;
  }

  /** The session as the last answer showed it (no request). */
  get currentSession(): Session | null {
    return this.latest;
  }

  // --- sign-up -----------------------------------------------------------------------------

  /** Starts a sign-up; the code goes to the email or phone (see `signup_attempts`). */
  signUp(body: SignupBody): Promise<Session> {
    return this.sessionCall("POST", "/auth/signup", body);
  }

  /** Checks a code for a sign-up or sign-in attempt. */
  verify(attempt: AttemptRef, code: string): Promise<Session> {
    return this.sessionCall("POST", "/auth/attempt-verification", { ...attempt, code });
  }

  /** Sends a new code for the attempt (the old one stops working). */
  resend(attempt: AttemptRef, strategy?: "email_otp" | "phone_otp"): Promise<Session> {
    return this.sessionCall("POST", "/auth/prepare-verification", strategy ? { ...attempt, strategy } : attempt);
  }

  /** Gives a pending attempt the fields it misses (`missing_fields`). */
  completeProfile(body: CompleteProfileBody): Promise<Session> {
    return this.sessionCall("POST", "/auth/complete-profile", body);
  }

  // --- sign-in -----------------------------------------------------------------------------

  signIn(body: SigninBody): Promise<Session> {
    return this.sessionCall("POST", "/auth/signin", body);
  }

  signInWithPassword(identifier: string, password: string): Promise<Session> {
    return this.signIn({ strategy: "password", identifier, password });
  }

  /** Sends a sign-in code; finish with `verify({signin_attempt_id}, code)`. */
  signInWithCode(identifier: string, strategy: "email_otp" | "phone_otp" = "email_otp"): Promise<Session> {
    return this.signIn({ strategy, identifier });
  }

  /**
   * Where to send the browser to sign in with `provider`. It comes back to `redirectUri` (one of
   * the server's `ALLOWED_REDIRECT_URIS`), with `error=<CODE>` added when the sign-in failed.
   */
  async oauthUrl(provider: string, redirectUri: string): Promise<string> {
    const query = new URLSearchParams({ provider, redirect_uri: redirectUri });
    const data = await this.call<{ oauth_url: string }>("GET", `/auth/oauth2/init?${query}`);
    return data.oauth_url;
  }

  // --- the session -------------------------------------------------------------------------

  /** The session (or null): its signins, open attempts and the active signin. */
  async session(): Promise<Session | null> {
    return this.call<Session | null>("GET", "/session");
  }

  /** Makes another of the session's signins the active one. */
  switchTo(signinId: string): Promise<Session> {
    return this.sessionCall("POST", "/session/switch-sign-in", { signin_id: signinId });
  }

  /** Signs one account out, or with no id every account and the session. */
  async signOut(signinId?: string): Promise<Session | null> {
    const session = await this.call<Session | null>("POST", "/session/sign-out", signinId ? { signin_id: signinId } : undefined);
    if (signinId) this.tokens.delete(signinId);
    else this.tokens.clear();
    return session;
  }

  /** The active account's user. */
  me(): Promise<User> {
    return this.call<User>("GET", "/me");
  }

  /** Edits the active account's user; `null` or `""` clears a name or the image. */
  updateMe(changes: MeBody): Promise<User> {
    return this.call<User>("PATCH", "/me", changes);
  }

  // --- reverification --------------------------------------------------------------------

  /**
   * Proves a factor again for sensitive calls (`403 REVERIFICATION_REQUIRED`). `password`, `totp`
   * and `backup_code` refresh the active signin at once; `email_otp` and `phone_otp` open an
   * attempt that texts or emails a code: finish it with `verify({signin_attempt_id}, code)`. With a
   * second factor on, only `totp`, `backup_code` (and `phone_otp` when the SMS factor is on) do.
   */
  reverify(body: Reverification): Promise<Session> {
    return this.sessionCall("POST", "/auth/reverify", body);
  }

  // --- the second factor -------------------------------------------------------------------

  /** What second factors the active user has on, and how many backup codes are left. */
  twoFactor(): Promise<TwoFactor> {
    return this.call<TwoFactor>("GET", "/me/two-factor");
  }

  /**
   * Starts TOTP enrollment (reverification required): the secret, its `otpauth://` URI and that URI
   * as an SVG QR code, shown this once. Finish with `confirmTotp(code)`.
   */
  enrollTotp(): Promise<TotpEnrollment> {
    return this.call<TotpEnrollment>("POST", "/me/totp");
  }

  /** Turns TOTP on with the app's current code; answers ten backup codes, shown this once. */
  confirmTotp(code: string): Promise<BackupCodes> {
    return this.call<BackupCodes>("POST", "/me/totp/verify", { code });
  }

  /** Turns TOTP off (reverification required). */
  disableTotp(): Promise<TwoFactor> {
    return this.call<TwoFactor>("DELETE", "/me/totp");
  }

  /** Ten new backup codes replace every old one (reverification required); shown this once. */
  regenerateBackupCodes(): Promise<BackupCodes> {
    return this.call<BackupCodes>("POST", "/me/backup-codes");
  }

  /** SMS codes to the verified phone as a second factor, on or off (reverification required). */
  setPhoneSecondFactor(enabled: boolean): Promise<TwoFactor> {
    return this.call<TwoFactor>("POST", "/me/two-factor/phone", { enabled });
  }

  /** Sends the SMS code for a sign-in waiting at `verify_second_factor` (strategy `phone_otp`). */
  sendSecondFactorCode(signinAttemptId: string): Promise<Session> {
    return this.resend({ signin_attempt_id: signinAttemptId }, "phone_otp");
  }

  /**
   * Finishes a sign-in waiting at `verify_second_factor` with one of its
   * `second_factor_strategies`; only then is the signin granted.
   */
  verifySecondFactor(signinAttemptId: string, strategy: SecondFactorStrategy, code: string): Promise<Session> {
    return this.sessionCall("POST", "/auth/attempt-verification", { signin_attempt_id: signinAttemptId, code, strategy });
  }

  // --- devices ---------------------------------------------------------------------------

  /** Every live signin of the active user, on every browser and device (`current`: this one). */
  devices(): Promise<Device[]> {
    return this.call<Device[]>("GET", "/me/sessions");
  }

  /** Ends one of the user's signins anywhere; it fails on its next request. Answers those left. */
  revokeDevice(signinId: string): Promise<Device[]> {
    return this.call<Device[]>("POST", `/me/sessions/${encodeURIComponent(signinId)}/revoke`);
  }

  /** Ends every signin of the user but this one. Answers those left. */
  revokeOtherDevices(): Promise<Device[]> {
    return this.call<Device[]>("POST", "/me/sessions/revoke-others");
  }

  // --- passkeys ----------------------------------------------------------------------------

  /** Creates a passkey with the browser's authenticator and stores it as `name`. Needs a recent
   * sign-in (or `POST /auth/reverify`), like every sensitive change. */
  async addPasskey(name: string): Promise<Passkey> {
    const options = await this.call<{ publicKey: Record<string, unknown> }>("POST", "/me/passkeys/register/begin", {});
    const credential = await navigator.credentials.create({ publicKey: creationOptions(options.publicKey) });
    return this.call<Passkey>("POST", "/me/passkeys/register/finish", { credential: credentialJson(credential), name });
  }

  /** Signs in with a passkey the browser's authenticator holds: no identifier, no password, no
   * second factor. */
  async signInWithPasskey(): Promise<Session> {
    const opened = await this.sessionCall("POST", "/auth/signin", { strategy: "passkey" });
    const attempt = opened.signin_attempts.at(-1);
    const options = attempt?.passkey_options as { publicKey: Record<string, unknown> } | null | undefined;
    if (!attempt || !options) throw new Error("the sign-in attempt has no passkey options");
    const credential = await navigator.credentials.get({ publicKey: requestOptions(options.publicKey) });
    return this.sessionCall("POST", "/auth/attempt-verification", { signin_attempt_id: attempt.id, credential: credentialJson(credential) });
  }

  /** The active user's passkeys. */
  passkeys(): Promise<Passkey[]> {
    return this.call<Passkey[]>("GET", "/me/passkeys");
  }

  renamePasskey(id: string, name: string): Promise<Passkey> {
    return this.call<Passkey>("PATCH", `/me/passkeys/${encodeURIComponent(id)}`, { name });
  }

  /** Deletes a passkey (needs a recent sign-in or reverification); it no longer signs in. */
  async deletePasskey(id: string): Promise<void> {
    await this.call<null>("DELETE", `/me/passkeys/${encodeURIComponent(id)}`);
  }

  // --- tokens ------------------------------------------------------------------------------

  /**
   * A JWT for your backend, for the active signin (or `signinId`). Cached until `refreshMarginMs`
   * before it expires; callers asking at the same time share one request.
   */
  async getToken(signinId?: string): Promise<string> {
    const id = signinId ?? this.latest?.active_signin?.id ?? "";
    const cached = this.tokens.get(id);
    if (id && cached && this.now() < cached.expiresAtMs - this.margin) return cached.jwt;
    let request = this.pending.get(id);
    if (!request) {
      request = this.call<Token>("POST", "/session/token", signinId ? { signin_id: signinId } : undefined)
        .then((t) => {
          const token = { jwt: t.jwt, expiresAtMs: Date.parse(t.expires_at) };
          // Keyed by the signin it was issued for: its `sid` claim, not the session's active
          // signin, which a switch made meanwhile may have changed.
          const sid = decodeToken(t.jwt).sid;
          const issuedFor = typeof sid === "string" ? sid : signinId;
          if (issuedFor) this.tokens.set(issuedFor, token);
          return token;
        })
        .finally(() => this.pending.delete(id));
      this.pending.set(id, request);
    }
    return (await request).jwt;
  }

  // --- plumbing ----------------------------------------------------------------------------

  private async sessionCall(method: string, path: string, body?: unknown): Promise<Session> {
    const session = await this.call<Session | null>(method, path, body);
    if (!session) throw new Error(`${path} answered without a session`);
    return session;
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    const init: RequestInit = { method, headers, body: body === undefined ? undefined : JSON.stringify(body) };
    if (this.mode === "header") {
      headers["x-session-mode"] = "header";
      const credential = await this.store.get();
      if (credential) headers.authorization = `Bearer ${credential}`;
      init.credentials = "omit";
    } else {
      init.credentials = "include";
    }
    const response = await this.fetcher(`${this.baseUrl}${path}`, init);
    if (this.mode === "header") {
      const issued = response.headers.get("x-session-token");
      if (issued !== null) await this.store.set(issued === "" ? null : issued);
    }
    const text = await response.text();
    const envelope = (text ? JSON.parse(text) : null) as Envelope<T> | null;
    if (!envelope) {
      if (response.ok) return undefined as T;
      throw new SesameError({ status: response.status, message: response.statusText, data: null, session: null, errors: [] });
    }
    this.observe(envelope.session);
    if (!response.ok) throw new SesameError(envelope);
    return envelope.data;
  }

  /** Keeps the latest session, and forgets tokens of signins it no longer has. */
  private observe(session: Session | null) {
    this.latest = session;
    const live = new Set((session?.signins ?? []).map((s) => s.id));
    for (const id of this.tokens.keys()) if (!live.has(id)) this.tokens.delete(id);
  }
}

/**
 * The session's newest sign-in attempt waiting for a second factor, if any: after a first factor
 * of a user with one on, there is no new signin yet but this attempt, with its
 * `second_factor_strategies`.
 */
export function secondFactorAttempt(session: Session | null): SigninAttempt | undefined {
  return [...(session?.signin_attempts ?? [])].reverse().find((a) => !a.completed && a.current_step === "verify_second_factor");
}

/** The claims of a JWT, decoded (not verified: verify on your backend, with the JWKS). */
export function decodeToken(jwt: string): Record<string, unknown> {
  const payload = jwt.split(".")[1] ?? "";
  const base64 = payload.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  const json = new TextDecoder().decode(Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)));
  return JSON.parse(json) as Record<string, unknown>;
}
