// Verifies a Sesame token the way a team's Node backend would: npm `jose` fetches the JWKS over
// HTTP and checks the RS256 signature, iss, aud, exp and nbf.
// Usage: node verify_jose.mjs <jwks url> <issuer> <audience> <token>
// Prints {"ok": true, "claims": {...}} or {"ok": false, "error": "<jose error code>"}.
import { createRemoteJWKSet, jwtVerify } from "jose";

const [jwksUrl, issuer, audience, token] = process.argv.slice(2);
const jwks = createRemoteJWKSet(new URL(jwksUrl));
try {
  const { payload, protectedHeader } = await jwtVerify(token, jwks, {
    issuer,
    audience,
    algorithms: ["RS256"],
  });
  console.log(JSON.stringify({ ok: true, claims: payload, kid: protectedHeader.kid }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: e.code ?? e.name ?? String(e) }));
}
