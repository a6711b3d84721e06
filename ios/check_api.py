#!/usr/bin/env python3
"""Checks, without a Swift compiler, that the Swift in ios/Sources and
ios/Tests uses the generated bindings (Dmsched.swift) as they are: so that a
renamed method, label, record field, enum case or host-protocol signature in
the Rust bindings fails `make test` here instead of rotting until someone
runs `swift test` on a Mac.

It is a parser of declarations and call sites, not a type checker. What it
checks (each failure is one line `file:line: message`):

1. every generated *type* our code names exists (or is ours, or Apple's);
2. every call on an `Engine` value (`let x: Engine`, `let x = try
   openEngine(…)` / `Engine.open(…)`), every `Engine.open(…)`, every
   construction of a generated record or enum case and every call of a
   generated top-level function exists in Dmsched.swift with those argument
   labels (defaulted parameters may be left out);
3. every type of ours that conforms to a generated host protocol
   (`TreeAccess`, `ActionExecutor`, `ReportSink`, …) implements each of its
   requirements with the same labels, parameter types, `throws` and result.

Usage: check_api.py GENERATED.swift SWIFT_FILE_OR_DIR...
       check_api.py --self-test GENERATED.swift
"""

import os
import re
import sys
import tempfile

# Names from Swift, Foundation, Dispatch, os, XCTest, BackgroundTasks and
# UIKit that our code uses: never reported as unknown types.
APPLE = set("""
Any AnyObject Array Bool Character Date Dictionary DispatchQueue DispatchSource
DispatchSourceTimer DispatchTimeInterval DispatchWallTime Double Element Error
Int Int32 Int64 Logger NSLock NSObjectProtocol NSRecursiveLock NSTimeZone
Notification NotificationCenter Optional Result Self Sendable Set StaticString
String Substring TimeInterval TimeZone UInt UInt16 UInt32 UInt64 UInt8 Void
XCTestCase XCTest CustomStringConvertible Equatable Hashable
BGTask BGTaskScheduler BGAppRefreshTaskRequest UIApplication
XCTAssert XCTAssertEqual XCTAssertNotEqual XCTAssertNil XCTAssertNotNil
XCTAssertTrue XCTAssertFalse XCTAssertThrowsError XCTAssertNoThrow XCTFail
XCTAssertGreaterThan XCTAssertGreaterThanOrEqual XCTAssertLessThan
XCTAssertLessThanOrEqual XCTAssertIdentical XCTUnwrap XCTSkip XCTestExpectation
T E R
""".split())

SWIFT_KEYWORDS = {"let", "var", "try", "await", "return", "if", "guard", "case", "in", "inout", "_"}


def strip(text):
    """Comments removed and string literals emptied, newlines kept (so line
    numbers hold)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    out.append("\n" if text[i] == "\n" else "")
                    i += 1
        elif text[i] == '"' or (text[i] == "#" and re.match(r'#+"', text[i:])):
            hashes = len(text[i:]) - len(text[i:].lstrip("#"))
            j = i + hashes
            quote = '"""' if text.startswith('"""', j) else '"'
            close = quote + "#" * hashes
            j += len(quote)
            while j < n and not text.startswith(close, j):
                if text[j] == "\\" and hashes == 0:
                    j += 1
                if j < n and text[j] == "\n":
                    out.append("\n")
                j += 1
            out.append('""')
            i = j + len(close)
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def matching(text, i, open_ch, close_ch):
    """Index just past the bracket closing the one at text[i]."""
    depth = 0
    for j in range(i, len(text)):
        if text[j] == open_ch:
            depth += 1
        elif text[j] == close_ch:
            depth -= 1
            if depth == 0:
                return j + 1
    return len(text)


def split_top(s):
    """Splits on commas outside (), [], <>, {}."""
    parts, depth, cur = [], 0, []
    for ch in s:
        if ch in "([{<":
            depth += 1
        elif ch in ")]}>":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        parts.append("".join(cur))
    return parts


def norm(s):
    s = re.sub(r"\s+", " ", s).strip()
    s = re.sub(r"\s*([:,()\[\]?!<>])\s*", r"\1", s)
    s = re.sub(r"\s*->\s*", "->", s)
    return s.replace("@escaping", "").replace("Swift.", "")


def params(plist):
    """[(label, type, has_default)] of a declaration's parameter list."""
    out = []
    for p in split_top(plist):
        head, _, typ = p.partition(":")
        typ, eq, _ = typ.partition("=")
        names = head.split()
        names = [x for x in names if not x.startswith("@")]
        label = names[0] if names else "_"
        out.append((label, norm(typ), bool(eq)))
    return out


