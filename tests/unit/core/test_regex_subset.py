"""core/regex_subset.py: the rule that keeps a repository regex from hanging a function (issue 27). Python's ``re``
backtracks: a repeated group that can match the same text in several ways (a nested quantifier) takes exponential
time on a name that almost matches. The rule refuses a repeated group (``(...)`` followed by ``*``, ``+`` or
``{``) holding a quantifier, an alternation or another group; Terraform applies the same rule at plan time
(tests/terraform/test_regex_subset.py checks they agree), and every Python entry point applies it: the settings,
the teams and suppressions documents, the CLI (tests/unit/cli/test_cli.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ecr_scan_reporter.alerts import suppressions
from ecr_scan_reporter.core import regex_subset, teams
from ecr_scan_reporter.core.config import ConfigError, Settings, parse_regex

NESTED = [
    "(a+)+",
    "(a*)*",
    "(a|aa)+",
    "([a-z]+-?)+",
    "^([a-z0-9]+-?)+/service$",  # the issue's: exponential on a 40-character name
    "(a?)+",
    "(.*)*",
    "(\\w+\\s?)+$",
    "(a{1,3})+",
    "(a+){2}",
    "(a+){2,}",
    "(a+)*?",  # lazy: the same backtracking
    "(?:a+)+",
    "(?i:a+)+",
    "(?P<part>[a-z]+-)*x",
    "((ab))+",  # a group inside a repeated group: refused without looking further
    "((a)b)*",
    "(x(a|b)y)+",
    "^team/((a+)?)+$",
    "(?i)^([a-z]+/)+app$",
    # The rule is lexical: it refuses a repeated group holding a quantifier even where the group cannot match the
    # same text two ways (ECR's own name rule, the separators not being letters); [a-z0-9._-]+ says the same.
    "^[a-z0-9]+(?:[._-][a-z0-9]+)*$",
]
ACCEPTED = [
    "(ab)+",  # a repeated group of plain text
    "(-[a-z0-9])*",
    "^(internal|tools)/",  # an alternation, not repeated
    "(a+)?",  # optional, not repeated
    "(\\+)+",  # an escaped +: a literal
    "([+*|(])+",  # quantifiers, bars and parentheses in a set are members
    "(a)(b)+",
    "[(]a+[)]+",  # the parentheses are literals, the repeats single
    "(?i)^team-a/[\\w.-]+$",
    "(^|/)sandbox-",
    "^(team-a|team-b)/",
    "^payments/(api|web)-[a-z0-9-]+$",
    "a{2}b{1,3}",
]


@pytest.mark.parametrize("pattern", NESTED)
def test_the_rule_refuses_nested_quantifiers(pattern: str) -> None:
    assert regex_subset.nested_quantifier(pattern)
    assert regex_subset.problem(pattern) == regex_subset.HANGS


@pytest.mark.parametrize("pattern", ACCEPTED)
def test_the_rule_accepts_what_cannot_backtrack_exponentially(pattern: str) -> None:
    assert not regex_subset.nested_quantifier(pattern)
    assert regex_subset.problem(pattern) is None


def test_check_says_why_with_the_subject() -> None:
    with pytest.raises(regex_subset.RegexRefused) as refused:
        regex_subset.check("^([a-z0-9]+-?)+/service$", "A team's repository_regex")
    assert str(refused.value) == f"A team's repository_regex {regex_subset.HANGS}"


# --- every Python entry point applies it ---------------------------------------------------------------------------

BAD = "^([a-z0-9]+-?)+/service$"


def test_parse_regex_refuses_it() -> None:
    with pytest.raises(ConfigError, match="repeats a group"):
        parse_regex(BAD, "REPOSITORY_INCLUDE_REGEX")


@pytest.mark.parametrize("variable", ["REPOSITORY_INCLUDE_REGEX", "REPOSITORY_EXCLUDE_REGEX"])
def test_the_settings_refuse_it(variable: str) -> None:
    with pytest.raises(ConfigError, match=f"{variable}.*repeats a group"):
        Settings.from_env({variable: BAD})


def test_the_teams_document_refuses_it() -> None:
    entry: dict[str, Any] = {
        "name": "payments",
        "repository_regex": BAD,
        "topic_arn": "arn:aws:sns:eu-west-1:123456789012:esr-payments",
    }
    with pytest.raises(ConfigError, match=r"teams\[0\] \(payments\)\.repository_regex.*repeats a group"):
        teams.parse(teams.document([entry]))


def test_the_suppressions_document_refuses_it() -> None:
    entry = {"vulnerability_id": "CVE-2024-1234", "repository_regex": BAD, "expires": "2099-01-01", "reason": "r"}
    with pytest.raises(ConfigError, match="repeats a group"):
        suppressions.parse(json.dumps({"version": 1, "suppressions": [entry]}))
