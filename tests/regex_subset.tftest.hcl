# The regexes only Python reads: Terraform refuses them (RE2 cannot compile them), and the CLI's --include and
# --exclude refuse them with the same message (ecr_scan_reporter/core/regex_subset.py). tests/terraform/
# test_regex_subset.py reads the values below and feeds each through the CLI's rule, so the two cannot drift:
# a run that expects a variable's failure lists values the rule must refuse, any other run values it must accept.

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

run "python_only_round_1" {
  command = plan
  variables {
    repository_include_regex = "^team/(?=app)" # look-ahead
    repository_exclude_regex = "(?<=team/)tmp" # look-behind
  }
  expect_failures = [var.repository_include_regex, var.repository_exclude_regex]
}

run "python_only_round_2" {
  command = plan
  variables {
    repository_include_regex = "(?P<t>a)(?P=t)" # named backreference
    repository_exclude_regex = "(a)?(?(1)b|c)"  # conditional group
  }
  expect_failures = [var.repository_include_regex, var.repository_exclude_regex]
}

run "python_only_round_3" {
  command = plan
  variables {
    repository_include_regex = "(?>team)/app" # atomic group
    repository_exclude_regex = "(?#tmp)tmp"   # comment
  }
  expect_failures = [var.repository_include_regex, var.repository_exclude_regex]
}

run "python_only_round_4" {
  command = plan
  variables {
    repository_include_regex = "team-[a-z]*+/" # possessive quantifier
    repository_exclude_regex = "a{2}+"         # possessive repeat
  }
  expect_failures = [var.repository_include_regex, var.repository_exclude_regex]
}

run "python_only_round_5" {
  command = plan
  variables {
    repository_include_regex = "(?x) team / app" # verbose flag
    repository_exclude_regex = "(?a)\\w+"        # ASCII flag
  }
  expect_failures = [var.repository_include_regex, var.repository_exclude_regex]
}

run "python_only_round_6" {
  command = plan
  variables {
    repository_include_regex = "app\\Z"    # end of string (RE2: \z, which Python lacks; write $)
    repository_exclude_regex = "\\u0074mp" # \u escape
  }
  expect_failures = [var.repository_include_regex, var.repository_exclude_regex]
}

run "python_only_round_7" {
  command = plan
  variables {
    repository_include_regex = "[\\b]"   # backspace in a set
    repository_exclude_regex = "a{1001}" # over RE2's repeat limit
  }
  expect_failures = [var.repository_include_regex, var.repository_exclude_regex]
}

run "python_only_round_8" {
  command = plan
  variables {
    repository_include_regex = "\\N{DIGIT ONE}" # named character
    repository_exclude_regex = "(?u)tmp"        # Unicode flag
  }
  expect_failures = [var.repository_include_regex, var.repository_exclude_regex]
}

run "python_only_round_9" {
  command = plan
  variables {
    suppressions = [{ vulnerability_id = "CVE-2024-1234", repository_regex = "^(?!sandbox/)", expires = "2099-01-01", reason = "not reachable" }]
  }
  expect_failures = [var.suppressions]
}

run "common_subset_edges_are_accepted_1" {
  command = plan
  variables {
    repository_include_regex = "a{1000}" # RE2's repeat limit
    repository_exclude_regex = "[]a]"    # a leading ] is a member of the set
  }
}

run "common_subset_edges_are_accepted_2" {
  command = plan
  variables {
    repository_include_regex = "a*?b{2}?\\b" # lazy quantifiers, a word boundary
    repository_exclude_regex = "a{}+"        # {} is literal, + repeats the }
  }
}

run "common_subset_edges_are_accepted_3" {
  command = plan
  variables {
    repository_include_regex = "\\0(?s:.)(?-i:x)" # octal zero, scoped flags
    repository_exclude_regex = "[+*?]\\+"         # quantifier characters as literals
  }
}

# Nested quantifiers (issue 27): RE2 compiles them and Python's re reads them alike, but Python backtracks and a
# repeated group that can match the same text in several ways takes exponential time on a name that almost matches
# (a 40-character repository name hangs the function). Refused with core/regex_subset.py's rule, in both.

run "nested_quantifier_round_1" {
  command = plan
  variables {
    repository_include_regex = "^([a-z0-9]+-?)+/service$" # the issue's: exponential on a 40-character name
    repository_exclude_regex = "(a+)+"
  }
  expect_failures = [var.repository_include_regex, var.repository_exclude_regex]
}

run "nested_quantifier_round_2" {
  command = plan
  variables {
    repository_include_regex = "(a*)*"
    repository_exclude_regex = "(a|aa)+"
  }
  expect_failures = [var.repository_include_regex, var.repository_exclude_regex]
}

run "nested_quantifier_round_3" {
  command = plan
  variables {
    repository_include_regex = "(?:[a-z]+-?)+$"  # a non-capturing group
    repository_exclude_regex = "(?i)^((a)b){2,}" # a group inside a repeated group, after a flag
  }
  expect_failures = [var.repository_include_regex, var.repository_exclude_regex]
}

run "nested_quantifier_round_4" {
  command = plan
  variables {
    repository_include_regex = "(\\w+\\s?)*x"    # escapes are characters: \w+ is a quantifier
    repository_exclude_regex = "(?P<x>a{1,3})+?" # a named group, a counted repeat, a lazy repeat
  }
  expect_failures = [var.repository_include_regex, var.repository_exclude_regex]
}

run "nested_quantifier_in_a_suppression_regex" {
  command = plan
  variables {
    suppressions = [{ vulnerability_id = "CVE-2024-1234", repository_regex = "^team/([a-z]+/?)*$", expires = "2099-01-01", reason = "not reachable" }]
  }
  expect_failures = [var.suppressions]
}

run "nested_quantifier_in_a_team_regex" {
  command = plan
  variables {
    teams = [{ name = "payments", repository_regex = "^payments/(.*)*$" }]
  }
  expect_failures = [var.teams]
}

run "repeated_groups_that_cannot_backtrack_are_accepted_1" {
  command = plan
  variables {
    repository_include_regex = "^(ab)+(-[a-z0-9])*$" # repeated groups of plain text and sets
    repository_exclude_regex = "^(internal|tools)/"  # an alternation, not repeated
  }
}

run "repeated_groups_that_cannot_backtrack_are_accepted_2" {
  command = plan
  variables {
    repository_include_regex = "(a+)?(\\+)+"   # optional, not repeated; an escaped + repeated
    repository_exclude_regex = "([+*|(])+[)]+" # quantifiers, bars and parentheses in a set are members
  }
}

run "repeated_groups_that_cannot_backtrack_are_accepted_3" {
  command = plan
  variables {
    suppressions = [{ vulnerability_id = "CVE-2024-1234", repository_regex = "^(team-a|team-b)/(api)+", expires = "2099-01-01", reason = "not reachable" }]
    teams        = [{ name = "payments", repository_regex = "(?i)^payments/(api|web)-[a-z0-9-]+$" }]
  }
}
