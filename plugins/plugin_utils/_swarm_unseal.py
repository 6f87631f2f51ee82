# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""A swarm manager's TLS key taken out of its autolock seal, on the controller.

With autolock on, swarmkit keeps the manager's TLS key (certificates/swarm-node.key)
as PKCS#8 encrypted with the key-encryption key (the raw bytes behind the unlock
key ``SWMKEY-1-<base64>``), and the raft data-encryption key in the PEM header
``raft-dek`` as a MaybeEncryptedRecord sealed with NaCl secretbox
(XSalsa20-Poly1305) under the same key. ``docker swarm init --force-new-cluster``
cannot open such a state: Docker starts the new node without the unlock key and
fails with "Swarm is encrypted and needs to be unlocked" (moby/moby#36852, open
since 2018), which makes an autolocked swarm unrecoverable by Docker's own path.
:func:`unsealed_key` writes the key as swarmkit does with autolock off (plain
PKCS#8, the DEK records unsealed); once the new cluster runs, its managers seal
their keys again with the swarm's unlock key. The secretbox is opened here with
Poly1305 from ``cryptography`` (an ansible-core dependency) and Salsa20 written
out below: a wrong key or damaged header fails the Poly1305 check, never yields
a wrong DEK.
"""

from __future__ import annotations

import base64
import binascii
import struct

PREFIX = "SWMKEY-1-"
_SIGMA = (0x61707865, 0x3320646E, 0x79622D32, 0x6B206574)  # "expand 32-byte k"
_DEK_HEADERS = ("raft-dek", "raft-dek-pending")
_SECRETBOX = 1  # MaybeEncryptedRecord.Algorithm NACL_SECRETBOX_SALSA20_POLY1305
_MASK = 0xFFFFFFFF


class UnsealError(Exception):
    """The key or the state cannot be opened; the message never holds either."""


def kek(unlock_key: str) -> bytes:
    """The 32 raw bytes behind a human-readable unlock key."""
    text = unlock_key.strip()
    if not text.startswith(PREFIX):
        raise UnsealError("the unlock key does not start with SWMKEY-1-: it is not a swarm unlock key")
    body = text[len(PREFIX):]
    try:
        raw = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise UnsealError("the unlock key is not valid base64 after SWMKEY-1-") from exc
    if len(raw) != 32:
        raise UnsealError(f"the unlock key holds {len(raw)} bytes, not 32")
    return raw


def _rounds(x: list[int]) -> list[int]:
    def rotl(v: int, n: int) -> int:
        v &= _MASK
        return ((v << n) | (v >> (32 - n))) & _MASK

    def quarter(a: int, b: int, c: int, d: int) -> None:
        x[b] ^= rotl(x[a] + x[d], 7)
        x[c] ^= rotl(x[b] + x[a], 9)
        x[d] ^= rotl(x[c] + x[b], 13)
        x[a] ^= rotl(x[d] + x[c], 18)

    for _double_round in range(10):
        # A column round, then a row round.
        for a, b, c, d in ((0, 4, 8, 12), (5, 9, 13, 1), (10, 14, 2, 6), (15, 3, 7, 11),
                           (0, 1, 2, 3), (5, 6, 7, 4), (10, 11, 8, 9), (15, 12, 13, 14)):
            quarter(a, b, c, d)
    return x


def _state(key: bytes, middle: bytes) -> list[int]:
    k = struct.unpack("<8I", key)
    m = struct.unpack("<4I", middle)
    return [_SIGMA[0], *k[:4], _SIGMA[1], *m, _SIGMA[2], *k[4:], _SIGMA[3]]


def hsalsa20(key: bytes, nonce16: bytes) -> bytes:
    z = _rounds(_state(key, nonce16))
    return struct.pack("<8I", *(z[i] for i in (0, 5, 10, 15, 6, 7, 8, 9)))


def salsa20_stream(key: bytes, nonce8: bytes, length: int) -> bytes:
    out = bytearray()
    counter = 0
    while len(out) < length:
        start = _state(key, nonce8 + struct.pack("<Q", counter))
        z = _rounds(list(start))
        out += struct.pack("<16I", *((a + b) & _MASK for a, b in zip(z, start, strict=True)))
        counter += 1
    return bytes(out[:length])


def _poly1305_ok(one_time_key: bytes, data: bytes, tag: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.poly1305 import Poly1305

    try:
        Poly1305.verify_tag(one_time_key, data, tag)
    except InvalidSignature:
        return False
    return True


def _secretbox_stream(box_key: bytes, nonce: bytes, length: int) -> tuple[bytes, bytes]:
    """XSalsa20's keystream for a box of ``length`` bytes: the Poly1305 one-time key, and the stream that
    the message is XORed with."""
    stream = salsa20_stream(hsalsa20(box_key, nonce[:16]), nonce[16:], 32 + length)
    return stream[:32], stream[32:]


def secretbox_seal(box_key: bytes, nonce: bytes, message: bytes) -> bytes:
    """NaCl secretbox: tag || ciphertext (swarmkit seals; here only the tests do)."""
    from cryptography.hazmat.primitives.poly1305 import Poly1305

    one_time_key, stream = _secretbox_stream(box_key, nonce, len(message))
    cipher = bytes(a ^ b for a, b in zip(message, stream, strict=True))
    return Poly1305.generate_tag(one_time_key, cipher) + cipher


def secretbox_open(box_key: bytes, nonce: bytes, box: bytes) -> bytes:
    if len(nonce) != 24 or len(box) < 16:
        raise UnsealError("a sealed record is malformed (nonce or box too short)")
    tag, cipher = box[:16], box[16:]
    one_time_key, stream = _secretbox_stream(box_key, nonce, len(cipher))
    if not _poly1305_ok(one_time_key, cipher, tag):
        raise UnsealError("the unlock key does not open this state (a key from before a rotation, or another swarm's)")
    return bytes(a ^ b for a, b in zip(cipher, stream, strict=True))


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data):
            raise UnsealError("a sealed record is malformed (truncated)")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7


def parse_record(data: bytes) -> dict[int, int | bytes]:
    """The fields of a MaybeEncryptedRecord: 1 algorithm (varint), 2 data, 3 nonce (bytes)."""
    fields: dict[int, int | bytes] = {}
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            fields[number], at = _varint(data, at)
        elif wire == 2:
            size, at = _varint(data, at)
            fields[number] = data[at:at + size]
            at += size
        else:
            raise UnsealError(f"a sealed record is malformed (wire type {wire})")
    return fields


def _bytes(record: dict[int, int | bytes], number: int) -> bytes:
    value = record.get(number, b"")
    if not isinstance(value, bytes):
        raise UnsealError(f"a sealed record is malformed (field {number} is not bytes)")
    return value


def plain_record(payload: bytes) -> bytes:
    """A MaybeEncryptedRecord with no algorithm (NONE), as swarmkit writes with autolock off."""
    size, out = len(payload), bytearray()
    while True:
        out.append((size & 0x7F) | (0x80 if size > 0x7F else 0))
        size >>= 7
        if not size:
            break
    return b"\x12" + bytes(out) + payload


def _split_pem(text: str) -> tuple[str, list[tuple[str, str]], bytes]:
    lines = [line.strip() for line in text.strip().splitlines()]
    if not lines or not lines[0].startswith("-----BEGIN ") or not lines[-1].startswith("-----END "):
        raise UnsealError("the manager's key file is not a PEM block")
    kind = lines[0][len("-----BEGIN "):-5]
    headers: list[tuple[str, str]] = []
    body: list[str] = []
    for line in lines[1:-1]:
        if ":" in line and not body:
            name, _colon, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
        elif line:
            body.append(line)
    try:
        return kind, headers, base64.b64decode("".join(body), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise UnsealError("the manager's key file has a damaged body") from exc


def _pem(kind: str, headers: list[tuple[str, str]], der: bytes) -> str:
    body = base64.b64encode(der).decode()
    lines = [f"-----BEGIN {kind}-----", *(f"{n}: {v}" for n, v in headers)]
    lines += [""] if headers else []
    lines += [body[i:i + 64] for i in range(0, len(body), 64)] + [f"-----END {kind}-----", ""]
    return "\n".join(lines)


def unsealed_key(pem_text: str, unlock_key: str) -> str:
    """The manager's key file as with autolock off; a key file that is not sealed comes back as it is."""
    kind, headers, der = _split_pem(pem_text)
    if kind != "ENCRYPTED PRIVATE KEY":
        return pem_text
    from cryptography.hazmat.primitives import serialization

    secret = kek(unlock_key)
    try:
        key = serialization.load_der_private_key(der, password=secret)
    except (ValueError, TypeError) as exc:
        raise UnsealError("the unlock key does not open the manager's TLS key (a key from before a rotation, "
                          "or another swarm's)") from exc
    plain = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    out: list[tuple[str, str]] = []
    for name, value in headers:
        if name == "kek-version":
            # The key now has no KEK: with the old version kept, the new cluster's manager refuses to seal
            # it with the swarm's KEK ("candidate KEK has the same version as the current KEK, but a
            # different KEK value") and stops. Without it the version is 0, older than any the swarm has.
            continue
        if name in _DEK_HEADERS:
            try:
                record = parse_record(base64.b64decode(value, validate=True))
            except (binascii.Error, ValueError) as exc:
                raise UnsealError(f"the key file's {name} header is not base64") from exc
            algorithm = record.get(1, 0)
            if algorithm == _SECRETBOX:
                dek = secretbox_open(secret, _bytes(record, 3), _bytes(record, 2))
            elif algorithm == 0:
                dek = _bytes(record, 2)
            else:
                raise UnsealError(f"the key file's {name} is sealed with algorithm {algorithm!r} (FIPS mode): not supported")
            value = base64.b64encode(plain_record(dek)).decode()
        out.append((name, value))
    return _pem("PRIVATE KEY", out, plain)
