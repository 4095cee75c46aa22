# Every variable validation refuses bad input at plan time: `terraform test` (make tf-test).
# Each run sets one bad value for many variables at once (one provider start per run keeps this fast), and
# expect_failures lists exactly those variables: the run passes only if every one of their validations fails,
# and nothing else does. Round N holds the N-th bad value of each variable. The last runs check that valid edge
# values are accepted.

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

run "bad_values_round_1" {
  command = plan

  variables {
    name_prefix                    = ""                                          # empty
    schedule_expression            = "every day"                                 # not an expression
    repository_include_regex       = "team-(a|b"                                 # unbalanced parenthesis
    repository_exclude_regex       = "[sandbox"                                  # unbalanced bracket
    scan_expiry_days               = 0                                           # below 1
    severity_thresholds            = { critical = -1 }                           # negative
    only_images_pulled_within_days = 0                                           # below 1
    max_images_per_repository      = 0                                           # below 1
    max_scan_concurrency           = 1                                           # below AWS's minimum of 2
    images_batch_size              = 0                                           # below 1
    images_timeout_seconds         = 30                                          # below 60
    max_receive_count              = 0                                           # below 1
    sns_topic_arn                  = "arn:aws:sqs:eu-west-1:123456789012:alerts" # a queue ARN
    create_sns_topic               = false
    email_subscriptions            = ["security-team"]                                   # no domain
    kms_key_arn                    = "arn:aws:kms:eu-west-1:123456789012:alias/reporter" # an alias ARN
    create_topic_kms_key           = false
    lambda_runtime                 = "python3.11"                              # older than python3.12
    lambda_architecture            = "amd64"                                   # not a Lambda architecture name
    log_retention_days             = 0                                         # never expire
    log_level                      = "info"                                    # lower case
    permissions_boundary_arn       = "arn:aws:iam::123456789012:role/boundary" # a role, not a policy
  }

  expect_failures = [
    var.name_prefix,
    var.schedule_expression,
    var.repository_include_regex,
    var.repository_exclude_regex,
    var.scan_expiry_days,
    var.severity_thresholds,
    var.only_images_pulled_within_days,
    var.max_images_per_repository,
    var.max_scan_concurrency,
    var.images_batch_size,
    var.images_timeout_seconds,
    var.max_receive_count,
    var.sns_topic_arn,
    var.email_subscriptions,
    var.kms_key_arn,
    var.lambda_runtime,
    var.lambda_architecture,
    var.log_retention_days,
    var.log_level,
    var.permissions_boundary_arn,
  ]
}

run "bad_values_round_2" {
  command = plan

  variables {
    name_prefix                    = "1reporter"                  # starts with a digit
    schedule_expression            = "rate(1 days)"               # plural unit for 1
    repository_include_regex       = "^(?!sandbox)"               # look-ahead (not RE2)
    repository_exclude_regex       = "sandbox\\z"                 # \\z (RE2 only)
    scan_expiry_days               = 366                          # above 365
    severity_thresholds            = { critical = 0, high = 2.5 } # not whole
    only_images_pulled_within_days = 0.5                          # not whole
    max_images_per_repository      = 2.5                          # not whole
    max_scan_concurrency           = 1001                         # above AWS's maximum of 1000
    images_batch_size              = 11                           # above 10
    images_timeout_seconds         = 901                          # above Lambda's 900
    max_receive_count              = 1001                         # above 1000
    sns_topic_arn                  = "security-alerts"            # a name, not an ARN
    create_sns_topic               = false
    email_subscriptions            = ["ok@example.com", "not ok@example.com"] # a space
    kms_key_arn                    = "1234abcd-12ab-34cd-56ef-1234567890ab"   # a bare key id
    create_topic_kms_key           = false
    lambda_runtime                 = "nodejs22.x"      # not Python
    log_retention_days             = 10                # not an allowed value
    log_level                      = "TRACE"           # not a Python level
    permissions_boundary_arn       = "PowerUserAccess" # a name, not an ARN
  }

  expect_failures = [
    var.name_prefix,
    var.schedule_expression,
    var.repository_include_regex,
    var.repository_exclude_regex,
    var.scan_expiry_days,
    var.severity_thresholds,
    var.only_images_pulled_within_days,
    var.max_images_per_repository,
    var.max_scan_concurrency,
    var.images_batch_size,
    var.images_timeout_seconds,
    var.max_receive_count,
    var.sns_topic_arn,
    var.email_subscriptions,
    var.kms_key_arn,
    var.lambda_runtime,
    var.log_retention_days,
    var.log_level,
    var.permissions_boundary_arn,
  ]
}

