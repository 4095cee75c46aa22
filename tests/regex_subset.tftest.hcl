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