def body_flat(body):
    """A body with nested braces emptied: its own members only."""
    out, depth = [], 0
    for ch in body:
        if ch == "{":
            depth += 1
            if depth == 1:
                out.append("{")
            continue
        if ch == "}":
            depth -= 1
            if depth == 0:
                out.append("}")
            continue
        out.append(ch if depth == 0 or ch == "\n" else "")
    return "".join(out)


FUNC = re.compile(r"\bfunc\s+`?(\w+)`?\s*(?:<[^>(]*>)?\s*\(")
INIT = re.compile(r"\binit\s*\(")
CASE = re.compile(r"\bcase\s+(\w+)\s*(\()?")


def members(flat):
    """funcs: [(name, params, sig)], inits: [params], cases: {name: params|None}"""
    funcs, inits, cases = [], [], {}
    for m in FUNC.finditer(flat):
        end = matching(flat, m.end() - 1, "(", ")")
        rest = re.match(r"[^{\n]*", flat[end:]).group(0)
        ps = params(flat[m.end():end - 1])
        sig = m.group(1) + "(" + ",".join(f"{l}:{t}" for l, t, _ in ps) + ")" + norm(rest)
        funcs.append((m.group(1), ps, sig))
    for m in INIT.finditer(flat):
        end = matching(flat, m.end() - 1, "(", ")")
        inits.append(params(flat[m.end():end - 1]))
    for m in CASE.finditer(flat):
        if m.group(2):
            end = matching(flat, m.end() - 1, "(", ")")
            cases[m.group(1)] = params(flat[m.end():end - 1])
        else:
            cases[m.group(1)] = []
    return funcs, inits, cases


TYPE_DECL = re.compile(r"\b(struct|enum|protocol|class|actor|extension)\s+(\w+)([^{;]*)\{")


def type_decls(text):
    """[(kind, name, header, body, offset)] of declarations at every depth."""
    out = []
    for m in TYPE_DECL.finditer(text):
        start = m.end() - 1
        end = matching(text, start, "{", "}")
        out.append((m.group(1), m.group(2), m.group(3), text[start + 1:end - 1], start + 1))
    return out


class Api:
    def __init__(self, path):
        text = strip(open(path, encoding="utf-8").read())
        self.types, self.protocols, self.records, self.enums = set(), {}, {}, {}
        self.methods = {}  # type -> funcs
        for kind, name, header, body, _ in type_decls(text):
            if kind == "extension" or name.startswith(("FfiConverter", "Uniffi")):
                continue
            pre = text[max(0, text.find(header) - 200):]
            funcs, inits, cases = members(body_flat(body))
            self.types.add(name)
            self.methods.setdefault(name, []).extend(funcs)
            if kind == "protocol":
                self.protocols[name] = funcs
            elif kind == "struct":
                self.records.setdefault(name, []).extend(inits)
            elif kind == "enum":
                self.enums[name] = cases
            elif kind == "class":
                self.records.setdefault(name, []).extend(
                    i for i in inits if not (i and i[0][0] in ("noHandle", "unsafeFromHandle"))
                )
        # top-level functions: declarations at depth 0
        top = body_flat("{" + text + "}")[1:-1]
        self.functions = [f for f in members(top)[0] if not f[0].startswith(("FfiConverter", "uniffi"))]
        self.public_types = {t for t in self.types if not t.startswith("_")}


def call_labels(args):
    labels = []
    for a in split_top(args):
        m = re.match(r"\s*(\w+)\s*:(?!:)", a)
        labels.append(m.group(1) if m and m.group(1) not in SWIFT_KEYWORDS else "_")
    return labels


def accepts(ps, labels):
    i = 0
    for label, _, has_default in ps:
        if i < len(labels) and labels[i] == label:
            i += 1
        elif label == "_" and i < len(labels) and labels[i] == "_":
            i += 1
        elif not has_default:
            return False
    return i == len(labels)


def line_of(text, pos):
    return text.count("\n", 0, pos) + 1


