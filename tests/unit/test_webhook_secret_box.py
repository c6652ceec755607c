"""The box that seals webhook secrets at rest: no database needed."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from campaigns.webhooks import SecretBox, SecretBoxError, new_secret
from campaigns.webhooks.secret_box import PREFIX, is_sealed


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(Fernet.generate_key().decode())


def test_a_sealed_secret_opens_to_itself_and_shows_nothing_of_it(box):
    secret = new_secret()
    stored = box.seal(secret)
    assert stored.startswith(PREFIX) and is_sealed(stored)
    assert secret not in stored and secret.removeprefix("whsec_") not in stored
    assert box.open(stored) == secret
    assert box.seal(secret) != stored  # a fresh IV each time: equal secrets do not show as equal rows


def test_the_key_may_be_given_as_bytes():
    key = Fernet.generate_key()
    assert SecretBox(key).open(SecretBox(key.decode()).seal("s" * 32)) == "s" * 32


def test_a_plain_value_opens_as_it_is(box):
    # Rows written before sealing existed (or in the lab without a key) keep delivering.
    assert box.open("whsec_written-before-the-key") == "whsec_written-before-the-key"


def test_without_a_key_nothing_is_sealed():
    plain = SecretBox(None)
    assert not plain.seals and not SecretBox("").seals
    assert plain.seal("s" * 32) == "s" * 32 and plain.open("s" * 32) == "s" * 32


def test_a_sealed_secret_without_the_key_is_a_clear_error(box):
    with pytest.raises(SecretBoxError, match="WEBHOOK_SECRETS_KEY is not set"):
        SecretBox(None).open(box.seal("s" * 32))


def test_another_key_cannot_open_it(box):
    other = SecretBox(Fernet.generate_key())
    with pytest.raises(SecretBoxError, match="sealed with another WEBHOOK_SECRETS_KEY"):
        other.open(box.seal("s" * 32))


def test_an_altered_value_is_refused(box):
    stored = box.seal("s" * 32)
    for altered in (stored[:-4] + "AAAA", PREFIX + "not-a-token", PREFIX + "é"):
        with pytest.raises(SecretBoxError, match="altered"):
            box.open(altered)


@pytest.mark.parametrize("key", ["short", "x" * 44, Fernet.generate_key().decode()[:-2], "ñ" * 44])
def test_a_malformed_key_is_a_clear_error_that_does_not_echo_it(key):
    with pytest.raises(SecretBoxError, match="not a Fernet key.*Fernet.generate_key") as info:
        SecretBox(key)
    assert key not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_the_box_does_not_show_its_key():
    key = Fernet.generate_key().decode()
    assert key not in repr(SecretBox(key)) and repr(SecretBox(key)) == "SecretBox(sealing)"
