// WebAuthn's JSON forms (hand-written): the options Sesame sends carry binary fields as base64url
// strings, the browser's API wants ArrayBuffers, and Sesame wants the browser's answer back as
// JSON with base64url strings (what `PublicKeyCredential.toJSON()` gives where it exists).

type Json = Record<string, unknown>;

export function fromBase64Url(text: string): ArrayBuffer {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  return bytes.buffer;
}

export function toBase64Url(data: ArrayBuffer | ArrayBufferView): string {
  const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const withIds = (list: unknown) =>
  Array.isArray(list) ? list.map((c: Json) => ({ ...c, id: fromBase64Url(c.id as string) })) : list;

/** Creation options (`data.publicKey` of `POST /me/passkeys/register/begin`) for `navigator.credentials.create`. */
export function creationOptions(json: Json): PublicKeyCredentialCreationOptions {
  const user = json.user as Json;
  return {
    ...json,
    challenge: fromBase64Url(json.challenge as string),
    user: { ...user, id: fromBase64Url(user.id as string) },
    excludeCredentials: withIds(json.excludeCredentials),
  } as unknown as PublicKeyCredentialCreationOptions;
}

/** Request options (a passkey attempt's `passkey_options.publicKey`) for `navigator.credentials.get`. */
export function requestOptions(json: Json): PublicKeyCredentialRequestOptions {
  return {
    ...json,
    challenge: fromBase64Url(json.challenge as string),
    allowCredentials: withIds(json.allowCredentials),
  } as unknown as PublicKeyCredentialRequestOptions;
}

/** The browser's answer (`create` or `get`) as the JSON Sesame reads. */
export function credentialJson(credential: Credential | null): Json {
  if (!credential) throw new Error("no passkey was chosen");
  const c = credential as PublicKeyCredential;
  const r = c.response as AuthenticatorAttestationResponse & AuthenticatorAssertionResponse;
  const response: Json = { clientDataJSON: toBase64Url(r.clientDataJSON) };
  if ("attestationObject" in r && r.attestationObject) {
    response.attestationObject = toBase64Url(r.attestationObject);
    if (typeof r.getTransports === "function") response.transports = r.getTransports();
  } else {
    response.authenticatorData = toBase64Url(r.authenticatorData);
    response.signature = toBase64Url(r.signature);
    if (r.userHandle) response.userHandle = toBase64Url(r.userHandle);
  }
  return {
    id: c.id,
    rawId: toBase64Url(c.rawId),
    type: c.type,
    response,
    extensions: c.getClientExtensionResults?.() ?? {},
  };
}