run "bad_values_round_3" {
  command = plan

  variables {
    name_prefix              = "abcdefghijklmnopqrstuvwxyz0123456" # 33 characters
    schedule_expression      = "rate(2 day)"                       # singular unit for 2
    repository_include_regex = "(a)\\1"                            # backreference (not RE2)
    scan_expiry_days         = 1.5                                 # not whole
    sns_topic_arn            = "arn:aws:sns:eu-west-1:1234:alerts" # short account id
    create_sns_topic         = false
  }

  expect_failures = [
    var.name_prefix,
    var.schedule_expression,
    var.repository_include_regex,
    var.scan_expiry_days,
    var.sns_topic_arn,
  ]
}

run "bad_values_round_4" {
  command = plan

  variables {
    name_prefix              = "ecr.scan"        # a dot
    schedule_expression      = "rate(0 minutes)" # zero
    repository_include_regex = "^[[:alpha:]]+$"  # POSIX class (RE2 only)
    sns_topic_arn            = ""                # empty (use null)
    create_sns_topic         = false
  }

  expect_failures = [
    var.name_prefix,
    var.schedule_expression,
    var.repository_include_regex,
    var.sns_topic_arn,
  ]
}

run "bad_values_round_5" {
  command = plan

  variables {
    schedule_expression = "rate(30 seconds)" # seconds
  }

  expect_failures = [
    var.schedule_expression,
  ]
}

run "bad_values_round_6" {
  command = plan

  variables {
    schedule_expression = "cron(0 6 * * ?)" # five cron fields
  }

  expect_failures = [
    var.schedule_expression,
  ]
}

# Issue 8: values that passed validation but broke the functions or the apply (each round sets one bad value per
# variable; the comments say what is wrong with it).

run "bad_values_round_7" {
  command = plan

  variables {
    schedule_expression      = "cron(0 6 * * * *)"          # no ? in day-of-month or day-of-week
    repository_include_regex = "\\x{41}"                    # hex escape with braces (Python: incomplete escape)
    repository_exclude_regex = "(?U)a+"                     # ungreedy flag (Python: unknown extension)
    severity_thresholds      = { CRITICAL = 0, HIGH = 3 }   # upper case, as the environment variable spells them
    lambda_runtime           = "python3.14"                 # AWS has it, the provider (5.100) rejects it
    tags                     = { "aws:owner" = "security" } # reserved prefix
  }

  expect_failures = [
    var.schedule_expression,
    var.repository_include_regex,
    var.repository_exclude_regex,
    var.severity_thresholds,
    var.lambda_runtime,
    var.tags,
  ]
}

run "bad_values_round_8" {
  command = plan

  variables {
    schedule_expression      = "cron(0 25 * * ? *)"         # hour 25
    repository_include_regex = "[a[:digit:]]"               # POSIX class inside a set (Python: the characters a[:digt)
    repository_exclude_regex = "\\pN"                       # Unicode class (Python: bad escape)
    severity_thresholds      = { crtical = 0 }              # a typo
    lambda_runtime           = "python3.12 "                # trailing space
    tags                     = { "AWS:Owner" = "security" } # reserved prefix, other case
  }

  expect_failures = [
    var.schedule_expression,
    var.repository_include_regex,
    var.repository_exclude_regex,
    var.severity_thresholds,
    var.lambda_runtime,
    var.tags,
  ]
}

