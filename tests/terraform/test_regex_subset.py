"""The repository regexes Terraform accepts are the ones the functions can use.

Terraform validates repository_include_regex/repository_exclude_regex with RE2; the functions compile them with
Python's ``re`` (``config.parse_regex``). This test reads the values tests/validation.tftest.hcl uses:

- every value a run expects to be accepted compiles in Python (what Terraform lets through works in the function);
- every value a run from round 7 on expects to be refused (RE2 syntax the validation refuses) is either rejected by
  Python (the function would fail every invocation) or listed below with a name Python and RE2 read differently.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ecr_scan_reporter.core import regex_subset
from ecr_scan_reporter.core.config import ConfigError, parse_regex

ROOT = Path(__file__).resolve().parents[2]
TEST = (ROOT / "tests" / "validation.tftest.hcl").read_text()

_RUN = re.compile(r'^run "([^"]+)" \{(.*?)^\}', re.MULTILINE | re.DOTALL)
_VALUE = re.compile(r'^\s*repository_(?:include|exclude)_regex\s*=\s*"((?:[^"\\]|\\.)*)"', re.MULTILINE)

# Accepted by RE2 and by Python, read differently: RE2 matches the first string, Python does not (or the reverse).
READ_DIFFERENTLY = {
    "[a[:digit:]]": "5",  # RE2: a or a digit; Python: one of the characters a [ : d i g t, then "]"
    "[[:^alpha:]]": "5",  # RE2: a non-letter; Python: one of [ : ^ a l p h, then "]"
    "a{,3}": "a{,3}",  # RE2: the literal text a{,3}; Python: zero to three a's (and "a{,3}" matches only its "a")
}


def _unquote(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def _values(accepted: bool) -> list[str]:
    found = []
    for name, body in _RUN.findall(TEST):
        refused = name.startswith("bad_values_round_")
        if refused and (accepted or int(name.rsplit("_", 1)[1]) < 7):
            continue
        if not refused and not accepted:
            continue
        found += [_unquote(value) for value in _VALUE.findall(body)]
    return found


def test_the_values_are_found() -> None:
    assert len(_values(accepted=True)) >= 4
    assert len(_values(accepted=False)) >= 19


@pytest.mark.parametrize("pattern", _values(accepted=True))
def test_accepted_pattern_compiles_in_python(pattern: str) -> None:
    parse_regex(pattern, "REPOSITORY_INCLUDE_REGEX")


@pytest.mark.filterwarnings("ignore:Possible nested set:FutureWarning")
@pytest.mark.parametrize("pattern", _values(accepted=False))
def test_refused_pattern_breaks_or_misleads_python(pattern: str) -> None:
    if pattern in READ_DIFFERENTLY:
        sample = READ_DIFFERENTLY[pattern]
        match = re.fullmatch(pattern, sample)
        assert match is None, f"{pattern!r}: Python matches {sample!r} as RE2 does; not a difference"
        return
    with pytest.raises(ConfigError):
        parse_regex(pattern, "REPOSITORY_INCLUDE_REGEX")


# --- the CLI's rule (ecr_scan_reporter/core/regex_subset.py) is Terraform's ------------------------------------------
#
# Every repository regex a terraform test run sets, in every tests/*.tftest.hcl: a run whose expect_failures
# names the variable holds a value Terraform refuses, any other run one it accepts. The CLI's rule must say the
# same of each value (tests/regex_subset.tftest.hcl adds the regexes only Python reads, which Terraform refuses).

VARIABLES = (ROOT / "variables.tf").read_text()
_SUPPRESSION_VALUE = re.compile(r'\brepository_regex\s*=\s*"((?:[^"\\]|\\.)*)"')
_EXPECTED = re.compile(r"expect_failures\s*=\s*\[([^\]]*)\]")
# A suppressions run named for another field than the regex (a key, the id, the date, the reason).
_OTHER_FIELD = re.compile(r"key|expire|_id(_|$)|date|reason")
SUBJECTS = {
    "repository_include_regex": "repository_include_regex",
    "repository_exclude_regex": "repository_exclude_regex",
    "suppressions": "A suppression's repository_regex",
    "teams": "A team's repository_regex",
}


def _hcl(value: str) -> str:
    """An HCL string literal's text (its escapes are JSON's for what these files use)."""
    return json.loads(f'"{value}"')


def _cases() -> list[tuple[str, str, bool]]:
    """(where, value, refused) for every regex value of every run."""
    found = []
    for path in sorted((ROOT / "tests").glob("*.tftest.hcl")):
        for name, body in _RUN.findall(path.read_text()):
            expected = _EXPECTED.search(body)
            failing = set(re.findall(r"var\.(\w+)", expected.group(1))) if expected else set()
            where = f"{path.name}:{name}"
            for line in body.splitlines():
                line = line.split(" #", 1)[0]
                for variable in ("repository_include_regex", "repository_exclude_regex"):
                    match = re.match(rf'\s*{variable}\s*=\s*"((?:[^"\\]|\\.)*)"', line)
                    if match:
                        found.append((where, _hcl(match.group(1)), variable in failing))
                for match in _SUPPRESSION_VALUE.finditer(line):  # a suppression's or a team's repository_regex
                    if "${" in match.group(1):  # a template: its value is not in the text
                        continue
                    if "suppressions" in failing and _OTHER_FIELD.search(name):
                        continue  # refused for another field (a key, a date, an id): says nothing of its regex
                    if "teams" in failing and "regex" not in name:
                        continue  # a team refused for another key (tests/teams.tftest.hcl names regex runs so)
                    found.append((where, _hcl(match.group(1)), bool({"suppressions", "teams"} & failing)))
    return found


CASES = _cases()


def test_the_cases_are_found() -> None:
    refused = [value for _, value, bad in CASES if bad]
    accepted = [value for _, value, bad in CASES if not bad]
    assert len(refused) >= 40
    assert len(accepted) >= 10
    assert "^(?!sandbox/)" in refused  # a suppression's regex, from regex_subset.tftest.hcl
    assert "^payments/(?!sandbox)" in refused  # a team's regex, from teams.tftest.hcl
    assert "^payments/" in accepted
    assert "(?i)^team-a/[\\w.-]+$" in accepted
    assert "^([a-z0-9]+-?)+/service$" in refused  # issue 27's nested quantifier
    assert "^payments/(.*)*$" in refused  # a team's, nested
    assert "^(ab)+(-[a-z0-9])*$" in accepted  # repeated groups that cannot backtrack


@pytest.mark.filterwarnings("ignore:Possible nested set:FutureWarning")
@pytest.mark.parametrize(("where", "value", "refused"), CASES, ids=[f"{w}:{v}" for w, v, _ in CASES])
def test_the_cli_rule_agrees_with_terraform(where: str, value: str, refused: bool) -> None:
    assert (regex_subset.problem(value) is not None) == refused, f"{where}: {value!r}"


def test_the_regexes_only_python_reads_compile_in_python() -> None:
    """What regex_subset.tftest.hcl shows Terraform refuses, Python takes: only the CLI's rule can refuse it."""
    only_python = [
        value for where, value, refused in CASES if refused and where.startswith("regex_subset.tftest.hcl:python_only_")
    ]
    assert len(only_python) >= 17
    for value in only_python:
        re.compile(value)
        assert regex_subset.python_only(value) is not None, value
        assert regex_subset.problem(value) == regex_subset.INVALID