def check_file(api, path, problems):
    raw = open(path, encoding="utf-8").read()
    text = strip(raw)
    rel = os.path.relpath(path)

    def fail(pos, msg):
        problems.append(f"{rel}:{line_of(text, pos)}: {msg}")

    local_types = {name for _, name, _, _, _ in type_decls(text)}
    decls = type_decls(text)

    # 1. type names
    for m in re.finditer(r"(?:(?::|->|\bas[?!]?(?!\w)|\bis\b|<|\[)\s*|(?<![\w.])(?=[A-Z]\w*\s*[.(]))([A-Z]\w*)", text):
        name = m.group(1)
        if name in api.public_types or name in local_types or name in APPLE or name in GLOBAL_LOCAL:
            continue
        fail(m.start(1), f"type {name} is not in the generated bindings (nor declared here, nor an Apple type)")

    # 2a. calls on Engine values and on Engine itself
    receivers = set(re.findall(r"\b(?:let|var)\s+(\w+)\s*:\s*Engine\b(?![\w.])", text))
    receivers |= set(re.findall(r"\b(?:let|var)\s+(\w+)\s*(?::[^=\n]*)?=\s*(?:try!?\s+)?(?:openEngine|Engine\.open)\s*\(", text))
    engine_funcs = api.methods.get("Engine", [])
    for m in re.finditer(r"(?<![\w.])(\w+)\.`?(\w+)`?\s*\(", text):
        recv, name = m.group(1), m.group(2)
        if recv == "Engine" or recv in receivers:
            end = matching(text, m.end() - 1, "(", ")")
            labels = call_labels(text[m.end():end - 1])
            candidates = [f for f in engine_funcs if f[0] == name]
            if not candidates:
                fail(m.start(2), f"Engine has no method {name}")
            elif not any(accepts(ps, labels) for _, ps, _ in candidates):
                want = " | ".join(f"{n}({''.join(l + ':' for l, _, _ in ps)})" for n, ps, _ in candidates)
                fail(m.start(2), f"Engine.{name}({''.join(l + ':' for l in labels)}) does not match {want}")

    # 2b. record and object initialisers, generated top-level functions
    for m in re.finditer(r"(?<![\w.])([A-Za-z]\w*)\s*\(", text):
        name = m.group(1)
        before = text[max(0, m.start() - 12):m.start()]
        if re.search(r"\b(func|init|case|struct|class|enum|protocol)\s*$", before):
            continue
        end = matching(text, m.end() - 1, "(", ")")
        labels = call_labels(text[m.end():end - 1])
        if name in api.records and name not in local_types and api.records[name]:
            if not any(accepts(ps, labels) for ps in api.records[name]):
                fail(m.start(1), f"{name}({''.join(l + ':' for l in labels)}) matches no initialiser of the generated {name}")
        fns = [f for f in api.functions if f[0] == name]
        if fns and not any(accepts(ps, labels) for _, ps, _ in fns):
            fail(m.start(1), f"{name}({''.join(l + ':' for l in labels)}) does not match the generated function")

    # 2c. enum cases: `.case(…)` / `Type.case(…)` / `.case`
    all_cases = {}
    for enum, cases in api.enums.items():
        for c, ps in cases.items():
            all_cases.setdefault(c, []).append((enum, ps))
    for m in re.finditer(r"(?:\b([A-Z]\w*)|(?<![\w)\]?!]))\.([A-Za-z]\w*)\s*(\()?", text):
        qual, name, paren = m.group(1), m.group(2), m.group(3)
        if qual in api.enums:
            options = [(qual, api.enums[qual].get(name))]
            if options[0][1] is None:
                fail(m.start(2), f"the generated {qual} has no case {name}")
                continue
        elif qual is None and name in all_cases:
            options = all_cases[name]
        else:
            continue
        if not paren:
            continue
        pattern = re.search(r"\bcase\s+(let\s+)?$", text[max(0, m.start() - 10):m.start()])
        if pattern:
            continue  # a pattern may omit labels
        end = matching(text, m.end() - 1, "(", ")")
        labels = call_labels(text[m.end():end - 1])
        if not any(accepts(ps, labels) for _, ps in options):
            fail(m.start(2), f".{name}({''.join(l + ':' for l in labels)}) matches no generated case {name}")

    # 3. conformances to generated host protocols
    for kind, name, header, body, offset in decls:
        if kind not in ("class", "struct", "actor", "extension") or ":" not in header:
            continue
        conforms = [c.strip().split()[-1] for c in header.split(":", 1)[1].split(",")]
        own = {sig for _, _, sig in members(body_flat(body))[0]}
        own_norm = set()
        for sig in own:  # a non-throwing (or rethrowing) witness satisfies a throwing requirement
            close = matching(sig, sig.index("("), "(", ")")
            head, tail = sig[:close], sig[close:]
            tail = tail.replace("rethrows", "throws", 1)
            own_norm.add(head + tail)
            if not tail.startswith("throws"):
                own_norm.add(head + "throws" + tail)
        for proto in conforms:
            for fname, _, sig in api.protocols.get(proto, []):
                if proto == "EngineProtocol":
                    continue
                if sig not in own_norm:
                    fail(offset, f"{name} conforms to {proto} but lacks `{sig}`"
                         f" (has: {', '.join(sorted(s for s in own if s.startswith(fname + '(')) or ['nothing'])})")


