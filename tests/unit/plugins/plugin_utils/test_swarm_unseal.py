# SPDX-License-Identifier: GPL-3.0-or-later
"""The autolock seal of a manager's key file, built here the way swarmkit writes it (PKCS#8 encrypted with
the key-encryption key, the raft DEK in a secretbox record under the same key). These tests prove the round
trip, the refusals and the file's new shape, and the secretbox against a box made by libsodium; that the
record format matches swarmkit's is proven by the lifecycle scenario, where Docker opens a restored
autolocked state unsealed by this code."""
from __future__ import annotations

import base64
import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ansible_collections.campus.swarm.plugins.filter.swarm import swarm_unsealed_key
from ansible_collections.campus.swarm.plugins.plugin_utils import _swarm_unseal as u

KEK = bytes(range(32))
UNLOCK_KEY = "SWMKEY-1-" + base64.b64encode(KEK).decode().rstrip("=")
DEK = bytes(range(100, 132))


def record(algorithm: int, data: bytes, nonce: bytes = b"") -> bytes:
    out = (b"\x08" + bytes([algorithm]) if algorithm else b"") + b"\x12" + bytes([len(data)]) + data
    return out + (b"\x1a" + bytes([len(nonce)]) + nonce if nonce else b"")


def sealed_file(kek: bytes = KEK) -> tuple[str, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.BestAvailableEncryption(kek))
    nonce = os.urandom(24)
    dek = base64.b64encode(record(1, u.secretbox_seal(kek, nonce, DEK), nonce)).decode()
    body = base64.b64encode(der).decode()
    lines = ["-----BEGIN ENCRYPTED PRIVATE KEY-----", "kek-version: 222", f"raft-dek: {dek}", "",
             *(body[i:i + 64] for i in range(0, len(body), 64)), "-----END ENCRYPTED PRIVATE KEY-----", ""]
    return "\n".join(lines), key


def test_a_sealed_key_file_comes_out_as_with_autolock_off() -> None:
    text, key = sealed_file()
    out = u.unsealed_key(text, UNLOCK_KEY + "\n")
    lines = out.splitlines()
    assert lines[0] == "-----BEGIN PRIVATE KEY-----" and lines[-1] == "-----END PRIVATE KEY-----"
    # kek-version goes: kept, the new cluster's manager refuses to seal the key again and stops.
    assert [line.split(":")[0] for line in lines[1:3]] == ["raft-dek", ""]
    assert base64.b64decode(lines[1].split(": ")[1]) == b"\x12\x20" + DEK
    opened = serialization.load_pem_private_key("\n".join([lines[0], *lines[3:]]).encode(), password=None)
    assert opened.private_numbers() == key.private_numbers()  # type: ignore[union-attr]


def test_a_key_file_that_is_not_sealed_is_left_as_it_is() -> None:
    text, _key = sealed_file()
    plain = u.unsealed_key(text, UNLOCK_KEY)
    assert u.unsealed_key(plain, UNLOCK_KEY) == plain


def test_another_key_is_refused_and_named_by_neither_key() -> None:
    text, _key = sealed_file()
    other = "SWMKEY-1-" + base64.b64encode(bytes(32)).decode().rstrip("=")
    with pytest.raises(u.UnsealError, match="does not open") as caught:
        u.unsealed_key(text, other)
    assert "SWMKEY" not in str(caught.value)


def test_the_secretbox_matches_libsodium() -> None:
    # crypto_secretbox_easy of libsodium 1.0.18 (Debian 12's libsodium23, through ctypes) with key 0..31,
    # nonce 200..223 and the message 100..131: the tag, then the ciphertext, as Go's secretbox.Seal writes it.
    box = bytes.fromhex("3f03985016ab0159ea76e18a88a454e29e370912285b3ba9e185edacde4ccd7c"
                        "9166e8e27bc45ffa1a5ae3e10932a075")
    nonce = bytes(range(200, 224))
    assert u.secretbox_seal(KEK, nonce, DEK) == box
    assert u.secretbox_open(KEK, nonce, box) == DEK


def test_a_damaged_dek_record_fails_the_poly1305_check() -> None:
    nonce = bytes(24)
    box = bytearray(u.secretbox_seal(KEK, nonce, DEK))
    assert u.secretbox_open(KEK, nonce, bytes(box)) == DEK
    box[20] ^= 1
    with pytest.raises(u.UnsealError, match="does not open this state"):
        u.secretbox_open(KEK, nonce, bytes(box))


@pytest.mark.parametrize(("key", "message"), [
    ("SWMTKN-1-abc", "does not start with SWMKEY-1-"),
    ("SWMKEY-1-" + base64.b64encode(bytes(16)).decode().rstrip("="), "holds 16 bytes, not 32"),
    ("SWMKEY-1-%%%", "not valid base64"),
])
def test_what_is_no_unlock_key_is_refused(key: str, message: str) -> None:
    with pytest.raises(u.UnsealError, match=message):
        u.kek(key)


def test_the_filter_reports_a_refusal_instead_of_failing() -> None:
    text, _key = sealed_file()
    assert swarm_unsealed_key(text, "SWMTKN-1-x") == {
        "key": "", "error": "the unlock key does not start with SWMKEY-1-: it is not a swarm unlock key"}
    assert swarm_unsealed_key(text, UNLOCK_KEY)["error"] == ""
    # Keys tried in turn (the key file's, then those kept in its .previous): the one of the state's time opens it.
    other = "SWMKEY-1-" + base64.b64encode(bytes(32)).decode().rstrip("=")
    assert swarm_unsealed_key(text, [other, "", UNLOCK_KEY])["error"] == ""
    assert swarm_unsealed_key(text, [other, other])["error"].startswith("none of the 2 unlock keys opens it")
    assert swarm_unsealed_key(text, [])["error"] == "no unlock key was given"