def _validations(variable: str) -> list[tuple[str, str]]:
    """(condition, error_message) of each validation block of ``variable`` in variables.tf."""
    block = re.search(rf'^variable "{variable}" \{{(.*?)^\}}', VARIABLES, re.MULTILINE | re.DOTALL)
    assert block, variable
    return re.findall(
        r'validation \{\s*(?:#[^\n]*\n\s*)*condition\s*=\s*(.*?)\n\s*error_message\s*=\s*"((?:[^"\\]|\\.)*)"',
        block.group(1),
        re.DOTALL,
    )


@pytest.mark.parametrize("variable", sorted(SUBJECTS))
def test_the_messages_are_terraforms(variable: str) -> None:
    messages = [_hcl(message) for _, message in _validations(variable)]
    subject = SUBJECTS[variable]
    assert f"{subject} {regex_subset.INVALID}" in messages
    assert f"{subject} {regex_subset.NOT_COMMON}" in messages
    assert f"{subject} {regex_subset.HANGS}" in messages


@pytest.mark.parametrize("variable", sorted(SUBJECTS))
def test_the_lexical_rule_is_terraforms(variable: str) -> None:
    """The condition of the RE2-only validation uses exactly regex_subset's three regexes (and replaces \\\\)."""
    conditions = [condition for condition, message in _validations(variable) if "uses RE2 syntax" in message]
    assert len(conditions) == 1
    literals = [_hcl(value) for value in re.findall(r'"((?:[^"\\]|\\.)*)"', conditions[0])]
    assert regex_subset.RE2_ONLY in literals
    assert regex_subset.FLAG_GROUP in literals
    assert f"/{regex_subset.LEADING_FLAGS}/" in literals  # Terraform's replace() takes a /regex/
    assert "\\\\" in literals  # every \\ pair removed first, as re2_only does


@pytest.mark.parametrize("variable", sorted(SUBJECTS))
def test_the_nested_quantifier_rule_is_terraforms(variable: str) -> None:
    """The condition of the nested-quantifier validation (issue 27) searches regex_subset.NESTED in the value after
    regex_subset.SIMPLIFY's replacements, in the same order: the CLI and the functions refuse what plan refuses."""
    conditions = [condition for condition, message in _validations(variable) if "repeats a group" in message]
    assert len(conditions) == 1
    condition = conditions[0]
    literals = [_hcl(value) for value in re.findall(r'"((?:[^"\\]|\\.)*)"', condition)]
    assert literals[0] == regex_subset.NESTED
    pairs = zip(literals[-8::2], literals[-7::2], strict=True)  # the last four (pattern, replacement) literals
    replaced = [(pattern.strip("/"), replacement) for pattern, replacement in pairs]
    assert replaced == list(regex_subset.SIMPLIFY)
    # Nested, so the text's order is the order they apply in: the innermost replace() (the first pattern) first.
    assert "replace(" * len(regex_subset.SIMPLIFY) in condition
    assert condition.count("replace(") == len(regex_subset.SIMPLIFY)
