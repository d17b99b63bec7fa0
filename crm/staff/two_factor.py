"""TOTP (RFC 6238, via pyotp) and one-time recovery codes."""

import hashlib
import hmac
import re
import secrets

import pyotp
import qrcode
import qrcode.image.svg

ISSUER = "Invest in Aalborg CRM"
RECOVERY_CODE_COUNT = 10


def new_secret():
    return pyotp.random_base32()


def provisioning_uri(secret, email):
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_svg(uri):
    """The QR code of `uri` as inline SVG markup (no script, no style attribute: CSP-safe)."""
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    return image.to_string(encoding="unicode")


def matching_step(secret, code, now):
    """The time step whose code equals `code` (±1 step for clock drift), or None."""
    code = re.sub(r"\s", "", code or "")
    if not re.fullmatch(r"\d{6}", code):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def new_recovery_codes():
    """Ten random codes like `3f9a1-c07be` (40 bits each), shown to the user once."""
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = secrets.token_hex(5)
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def recovery_code_hash(code):
    normal = re.sub(r"[\s-]", "", (code or "").lower())
    return hashlib.sha256(normal.encode()).hexdigest()


def looks_like_recovery_code(code):
    return bool(re.fullmatch(r"[0-9a-f]{10}", re.sub(r"[\s-]", "", (code or "").lower())))
