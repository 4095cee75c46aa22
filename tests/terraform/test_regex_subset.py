"""The repository regexes Terraform accepts are the ones the functions can use.

Terraform validates repository_include_regex/repository_exclude_regex with RE2; the functions compile them with
Python's ``re`` (``config.parse_regex``). This test reads the values tests/validation.tftest.hcl uses:

- every value a run expects to be accepted compiles in Python (what Terraform lets through works in the function);
- every value a run from round 7 on expects to be refused (RE2 syntax the validation refuses) is either rejected by
  Python (the function would fail every invocation) or listed below with a name Python and RE2 read differently.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

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
