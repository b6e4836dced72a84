#!/usr/bin/env python3
"""Mutation testing of certspoa's decision path.

    make mutate                          every mutant in tests/mutation/mutants.txt
    make mutate MUTANTS=tp-sha1-prefix,cidr-v6-inverted
    tests/mutation/mutate.py --list      the mutants, one line each
    tests/mutation/mutate.py --check     anchors (each must occur exactly once) and kill_hints
    tests/mutation/mutate.py --record-hints   each mutant's killer in its log of the last
                                         run becomes its kill_hint in mutants.txt

Each mutant (tests/mutation/mutants.txt, format described there) names a
file, an anchor (an exact substring that must occur exactly once in it), its
replacement, the stages that should kill it and the property it breaks.

The real tree is never written. The harness keeps a scratch copy under
build/mutate/tree (files copied only when their content differs, so the
build there stays incremental), applies one mutant to the copy, builds,
runs the mutant's known killers first (its kill_hint, then its killer in
build/mutate/killers.txt from the last run: a unit test alone, or one of its
stages), then, if none failed, its stages from cheapest to dearest, and stops at the first
failure: KILLED, with the stage and the first failing test; SURVIVED when
every stage passed; ERROR when the anchor is missing or not unique, or the
mutated tree does not compile. The file is then restored in the copy.

Suite output goes to build/mutate/logs/<id>.log; the terminal gets one line
per mutant and a summary "mutation: N killed, N survived[, N errors]" with
the score. Exit status 0 only if nothing survived (apart from mutants marked
equivalent) and nothing was in error.

Environment: MUTANTS=id,id (subset; shell patterns too: 'cidr-*'), MUTATE_STAGES=unit (run only these
stages of each mutant, e.g. for a quick look), MUTATE_NO_BASELINE=1 (skip the
check that the unmutated copy passes its stages), MUTATE_HINTS=0 (no known
killers first), MUTATE_JOBS (make -j,
default 2), HAPROXY / HAPROXY_CMD as for the integration suites.
"""
import fcntl
import fnmatch
import os
import re
import shutil
import subprocess
import sys
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MUTANTS_FILE = os.path.join(TOP, "tests", "mutation", "mutants.txt")
WORK = os.path.join(TOP, "build", "mutate")
TREE = os.path.join(WORK, "tree")
LOGS = os.path.join(WORK, "logs")
JOBS = os.environ.get("MUTATE_JOBS", "2")

# Stages, cheapest first. A stage name is "unit", "integration", "inspect",
# "policy:<part>+<part>" (parts of tests/integration/policy.sh), or
# "revocation[:script]" (tests/revocation/run.sh on HAProxy 2.6, ONLY=script),
# "adversarial[:script]" (tests/adversarial/run.sh on HAProxy 2.6, ONLY=script).
STAGE_ORDER = {"unit": 0, "inspect": 1, "integration": 3, "policy": 2, "revocation": 4, "adversarial": 5}
STAGE_TIMEOUT = {"unit": 300, "inspect": 300, "integration": 900, "policy": 900, "revocation": 900,
                 "adversarial": 900}
KEYS = ("file", "find", "replace", "stages", "breaks", "equivalent", "kill_hint")
KILLERS = os.path.join(WORK, "killers.txt")
UNIT_DIR = os.path.join(TOP, "tests", "unit")


class MutantError(Exception):
    pass


