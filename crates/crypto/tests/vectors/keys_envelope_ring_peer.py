#!/usr/bin/env python3
"""Independent re-computation of medchain-crypto's committed known answers.

Written from the format descriptions in the Rust module docs, not from the Rust code, on other
implementations: libsodium's ristretto255 (ctypes, Debian package libsodium23), pyca/cryptography
(ChaCha20-Poly1305, HKDF, Ed25519, X25519) and the blake3 package. Checks:
  ring_blsag_v1.json       public keys, key image and full bLSAG verification; tampering fails
  envelope_v1.json         key commitment, STREAM nonces, chunk decryption, content hash; the
                           multi-chunk envelope is re-encrypted here and compared by hash and tail
  keys_derivation_v1.json  HKDF outputs, Ed25519 / X25519 (RFC 9180 DeriveKeyPair) / ring publics
  keys_file_v1.json        Argon2id (libsodium crypto_pwhash) check value, XChaCha20-Poly1305 open
Usage: python keys_envelope_ring_peer.py   (pip install -r bench/peers/requirements-ringenv.txt; run by scripts/test.sh through the crypto tests)
Exit status 0 and "peer check: all N checks passed" on success.
"""
import ctypes
import ctypes.util
import hashlib
import json
import pathlib
import struct
import sys

import blake3
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives import hmac

HERE = pathlib.Path(__file__).resolve().parent
sodium = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
assert sodium.sodium_init() >= 0
CHECKS = 0


def check(condition, what):
    global CHECKS
    if not condition:
        sys.exit(f"peer check FAILED: {what}")
    CHECKS += 1


def buf(n):
    return ctypes.create_string_buffer(n)


def point_from_hash(h64):
    out = buf(32)
    sodium.crypto_core_ristretto255_from_hash(out, h64)
    return out.raw


def reduce_wide(h64):
    out = buf(32)
    sodium.crypto_core_ristretto255_scalar_reduce(out, h64)
    return out.raw


def mul(scalar, point):
    out = buf(32)
    if sodium.crypto_scalarmult_ristretto255(out, scalar, point) != 0:
        raise ValueError("identity result")
    return out.raw


def mul_base(scalar):
    out = buf(32)
    if sodium.crypto_scalarmult_ristretto255_base(out, scalar) != 0:
        raise ValueError("identity result")
    return out.raw


def add(p, q):
    out = buf(32)
    sodium.crypto_core_ristretto255_add(out, p, q)
    return out.raw


def lp(data):
    """u64 big-endian length prefix, as in medchain's ring transcript."""
    return struct.pack(">Q", len(data)) + data


DST_BASE = b"medchain/ring/bLSAG-ristretto255/v1/key-image-base"
DST_CHALLENGE = b"medchain/ring/bLSAG-ristretto255/v1/challenge"


def key_image_base(context, member):
    return point_from_hash(hashlib.sha512(lp(DST_BASE) + lp(context) + member).digest())


def blsag_verifies(ring, context, message, sig):
    key_image, c0 = sig[:32], sig[32:64]
    responses = [sig[64 + 32 * i: 96 + 32 * i] for i in range(len(ring))]
    prefix = lp(DST_CHALLENGE) + lp(context) + struct.pack(">Q", len(ring)) + b"".join(ring)
    prefix += key_image + lp(message)
    c = c0
    for member, r in zip(ring, responses):
        left = add(mul_base(r), mul(c, member))
        right = add(mul(r, key_image_base(context, member)), mul(c, key_image))
        c = reduce_wide(hashlib.sha512(prefix + left + right).digest())
    return c == c0


def check_ring():
    v = json.loads((HERE / "ring_blsag_v1.json").read_text())
    ring = [bytes.fromhex(m) for m in v["ring"]]
    secrets = [bytes.fromhex(s) for s in v["secret_keys_le"]]
    context, message = v["context"].encode(), v["message"].encode()
    sig = bytes.fromhex(v["signature"])
    for s, member in zip(secrets, ring):
        check(mul_base(s) == member, "ring public key = secret * G")
    signer = v["signer_index"]
    image = mul(secrets[signer], key_image_base(context, ring[signer]))
    check(image.hex() == v["key_image"], "key image = k * H_p(context, K)")
    check(sig[:32] == image, "signature carries the key image")
    check(len(sig) == 64 + 32 * len(ring), "signature length")
    check(blsag_verifies(ring, context, message, sig), "bLSAG verifies")
    check(not blsag_verifies(ring, context, message + b"!", sig), "other message fails")
    check(not blsag_verifies(ring, b"study:other", message, sig), "other context fails")
    check(not blsag_verifies(ring[::-1], context, message, sig), "reordered ring fails")


def chacha_stream_nonce(prefix, position, last):
    return prefix + struct.pack(">I", position) + bytes([1 if last else 0])


def seal_envelope(key, prefix, plaintext, chunk=65536):
    header = b"MEDCHENV" + bytes([1, 1]) + struct.pack(">I", chunk) + prefix
    header += blake3.blake3(key, derive_key_context="medchain envelope v1 2026-11 data key commitment").digest()
    aead = ChaCha20Poly1305(key)
    pieces = [plaintext[i:i + chunk] for i in range(0, len(plaintext), chunk)] or [b""]
    out = header
    for position, piece in enumerate(pieces):
        out += aead.encrypt(chacha_stream_nonce(prefix, position, position == len(pieces) - 1), piece, header)
    return out