GLOBAL_LOCAL = set()


def swift_files(paths):
    for p in paths:
        if os.path.isdir(p):
            for root, _, files in os.walk(p):
                for f in sorted(files):
                    if f.endswith(".swift"):
                        yield os.path.join(root, f)
        else:
            yield p


def run(generated, paths):
    api = Api(generated)
    if "Engine" not in api.types or not api.methods.get("Engine"):
        return [f"{generated}: no Engine class found: not the dmsched bindings?"]
    files = list(swift_files(paths))
    GLOBAL_LOCAL.clear()
    for f in files:  # types declared in any of our files may be used in any
        GLOBAL_LOCAL.update(name for _, name, _, _, _ in type_decls(strip(open(f, encoding="utf-8").read())))
    problems = []
    for f in files:
        check_file(api, f, problems)
    return problems


SELF_TEST = {
    # name: (swift source, expected fragment of a problem; None = clean)
    "clean": ("""
        final class H: TreeAccess, @unchecked Sendable {
            func read(owner: String, uri: String) throws -> TreeValue? { .int(v: 1) }
        }
        func f(h: H, e: Engine) throws {
            let engine: Engine = e
            _ = EngineSettings(storePath: "", deviceId: "", timeZone: "", optionsJson: nil)
            _ = try engine.tick(nowMs: 1)
            if case let .InvalidSchedule(m) = DmschedError.InvalidSchedule(message: "") { _ = m }
        }
        final class X: ActionExecutor, @unchecked Sendable {
            func execute(context: RunContext, actionsJson: String) throws -> [CommandResult] { [] }
        }
        """, None),
    "method named like a case": ("func f(l: L) { l.error(\"x\"); l.info(\"y\") }\nstruct L { func error(_ s: String) {}; func info(_ s: String) {} }", None),
    "non-throwing witness": ("final class H: TreeAccess { func read(owner: String, uri: String) -> TreeValue? { nil } }", None),
    "wrong label": ("func f(e: Engine) { let engine: Engine = e; _ = try? engine.tick(now: 1) }",
                    "Engine.tick(now:) does not match"),
    "unknown method": ("func f(engine: Engine) { let engine: Engine = engine; engine.explode() }", "Engine has no method explode"),
    "unknown type": ("func f() -> Occurrence? { nil }", "type Occurrence is not in the generated bindings"),
    "record field": ("let s = EngineSettings(storePath: \"\", deviceId: \"\", zone: \"\", optionsJson: nil)",
                     "matches no initialiser of the generated EngineSettings"),
    "enum case label": ("let v = TreeValue.int(value: 1)", ".int(value:) matches no generated case"),
    "enum case name": ("let v = TreeValue.integer(v: 1)", "has no case integer"),
    "protocol signature": ("final class H: TreeAccess { func read(owner: String, path: String) throws -> TreeValue? { nil } }",
                           "H conforms to TreeAccess but lacks"),
}


def self_test(generated):
    failures = 0
    with tempfile.TemporaryDirectory() as d:
        for name, (src, expect) in SELF_TEST.items():
            p = os.path.join(d, "Case.swift")
            with open(p, "w", encoding="utf-8") as f:
                f.write(src)
            problems = run(generated, [p])
            ok = (not problems) if expect is None else any(expect in x for x in problems)
            if not ok:
                failures += 1
                print(f"self-test {name!r}: expected {expect!r}, got {problems}", file=sys.stderr)
    return failures


def main(argv):
    if len(argv) == 3 and argv[1] == "--self-test":
        n = self_test(argv[2])
        print(f"check_api self-test: {len(SELF_TEST) - n}/{len(SELF_TEST)} cases behave")
        return 1 if n else 0
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    problems = run(argv[1], argv[2:])
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"check_api: {len(problems)} use(s) of the bindings do not match {argv[1]}", file=sys.stderr)
        return 1
    print(f"check_api: every use of the bindings in {' '.join(argv[2:])} matches {argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