def unescape(v):
    """\\t, \\n and \\\\ in anchors and replacements (for leading tabs)."""
    out, i = [], 0
    while i < len(v):
        c = v[i]
        if c == "\\" and i + 1 < len(v) and v[i + 1] in "tn\\":
            out.append({"t": "\t", "n": "\n", "\\": "\\"}[v[i + 1]])
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def load_mutants(path):
    mutants, cur = [], None
    with open(path, encoding="utf-8") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            m = re.fullmatch(r"\[([a-z0-9][a-z0-9-]*)\]\s*", line)
            if m:
                cur = {"id": m.group(1), "line": lineno}
                if any(x["id"] == cur["id"] for x in mutants):
                    sys.exit(f"{path}:{lineno}: mutant {cur['id']} defined twice")
                mutants.append(cur)
                continue
            m = re.fullmatch(r"\s*([a-z_]+)\s*=\s?(.*)", line)
            if not m or cur is None or m.group(1) not in KEYS:
                sys.exit(f"{path}:{lineno}: expected [id] or one of {', '.join(KEYS)} = value")
            if m.group(1) in cur:
                sys.exit(f"{path}:{lineno}: {m.group(1)} given twice for {cur['id']}")
            cur[m.group(1)] = unescape(m.group(2).rstrip())
    for mu in mutants:
        for k in ("file", "find", "replace", "breaks"):
            if k not in mu:
                sys.exit(f"{path}:{mu['line']}: mutant {mu['id']} has no {k}")
        if mu["find"] == mu["replace"]:
            sys.exit(f"{path}:{mu['line']}: mutant {mu['id']} replaces its anchor by itself")
        mu["stages"] = parse_stages(mu.get("stages", "unit"), path, mu)
    return mutants


def parse_stages(text, path="", mu=None):
    stages = []
    for s in text.split(","):
        s = s.strip()
        base = s.split(":", 1)[0]
        if base not in STAGE_ORDER or (":" in s and base not in ("policy", "revocation", "adversarial")):
            where = f"{path}:{mu['line']}: mutant {mu['id']}: " if mu else ""
            sys.exit(f"{where}unknown stage '{s}' (unit, inspect, integration, policy[:part+part], revocation[:script], adversarial[:script])")
        stages.append(s)
    return sorted(stages, key=lambda s: STAGE_ORDER[s.split(":", 1)[0]])


def anchor_count(mu, root=TOP):
    """The file's text if the anchor occurs exactly once in it under root.
    A run reads the scratch copy (synced once at the start), so that edits
    to the real tree while it runs cannot mix two versions of the code."""
    path = os.path.join(root, mu["file"])
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise MutantError(f"{mu['file']}: {e.strerror}")
    n = text.count(mu["find"])
    if n != 1:
        raise MutantError(f"anchor {'not found' if n == 0 else f'found {n} times'} in {mu['file']}: {mu['find']!r}")
    return text


# ---- the scratch copy ----

def tree_files():
    out = subprocess.run(["git", "-C", TOP, "ls-files", "-z", "-co", "--exclude-standard"],
                         check=True, capture_output=True).stdout
    return [p for p in out.decode().split("\0") if p and os.path.isfile(os.path.join(TOP, p))]


def copy_if_different(rel):
    src, dst = os.path.join(TOP, rel), os.path.join(TREE, rel)
    with open(src, "rb") as f:
        data = f.read()
    try:
        with open(dst, "rb") as f:
            if f.read() == data:
                return
    except OSError:
        pass
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    if os.path.lexists(dst):
        os.unlink(dst)
    with open(dst, "wb") as f:          # a new mtime: make rebuilds it
        f.write(data)
    shutil.copymode(src, dst)


def sync_tree():
    files = tree_files()
    keep = set(files)
    for rel in files:
        copy_if_different(rel)
    # files gone from the real tree (a deleted test would still be compiled)
    for dirpath, dirnames, filenames in os.walk(TREE):
        rel_dir = os.path.relpath(dirpath, TREE)
        if rel_dir == ".":
            dirnames[:] = [d for d in dirnames if d not in ("build", "build-san", ".git")]
        if rel_dir == "tests":
            dirnames[:] = [d for d in dirnames if d != "out"]
        for fn in filenames:
            rel = os.path.normpath(os.path.join(rel_dir, fn))
            if rel in keep or rel in ("certspoa", "certspoa-san"):
                continue
            os.unlink(os.path.join(TREE, rel))


# What each stage runs: a mutant builds the unit runner alone for its known
# killer, and the rest only when it gets that far.
UNIT_TARGETS = ["build/tests/unit/run-unit"]
ALL_TARGETS = ["certspoa", "build/tests/unit/run-unit",
               "build/tests/token/mint"]   # the revocation stage mints tokens (t-urls.sh)


