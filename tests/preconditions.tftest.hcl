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
    permissions_boundary_arn = "arn:aws:iam::210987654321:policy/boundary"                                   # other account
  }
  expect_failures = [aws_sqs_queue.work[0], aws_iam_role.this]
}

run "sns_topic_in_another_region_is_refused" {
  command = plan
  variables {
    kms_key_arn   = "arn:aws:kms:eu-west-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab" # other account
    sns_topic_arn = "arn:aws:sns:us-east-1:123456789012:security-alerts"                          # other region
  }
  expect_failures = [aws_sqs_queue.work[0], aws_cloudwatch_event_rule.ecr_scan[0]]
}

run "arns_in_another_partition_are_refused" {
  command = plan
  variables {
    kms_key_arn              = "arn:aws-cn:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" # other partition
    sns_topic_arn            = "arn:aws:sns:eu-west-1:210987654321:security-alerts"                             # other account
    permissions_boundary_arn = "arn:aws-us-gov:iam::aws:policy/PowerUserAccess"                                 # other partition
  }
  expect_failures = [aws_sqs_queue.work[0], aws_cloudwatch_event_rule.ecr_scan[0], aws_iam_role.this]
}

run "sns_topic_in_another_partition_is_refused" {
  command = plan
  variables {
    sns_topic_arn = "arn:aws-us-gov:sns:eu-west-1:123456789012:security-alerts"
  }
  expect_failures = [aws_cloudwatch_event_rule.ecr_scan[0]]
}

run "arns_of_this_deployment_are_accepted" {
  command = plan
  variables {
    severity_thresholds      = {}
    notify_on_scan_failure   = true # nothing thresholded, but scan failures are reported: may notify
    kms_key_arn              = "arn:aws:kms:eu-west-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab"
    sns_topic_arn            = "arn:aws:sns:eu-west-1:123456789012:security-alerts"
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
    sns_topic_arn            = "arn:aws-us-gov:sns:us-gov-west-1:123456789012:alerts_2"
    permissions_boundary_arn = "arn:aws-us-gov:iam::123456789012:policy/boundary"
  }

  assert {
    condition     = aws_lambda_function.this["findings"].environment[0].variables.SNS_TOPIC_ARN == "arn:aws-us-gov:sns:us-gov-west-1:123456789012:alerts_2"
    error_message = "The given topic must reach the findings function."
  }
}
