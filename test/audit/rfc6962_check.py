#!/usr/bin/env python3
"""Independent checker of an ePost processing-log inclusion proof, written from RFC 6962 (and the
verification algorithm of RFC 9162, section 2.1.3.2) with the Python standard library only: it
shares no code with ePost.

    python3 rfc6962_check.py inclusion-proof.json [evidenceId]
    python3 rfc6962_check.py consistency consistency-proof.json

It recomputes the leaf hash SHA-256(0x00 || leaf) from the record itself, walks the audit path with
SHA-256(0x01 || left || right) up to a root, and checks that root and the tree size against the
tree head's signed bytes (RFC 6962 TreeHeadSignature: version 0, signature_type tree_hash 1,
uint64 timestamp, uint64 tree_size, 32-byte root). The signature and the RFC 3161 timestamp over
those bytes are for openssl to check (see `npm run audit -- prove --out-dir`).
Exit status 0 and "OK ..." when everything holds; 1 and the reason otherwise.
"""
import base64
import hashlib
import json
import struct
import sys


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, path: list) -> bytes:
    if index < 0 or index >= size:
        raise ValueError("leaf index %d is outside a tree of size %d" % (index, size))
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if len(p) != 32:
            raise ValueError("an audit path entry is not a SHA-256 hash")
        if sn == 0:
            raise ValueError("the audit path is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("the audit path is shorter than the tree is deep")
    return r


def consistent(m: int, n: int, old_root: bytes, new_root: bytes, proof: list) -> bool:
    """RFC 9162, 2.1.4.2: the tree of size m is a prefix of the tree of size n."""
    if m < 0 or m > n:
        return False
    if m == n:
        return not proof and old_root == new_root
    if m == 0:
        return not proof
    path = list(proof)
    if m & (m - 1) == 0:
        path.insert(0, old_root)
    if not path:
        return False
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


def check_consistency(file: str) -> int:
    p = json.load(open(file))
    ok = consistent(p["oldSize"], p["newSize"], bytes.fromhex(p["oldRoot"]), bytes.fromhex(p["newRoot"]),
                    [bytes.fromhex(h) for h in p["consistencyPath"]])
    if not ok:
        print("FAIL: the tree of size %d is not shown to be a prefix of the tree of size %d" % (p["oldSize"], p["newSize"]))
        return 1
    print("OK: the log of %d records is a prefix of the log of %d records" % (p["oldSize"], p["newSize"]))
    return 0


def main() -> int:
    if sys.argv[1] == "consistency":
        return check_consistency(sys.argv[2])
    proof = json.load(open(sys.argv[1]))
    expected_evidence = sys.argv[2] if len(sys.argv) > 2 else None

    leaf = base64.b64decode(proof["leaf"])
    record = json.loads(leaf.decode("utf-8"))
    if record.get("seq") != proof["leafIndex"]:
        print("FAIL: the record's sequence number is not the leaf index")
        return 1
    if expected_evidence is not None and record.get("evidenceId") != expected_evidence:
        print("FAIL: the record is not the one of evidence %s" % expected_evidence)
        return 1
    lh = leaf_hash(leaf)
    if "leafHash" in proof and proof["leafHash"] != lh.hex():
        print("FAIL: the stated leaf hash is not SHA-256(0x00 || leaf)")
        return 1

    path = [bytes.fromhex(h) for h in proof["auditPath"]]
    try:
        root = root_from_inclusion_proof(proof["leafIndex"], proof["treeSize"], lh, path)
    except ValueError as e:
        print("FAIL: %s" % e)
        return 1

    head = proof["treeHead"]
    signed = base64.b64decode(head["signedBytes"])
    if len(signed) != 50:
        print("FAIL: the tree head's signed bytes are not an RFC 6962 TreeHeadSignature")
        return 1
    version, signature_type, timestamp, tree_size = struct.unpack(">BBQQ", signed[:18])
    signed_root = signed[18:]
    if version != 0 or signature_type != 1:
        print("FAIL: the signed bytes are not a v1 tree_hash TreeHeadSignature")
        return 1
    if tree_size != proof["treeSize"] or tree_size != head["treeSize"] or timestamp != head["timestamp"]:
        print("FAIL: the signed tree head is not for this tree size or time")
        return 1
    if root != signed_root or root.hex() != head["rootHash"]:
        print("FAIL: the audit path leads to %s, not to the signed root %s" % (root.hex(), signed_root.hex()))
        return 1
    print("OK: record %d (%s, %s) is in the log of %d records whose signed root is %s"
          % (record["seq"], record.get("operation"), record.get("time"), tree_size, root.hex()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
