#!/usr/bin/env python3
"""Reference timings of python `phe` 1.5 for medchain's Paillier benchmark, on the key given.

Reads JSON from stdin: {"n": hex, "p": hex, "q": hex, "encryptions": int, "decryptions": int,
"additions": int}. Measures phe's public API on one core: PaillierPublicKey.encrypt(int),
PaillierPrivateKey.decrypt(EncryptedNumber), and EncryptedNumber + EncryptedNumber.
Also times the bare gmpy2 operations underneath (mulmod mod n^2, powmod mod p^2 with exponent
p - 1), which bound what any implementation on the same GMP can gain.
Writes JSON: {"gmpy2": bool, "encrypt_s": per-op seconds, "decrypt_s": ..., "add_s": ...,
"gmpy2_mulmod_s": ..., "gmpy2_powmod_p2_s": ...}.
"""
import json
import random
import sys
import time

import gmpy2
from phe import paillier, util


def per_op(fn, count):
    start = time.perf_counter()
    fn(count)
    return (time.perf_counter() - start) / count


def main():
    req = json.load(sys.stdin)
    n, p, q = (int(req[k], 16) for k in ("n", "p", "q"))
    pk = paillier.PaillierPublicKey(n)
    sk = paillier.PaillierPrivateKey(pk, p, q)
    rng = random.Random(1)
    values = [rng.randrange(-(10**12), 10**12) for _ in range(64)]
    cts = [pk.encrypt(v) for v in values]

    def encrypt(count):
        for i in range(count):
            pk.encrypt(values[i % len(values)])

    def decrypt(count):
        for i in range(count):
            sk.decrypt(cts[i % len(cts)])

    def add(count):
        acc = cts[0]
        for i in range(count):
            acc = acc + cts[i % len(cts)]

    def raw_mulmod(count):
        nsq, raw = pk.nsquare, [gmpy2.mpz(c.ciphertext(be_secure=False)) for c in cts]
        acc = raw[0]
        for i in range(count):
            acc = acc * raw[i % len(raw)] % nsq

    def raw_powmod(count):
        psq, e = gmpy2.mpz(p * p), gmpy2.mpz(p - 1)
        for i in range(count):
            gmpy2.powmod(cts[i % len(cts)].ciphertext(be_secure=False), e, psq)

    result = {
        "gmpy2": bool(util.HAVE_GMP),
        "encrypt_s": per_op(encrypt, req["encryptions"]),
        "decrypt_s": per_op(decrypt, req["decryptions"]),
        "add_s": per_op(add, req["additions"]),
        "gmpy2_mulmod_s": per_op(raw_mulmod, req["additions"]),
        "gmpy2_powmod_p2_s": per_op(raw_powmod, req["decryptions"]),
    }
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
