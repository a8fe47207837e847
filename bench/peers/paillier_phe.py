#!/usr/bin/env python3
"""Interop peer for medchain's Paillier tests: python `phe` 1.5 (g = n + 1) on the key given.

Reads one JSON object from stdin:
  {"n": hex, "p": hex, "q": hex,
   "decrypt": [hex ciphertext, ...],      # made by medchain, decrypted here with phe
   "encrypt": ["-12", "5", ...]}          # signed integers, encrypted here with phe
Writes one JSON object to stdout:
  {"decrypted": ["-12", ...], "ciphertexts": [hex, ...], "gmpy2": true|false}
phe's signed integer encoding (exponent 0, negatives as n - |v|, max_int = n // 3 - 1) is the
same as medchain's FixedPoint with scale 0.
"""
import json
import sys

from phe import paillier, util
from phe.paillier import EncryptedNumber


def main():
    req = json.load(sys.stdin)
    n, p, q = (int(req[k], 16) for k in ("n", "p", "q"))
    pk = paillier.PaillierPublicKey(n)
    sk = paillier.PaillierPrivateKey(pk, p, q)
    decrypted = [str(sk.decrypt(EncryptedNumber(pk, int(c, 16), 0))) for c in req["decrypt"]]
    ciphertexts = [hex(pk.encrypt(int(v)).ciphertext()) for v in req["encrypt"]]
    json.dump({"decrypted": decrypted, "ciphertexts": ciphertexts, "gmpy2": bool(util.HAVE_GMP)}, sys.stdout)


if __name__ == "__main__":
    main()
