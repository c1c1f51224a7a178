"""Verifies a Sesame token the way a team's Python backend would: PyJWT fetches the JWKS over
HTTP (PyJWKClient) and checks the RS256 signature, iss, aud, exp and nbf.

Usage: python verify_pyjwt.py <jwks url> <issuer> <audience> <token>
Prints {"ok": true, "claims": {...}} or {"ok": false, "error": "<PyJWT exception name>"}.
"""

import json
import sys

import jwt

jwks_url, issuer, audience, token = sys.argv[1:5]
try:
    key = jwt.PyJWKClient(jwks_url).get_signing_key_from_jwt(token)
    claims = jwt.decode(
        token,
        key.key,
        algorithms=["RS256"],
        issuer=issuer,
        audience=audience,
        options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub"]},
    )
    print(json.dumps({"ok": True, "claims": claims, "kid": key.key_id}))
except jwt.PyJWTError as e:
    print(json.dumps({"ok": False, "error": type(e).__name__}))
