# Every variable validation refuses bad input at plan time: `terraform test` (make tf-test).
# Each run sets one bad value for many variables at once (one provider start per run keeps this fast), and
# expect_failures lists exactly those variables: the run passes only if every one of their validations fails,
# and nothing else does. Round N holds the N-th bad value of each variable. The last runs check that valid edge
# values are accepted.

mock_provider "aws" {
  override_data {
    target = data.aws_caller_identity.current
    values = { account_id = "123456789012" }
  }
  override_data {
    target = data.aws_region.current
    values = {
      name   = "eu-west-1"
      region = "eu-west-1"
    }
  }
  override_data {
    target = data.aws_partition.current
    values = {
      partition  = "aws"
      dns_suffix = "amazonaws.com"
    }
  }
}

run "bad_values_round_1" {
  command = plan

  variables {
    name_prefix                    = ""                                                  # empty
    schedule_expression            = "every day"                                         # not an expression
    repository_include_regex       = "team-(a|b"                                         # unbalanced parenthesis
    repository_exclude_regex       = "[sandbox"                                          # unbalanced bracket
    scan_expiry_days               = 0                                                   # below 1
    severity_thresholds            = { critical = -1 }                                   # negative
    only_images_pulled_within_days = 0                                                   # below 1
    max_images_per_repository      = 0                                                   # below 1
    max_scan_concurrency           = 1                                                   # below AWS's minimum of 2
    images_batch_size              = 0                                                   # below 1
    images_timeout_seconds         = 30                                                  # below 60
    max_receive_count              = 0                                                   # below 1
    sns_topic_arn                  = "arn:aws:sqs:eu-west-1:123456789012:alerts"         # a queue ARN
    email_subscriptions            = ["security-team"]                                   # no domain
    kms_key_arn                    = "arn:aws:kms:eu-west-1:123456789012:alias/reporter" # an alias ARN
    lambda_runtime                 = "python3.11"                                        # older than python3.12
    lambda_architecture            = "amd64"                                             # not a Lambda architecture name
    log_retention_days             = 0                                                   # never expire
    log_level                      = "info"                                              # lower case
    permissions_boundary_arn       = "arn:aws:iam::123456789012:role/boundary"           # a role, not a policy
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
    name_prefix                    = "1reporter"                              # starts with a digit
    schedule_expression            = "rate(1 days)"                           # plural unit for 1
    repository_include_regex       = "^(?!sandbox)"                           # look-ahead (not RE2)
    repository_exclude_regex       = "sandbox\\z"                             # \\z (RE2 only)
    scan_expiry_days               = 366                                      # above 365
    severity_thresholds            = { critical = 0, high = 2.5 }             # not whole
    only_images_pulled_within_days = 0.5                                      # not whole
    max_images_per_repository      = 2.5                                      # not whole
    max_scan_concurrency           = 1001                                     # above AWS's maximum of 1000
    images_batch_size              = 11                                       # above 10
    images_timeout_seconds         = 901                                      # above Lambda's 900
    max_receive_count              = 1001                                     # above 1000
    sns_topic_arn                  = "security-alerts"                        # a name, not an ARN
    email_subscriptions            = ["ok@example.com", "not ok@example.com"] # a space
    kms_key_arn                    = "1234abcd-12ab-34cd-56ef-1234567890ab"   # a bare key id
    lambda_runtime                 = "nodejs22.x"                             # not Python
    log_retention_days             = 10                                       # not an allowed value
    log_level                      = "TRACE"                                  # not a Python level
    permissions_boundary_arn       = "PowerUserAccess"                        # a name, not an ARN
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
    sns_topic_arn                  = "arn:aws-us-gov:sns:us-gov-west-1:123456789012:alerts_2"
    email_subscriptions            = ["first.last+ecr@example.co.uk"]
    kms_key_arn                    = "arn:aws:kms:eu-west-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab"
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
