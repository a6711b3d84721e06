#!/usr/bin/env python3
"""Seeds fuzz/corpus/<target>/ from the project's fixtures, examples and docs
(and fuzz/regressions/<target>/, the checked-in reproducers of past findings).

Run from anywhere: python3 fuzz/seed.py. Idempotent: a seed is stored under
the SHA-1 of its bytes, as libFuzzer names corpus files, so re-running adds
nothing twice and never removes what the fuzzer found.
"""
import base64
import hashlib
import json
import pathlib
import re
import struct

ROOT = pathlib.Path(__file__).resolve().parent.parent
FUZZ = ROOT / "fuzz"
FIXTURES = ROOT / "core" / "tests" / "fixtures" / "syncml"
TARGETS = ["syncml_xml", "syncml_wbxml", "syncml_roundtrip", "notification", "schedule",
           "expr", "rrule", "tnds", "uri", "acl", "account"]
seeds = {t: [] for t in TARGETS}


def texts(*globs):
    for g in globs:
        for p in sorted(ROOT.glob(g)):
            if p.is_file():
                yield p.read_text(encoding="utf-8", errors="replace")


# SyncML messages: every fixture, XML and WBXML.
for p in sorted(FIXTURES.iterdir()):
    b = p.read_bytes()
    if p.suffix == ".xml":
        seeds["syncml_xml"].append(b)
        seeds["syncml_roundtrip"].append(b)
    elif p.suffix == ".wbxml":
        seeds["syncml_wbxml"].append(b)
        seeds["syncml_roundtrip"].append(b)

# TNDS: every <MgmtTree> in fixtures, docs and tests; the DDF is one too.
for t in texts("core/tests/fixtures/syncml/*.xml", "docs/*.md", "docs/*.xml",
               "core/tests/*.rs", "core/src/mo/*.rs"):
    for m in re.finditer(r"<MgmtTree.*?</MgmtTree>", t, re.S):
        s = m.group(0).replace('\\"', '"')
        seeds["tnds"].append(s.encode())

def json_blocks(glob):
    """The ```json blocks of markdown files that parse."""
    for t in texts(glob):
        for m in re.finditer(r"```json\n(.*?)```", t, re.S):
            try:
                yield json.loads(m.group(1))
            except ValueError:
                continue


# Schedule documents: each schedule of the examples and samples, and the
# JSON blocks of the docs that are schedules.
docs = []
for name in ["examples/fleet.json", "samples/c-legacy-client/schedule.json"]:
    v = json.loads((ROOT / name).read_text())
    docs.extend(v if isinstance(v, list) else [v])
docs.extend(v for v in json_blocks("docs/*.md") if isinstance(v, dict) and "tasks" in v)
for d in docs:
    seeds["schedule"].append(json.dumps(d, indent=1).encode())

# Expressions and RRULEs: what the schedules hold, and what docs and tests show.
def walk(v):
    if isinstance(v, dict):
        for k, x in v.items():
            if k in ("require", "becomes_true", "when") and isinstance(x, str):
                seeds["expr"].append(x.encode())
            elif k == "rrule" and isinstance(x, str):
                seeds["rrule"].append(x.encode())
            else:
                walk(x)
    elif isinstance(v, list):
        for x in v:
            walk(x)


walk(docs)
for t in texts("docs/expressions.md"):
    for m in re.finditer(r"`([^`\n]+)`", t):
        seeds["expr"].append(m.group(1).encode())
for t in texts("docs/*.md", "core/tests/*.rs", "core/src/when/*.rs"):
    for m in re.finditer(r"(?:RRULE:)?FREQ=[A-Z0-9=;,+:-]+", t):
        seeds["rrule"].append(m.group(0).encode())

# URIs and ACLs: LocURIs of the fixtures, URIs and ACL strings in docs and tests.
for t in texts("core/tests/fixtures/syncml/*.xml", "docs/*.md", "core/tests/tree_*.rs"):
    for m in re.finditer(r"\./[A-Za-z0-9_./?=+-]*", t):
        seeds["uri"].append(m.group(0).encode())
for t in texts("docs/*.md", "core/tests/*.rs", "core/src/tree/*.rs"):
    for m in re.finditer(r"(?:Add|Delete|Exec|Get|Replace)=[^\s\"'<>`|)]+", t):
        seeds["acl"].append(m.group(0).encode())

# Account files: the example of docs/dm-client.md and variants of it.
for v in json_blocks("docs/dm-client.md"):
    if isinstance(v, dict) and "server_id" in v:
        seeds["account"].append(json.dumps(v).encode())
        w = dict(v, server={"auth": "HMAC", "secret": "s", "nonce": "AAECAw=="},
                 encoding="wbxml", allow_plain_http=True, name="Example")
        seeds["account"].append(json.dumps(w).encode())
        w = dict(v, client={"auth": "BASIC", "name": "dev", "secret": "p"})
        seeds["account"].append(json.dumps(w).encode())

# Package #0: the facts-sheet vector (OMA DM Notification 1.2 §6), and
# triggers signed with the fuzz target's password and nonce.
seeds["notification"].append(bytes.fromhex(
    "d694f533bbdb178ac64480e078526bec" "02d800000012340e636f6d2e6578616d706c652e646d"))


def b64md5(b):
    return base64.b64encode(hashlib.md5(b).digest())


for version, ui, init, sid, vendor in [(11, 1, 1, "com.example.dm", b""),
                                       (12, 3, 0, "srv", b"\x00vendor"),
                                       (12, 2, 1, "dm.example.org", b"")]:
    b0 = version >> 2
    b1 = ((version & 3) << 6) | (ui << 4) | (init << 3)
    trigger = bytes([b0, b1, 0, 0, 0]) + struct.pack(">H", 0x1234) + bytes([len(sid)])
    trigger += sid.encode() + vendor
    key = b64md5(f"{sid}:server-secret".encode())
    digest = hashlib.md5(key + b":nonce:" + b64md5(trigger)).digest()
    seeds["notification"].append(digest + trigger)

# Reproducers of past findings stay in every run's corpus.
for t in TARGETS:
    reg = FUZZ / "regressions" / t
    if reg.is_dir():
        seeds[t].extend(p.read_bytes() for p in sorted(reg.iterdir()) if p.is_file())

for t, items in seeds.items():
    out = FUZZ / "corpus" / t
    out.mkdir(parents=True, exist_ok=True)
    for b in items:
        (out / hashlib.sha1(b).hexdigest()).write_bytes(b)
    print(f"{t}: {len(set(items))} seeds")