run "bad_values_round_9" {
  command = plan

  variables {
    schedule_expression      = "cron(a b c d e f)"                 # six fields, none valid
    repository_include_regex = "\\p{Greek}"                        # Unicode class
    repository_exclude_regex = "\\Qa.b\\E"                         # quoting (Python: bad escape)
    severity_thresholds      = { critical = 0, informational = 0 } # a severity the module does not threshold
    lambda_runtime           = "python3.9"                         # deprecated
    tags                     = { "" = "security" }                 # empty key
  }

  expect_failures = [
    var.schedule_expression,
    var.repository_include_regex,
    var.repository_exclude_regex,
    var.severity_thresholds,
    var.lambda_runtime,
    var.tags,
  ]
}

run "bad_values_round_10" {
  command = plan

  variables {
    schedule_expression      = "cron(60 6 * * ? *)"            # minute 60
    repository_include_regex = "team\\z"                       # end of text (Python: bad escape)
    repository_exclude_regex = "(?<team>a)"                    # named group without P (Python: unknown extension)
    tags                     = { (format("%0129d", 0)) = "x" } # 129-character key
  }

  expect_failures = [
    var.schedule_expression,
    var.repository_include_regex,
    var.repository_exclude_regex,
    var.tags,
  ]
}

run "bad_values_round_11" {
  command = plan

  variables {
    schedule_expression      = "cron(0 6 32 * ? *)"           # day-of-month 32
    repository_include_regex = "app(?i)x"                     # flags after the start (Python: global flags not at the start)
    repository_exclude_regex = "(?i-s)x"                      # a flag turned off without a colon (Python: missing :)
    tags                     = { team = format("%0257d", 0) } # 257-character value
  }

  expect_failures = [
    var.schedule_expression,
    var.repository_include_regex,
    var.repository_exclude_regex,
    var.tags,
  ]
}

run "bad_values_round_12" {
  command = plan

  variables {
    schedule_expression      = "cron(0 6 ? 13 * *)"                              # month 13
    repository_include_regex = "a{,3}"                                           # a literal in RE2, 0 to 3 a's in Python
    repository_exclude_regex = "\\12"                                            # octal in RE2, a group reference in Python
    tags                     = { for index in range(50) : "tag${index}" => "x" } # 50 tags (plus the module's: 51)
  }

  expect_failures = [
    var.schedule_expression,
    var.repository_include_regex,
    var.repository_exclude_regex,
    var.tags,
  ]
}

run "bad_values_round_13" {
  command = plan

  variables {
    schedule_expression      = "cron(0 6 ? * 8 *)" # day-of-week 8
    repository_include_regex = "[\\w-a]"           # a class escape as a range end (Python: bad character range)
    repository_exclude_regex = "[[:^alpha:]]"      # negated POSIX class
  }

  expect_failures = [
    var.schedule_expression,
    var.repository_include_regex,
    var.repository_exclude_regex,
  ]
}

run "bad_values_round_14" {
  command = plan

  variables {
    schedule_expression      = "cron(0 6 ? * * 2200)" # year 2200
    repository_include_regex = "(?-i)x"               # a global flag turned off (Python: missing :)
    repository_exclude_regex = "(?U:a+)"              # scoped ungreedy flag
  }

  expect_failures = [
    var.schedule_expression,
    var.repository_include_regex,
    var.repository_exclude_regex,
  ]
}

run "bad_values_round_15" {
  command = plan

  variables {
    schedule_expression      = "cron(0 6 ? * ? *)" # ? in both day fields
    repository_include_regex = "\\PL"              # negated Unicode class
    repository_exclude_regex = "(?i)a|(?s)b"       # a second flag group after the start
  }

  expect_failures = [
    var.schedule_expression,
    var.repository_include_regex,
    var.repository_exclude_regex,
  ]
}

