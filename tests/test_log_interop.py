"""The log's formats against other implementations' published data, not only against our own code.

- RFC 6962/9162 hashes: the reference vectors of the transparency-dev Merkle library (eight leaf
  inputs, the root at every size, every node hash): our roots and the stored tree's nodes.
- RFC 6962/9162 proofs: the answers of a live Certificate Transparency log (Google's Argon 2020
  log, tree size 961,984,013) to get-sth, get-entries (entry 10000), get-proof-by-hash and
  get-sth-consistency (from size 3,654,490), as kept in the Go checksum database's test data
  (golang.org/x/mod/sumdb/tlog/testdata/argon2020). Our verifiers must accept them, and reject
  them with any hash or index changed.
- C2SP signed notes: the test vectors of Go's reference implementation
  (golang.org/x/mod/sumdb/note): a published key pair, the exact note it signs, and a note with two
  signers. Our signer must produce the same bytes; our verifier must accept the note and refuse
  forgeries.
- C2SP checkpoint body: Go's golden tree note for a tree of 123456789012 records.
"""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from yiyin.registry import merkle, tree
from yiyin.registry.checkpoint import Checkpoint, CheckpointError, key_id, open_note, sign_note, verifier_key, verify_note

# -- transparency-dev reference vectors ----------------------------------------------------------

LEAF_INPUTS = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
ROOTS = ["e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
         "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
         "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
         "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
         "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
         "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
         "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
         "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
         "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"]
NODES = [["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
          "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
          "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
          "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
          "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
          "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
          "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
          "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"],
         ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
          "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
          "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
          "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"],
         ["d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
          "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
         ["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"]]


def test_roots_and_stored_nodes_match_the_reference_vectors() -> None:
    leaves = [merkle.leaf_hash(bytes.fromhex(x)) for x in LEAF_INPUTS]
    assert [merkle.root(leaves[:n]).hex() for n in range(9)] == ROOTS
    assert {n: h.hex() for n, h in merkle.roots_at(leaves, range(9)).items()} == dict(enumerate(ROOTS))
    stored = {(row["level"], row["idx"]): row["hash"].hex() for row in tree.build_nodes(leaves)}
    assert stored == {(level, i): h for level, row in enumerate(NODES) for i, h in enumerate(row)}
    for n in range(1, 9):  # and our own proofs over them check out with our verifiers
        for i in range(n):
            assert merkle.verify_inclusion(i, n, leaves[i], merkle.inclusion_proof(i, leaves[:n]), bytes.fromhex(ROOTS[n]))


# -- Argon 2020 -----------------------------------------------------------------------------------