def build(log, targets=ALL_TARGETS):
    cmd = ["nice", "make", "-j" + JOBS] + list(targets)
    return run(cmd, log, 600, "build") == 0


# ---- known killers (kill_hint in mutants.txt, build/mutate/killers.txt) ----

def unit_test_names():
    names = set()
    for fn in os.listdir(UNIT_DIR):
        if fn.endswith(".c"):
            with open(os.path.join(UNIT_DIR, fn), encoding="utf-8", errors="replace") as f:
                names.update(re.findall(r"^TEST\(([A-Za-z0-9_]+)\)", f.read(), re.M))
    return names


def hint_error(mu, hint, names):
    """None if hint can kill mu: one of its stages, or a unit test that
    exists when unit is one of its stages."""
    if hint in mu["stages"]:
        return None
    if re.fullmatch(r"[A-Za-z0-9_]+", hint):
        if "unit" not in mu["stages"]:
            return f"kill_hint {hint}: a unit test, but unit is not one of its stages"
        if hint not in names:
            return f"kill_hint {hint}: no TEST({hint}) in tests/unit/"
        return None
    return f"kill_hint {hint!r}: neither a unit test nor one of its stages ({','.join(mu['stages'])})"


def killer_of(stage, why):
    """What to run first next time: the unit test that failed, or the stage."""
    if stage == "unit":
        m = re.match(r"unit: FAIL ([A-Za-z0-9_]+) ", why)
        return m.group(1) if m else None
    return stage


