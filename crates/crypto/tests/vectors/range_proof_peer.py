"""Independent check of medchain's range proofs (crates/crypto/src/analytics/range.rs).

Reads range_proofs.json, rebuilds each proof's Fiat-Shamir challenge from the transcript the
module documents, and checks every equation on its own (no batching, no shortcut) with py_ecc's
BLS12-381 (Ethereum Foundation, pure Python): RFC 9380 expand_message_xmd for the challenge and
hash_to_G1 for the second generator H. Tampered copies of each vector must fail. Prints
"range peer: all N checks passed" or exits non-zero naming what failed.
"""

import hashlib
import json
import pathlib
import struct
import sys

from py_ecc.bls.hash import expand_message_xmd
from py_ecc.bls.hash_to_curve import hash_to_G1
from py_ecc.bls.point_compression import compress_G1, decompress_G1
from py_ecc.optimized_bls12_381 import (
    FQ,
    G1,
    Z1,
    add,
    b as CURVE_B,
    curve_order,
    eq,
    is_on_curve,
    multiply,
    neg,
)

POINT = 96
SCALAR = 32
checks = 0
failures = []


def check(condition, what):
    global checks
    checks += 1
    if not condition:
        failures.append(what)


def field(data):
    return struct.pack(">Q", len(data)) + data


def compressed(point):
    return compress_G1(point).to_bytes(48, "big")


def uncompressed_point(data):
    if len(data) != POINT or data[0] & 0xE0:
        raise ValueError("not an uncompressed point")
    x, y = int.from_bytes(data[:48], "big"), int.from_bytes(data[48:], "big")
    point = (FQ(x), FQ(y), FQ(1))
    if not is_on_curve(point, CURVE_B) or eq(point, Z1):
        raise ValueError("off the curve")
    # py_ecc's multiply reduces scalars mod r, so a point outside G1 would change the
    # arithmetic; honest proofs hold none, and the peer refuses them.
    if not eq(multiply(point, curve_order), Z1):
        raise ValueError("outside G1")
    return point


def scalar(data):
    value = int.from_bytes(data, "big")
    if value >= curve_order:
        raise ValueError("non-canonical scalar")
    return value


def sub(p, q):
    return add(p, neg(q))


def lin(*terms):
    acc = Z1
    for k, p in terms:
        acc = add(acc, multiply(p, k % curve_order))
    return acc


def verifies(doc, v, proof_bytes, ciphertext_bytes, chain_id, study_id):
    dst_proof = doc["dst_range_proof"].encode()
    h = hash_to_G1(b"H", doc["dst_bit_commitment_base"].encode(), hashlib.sha256)
    key = decompress_G1(int.from_bytes(bytes.fromhex(v["key"]), "big"))
    r_point = decompress_G1(int.from_bytes(ciphertext_bytes[:48], "big"))
    v_point = decompress_G1(int.from_bytes(ciphertext_bytes[48:], "big"))
    lo, hi = v["lo"], v["hi"]
    width = hi - lo
    k = max(width.bit_length(), 1)
    two_sided = width != (1 << k) - 1
    count = 2 * k if two_sided else k
    link_size = 3 * POINT + 3 * SCALAR + (POINT + SCALAR if two_sided else 0)
    if len(proof_bytes) != count * (3 * POINT + 3 * SCALAR) + link_size:
        return False
    try:
        bits, offset = [], 0
        for _ in range(count):
            c = uncompressed_point(proof_bytes[offset : offset + POINT])
            a0 = uncompressed_point(proof_bytes[offset + POINT : offset + 2 * POINT])
            a1 = uncompressed_point(proof_bytes[offset + 2 * POINT : offset + 3 * POINT])
            s = offset + 3 * POINT
            c0, z0, z1 = (scalar(proof_bytes[s + i * SCALAR : s + (i + 1) * SCALAR]) for i in range(3))
            bits.append((c, a0, a1, c0, z0, z1, proof_bytes[offset : offset + 3 * POINT]))
            offset += 3 * POINT + 3 * SCALAR
        link_points = proof_bytes[offset : offset + 3 * POINT]
        t1, t2, t3 = (uncompressed_point(link_points[i * POINT : (i + 1) * POINT]) for i in range(3))
        s = offset + 3 * POINT
        s_r, s_x, s_rho = (scalar(proof_bytes[s + i * SCALAR : s + (i + 1) * SCALAR]) for i in range(3))
        offset = s + 3 * SCALAR
        if two_sided:
            t4_bytes = proof_bytes[offset : offset + POINT]
            t4 = uncompressed_point(t4_bytes)
            s_tau = scalar(proof_bytes[offset + POINT : offset + POINT + SCALAR])
    except ValueError:
        return False
    image = v.get("key_image")
    transcript = field(dst_proof) + field(chain_id) + field(study_id)
    transcript += b"\x00" if image is None else b"\x01" + bytes.fromhex(image)
    transcript += compressed(key) + struct.pack(">QQ", lo, hi)
    transcript += ciphertext_bytes[:48] + ciphertext_bytes[48:]
    for bit in bits:
        transcript += bit[6]
    transcript += link_points + (t4_bytes if two_sided else b"")
    e = int.from_bytes(expand_message_xmd(transcript, dst_proof, 48, hashlib.sha256), "big") % curve_order
    ok = True
    for c, a0, a1, c0, z0, z1, _ in bits:
        c1 = (e - c0) % curve_order
        ok &= eq(multiply(h, z0), add(a0, lin((c0, c))))
        ok &= eq(multiply(h, z1), add(a1, lin((c1, sub(c, G1)))))
    lower = lin(*((1 << i, bits[i][0]) for i in range(k)))
    ok &= eq(multiply(G1, s_r), add(t1, lin((e, r_point))))
    ok &= eq(lin((s_x, G1), (s_r, key)), add(t2, lin((e, sub(v_point, multiply(G1, lo))))))
    ok &= eq(lin((s_x, G1), (s_rho, h)), add(t3, lin((e, lower))))
    if two_sided:
        upper = lin(*((1 << i, bits[k + i][0]) for i in range(k)))
        ok &= eq(multiply(h, s_tau), add(t4, lin((e, sub(add(lower, upper), multiply(G1, width))))))
    return ok


def main():
    path = pathlib.Path(__file__).with_name("range_proofs.json")
    doc = json.loads(path.read_text())
    for v in doc["vectors"]:
        name = v["name"]
        proof = bytes.fromhex(v["proof"])
        ciphertext = bytes.fromhex(v["ciphertext"])
        chain_id, study_id = v["chain_id"].encode(), v["study_id"].encode()
        check(verifies(doc, v, proof, ciphertext, chain_id, study_id), f"{name}: verifies")
        flipped = bytearray(proof)
        flipped[3 * POINT + 2 * SCALAR - 1] ^= 1  # bit 0's z0
        check(not verifies(doc, v, bytes(flipped), ciphertext, chain_id, study_id), f"{name}: a tampered response fails")
        check(not verifies(doc, v, proof, ciphertext, chain_id, b"study:other"), f"{name}: another study fails")
        other = compressed(add(decompress_G1(int.from_bytes(ciphertext[48:], "big")), G1))
        check(not verifies(doc, v, proof, ciphertext[:48] + other, chain_id, study_id), f"{name}: another ciphertext fails")
    if failures:
        print("range peer: failed: " + "; ".join(failures))
        sys.exit(1)
    print(f"range peer: all {checks} checks passed")


main()