def check_envelope():
    doc = json.loads((HERE / "envelope_v1.json").read_text())
    for v in doc["vectors"]:
        key, prefix = bytes.fromhex(v["key"]), bytes.fromhex(v["nonce_prefix"])
        plaintext = bytes(i % 251 for i in range(v["plaintext_len"]))
        ours = seal_envelope(key, prefix, plaintext)
        check(len(ours) == v["envelope_len"], "envelope length")
        check(blake3.blake3(ours).hexdigest() == v["content_hash"], "content hash = BLAKE3(envelope)")
        check(ours[-64:].hex() == v["envelope_last_64_bytes"], "final chunk bytes")
        if "envelope" in v:
            committed = bytes.fromhex(v["envelope"])
            check(committed == ours, "whole envelope identical")
            header, body = committed[:53], committed[53:]
            opened = ChaCha20Poly1305(key).decrypt(chacha_stream_nonce(prefix, 0, True), body, header)
            check(opened == plaintext, "Rust envelope opens with pyca ChaCha20-Poly1305")


def hkdf_sha256(ikm, salt, info, length):
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def hmac_sha256(key, data):
    h = hmac.HMAC(key, hashes.SHA256())
    h.update(data)
    return h.finalize()


def rfc9180_x25519_derive(ikm):
    suite = b"KEM" + struct.pack(">H", 0x0020)
    prk = hmac_sha256(b"", b"HPKE-v1" + suite + b"dkp_prk" + ikm)
    info = struct.pack(">H", 32) + b"HPKE-v1" + suite + b"sk"
    return hmac_sha256(prk, info + b"\x01")


def raw_public(key):
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def check_keys():
    doc = json.loads((HERE / "keys_derivation_v1.json").read_text())
    seed = bytes.fromhex(doc["master_seed"])
    for v in doc["vectors"]:
        institution = v["institution"].encode()
        for name, label, length in [
            ("signing_seed", b"ed25519-signing", 32),
            ("encryption_ikm", b"x25519-hpke-encryption", 32),
            ("pre_secret", b"secp256k1-umbral-pre", 32),
            ("ring_wide", b"ristretto255-ring", 64),
        ]:
            info = b"medchain/pseudonym-keys/v1" + bytes([len(institution)]) + institution
            info += bytes([len(label)]) + label
            derived = hkdf_sha256(seed, b"medchain/pseudonym-keys", info, length)
            check(derived.hex() == v["derived"][name], f"HKDF {name} for {v['institution']}")
        d = {k: bytes.fromhex(x) for k, x in v["derived"].items()}
        ed = raw_public(Ed25519PrivateKey.from_private_bytes(d["signing_seed"]))
        check(ed.hex() == v["ed25519_public"], "Ed25519 public key from seed")
        x = raw_public(X25519PrivateKey.from_private_bytes(rfc9180_x25519_derive(d["encryption_ikm"])))
        check(x.hex() == v["x25519_public"], "X25519 public key via RFC 9180 DeriveKeyPair")
        ring = mul_base(reduce_wide(d["ring_wide"]))
        check(ring.hex() == v["ristretto255_ring_public"], "ring public key from wide scalar")


def check_key_file():
    v = json.loads((HERE / "keys_file_v1.json").read_text())
    f = bytes.fromhex(v["file"])
    check(f[:8] == b"MEDCHKEY" and f[8:11] == bytes([1, 1, 1]), "magic, version, kdf and aead ids")
    memory_kib, passes, lanes = struct.unpack(">III", f[11:23])
    check((memory_kib, passes, lanes) == (v["params"]["memory_kib"], v["params"]["passes"], v["params"]["lanes"]), "cost parameters")
    check(lanes == 1, "libsodium's Argon2id has one lane")
    salt, nonce, stored_check = f[23:39], f[39:63], f[63:95]
    (secret_len,) = struct.unpack(">H", f[95:97])
    header, ciphertext = f[:97], f[97:]
    check(len(ciphertext) == secret_len + 16, "length field matches the ciphertext")
    out = buf(64)
    passphrase = v["passphrase"].encode()
    ARGON2ID13 = 2
    status = sodium.crypto_pwhash(out, ctypes.c_ulonglong(64), passphrase, ctypes.c_ulonglong(len(passphrase)), salt,
                                  ctypes.c_ulonglong(passes), ctypes.c_size_t(memory_kib * 1024), ctypes.c_int(ARGON2ID13))
    check(status == 0, "libsodium Argon2id ran")
    check(out.raw[32:] == stored_check, "passphrase check value = Argon2id output bytes 32..64")
    plain = buf(secret_len)
    plain_len = ctypes.c_ulonglong(0)
    status = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
        plain, ctypes.byref(plain_len), None, ciphertext, ctypes.c_ulonglong(len(ciphertext)),
        header, ctypes.c_ulonglong(len(header)), nonce, out.raw[:32])
    check(status == 0, "XChaCha20-Poly1305 opens with AD = header")
    check(plain.raw[:plain_len.value].hex() == v["secret"], "secret recovered")


if __name__ == "__main__":
    check_ring()
    check_envelope()
    check_keys()
    check_key_file()
    print(f"peer check: all {CHECKS} checks passed")
