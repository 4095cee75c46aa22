# A spoke of an organization hub (hub_report.tf): the report function also writes to the hub's bucket, under its
# <account>/<region>/ prefix, with the hub's key; its policy, environment and alarm, and the inputs' checks
# (make tf-test; the AWS provider is mocked, nothing is created).

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

variables {
  kms_key_arn = null
}

run "no_hub_by_default" {
  command = plan

  assert {
    condition     = length(aws_iam_role_policy.hub_report) == 0 && !contains(keys(aws_cloudwatch_metric_alarm.this), "hub_report_not_stored")
    error_message = "Without hub_report_bucket_name: no hub policy, no hub alarm."
  }
  assert {
    condition = alltrue([
      for name in ["HUB_REPORT_BUCKET_NAME", "HUB_REPORT_PREFIX", "HUB_REPORT_KMS_KEY_ARN"] :
      aws_lambda_function.this["report"].environment[0].variables[name] == ""
    ])
    error_message = "Without hub_report_bucket_name the report function gets no hub (empty means unset)."
  }
}

run "a_spoke" {
  command = plan

  variables {
    hub_report_bucket_name = "acme-security-ecr-reports"
    hub_report_kms_key_arn = "arn:aws:kms:us-east-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }

  assert {
    condition = aws_lambda_function.this["report"].environment[0].variables.HUB_REPORT_BUCKET_NAME == "acme-security-ecr-reports" && (
      aws_lambda_function.this["report"].environment[0].variables.HUB_REPORT_PREFIX == "123456789012/eu-west-1/") && (
    aws_lambda_function.this["report"].environment[0].variables.HUB_REPORT_KMS_KEY_ARN == "arn:aws:kms:us-east-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab")
    error_message = "The report function must get the hub's bucket, the default prefix <account>/<region>/ and the hub's key."
  }
  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.hub_report[0].policy).Statement : [s.Sid, s.Action, s.Resource]] == [
      ["WriteHubReports", ["s3:PutObject"], ["arn:aws:s3:::acme-security-ecr-reports/123456789012/eu-west-1/*"]],
      ["UseHubKeyThroughS3", ["kms:GenerateDataKey"], ["arn:aws:kms:us-east-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab"]],
    ]
    error_message = "The report role may put objects under its own prefix of the hub's bucket and have the hub's key generate data keys, nothing more."
  }
  assert {
    condition     = one([for s in jsondecode(aws_iam_role_policy.hub_report[0].policy).Statement : s.Condition if s.Sid == "UseHubKeyThroughS3"]) == { StringEquals = { "kms:ViaService" = "s3.us-east-1.amazonaws.com" } }
    error_message = "The hub's key may be used through S3 of the key's (the hub's) region only."
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["hub_report_not_stored"].metric_name == "HubReportsNotStored" && aws_cloudwatch_metric_alarm.this["hub_report_not_stored"].dimensions["FunctionName"] == "ecr-scan-reporter-report"
    error_message = "A refused hub write must be alarmed (HubReportsNotStored of the report function)."
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["hub_report_not_stored"].treat_missing_data == "ignore" && aws_cloudwatch_metric_alarm.this["hub_report_not_stored"].statistic == "Maximum"
    error_message = "One datapoint per report: the alarm holds its state until the next report."
  }
  assert {
    condition     = length(aws_s3_bucket.report) == 0
    error_message = "A hub does not create a local bucket: the local report is the topic's (and create_report_bucket's)."
  }
}

run "a_prefix_of_its_own" {
  command = plan

  variables {
    hub_report_bucket_name = "acme-security-ecr-reports"
    hub_report_kms_key_arn = "arn:aws:kms:us-east-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    hub_report_prefix      = "spokes/prod/"
  }

  assert {
    condition     = aws_lambda_function.this["report"].environment[0].variables.HUB_REPORT_PREFIX == "spokes/prod/" && one([for s in jsondecode(aws_iam_role_policy.hub_report[0].policy).Statement : s.Resource if s.Sid == "WriteHubReports"]) == ["arn:aws:s3:::acme-security-ecr-reports/spokes/prod/*"]
    error_message = "hub_report_prefix replaces the default prefix, in the environment and the policy."
  }
}

run "hub_bucket_without_its_key" {
  command = plan
  variables {
    hub_report_bucket_name = "acme-security-ecr-reports"
  }
  expect_failures = [aws_lambda_function.this]
}

run "hub_key_without_its_bucket" {
  command = plan
  variables {
    hub_report_kms_key_arn = "arn:aws:kms:us-east-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }
  expect_failures = [aws_lambda_function.this]
}

run "bad_hub_bucket_name" {
  command = plan
  variables {
    hub_report_bucket_name = "Acme_Security"
    hub_report_kms_key_arn = "arn:aws:kms:us-east-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }
  expect_failures = [var.hub_report_bucket_name]
}

run "an_alias_is_not_a_key_arn" {
  command = plan
  variables {
    hub_report_bucket_name = "acme-security-ecr-reports"
    hub_report_kms_key_arn = "arn:aws:kms:us-east-1:210987654321:alias/hub"
  }
  expect_failures = [var.hub_report_kms_key_arn]
}

run "a_prefix_must_end_in_a_slash" {
  command = plan
  variables {
    hub_report_bucket_name = "acme-security-ecr-reports"
    hub_report_kms_key_arn = "arn:aws:kms:us-east-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    hub_report_prefix      = "123456789012/eu-west-1"
  }
  expect_failures = [var.hub_report_prefix]
}
