"""Sums the JUnit files of every suite into one closing line: `N passed, N failed`.

A unit executable that crashed (so cmocka wrote no failure) still counts as one failure, from
meson's own JUnit file; a suite that could not even run leaves a *.failed marker = one failure."""
import glob
import os
import sys
import xml.etree.ElementTree as ET

results = sys.argv[1]
passed = failed = skipped = 0


def cases(path):
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError):
        return None
    return list(root.iter("testcase"))


def verdict(case):
    for child in case:
        if child.tag in ("failure", "error"):
            return "failed"
        if child.tag == "skipped":
            return "skipped"
    return "passed"


for prefix in ("unit", "asan"):
    failed_groups = set()
    for path in glob.glob(os.path.join(results, prefix + "-*.xml")):
        group = os.path.basename(path)[len(prefix) + 1:-4]
        cs = cases(path)
        if cs is None:
            failed += 1
            print(f"{prefix}: unreadable results {path}")
            continue
        for c in cs:
            v = verdict(c)
            if v == "failed":
                failed_groups.add(group)
                print(f"FAILED {prefix}: {group}.{c.get('name')}")
            passed += v == "passed"
            failed += v == "failed"
            skipped += v == "skipped"
    meson = cases(os.path.join(results, prefix + "-meson.junit")) or []
    for c in meson:
        name = c.get("name")
        if verdict(c) == "failed" and name not in failed_groups:
            failed += 1
            print(f"FAILED {prefix}: {name} (crashed or exited non-zero)")

for path in glob.glob(os.path.join(results, "fuzz-*.xml")) + glob.glob(os.path.join(results, "e2e*.xml")):
    for c in cases(path) or []:
        v = verdict(c)
        if v == "failed":
            print(f"FAILED {os.path.basename(path)[:-4]}: {c.get('classname')}.{c.get('name')}")
        passed += v == "passed"
        failed += v == "failed"
        skipped += v == "skipped"

for marker in glob.glob(os.path.join(results, "*.failed")):
    failed += 1
    print(f"FAILED suite: {open(marker).read().strip()}")

line = f"{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
sys.exit(1 if failed else 0)