def load_killers():
    out = {}
    try:
        with open(KILLERS, encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2:
                    out[parts[0]] = parts[1]
    except OSError:
        pass
    return out


def save_killers(killers):
    tmp = KILLERS + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("# mutant id, then the unit test or stage that killed it last (make mutate runs it first)\n")
        for k in sorted(killers):
            f.write(f"{k} {killers[k]}\n")
    os.replace(tmp, KILLERS)


def hints_for(mu, killers, names):
    """The known killers of mu, kill_hint first, each valid for mu."""
    out = []
    for h in (mu.get("kill_hint"), killers.get(mu["id"])):
        if h and h not in out and hint_error(mu, h, names) is None:
            out.append(h)
    return out


def targets_for(stage):
    return UNIT_TARGETS if stage == "unit" else ALL_TARGETS


def try_mutant(stages, hints, log):
    """Runs the mutated copy. Returns (verdict, why, stage, hint):
    "error" if it does not build; "killed" at the first failure (why, the
    stage that failed, the known killer that found it or None); "passed"
    when every stage passed. The known killers run
    first (a unit test alone, or a stage out of order); if none fails,
    every stage runs in order (a stage already passed in full is not run
    twice), so a survivor has run all of its stages."""
    built, done = set(), set()

    def ensure(targets):
        need = [t for t in targets if t not in built]
        if need:
            if not build(log, need):
                return False
            built.update(need)
        return True

    for h in hints:
        st = h if h in stages else "unit"
        if not ensure(targets_for(st)):
            return "error", None, None, None
        why = run_stage(st, log, only=None if h in stages else h)
        if why:
            return "killed", why, st, h
        if h in stages:
            done.add(h)
    if not ensure(ALL_TARGETS):
        return "error", None, None, None
    for st in stages:
        if st in done:
            continue
        why = run_stage(st, log)
        if why:
            return "killed", why, st, None
    return "passed", None, None, None


def run(cmd, log, timeout, label, env=None):
    log.write(f"\n==== {label}: {' '.join(cmd)}\n")
    log.flush()
    e = dict(os.environ)
    e.update(env or {})
    e.pop("MAKEFLAGS", None)
    e.pop("MFLAGS", None)
    e.pop("MAKELEVEL", None)
    t0 = time.time()
    try:
        p = subprocess.run(cmd, cwd=TREE, stdout=log, stderr=subprocess.STDOUT,
                           env=e, timeout=timeout, start_new_session=True)
        log.write(f"==== {label}: exit status {p.returncode}, {time.time() - t0:.1f}s\n")
        return p.returncode
    except subprocess.TimeoutExpired:
        log.write(f"\n==== {label}: timed out after {timeout}s\n")
        return 124


def run_stage(stage, log, only=None):
    """Returns None if the stage passed, else what failed. only: one unit
    test (its name), run alone."""
    base, _, parts = stage.partition(":")
    env = {"CERTSPOA_BIN": os.path.join(TREE, "certspoa")}
    if base == "unit" and only:
        cmd = ["build/tests/unit/run-unit", "tests", "=" + only]
        env["UNIT_TIMEOUT"] = os.environ.get("UNIT_TIMEOUT", "30")
    elif base == "unit":
        cmd = ["build/tests/unit/run-unit", "tests"]
        env["UNIT_TIMEOUT"] = os.environ.get("UNIT_TIMEOUT", "30")   # a hang fails fast
        # the fetcher's tests wait on socket timeouts (11 s a run) and no
        # mutant is in agent/fetch.c: left out unless MUTATE_UNIT_SKIP says
        env["UNIT_SKIP"] = os.environ.get("MUTATE_UNIT_SKIP", "fetch_")
        # one failing test kills the mutant: the first one is named, the
        # rest of the stage would only be waited for
        env["UNIT_FAILFAST"] = "1"
    elif base == "integration":
        cmd = ["tests/integration/run.sh"]
    elif base == "inspect":
        cmd = ["tests/integration/inspect.sh"]
    elif base == "revocation":
        # tests/revocation/run.sh on HAProxy 2.6; "revocation:lists" = ONLY=lists
        cmd = ["tests/revocation/run.sh"]
        env["VERSIONS"] = "2.6"
        if parts:
            env["ONLY"] = parts
    elif base == "adversarial":
        # tests/adversarial/run.sh on HAProxy 2.6; "adversarial:reuse" = ONLY=reuse
        cmd = ["tests/adversarial/run.sh"]
        env["VERSIONS"] = "2.6"
        if parts:
            env["ONLY"] = parts
    else:
        cmd = ["tests/integration/policy.sh"]
        if parts:
            env["POLICY_ONLY"] = parts.replace("+", " ")
    start = log.tell()
    rc = run(cmd, log, STAGE_TIMEOUT[base], stage + (f" (known killer {only} alone)" if only else ""), env)
    if rc == 0:
        return None
    log.flush()
    with open(log.name, encoding="utf-8", errors="replace") as f:
        f.seek(start)
        text = f.read()
    fails = [l.strip() for l in text.splitlines() if l.startswith("FAIL ")]
    first = fails[0] if fails else None
    if len(fails) > 1:
        first += f" (+{len(fails) - 1} more)"
    if rc == 124:
        first = first or "timed out"
    return f"{stage}: {first or f'exit status {rc}'}"


def runner_isolates(log):
    """tests/unit/test_kill_runner.c: three failures by name, then a pass."""
    env = {"UNIT_RUNNER_SELFTEST": "1", "UNIT_TIMEOUT": "2", "UNIT_FAILFAST": "0"}
    start = log.tell()
    run(["build/tests/unit/run-unit", "tests", "runner_selftest_"], log, 60, "runner self-test", env)
    log.flush()
    with open(log.name, encoding="utf-8", errors="replace") as f:
        f.seek(start)
        text = f.read()
    return ("unit: 1 passed, 3 failed" in text and "FAIL runner_selftest_crash" in text and
            "FAIL runner_selftest_sigpipe" in text and "FAIL runner_selftest_hang" in text)


def write_file(rel, text):
    dst = os.path.join(TREE, rel)
    if os.path.lexists(dst):
        os.unlink(dst)
    with open(dst, "w", encoding="utf-8") as f:
        f.write(text)


def record_hints(mutants):
    """--record-hints: each mutant's killer in its log of the last run
    (build/mutate/logs/<id>.log, "==== killer: ...") becomes its kill_hint
    in mutants.txt: a line added to its block, or the existing one updated.
    Only kill_hint lines are written, so merges with new mutants stay easy."""
    names = unit_test_names()
    found = {}
    for m in mutants:
        try:
            with open(os.path.join(LOGS, m["id"] + ".log"), encoding="utf-8", errors="replace") as f:
                ks = re.findall(r"^==== killer: (\S+)$", f.read(), re.M)
        except OSError:
            ks = []
        if ks and hint_error(m, ks[-1], names) is None:
            found[m["id"]] = ks[-1]
    with open(MUTANTS_FILE, encoding="utf-8") as f:
        lines = f.readlines()
    out, cur, last_field, changed = [], None, None, 0

    def close_block():
        # the block of cur ends: add its kill_hint after its last field
        nonlocal changed
        if cur in found and last_field is not None:
            out.insert(last_field + 1, f"kill_hint = {found[cur]}\n")
            changed += 1

    for line in lines:
        m = re.fullmatch(r"\[([a-z0-9][a-z0-9-]*)\]\s*", line.rstrip("\n"))
        if m:
            close_block()
            cur, last_field = m.group(1), None
            out.append(line)
            continue
        f = re.fullmatch(r"\s*([a-z_]+)\s*=\s?(.*)", line.rstrip("\n"))
        if cur and f and f.group(1) == "kill_hint" and cur in found:
            if f.group(2).strip() != found[cur]:
                out.append(f"kill_hint = {found.pop(cur)}\n")
                changed += 1
            else:
                found.pop(cur)
                out.append(line)
            continue
        out.append(line)
        if cur and f and not line.lstrip().startswith("#"):
            last_field = len(out) - 1
    close_block()
    if changed:
        tmp = MUTANTS_FILE + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.writelines(out)
        os.replace(tmp, MUTANTS_FILE)
    print(f"mutate: {changed} kill_hints written to {os.path.relpath(MUTANTS_FILE, TOP)}"
          f" from {len(mutants)} mutants' logs in {os.path.relpath(LOGS, TOP)}/")
    return 0


def main():
    args = sys.argv[1:]
    mutants = load_mutants(MUTANTS_FILE)
    only = [s for s in os.environ.get("MUTANTS", "").replace(" ", ",").split(",") if s]
    # ids or shell patterns: MUTANTS='rules-*,cidr-*'
    unknown = [s for s in only if not any(fnmatch.fnmatchcase(m["id"], s) for m in mutants)]
    if unknown:
        sys.exit(f"mutate: no mutant matches: {', '.join(unknown)}")
    if only:
        mutants = [m for m in mutants if any(fnmatch.fnmatchcase(m["id"], s) for s in only)]
    if "--list" in args:
        for m in mutants:
            print(f"{m['id']:32} {m['file']:36} {','.join(m['stages']):20} {m['breaks']}")
        return 0
    if "--check" in args:
        bad = badhint = nohint = 0
        names = unit_test_names()
        for m in mutants:
            try:
                anchor_count(m)
            except MutantError as e:
                print(f"ERROR    {m['id']}: {e}")
                bad += 1
            if not m.get("kill_hint"):
                nohint += 1
                continue
            why = hint_error(m, m["kill_hint"], names)
            if why:
                print(f"ERROR    {m['id']}: {why}")
                badhint += 1
        print(f"mutate: {len(mutants)} mutants, {bad} anchors in error, {badhint} kill_hints in error"
              f" ({nohint} without a kill_hint: tests/mutation/mutate.py --record-hints after a run)")
        return 1 if bad or badhint else 0
    if "--record-hints" in args:
        return record_hints(mutants)
    override = os.environ.get("MUTATE_STAGES")
    if override:
        override = parse_stages(override)

    os.makedirs(TREE, exist_ok=True)
    os.makedirs(LOGS, exist_ok=True)
    lock = open(os.path.join(WORK, "lock"), "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        print(f"mutate: another run holds {lock.name}: one run at a time per tree")
        return 2
    t0 = time.time()
    sync_tree()
    with open(os.path.join(LOGS, "baseline.log"), "w") as log:
        if not build(log):
            print(f"mutate: the unmutated copy does not build (see {log.name})")
            return 2
        if not runner_isolates(log):
            print(f"mutate: the unit runner does not isolate a crash, a broken pipe and a hang "
                  f"(see {log.name}): a kill would hide the tests after it")
            return 2
        if os.environ.get("MUTATE_NO_BASELINE") != "1":
            wanted = set()
            for m in mutants:
                wanted.update(override or m["stages"])
            # the policy parts in one run of policy.sh (one set-up, not one a part)
            parts = sorted({p for st in wanted if st.startswith("policy:")
                            for p in st.split(":", 1)[1].split("+")})
            if parts:
                wanted = {st for st in wanted if not st.startswith("policy:")}
                if "policy" not in wanted:
                    wanted.add("policy:" + "+".join(parts))
            for st in sorted(wanted, key=lambda s: STAGE_ORDER[s.split(":", 1)[0]]):
                why = run_stage(st, log)
                if why:
                    print(f"mutate: the unmutated copy fails {why} (see {log.name}); nothing to measure")
                    return 2
    print(f"mutate: {len(mutants)} mutants, scratch copy {os.path.relpath(TREE, TOP)}, "
          f"logs {os.path.relpath(LOGS, TOP)}/ (baseline {time.time() - t0:.0f}s)")

    names = unit_test_names()
    killers = load_killers()
    use_hints = os.environ.get("MUTATE_HINTS", "1") != "0"
    killed = survived = errors = equivalent = by_hint = 0
    for m in mutants:
        t1 = time.time()
        logpath = os.path.join(LOGS, m["id"] + ".log")
        try:
            text = anchor_count(m, TREE)
        except MutantError as e:
            print(f"ERROR    {m['id']:32} {e}", flush=True)
            errors += 1
            continue
        with open(logpath, "w") as log:
            log.write(f"mutant {m['id']}: {m['file']}\n  - {m['find']}\n  + {m['replace']}\n"
                      f"breaks: {m['breaks']}\n")
            stages = override or m["stages"]
            hints = hints_for(dict(m, stages=stages), killers, names) if use_hints else []
            if hints:
                log.write(f"known killers, run first: {' '.join(hints)}\n")
            try:
                write_file(m["file"], text.replace(m["find"], m["replace"], 1))
                verdict, why, stage, hint = try_mutant(stages, hints, log)
            finally:
                write_file(m["file"], text)
            if verdict == "error":
                print(f"ERROR    {m['id']:32} the mutated tree does not build (see {os.path.relpath(logpath, TOP)})", flush=True)
                errors += 1
                continue
            if why:
                k = killer_of(stage, why)
                if k:
                    killers[m["id"]] = k
                    log.write(f"\n==== killer: {k}\n")
                save_killers(killers)
        secs = time.time() - t1
        if why:
            killed += 1
            by_hint += hint is not None
            print(f"KILLED   {m['id']:32} {secs:4.0f}s  by {why}", flush=True)
        elif m.get("equivalent"):
            equivalent += 1
            print(f"EQUIV    {m['id']:32} {secs:4.0f}s  survived, equivalent: {m['equivalent']}", flush=True)
        else:
            survived += 1
            print(f"SURVIVED {m['id']:32} {secs:4.0f}s  breaks: {m['breaks']}", flush=True)
    # leave the copy as the real tree is now
    sync_tree()
    scored = killed + survived
    score = 100.0 * killed / scored if scored else 0.0
    extra = (f", {equivalent} equivalent" if equivalent else "") + (f", {errors} errors" if errors else "")
    if by_hint:
        print(f"mutate: {by_hint} of the {killed} killed by their known killer run first")
    print(f"mutation: {killed} killed, {survived} survived{extra}; score {score:.1f}% "
          f"({killed}/{scored}), {time.time() - t0:.0f}s")
    return 0 if survived == 0 and errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
