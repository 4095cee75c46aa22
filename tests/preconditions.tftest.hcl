# Cross-input checks (preconditions) refuse at plan time what no single variable's validation can see: `terraform
# test` (make tf-test), offline with the mocked provider pinned to account 123456789012 in aws/eu-west-1.
# A run expecting a resource's failure sets values that break exactly one of that resource's preconditions.

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

run "a_configuration_that_can_never_notify_is_refused" {
  command = plan
  variables {
    severity_thresholds    = { critical = null, high = null }
    notify_on_scan_failure = false
  }
  expect_failures = [aws_cloudwatch_event_rule.ecr_scan[0]]
}

run "an_empty_threshold_map_without_failure_notifications_is_refused" {
  command = plan
  variables {
    severity_thresholds    = {}
    notify_on_scan_failure = false
  }
  expect_failures = [aws_cloudwatch_event_rule.ecr_scan[0]]
}

run "arns_in_another_region_or_account_are_refused" {
  command = plan
  variables {
    kms_key_arn              = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" # other region
    create_topic_kms_key     = false
    permissions_boundary_arn = "arn:aws:iam::210987654321:policy/boundary" # other account
  }
  expect_failures = [aws_sqs_queue.work[0], aws_iam_role.this]
}

run "sns_topic_in_another_region_is_refused" {
  command = plan
  variables {
    kms_key_arn          = "arn:aws:kms:eu-west-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab" # other account
    create_topic_kms_key = false
    sns_topic_arn        = "arn:aws:sns:us-east-1:123456789012:security-alerts" # other region
    create_sns_topic     = false
  }
  # The alarms, which notify that topic, refuse it too: CloudWatch notifies topics of its own region only.
  expect_failures = [aws_sqs_queue.work[0], aws_cloudwatch_event_rule.ecr_scan[0], aws_cloudwatch_metric_alarm.this]
}

run "arns_in_another_partition_are_refused" {
  command = plan
  variables {
    kms_key_arn              = "arn:aws-cn:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" # other partition
    create_topic_kms_key     = false
    sns_topic_arn            = "arn:aws:sns:eu-west-1:210987654321:security-alerts" # other account
    create_sns_topic         = false
    permissions_boundary_arn = "arn:aws-us-gov:iam::aws:policy/PowerUserAccess" # other partition
  }
  expect_failures = [aws_sqs_queue.work[0], aws_cloudwatch_event_rule.ecr_scan[0], aws_iam_role.this]
}

run "sns_topic_in_another_partition_is_refused" {
  command = plan
  variables {
    sns_topic_arn    = "arn:aws-us-gov:sns:eu-west-1:123456789012:security-alerts"
    create_sns_topic = false
  }
  expect_failures = [aws_cloudwatch_event_rule.ecr_scan[0], aws_cloudwatch_metric_alarm.this]
}

run "arns_of_this_deployment_are_accepted" {
  command = plan
  variables {
    severity_thresholds      = {}
    notify_on_scan_failure   = true # nothing thresholded, but scan failures are reported: may notify
    kms_key_arn              = "arn:aws:kms:eu-west-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab"
    create_topic_kms_key     = false
    sns_topic_arn            = "arn:aws:sns:eu-west-1:123456789012:security-alerts"
    create_sns_topic         = false
    permissions_boundary_arn = "arn:aws:iam::aws:policy/PowerUserAccess" # AWS-managed: account "aws"
  }
}

run "arns_of_another_partition_are_accepted_there" {
  command = plan

  override_data {
    target = data.aws_partition.current
    values = {
      partition  = "aws-us-gov"
      dns_suffix = "amazonaws.com"
    }
  }
  override_data {
    target = data.aws_region.current
    values = {
      name   = "us-gov-west-1"
      region = "us-gov-west-1"
    }
  }

  variables {
    kms_key_arn              = "arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    create_topic_kms_key     = false
    sns_topic_arn            = "arn:aws-us-gov:sns:us-gov-west-1:123456789012:alerts_2"
    create_sns_topic         = false
    permissions_boundary_arn = "arn:aws-us-gov:iam::123456789012:policy/boundary"
  }

  assert {
    condition     = aws_lambda_function.this["findings"].environment[0].variables.SNS_TOPIC_ARN == "arn:aws-us-gov:sns:us-gov-west-1:123456789012:alerts_2"
    error_message = "The given topic must reach the findings function."
  }
}

# --- which topic, which key, which alarm topic: booleans decide, the ARNs follow ------------------------------------

run "no_topic_created_and_none_given_is_refused" {
  command = plan
  variables {
    create_sns_topic = false
  }
  expect_failures = [aws_cloudwatch_event_rule.ecr_scan[0]]
}