run "bad_values_round_16" {
  command = plan

  variables {
    schedule_expression      = "cron(*/0 6 * * ? *)" # step 0
    repository_include_regex = "[\\pL]"              # Unicode class inside a set
  }

  expect_failures = [
    var.schedule_expression,
    var.repository_include_regex,
  ]
}

run "bad_values_round_17" {
  command = plan

  variables {
    schedule_expression = "cron(0 6 * JANUARY ? *)" # not a month name
  }

  expect_failures = [
    var.schedule_expression,
  ]
}

run "bad_values_round_18" {
  command = plan

  variables {
    schedule_expression = "cron(0 6 L * MON *)" # L in day-of-month and a day-of-week
  }

  expect_failures = [
    var.schedule_expression,
  ]
}

run "valid_edge_values_are_accepted" {
  command = plan
  variables {
    name_prefix                    = "a"
    schedule_expression            = "rate(1 minute)"
    repository_include_regex       = "^(team-a|team-b)/[a-z0-9._-]+$"
    repository_exclude_regex       = ""
    scan_expiry_days               = 365
    severity_thresholds            = { critical = null, high = null, medium = null, low = null }
    only_images_pulled_within_days = 1
    max_images_per_repository      = 1
    max_scan_concurrency           = 1000
    images_batch_size              = 10
    images_timeout_seconds         = 900
    max_receive_count              = 1000
    sns_topic_arn                  = "arn:aws:sns:eu-west-1:123456789012:alerts_2"
    create_sns_topic               = false
    email_subscriptions            = ["first.last+ecr@example.co.uk"]
    kms_key_arn                    = "arn:aws:kms:eu-west-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab"
    create_topic_kms_key           = false
    lambda_runtime                 = "python3.12"
    log_retention_days             = 3653
    log_level                      = "DEBUG"
    permissions_boundary_arn       = "arn:aws:iam::aws:policy/PowerUserAccess"
  }

  assert {
    condition     = aws_lambda_function.this["repositories"].environment[0].variables.REPOSITORY_EXCLUDE_REGEX == ""
    error_message = "An empty exclude regex must reach the function as \"\" (unset)."
  }
  assert {
    condition     = jsondecode(aws_lambda_function.this["findings"].environment[0].variables.SEVERITY_THRESHOLDS) == { CRITICAL = null, HIGH = null, MEDIUM = null, LOW = null }
    error_message = "All-null thresholds must reach the function as nulls."
  }
}

run "cron_schedule_is_accepted" {
  command = plan
  variables {
    schedule_expression = "cron(0/30 8-18 ? * MON-FRI *)"
  }
}

run "issue_8_edge_values_are_accepted" {
  command = plan
  variables {
    schedule_expression      = "cron(15 10 ? * 6L 2022-2199)"
    repository_include_regex = "(?i)(?s)^(?P<team>team-[a-z0-9]+)/[\\w.-]+\\d-app$"
    repository_exclude_regex = "(?i:SANDBOX)(?-i:-x)\\x41{0,3}\\\\z"
    severity_thresholds      = { critical = 0, high = null, medium = 10, low = null }
    notify_on_scan_failure   = false
    lambda_runtime           = "python3.13"
    tags = merge(
      { for index in range(47) : "tag${index}" => "" },
      { (format("%0128d", 0)) = format("%0256d", 0), "aws-owner" = "x" } # 49 tags; "aws-" is not "aws:"
    )
  }

  assert {
    condition     = jsondecode(aws_lambda_function.this["findings"].environment[0].variables.SEVERITY_THRESHOLDS) == { CRITICAL = 0, HIGH = null, MEDIUM = 10, LOW = null }
    error_message = "Thresholds must reach the function upper case, null for ignored or absent severities."
  }
}

run "cron_forms_aws_documents_are_accepted" {
  command = plan
  variables {
    schedule_expression = "cron(0/5 8-17 ? * mon-fri *)"
  }
}

