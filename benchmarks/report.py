"""Every published table, rebuilt from the records.

The READMEs mark each generated block with ``<!-- NAME -->`` and
``<!-- /NAME -->``; :func:`main` replaces what lies between, or with
``check=True`` lists the blocks that differ from what the records give.
"""

import ast
import importlib
import re
import sys
from pathlib import Path

import harness
from suites import SUITES

HERE = Path(__file__).parent
PAGES = [HERE / "README.md", HERE.parent / "README.md"]
SCRIPTS = {"memory": "memory.py", "scaling": "scaling.py", "skorch": "skorch_suite.py"}


def script_question(script):
    return ast.get_docstring(ast.parse((HERE / script).read_text())).splitlines()[0]


def command(name):
    if name in SCRIPTS:
        return importlib.import_module(SCRIPTS[name].removesuffix(".py")).COMMAND
    return f"python benchmarks run {name} --jobs 2"


def provenance(records):
    commits = sorted({str(r["commit"]) for r in records})
    devices = sorted({str(r["device"]) for r in records})
    failed = sum("error" in r["metrics"] for r in records)
    text = f"{len(records)} fits, commit {', '.join(commits)}, {', '.join(devices)}"
    return text + (f", {failed} failed." if failed else ".")


def section(name, records):
    """A suite's published text: its question, its command, its records and its tables."""
    if name in SCRIPTS:
        module = importlib.import_module(SCRIPTS[name].removesuffix(".py"))
        question, build = script_question(SCRIPTS[name]), module.report
    else:
        question, build = SUITES[name].question, SUITES[name].report
    lines = [question, "", f"`{command(name)}`", ""]
    if not records:
        return "\n".join([*lines, "No records yet."])
    return "\n".join([*lines, f"Records: {provenance(records)}", "", build(records)])


def blocks(folder=None):
    """Each marker's generated text, from the records in ``folder``."""
    generated = {
        f"suite:{name}": section(name, harness.read(name, folder)) for name in [*SUITES, *SCRIPTS]
    }
    headline = harness.read("headline", folder)
    generated["results:headline"] = "No records yet." if not headline else (
        SUITES["headline"].report(headline, brief=True) + f"\n\nRecords: {provenance(headline)}\n"
        f"Made by `{command('headline')}`; more in [benchmarks/README.md](benchmarks/README.md)."
    )  # fmt: skip
    return generated


def main(check=False, pages=PAGES, folder=None):
    generated, stale = blocks(folder), []
    for page in pages:
        text = page.read_text()
        for name, body in generated.items():
            marker = re.escape(name)
            match = re.search(rf"<!-- {marker} -->\n(.*?)<!-- /{marker} -->", text, re.S)
            if match is None:
                continue
            if match[1] != body + "\n":
                stale.append(f"{page}: {name}")
            text = text[: match.start(1)] + body + "\n" + text[match.end(1) :]
        if not check:
            page.write_text(text)
    if check and stale:
        print("Out of date with the records; run `python benchmarks report`:", *stale, sep="\n  ",
              file=sys.stderr)  # fmt: skip
        return 1
    return 0
