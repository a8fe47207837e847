#!/usr/bin/env python3
"""Peer side of medchain's Umbral cross-implementation tests and benchmark.

Drives the published `umbral-pre==0.11.0` wheel (GPL-3.0; used only as a separate test peer,
never linked). One JSON object on stdin, one on stdout; all byte values are hex strings.

  produce  {plaintext, threshold, shares}        python encrypts, makes kfrags, re-encrypts
  consume  {delegating_pk, receiving_sk, verifying_pk, capsule, ciphertext, kfrags, cfrags, threshold}
                                                  python verifies Rust's objects, re-encrypts, decrypts
  factory  {seed, labels}                        SecretKeyFactory make_key / make_secret / make_factory
  bench    {reencrypt_iterations, decrypt_iterations, threshold, shares}
                                                  ops/s of reencrypt and decrypt_reencrypted
"""
import json
import sys
import time

import umbral_pre as u


def hx(data):
    return bytes(data).hex()


def unhex(text):
    return bytes.fromhex(text)


def make_grant(threshold, shares, plaintext):
    delegating_sk = u.SecretKey.random()
    receiving_sk = u.SecretKey.random()
    signer_sk = u.SecretKey.random()
    signer = u.Signer(signer_sk)
    capsule, ciphertext = u.encrypt(delegating_sk.public_key(), plaintext)
    kfrags = u.generate_kfrags(delegating_sk, receiving_sk.public_key(), signer,
                               threshold, shares, True, True)
    return delegating_sk, receiving_sk, signer, capsule, ciphertext, kfrags


def produce(request):
    plaintext = unhex(request["plaintext"])
    delegating_sk, receiving_sk, signer, capsule, ciphertext, kfrags = make_grant(
        request["threshold"], request["shares"], plaintext)
    cfrags = [u.reencrypt(capsule, kfrag) for kfrag in kfrags]
    return {
        "delegating_sk": hx(delegating_sk.to_be_bytes()),
        "delegating_pk": hx(delegating_sk.public_key().to_compressed_bytes()),
        "receiving_sk": hx(receiving_sk.to_be_bytes()),
        "receiving_pk": hx(receiving_sk.public_key().to_compressed_bytes()),
        "verifying_pk": hx(signer.verifying_key().to_compressed_bytes()),
        "capsule": hx(bytes(capsule)),
        "ciphertext": hx(ciphertext),
        "kfrags": [hx(bytes(kfrag)) for kfrag in kfrags],
        "cfrags": [hx(bytes(cfrag)) for cfrag in cfrags],
    }


def consume(request):
    delegating_pk = u.PublicKey.from_compressed_bytes(unhex(request["delegating_pk"]))
    receiving_sk = u.SecretKey.from_be_bytes(unhex(request["receiving_sk"]))
    receiving_pk = receiving_sk.public_key()
    verifying_pk = u.PublicKey.from_compressed_bytes(unhex(request["verifying_pk"]))
    capsule = u.Capsule.from_bytes(unhex(request["capsule"]))
    ciphertext = unhex(request["ciphertext"])
    threshold = request["threshold"]
    kfrags = [u.KeyFrag.from_bytes(unhex(k)).verify(verifying_pk, delegating_pk, receiving_pk)
              for k in request["kfrags"]]
    own_cfrags = [u.reencrypt(capsule, kfrag) for kfrag in kfrags]
    their_cfrags = [u.CapsuleFrag.from_bytes(unhex(c)).verify(
        capsule, verifying_pk, delegating_pk, receiving_pk) for c in request["cfrags"]]
    with_own = u.decrypt_reencrypted(receiving_sk, delegating_pk, capsule,
                                     own_cfrags[:threshold], ciphertext)
    with_theirs = u.decrypt_reencrypted(receiving_sk, delegating_pk, capsule,
                                        their_cfrags[-threshold:], ciphertext)
    return {
        "plaintext_with_python_cfrags": hx(with_own),
        "plaintext_with_rust_cfrags": hx(with_theirs),
        "cfrags": [hx(bytes(cfrag)) for cfrag in own_cfrags],
        "kfrags_bytes_equal": [hx(bytes(k)) == text for k, text in zip(kfrags, request["kfrags"])],
    }


def factory(request):
    root = u.SecretKeyFactory.from_secure_randomness(unhex(request["seed"]))
    results = []
    for label_hex in request["labels"]:
        label = unhex(label_hex)
        results.append({
            "label": label_hex,
            "key": hx(root.make_key(label).to_be_bytes()),
            "secret": hx(root.make_secret(label)),
            "child_key": hx(root.make_factory(label).make_key(b"child").to_be_bytes()),
        })
    return {"seed": request["seed"], "derivations": results}


def ops_per_second(operation, iterations):
    operation()  # warm-up: first call pays lazy initialisation
    start = time.perf_counter()
    for _ in range(iterations):
        operation()
    return iterations / (time.perf_counter() - start)


def bench(request):
    threshold = request["threshold"]
    plaintext = bytes(32)
    delegating_sk, receiving_sk, _, capsule, ciphertext, kfrags = make_grant(
        threshold, request["shares"], plaintext)
    cfrags = [u.reencrypt(capsule, kfrag) for kfrag in kfrags[:threshold]]
    delegating_pk = delegating_sk.public_key()
    reencrypt = ops_per_second(lambda: u.reencrypt(capsule, kfrags[0]),
                               request["reencrypt_iterations"])
    decrypt = ops_per_second(lambda: u.decrypt_reencrypted(
        receiving_sk, delegating_pk, capsule, cfrags, ciphertext), request["decrypt_iterations"])
    return {"reencrypt_ops_per_s": reencrypt, "decrypt_reencrypted_ops_per_s": decrypt,
            "umbral_pre_version": "0.11.0"}


def main():
    mode = sys.argv[1]
    request = json.load(sys.stdin)
    handlers = {"produce": produce, "consume": consume, "factory": factory, "bench": bench}
    json.dump(handlers[mode](request), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
