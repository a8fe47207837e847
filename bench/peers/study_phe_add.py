#!/usr/bin/env python3
"""Peer timing for medchain's study benchmark: python `phe` 1.5 Paillier addition on gmpy2.

This is FISCO BCOS's kind of homomorphic aggregation (add ciphertexts, no range proof, no
anonymity, one party holds the key): the per-contribution cost a ledger doing it pays.
Reads JSON from stdin: {"key_bits": int, "additions": int, "seed": int}. Generates a key with
phe itself, encrypts 64 values in [0, 65535], then times EncryptedNumber + EncryptedNumber on
one core. Writes JSON: {"gmpy2": bool, "add_s": per-addition seconds, "check": bool} where
check says the sum decrypted to the expected value.
"""
import json
import random
import sys
import time

from phe import paillier, util


def main():
    req = json.load(sys.stdin)
    rng = random.Random(req["seed"])
    pk, sk = paillier.generate_paillier_keypair(n_length=req["key_bits"])
    values = [rng.randrange(0, 65536) for _ in range(64)]
    cts = [pk.encrypt(v) for v in values]
    count = req["additions"]
    acc = cts[0]
    start = time.perf_counter()
    for i in range(count):
        acc = acc + cts[i % len(cts)]
    add_s = (time.perf_counter() - start) / count
    expected = values[0] + sum(values[i % len(values)] for i in range(count))
    json.dump(
        {"gmpy2": bool(util.HAVE_GMP), "add_s": add_s, "check": sk.decrypt(acc) == expected},
        sys.stdout,
    )


if __name__ == "__main__":
    main()
