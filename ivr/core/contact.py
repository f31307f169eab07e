"""Callers' contact numbers: checked with phonenumbers, read back, encrypted at rest."""

from __future__ import annotations

import base64
import hashlib
import hmac

import phonenumbers
from cryptography.fernet import Fernet, InvalidToken


class ContactCipher:
    """Fernet (AES-128-CBC with HMAC-SHA256) under the key from the settings."""

    def __init__(self, key: str) -> None:
        self._fernet = Fernet(key.encode())
        # A key of its own for digests, derived so that a digest says nothing of the
        # encryption key.
        self._digest_key = hmac.digest(base64.urlsafe_b64decode(key), b"digest", "sha256")

    def encrypt(self, text: str) -> bytes:
        return self._fernet.encrypt(text.encode())

    def digest(self, text: str) -> str:
        """A keyed digest (HMAC-SHA256), to find a value again without keeping it: only
        whoever holds the key can test a guess against it."""
        return hmac.new(self._digest_key, text.encode(), hashlib.sha256).hexdigest()

    def decrypt(self, token: bytes) -> str | None:
        try:
            return self._fernet.decrypt(token).decode()
        except InvalidToken:
            return None


def parse_phone(typed: str, region: str = "GB") -> str | None:
    """A number typed on a keypad or a form, in E.164; None unless it is a valid number.

    UK numbers start with 0; a keypad has no +, so 00 starts an international number.
    """
    text = typed.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def spoken_groups(e164: str) -> str:
    """A number read back the way a person says it: digit by digit, in its usual groups."""
    number = phonenumbers.parse(e164)
    if number.country_code == 44:
        text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    else:
        text = "00 " + phonenumbers.format_number(
            number, phonenumbers.PhoneNumberFormat.INTERNATIONAL
        ).lstrip("+")
    groups = [" ".join(group) for group in text.replace("-", " ").split(" ") if group]
    return ", ".join(groups)