ARGON_SIZE = 961984013
ARGON_ROOT = "dwlueapdd7LaOEnX2W2Wp9v2XE+KzejHRQGHwEx0oaM="
ARGON_INDEX = 10000
ARGON_LEAF = (
    "AAAAAAFelPhqUwAAAAViMIIFXjCCBEagAwIBAgIRAOodHzZdqWIFzYyl/SovhCMwDQYJKoZIhvcNAQELBQAwgZAxCzAJBgNVBAYTAkdCMRswGQYD"
    "VQQIExJHcmVhdGVyIE1hbmNoZXN0ZXIxEDAOBgNVBAcTB1NhbGZvcmQxGjAYBgNVBAoTEUNPTU9ETyBDQSBMaW1pdGVkMTYwNAYDVQQDEy1DT01P"
    "RE8gUlNBIERvbWFpbiBWYWxpZGF0aW9uIFNlY3VyZSBTZXJ2ZXIgQ0EwHhcNMTcwMjE1MDAwMDAwWhcNMjAwNDE2MjM1OTU5WjBfMSEwHwYDVQQL"
    "ExhEb21haW4gQ29udHJvbCBWYWxpZGF0ZWQxHTAbBgNVBAsTFFBvc2l0aXZlU1NMIFdpbGRjYXJkMRswGQYDVQQDDBIqLmxhbmRsb3Jkcy5jb20u"
    "YXUwggEiMA0GCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQCtPBKKHj4zdrGlCjgTHzb5gx9JCs97DwvBz60f14gDufF2haWbOxyJ0a3opAMsZnOr"
    "8HkARVCwxdqG/PTfACcb0QM7FOlzvxGqxataTYiChwvkkif8F9GlJw69HuHgzhusPf1Ytfk3ps1PRC14MkyrS4kwPrk/Le4XdkqRpRw62wG4V6Ik"
    "bzsNMEOl1H8EgUbfyapdOcVxHjIzvBVy56fBRKG05Fr5wNq3Acak5kYZdNsLhhmlrqAfAjiombW3hb3V5blJdRC0BDdYHv2+zKey6LqJ1FDoXo6I"
    "zbzPpC+aifZy47YX+/N1U64Qn5xlDg7mOP8JXfkNJHbU1TJZHif5AgMBAAGjggHhMIIB3TAfBgNVHSMEGDAWgBSQr2o6lFoL2JDqElZz30O0Oija"
    "5zAdBgNVHQ4EFgQUNQSLjkoz01I+iuuoC5lgEp0anhcwDgYDVR0PAQH/BAQDAgWgMAwGA1UdEwEB/wQCMAAwHQYDVR0lBBYwFAYIKwYBBQUHAwEG"
    "CCsGAQUFBwMCME8GA1UdIARIMEYwOgYLKwYBBAGyMQECAgcwKzApBggrBgEFBQcCARYdaHR0cHM6Ly9zZWN1cmUuY29tb2RvLmNvbS9DUFMwCAYG"
    "Z4EMAQIBMFQGA1UdHwRNMEswSaBHoEWGQ2h0dHA6Ly9jcmwuY29tb2RvY2EuY29tL0NPTU9ET1JTQURvbWFpblZhbGlkYXRpb25TZWN1cmVTZXJ2"
    "ZXJDQS5jcmwwgYUGCCsGAQUFBwEBBHkwdzBPBggrBgEFBQcwAoZDaHR0cDovL2NydC5jb21vZG9jYS5jb20vQ09NT0RPUlNBRG9tYWluVmFsaWRh"
    "dGlvblNlY3VyZVNlcnZlckNBLmNydDAkBggrBgEFBQcwAYYYaHR0cDovL29jc3AuY29tb2RvY2EuY29tMC8GA1UdEQQoMCaCEioubGFuZGxvcmRz"
    "LmNvbS5hdYIQbGFuZGxvcmRzLmNvbS5hdTANBgkqhkiG9w0BAQsFAAOCAQEACyHqxUzrexToY7tOv4+kyGPP2D27P1tQpyzeAl1bPObiMhNK2b9v"
    "vBLDWAaqm8c0YL1h+DBdLoWzf3xFsIkTCVCjWJTNSNlcYtgRk6or1s7jWsfXzWqsnPjPPmTIOCw7EfH7Yme3oxPs3UUsmShAgPwNohAtL9GqlqMi"
    "KM6v1WU3NHt01jEoNP23LRa6KeNK6AH6WHJykzL223IlhgXjHTeuQj6lR+TNrQXJuhwTXYe+20rrpPQxc1Pn7AqnvfWgmicRQ7gdIcr4V6+ecTvL"
    "fNOaJ0ZYe5G5giuAAdTm7F57pk04f4gyZNYKrj88mvbkoriN8b6jcWExtrYO6bm2TwAA"
)
ARGON_AUDIT_PATH = [
    "T46AmJsuOM/gFiGlUp+IJJebp+1Z5qratFNW7U0JyOQ=", "9Jj1Feodn42uRYEfffkV4HF/EIPFQ5Zo9IwkxbQ2uhk=",
    "D53/1oCNebF4J59HHgioovKZxrmrKcVuCVhy3Izg8Ck=", "wSFDgGSrsXRPA+1c8WHoAFCsWeUv8NDyP/Q/SgsyVyY=",
    "516/RcwsgdwdzHn18v1dJHqBkgFUbNhmCIWOGjsMJaE=", "naTFY2ajLFgrgs5XUl+zJYZnnlJksLGsA1VYwpLfqbY=",
    "mKBRJo6qao+0Kdh/rhGkZUbHUAxMhrtrclrTpIbNjIg=", "Co4ueOFE7lpifLio94irxxsv1wFMMaK3tPu2ZQkHlro=",
    "yRgy800K6JMYCC05sWfqF2kvCg2riT/pVM+nEa6V5+0=", "n2O38XJZC8/Wpbwi9HhgVizlUyeUHVZvYyQB1607MRc=",
    "go3tAjuNfNSCj87y2Rg1xOroDknGN1eaf3cgvzObf7Q=", "8D0Mj3/J7ySSnFb0afIHYXv6rlOhECnsebY6XKi1IR8=",
    "6rcez46ZU8M5vPiWVMAUfJfAOV0pPP/mch/lYzZhj/M=", "2rtIeXrPvSdUyHc5maIgSAVB2BzaKaupWxSAiVayDE4=",
    "nniW/IMFQPN5xw8UsHFn7CRStYbm1gLu7NNa6kkRqJQ=", "mRPPi7sQS22MduIEyvcNzCNFqIt6kLwYPkNKrVtIcu8=",
    "JvTivzESNS9wHI8aph5a7uieVmtS/p9PciMZ5D6GyOo=", "UTyQd+Ym0wY4zG+qK806bBORwi1CSVvFQ/KknnqoZj8=",
    "hXODrqN+ff+U6zPqRQ+ZQKs6im1fPcxIerDSfNwflhE=", "II6GE+WY/DrpZzfHztLwkR46o37zVkNLCyPYlf68zA0=",
    "d609kWWcNBllbA8Jb/ad4XAVVGnScLRmtP8FYyr+Dck=", "rikBsP0G0gioXRpBFED2CzQdSLrGPvRd0bEcbEZw1rI=",
    "GXIElfmnRuWfbA4z7ubV/UwlpSRUbUeec7oL5HDDnh0=", "pR0SH/NYP6s9+8azWwaeUXA4Ze/3WCIgMfh5YW6wvcE=",
    "f3GuAKYVrF8RBg3s15jvA/YvV9oAliWtzP/imwPhQVA=", "WHn8zDxlVgkV+lSlmzaOdfSBrTHoRr5nT3d76q0KKWE=",
    "f2uV2ZxVgULzLPKuZcowRY3ZY7fRlX59iDBjV1R8kNQ=", "NzQVjJsvQwbi7WStMr9oFkh9VbHfK7LB6o7WwAqwNTs=",
    "C0LttBeYHZHgL+032JIcJC3CTBIyza/hsbmJUgJfmDI=", "nixU5CWTFVDlF4BGdcU6kA7WSYurEpe9jRWc+F/7sOc=",
]
ARGON_OLD_SIZE = 3654490
ARGON_OLD_ROOT = "AuIZ5V6sDUj1vn3Y1K85oOaQ7y+FJJKtyRTl1edIKBQ="
ARGON_CONSISTENCY = [
    "80Sfbj6UQEdVSZCSIgh9NMPj3vCBzcc1A48B2crJSWg=", "FZcrgAHUk6nNPviJZq8kEK6jCG1d18pJOFE45ZDc1TQ=",
    "Q67reWXmPBo1UfmwBap4Xi9PMPfFdUSSw3WGlRZdG7k=", "eJ7CyhR4PxzBxDIsWgrVYW1eFUb9ndgf46tFmiqVrxA=",
    "QrDwp062Grm5WY8KdrhFsBuuNjGzRox2Jb8PmVL5OYw=", "XM4YMjMEdLH/XJam/ZWyaP14k3cmsOtnPsOWQ54lW1s=",
    "SGiBh+jOTGccXU48ZzgQ88lRcBmtB4wz4oSDndv2QTg=", "WAS6txqNLYKGL1GdBdpqmV42TTfn6cJsuDsqLXuTCNI=",
    "QFmRS0rirUA7ZN3lxFjDncV+E1OCrn3NUB4RCp+5fzc=", "Hdbp7It2XBNZmNDBpCN/KPd7vfVqxgzwOosqVIaEA9E=",
    "mxvHL0ZiblBdD7j7pIa1jlfB0gSqfJ6oX0UGo7L0VsU=", "q5hjyvoW6TL/PThgcitpDcSTrnKX2p1+aqscqH2euRA=",
    "jTOWDqt3IHj2NVFeezyBz2ofpru+ztEywqKUAfFclKI=", "GIRn0w3HqJdvU9j1WVD//eR6lk2AaTVjyzjsJNP8U88=",
    "x52GJvxG81fnQBrgOTbll1A5tz95/LXK0Ag1NhB0r1I=", "6/0OqrcTgc3o5dD5PymmoC96lB9yLPFuTHVvLy8fSGk=",
    "Gf+iKLfcXO5l4JEFmsZvSdG5q1uEeWPfYLrds6pmjz0=", "DGuaco+McyM3AfRSF6qX7RwSetwe2ieYJmxw5e9rVx0=",
    "2tQJ9V32hnYp+fdpP6TcjmgJmLeNVOMKM0Ml1kk4cNU=", "3PapK+IkyJr8I9yAErAmzuZezzLMzsg+PfeRCgNW8NQ=",
    "s6xiYeejb+wtqHA+URJZ2I/SCPyIW8coP6aB00FJbMY=", "z9lSpmdTcr5M5ZzKlc4EPh3SrSypKFdk6JUF/UccaZU=",
    "GXIElfmnRuWfbA4z7ubV/UwlpSRUbUeec7oL5HDDnh0=", "pR0SH/NYP6s9+8azWwaeUXA4Ze/3WCIgMfh5YW6wvcE=",
    "f3GuAKYVrF8RBg3s15jvA/YvV9oAliWtzP/imwPhQVA=", "WHn8zDxlVgkV+lSlmzaOdfSBrTHoRr5nT3d76q0KKWE=",
    "f2uV2ZxVgULzLPKuZcowRY3ZY7fRlX59iDBjV1R8kNQ=", "NzQVjJsvQwbi7WStMr9oFkh9VbHfK7LB6o7WwAqwNTs=",
    "C0LttBeYHZHgL+032JIcJC3CTBIyza/hsbmJUgJfmDI=", "nixU5CWTFVDlF4BGdcU6kA7WSYurEpe9jRWc+F/7sOc=",
]


