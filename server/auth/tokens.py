"""HS256 JSON Web Tokens for viewers (guest tokens we sign, shop tokens the shop signs)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

from server.errors import Unauthorized

MAX_TOKEN_CHARS = 4096


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_jwt(claims: dict[str, Any], secret: str) -> str:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = _b64(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode())
    signing_input = f"{header}.{body}".encode()
    sig = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return f"{header}.{body}.{_b64(sig)}"


def decode_jwt(
    token: str, secret: str, *, now: float | None = None, leeway: int = 30
) -> dict[str, Any]:
    """Verify signature, algorithm and expiry. Errors: token_invalid, token_expired."""
    if not token or len(token) > MAX_TOKEN_CHARS or token.count(".") != 2:
        raise Unauthorized("token_invalid", "malformed token")
    header_b64, body_b64, sig_b64 = token.split(".")
    try:
        header = json.loads(_unb64(header_b64))
        claims = json.loads(_unb64(body_b64))
        sig = _unb64(sig_b64)
    except (ValueError, UnicodeDecodeError):
        raise Unauthorized("token_invalid", "malformed token") from None
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise Unauthorized("token_invalid", "only HS256 tokens are accepted")
    expected = hmac.new(
        secret.encode(), f"{header_b64}.{body_b64}".encode(), hashlib.sha256
    ).digest()
    if not hmac.compare_digest(sig, expected):
        raise Unauthorized("token_invalid", "bad signature")
    if not isinstance(claims, dict):
        raise Unauthorized("token_invalid", "claims must be an object")
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        raise Unauthorized("token_invalid", "exp claim missing")
    current = time.time() if now is None else now
    if current > exp + leeway:
        raise Unauthorized("token_expired", "the token has expired")
    return claims


API_TOKEN_PREFIX = "onair_"


def new_api_token() -> tuple[str, str, str]:
    """Return (token shown once, its sha256 hex, a short prefix for listings)."""
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, sha256_hex(token), token[:12]


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
