"""A small arithmetic captcha drawn on the server with Pillow (no outside service).

``new_challenge(request)`` picks a sum such as ``7 + 5``, keeps only a keyed hash of its answer in the session
(with an expiry) and returns the PNG to show; ``check(request, answer)`` accepts the answer once (a challenge
cannot be replayed) and forgets it either way. Asked for after repeated failures only (see tongxin.core.auth and
tongxin.accounts.otp), so people who type their password right never see it.
"""

from __future__ import annotations

import hmac
import io
import secrets
import time

from django.http import HttpRequest
from django.utils.crypto import salted_hmac

SESSION_KEY = "_captcha"
TTL_SECONDS = 300


def _digest(nonce: str, answer: str) -> str:
    return salted_hmac("tongxin.captcha", f"{nonce}:{answer.strip()}").hexdigest()


def new_challenge(request: HttpRequest) -> bytes:
    """A fresh challenge for this session, as a PNG image."""
    a, b = secrets.randbelow(9) + 1, secrets.randbelow(9) + 1
    nonce = secrets.token_hex(8)
    request.session[SESSION_KEY] = {
        "nonce": nonce,
        "digest": _digest(nonce, str(a + b)),
        "expires": time.time() + TTL_SECONDS,
    }
    return render_png(f"{a} + {b} = ?")


def check(request: HttpRequest, answer: str | None) -> bool:
    state = request.session.pop(SESSION_KEY, None)
    if not state or not answer or time.time() > state["expires"]:
        return False
    return hmac.compare_digest(state["digest"], _digest(state["nonce"], str(answer)))


def render_png(text: str) -> bytes:
    """``text`` on a noisy background, each character slightly shifted (hard for naive OCR, easy for people)."""
    from PIL import Image, ImageDraw, ImageFont

    width, height = 180, 56
    image = Image.new("RGB", (width, height), (246, 246, 240))
    draw = ImageDraw.Draw(image)
    rng = secrets.SystemRandom()
    for _ in range(8):
        draw.line(
            [
                (rng.randint(0, width), rng.randint(0, height)),
                (rng.randint(0, width), rng.randint(0, height)),
            ],
            fill=(rng.randint(150, 210), rng.randint(150, 210), rng.randint(150, 210)),
            width=1,
        )
    font = ImageFont.load_default(size=30)
    x = 10
    for ch in text:
        y = rng.randint(4, 14)
        draw.text(
            (x, y), ch, font=font, fill=(rng.randint(10, 80), rng.randint(10, 80), rng.randint(60, 120))
        )
        x += 18 if ch != " " else 8
    for _ in range(120):
        draw.point((rng.randint(0, width - 1), rng.randint(0, height - 1)), fill=(90, 90, 90))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