run "cron_last_weekday_and_nth_weekday_are_accepted" {
  command = plan
  variables {
    schedule_expression = "cron(0 0 LW * ? *)"
  }
}

run "cron_nth_day_of_week_is_accepted" {
  command = plan
  variables {
    schedule_expression = "cron(5,35 14 ? JAN-MAR,DEC 2#1 1970)"
  }
}

# A suppression's repository_regex is read by the findings function with Python's re too: the same RE2-only
# constructs are refused there.
run "suppression_regex_with_re2_only_syntax_is_refused" {
  command = plan
  variables {
    suppressions = [{ vulnerability_id = "CVE-2024-1234", repository_regex = "(?U)team-a", expires = "2099-01-01", reason = "not reachable" }]
  }
  expect_failures = [var.suppressions]
}

run "suppression_regex_with_a_posix_class_in_a_set_is_refused" {
  command = plan
  variables {
    suppressions = [{ vulnerability_id = "CVE-2024-1234", repository_regex = "^team[a[:digit:]]", expires = "2099-01-01", reason = "not reachable" }]
  }
  expect_failures = [var.suppressions]
}

run "suppression_regex_in_the_common_subset_is_accepted" {
  command = plan
  variables {
    suppressions = [{ vulnerability_id = "CVE-2024-1234", repository_regex = "(?i)^team-a/[\\w.-]+$", expires = "2099-01-01", reason = "not reachable" }]
  }
}

run "bad_scan_budget_round_1" {
  command = plan

  variables {
    daily_scan_budget = 0 # below 1
    in_use_days       = 0 # below 1
  }

  expect_failures = [var.daily_scan_budget, var.in_use_days]
}

run "bad_scan_budget_round_2" {
  command = plan

  variables {
    daily_scan_budget = 100001 # over ECR's registry quota
    in_use_days       = 1.5    # not whole
  }

  expect_failures = [var.daily_scan_budget, var.in_use_days]
}

run "bad_scan_budget_round_3" {
  command = plan

  variables {
    daily_scan_budget = 2.5  # not whole
    in_use_days       = 3651 # over ten years
  }

  expect_failures = [var.daily_scan_budget, var.in_use_days]
}

run "scan_budget_edge_values" {
  command = plan

  variables {
    daily_scan_budget = 100000
    in_use_days       = 3650
  }

  assert {
    condition = (
      aws_lambda_function.this["repositories"].environment[0].variables.DAILY_SCAN_BUDGET == "100000" &&
      aws_lambda_function.this["images"].environment[0].variables.DAILY_SCAN_BUDGET == "100000" &&
      aws_lambda_function.this["images"].environment[0].variables.IN_USE_DAYS == "3650"
    )
    error_message = "The edge values are accepted and reach both sweep functions."
  }
}

run "scan_budget_low_edge_and_the_deprecated_filter" {
  command = plan

  variables {
    daily_scan_budget              = 1
    only_images_pulled_within_days = 90
  }

  assert {
    condition = (
      aws_lambda_function.this["images"].environment[0].variables.DAILY_SCAN_BUDGET == "1" &&
      aws_lambda_function.this["images"].environment[0].variables.IN_USE_DAYS == "90" &&
      aws_lambda_function.this["images"].environment[0].variables.ONLY_IMAGES_PULLED_WITHIN_DAYS == "90"
    )
    error_message = "in_use_days unset: the deprecated only_images_pulled_within_days sets it (and still filters)."
  }
}

run "no_scan_budget" {
  command = plan

  variables {
    daily_scan_budget = null
  }

  assert {
    condition = (
      aws_lambda_function.this["repositories"].environment[0].variables.DAILY_SCAN_BUDGET == "" &&
      aws_lambda_function.this["images"].environment[0].variables.IN_USE_DAYS == "30"
    )
    error_message = "daily_scan_budget = null: no budget (empty), in use defaults to 30 days."
  }
}