def _b(items: list[str]) -> list[bytes]:
    return [base64.b64decode(x) for x in items]


def _flip(h: bytes) -> bytes:
    return bytes([h[0] ^ 1]) + h[1:]


def test_a_live_ct_logs_inclusion_proof_verifies() -> None:
    leaf = merkle.leaf_hash(base64.b64decode(ARGON_LEAF))
    root, path = base64.b64decode(ARGON_ROOT), _b(ARGON_AUDIT_PATH)
    assert merkle.verify_inclusion(ARGON_INDEX, ARGON_SIZE, leaf, path, root)
    assert not merkle.verify_inclusion(ARGON_INDEX + 1, ARGON_SIZE, leaf, path, root)
    assert not merkle.verify_inclusion(ARGON_INDEX, ARGON_SIZE // 2, leaf, path, root)  # a tree of another shape
    assert not merkle.verify_inclusion(ARGON_INDEX, ARGON_SIZE, _flip(leaf), path, root)
    assert not merkle.verify_inclusion(ARGON_INDEX, ARGON_SIZE, leaf, path[:-1], root)
    for i in range(len(path)):
        assert not merkle.verify_inclusion(ARGON_INDEX, ARGON_SIZE, leaf, path[:i] + [_flip(path[i])] + path[i + 1:], root)


def test_a_live_ct_logs_consistency_proof_verifies() -> None:
    old, new, proof = base64.b64decode(ARGON_OLD_ROOT), base64.b64decode(ARGON_ROOT), _b(ARGON_CONSISTENCY)
    assert merkle.verify_consistency(ARGON_OLD_SIZE, ARGON_SIZE, old, new, proof)
    assert not merkle.verify_consistency(ARGON_OLD_SIZE + 1, ARGON_SIZE, old, new, proof)
    assert not merkle.verify_consistency(ARGON_OLD_SIZE, ARGON_SIZE, _flip(old), new, proof)
    assert not merkle.verify_consistency(ARGON_OLD_SIZE, ARGON_SIZE, old, new, proof[1:])
    for i in range(len(proof)):
        assert not merkle.verify_consistency(ARGON_OLD_SIZE, ARGON_SIZE, old, new, proof[:i] + [_flip(proof[i])] + proof[i + 1:])


# -- Go's signed notes ----------------------------------------------------------------------------

PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
PETER_SIG = ("\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n")
ENOCH_SIG = ("\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n")


def _peter_key() -> Ed25519PrivateKey:
    raw = base64.b64decode(PETER_SKEY.split("+", 4)[4])  # PRIVATE+KEY+<name>+<id>+<base64(0x01 || seed)>
    assert raw[0] == 1  # Ed25519
    return Ed25519PrivateKey.from_private_bytes(raw[1:])


def test_our_signer_writes_the_same_note_as_gos() -> None:
    key = _peter_key()
    assert verifier_key("PeterNeumann", key.public_key()) == PETER_VKEY
    assert key_id("PeterNeumann", key.public_key().public_bytes_raw()).hex() == "c74f20a3"
    assert sign_note(TEXT, "PeterNeumann", key) == TEXT + "\n" + PETER_SIG


def test_our_verifier_opens_gos_notes_and_refuses_forgeries() -> None:
    assert verify_note(TEXT + "\n" + PETER_SIG, PETER_VKEY) == TEXT
    assert verify_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, PETER_VKEY) == TEXT  # another signer's line is skipped
    assert verify_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, ENOCH_VKEY) == TEXT
    with pytest.raises(CheckpointError, match="签名注记上没有 PeterNeumann（密钥编号 c74f20a3）的签名"):
        verify_note(TEXT + "\n" + ENOCH_SIG, PETER_VKEY)
    with pytest.raises(CheckpointError, match="签名注记上 PeterNeumann 的签名与正文不符"):
        verify_note(TEXT.replace("problem,", "problem;") + "\n" + PETER_SIG, PETER_VKEY)
    with pytest.raises(CheckpointError):
        verify_note(TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:], PETER_VKEY)
    with pytest.raises(CheckpointError):
        verify_note(TEXT + PETER_SIG, PETER_VKEY)  # no blank line
    for bad_key in (PETER_VKEY[:-1], PETER_VKEY.replace("c74f20a3", "c74f20a4"), "PeterNeumann+c74f20a3",
                    "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"):
        with pytest.raises(CheckpointError):
            verify_note(TEXT + "\n" + PETER_SIG, bad_key)


def test_a_checkpoint_body_is_gos_tree_note() -> None:
    body = Checkpoint("go.sum database tree", 123456789012, merkle.leaf_hash(b"hello world")).body()
    assert body == "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n"
    note = sign_note(body, "PeterNeumann", _peter_key())
    cp = open_note(note, PETER_VKEY)
    assert (cp.origin, cp.size, cp.root) == ("go.sum database tree", 123456789012, merkle.leaf_hash(b"hello world"))