run "a_topic_given_while_the_module_creates_one_is_refused" {
  command = plan
  variables {
    sns_topic_arn = "arn:aws:sns:eu-west-1:123456789012:security-alerts" # create_sns_topic left true
  }
  expect_failures = [aws_cloudwatch_event_rule.ecr_scan[0]]
}

run "a_key_given_while_the_module_creates_the_topic_key_is_refused" {
  command = plan
  variables {
    kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" # create_topic_kms_key left true
  }
  expect_failures = [aws_sns_topic.this[0]]
}

run "no_topic_key_and_no_key_given_while_alarms_notify_the_topic_is_refused" {
  command = plan
  variables {
    create_topic_kms_key = false
  }
  expect_failures = [aws_sns_topic.this[0]]
}

run "no_topic_key_is_accepted_when_no_alarm_notifies_the_topic" {
  command = plan
  variables {
    create_topic_kms_key = false
    create_alarms        = false
  }
  assert {
    condition     = length(aws_kms_key.topic) == 0 && aws_sns_topic.this[0].kms_master_key_id == "alias/aws/sns"
    error_message = "Without alarms on the topic and without create_topic_kms_key, the topic uses alias/aws/sns."
  }
}

run "alarms_on_their_own_topic_without_one_are_refused" {
  command = plan
  variables {
    alarms_notify_sns_topic = false
  }
  expect_failures = [aws_cloudwatch_metric_alarm.this]
}

run "an_alarm_topic_given_while_alarms_notify_the_notification_topic_is_refused" {
  command = plan
  variables {
    alarm_topic_arn = "arn:aws:sns:eu-west-1:123456789012:ops-alarms" # alarms_notify_sns_topic left true
  }
  expect_failures = [aws_cloudwatch_metric_alarm.this]
}

# --- a central topic, on purpose: allow_external_sns_topic ----------------------------------------------------------

run "a_topic_in_another_account_is_refused_without_the_opt_in" {
  command = plan
  variables {
    create_sns_topic = false
    sns_topic_arn    = "arn:aws:sns:eu-west-1:210987654321:central-security"
  }
  expect_failures = [aws_cloudwatch_event_rule.ecr_scan[0]]
}

run "a_topic_in_another_account_is_accepted_with_the_opt_in" {
  command = plan
  variables {
    create_sns_topic         = false
    sns_topic_arn            = "arn:aws:sns:eu-west-1:210987654321:central-security"
    allow_external_sns_topic = true
  }
  assert {
    condition = alltrue([
      for key in ["findings", "report"] :
      contains(flatten([for statement in jsondecode(aws_iam_role_policy.this[key].policy).Statement : statement.Resource if contains(statement.Action, "sns:Publish")]), var.sns_topic_arn)
    ])
    error_message = "The findings and report roles must be allowed to publish to the central topic."
  }
  assert {
    condition     = aws_lambda_function.this["findings"].environment[0].variables.SNS_TOPIC_ARN == var.sns_topic_arn && aws_lambda_function.this["report"].environment[0].variables.SNS_TOPIC_ARN == var.sns_topic_arn
    error_message = "The findings and report functions must publish to the central topic."
  }
  assert {
    condition     = output.publisher_role_arns == tolist(["arn:aws:iam::123456789012:role/ecr-scan-reporter-eu-west-1-findings", "arn:aws:iam::123456789012:role/ecr-scan-reporter-eu-west-1-report"])
    error_message = "publisher_role_arns must list the findings and report roles, which the topic's owner lets publish."
  }
}

run "a_topic_in_another_region_is_accepted_with_the_opt_in_and_alarms_in_this_region" {
  command = plan
  variables {
    create_sns_topic         = false
    sns_topic_arn            = "arn:aws:sns:us-east-1:210987654321:central-security"
    allow_external_sns_topic = true
    alarms_notify_sns_topic  = false
    alarm_topic_arn          = "arn:aws:sns:eu-west-1:123456789012:ops-alarms"
  }
}

run "a_topic_in_another_region_cannot_take_the_alarms" {
  command = plan
  variables {
    create_sns_topic         = false
    sns_topic_arn            = "arn:aws:sns:us-east-1:123456789012:central-security"
    allow_external_sns_topic = true # accepted for the notifications, but CloudWatch notifies its own region only
  }
  expect_failures = [aws_cloudwatch_metric_alarm.this]
}

run "a_topic_in_another_partition_is_refused_even_with_the_opt_in" {
  command = plan
  variables {
    create_sns_topic         = false
    sns_topic_arn            = "arn:aws-cn:sns:eu-west-1:123456789012:central-security"
    allow_external_sns_topic = true
    create_alarms            = false
  }
  expect_failures = [aws_cloudwatch_event_rule.ecr_scan[0]]
}
