# A spoke of an organization hub (hub_report.tf): the hub's key (hub_kms_key_arn) granted to every role that
# publishes to a topic of the hub's, through SNS of the key's region, and to the report role through S3 when it also
# writes to the hub's bucket, under its <account>/<region>/ prefix; its policy, environment and alarm, and the
# inputs' checks (make tf-test; the AWS provider is mocked, nothing is created). The deployment is 123456789012 in
# eu-west-1; the hub is 210987654321 in us-east-1.

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

variables {
  kms_key_arn = null

  hub_key   = "arn:aws:kms:us-east-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  hub_topic = "arn:aws:sns:us-east-1:210987654321:ecr-scan-hub-notifications"
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
  assert {
    condition     = alltrue([for key in ["repositories", "images", "findings", "report"] : !strcontains(aws_iam_role_policy.this[key].policy, "UseHubKey")])
    error_message = "Without hub_kms_key_arn no role has a grant on a hub's key."
  }
}

run "a_spoke" {
  command = plan

  variables {
    create_sns_topic         = false
    sns_topic_arn            = var.hub_topic
    allow_external_sns_topic = true
    alarms_notify_sns_topic  = false
    create_alarms            = true
    alarm_topic_arn          = "arn:aws:sns:eu-west-1:123456789012:local-alarms"
    hub_report_bucket_name   = "acme-security-ecr-reports"
    hub_kms_key_arn          = var.hub_key
  }

  assert {
    condition = aws_lambda_function.this["report"].environment[0].variables.HUB_REPORT_BUCKET_NAME == "acme-security-ecr-reports" && (
      aws_lambda_function.this["report"].environment[0].variables.HUB_REPORT_PREFIX == "123456789012/eu-west-1/") && (
    aws_lambda_function.this["report"].environment[0].variables.HUB_REPORT_KMS_KEY_ARN == var.hub_key)
    error_message = "The report function must get the hub's bucket, the default prefix <account>/<region>/ and the hub's key."
  }
  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.hub_report[0].policy).Statement : [s.Sid, s.Action, s.Resource]] == [
      ["WriteHubReports", ["s3:PutObject"], ["arn:aws:s3:::acme-security-ecr-reports/123456789012/eu-west-1/*"]],
    ]
    error_message = "The report role may put objects under its own prefix of the hub's bucket, nothing more."
  }
  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.this["report"].policy).Statement : [s.Action, s.Resource, s.Condition] if startswith(s.Sid, "UseHubKey")] == [
      [["kms:GenerateDataKey"], [var.hub_key], { StringEquals = { "kms:ViaService" = "s3.us-east-1.amazonaws.com" } }],
      [["kms:Decrypt", "kms:GenerateDataKey"], [var.hub_key], { StringEquals = { "kms:ViaService" = "sns.us-east-1.amazonaws.com" } }],
    ] && [for s in jsondecode(aws_iam_role_policy.this["report"].policy).Statement : s.Sid if startswith(s.Sid, "UseHubKey")] == ["UseHubKeyThroughS3", "UseHubKeyThroughSNS"]
    error_message = "The report role may use the hub's key through SNS (publishing the report to the hub's topic) and S3 (writing to its bucket) of the key's region, nothing else."
  }
  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.this["findings"].policy).Statement : [s.Sid, s.Action, s.Resource, s.Condition] if startswith(s.Sid, "UseHubKey")] == [
      ["UseHubKeyThroughSNS", ["kms:Decrypt", "kms:GenerateDataKey"], [var.hub_key], { StringEquals = { "kms:ViaService" = "sns.us-east-1.amazonaws.com" } }],
    ]
    error_message = "The findings role may use the hub's key through SNS of the key's region: SNS asks KMS for the data key with the publisher's credentials."
  }
  assert {
    condition     = alltrue([for key in ["repositories", "images"] : !strcontains(aws_iam_role_policy.this[key].policy, "UseHubKey")])
    error_message = "The roles that never publish to the hub get no grant on its key (their on-failure destination is the local failed-events queue)."
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

# Alerts only: the hub's key without the hub's bucket.
run "an_alerts_only_spoke" {
  command = plan

  variables {
    create_sns_topic         = false
    sns_topic_arn            = var.hub_topic
    allow_external_sns_topic = true
    create_alarms            = false
    hub_kms_key_arn          = var.hub_key
  }

  assert {
    condition = alltrue([
      for key in ["findings", "report"] : [for s in jsondecode(aws_iam_role_policy.this[key].policy).Statement : [s.Sid, s.Resource, s.Condition] if startswith(s.Sid, "UseHubKey")] == [
        ["UseHubKeyThroughSNS", [var.hub_key], { StringEquals = { "kms:ViaService" = "sns.us-east-1.amazonaws.com" } }],
      ]
    ])
    error_message = "Both publishers may use the hub's key through SNS, and nothing through S3 without the hub's bucket."
  }
  assert {
    condition     = length(aws_iam_role_policy.hub_report) == 0 && aws_lambda_function.this["report"].environment[0].variables.HUB_REPORT_KMS_KEY_ARN == ""
    error_message = "Without the hub's bucket the report function writes nothing to the hub."
  }
}

# A team's topic of the hub's: its publishers (findings and report) get the hub's key; a team topic elsewhere does not
# make the grant, and the topics the module creates are never the hub's.
run "a_team_topic_of_the_hubs" {
  command = plan

  variables {
    allow_external_sns_topic = true
    hub_kms_key_arn          = var.hub_key
    teams = [
      { name = "platform", repository_regex = "^platform/", sns_topic_arn = "arn:aws:sns:us-east-1:210987654321:ecr-scan-hub-platform" },
      { name = "tools", repository_regex = "^tools/", sns_topic_arn = "arn:aws:sns:us-east-1:333333333333:tools-alerts" },
      { name = "payments", repository_regex = "^payments/", create_chat_topic = true },
    ]
  }

  assert {
    condition     = alltrue([for key in ["findings", "report"] : length([for s in jsondecode(aws_iam_role_policy.this[key].policy).Statement : s if s.Sid == "UseHubKeyThroughSNS" && s.Resource == [var.hub_key]]) == 1])
    error_message = "The publishers to a team topic of the hub's may use the hub's key through SNS."
  }
}

run "no_topic_of_the_hubs_no_sns_grant" {
  command = plan

  variables {
    create_sns_topic         = false
    sns_topic_arn            = "arn:aws:sns:us-east-1:444444444444:central-security"
    allow_external_sns_topic = true
    create_alarms            = false
    hub_report_bucket_name   = "acme-security-ecr-reports"
    hub_kms_key_arn          = var.hub_key
    teams                    = [{ name = "tools", repository_regex = "^tools/", sns_topic_arn = "arn:aws:sns:eu-west-1:210987654321:tools-alerts" }]
  }

  assert {
    condition     = !strcontains(aws_iam_role_policy.this["findings"].policy, "UseHubKey") && [for s in jsondecode(aws_iam_role_policy.this["report"].policy).Statement : s.Sid if startswith(s.Sid, "UseHubKey")] == ["UseHubKeyThroughS3"]
    error_message = "A topic of another account, or of the hub's account in another region than its key, is not the hub's: only the bucket's S3 grant is made."
  }
}

# A spoke in the hub's own account and region: the chat topic it is given is the hub's, the topics it creates are not.
run "a_spoke_in_the_hubs_account" {
  command = plan

  variables {
    hub_kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    chat_topic_arn  = "arn:aws:sns:eu-west-1:123456789012:ecr-scan-hub-chat"
  }

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.this["findings"].policy).Statement : [s.Sid, s.Condition] if startswith(s.Sid, "UseHubKey")] == [
      ["UseHubKeyThroughSNS", { StringEquals = { "kms:ViaService" = "sns.eu-west-1.amazonaws.com" } }],
      ] && !strcontains(aws_iam_role_policy.this["report"].policy, "UseHubKey"
    )
    error_message = "The findings role publishes to the hub's chat topic: the hub's key through SNS; the report role publishes only to the module's own topic: no hub grant."
  }
}

run "a_prefix_of_its_own" {
  command = plan

  variables {
    hub_report_bucket_name = "acme-security-ecr-reports"
    hub_kms_key_arn        = var.hub_key
    hub_report_prefix      = "spokes/prod/"
  }

  assert {
    condition     = aws_lambda_function.this["report"].environment[0].variables.HUB_REPORT_PREFIX == "spokes/prod/" && one([for s in jsondecode(aws_iam_role_policy.hub_report[0].policy).Statement : s.Resource if s.Sid == "WriteHubReports"]) == ["arn:aws:s3:::acme-security-ecr-reports/spokes/prod/*"]
    error_message = "hub_report_prefix replaces the default prefix, in the environment and the policy."
  }
}

# --- refused --------------------------------------------------------------------------------------------------------

run "hub_bucket_without_its_key" {
  command = plan
  variables {
    hub_report_bucket_name = "acme-security-ecr-reports"
  }
  expect_failures = [aws_lambda_function.this]
}

run "hub_key_with_nothing_of_the_hubs" {
  # No hub bucket, and the module's own topic: the key would encrypt nothing this deployment uses (a topic ARN of
  # the hub's left out, or a key of another region than the hub's topic).
  command = plan
  variables {
    hub_kms_key_arn = var.hub_key
  }
  expect_failures = [aws_lambda_function.this]
}

run "hub_key_of_another_region_than_the_hubs_topic" {
  command = plan
  variables {
    create_sns_topic         = false
    sns_topic_arn            = var.hub_topic
    allow_external_sns_topic = true
    create_alarms            = false
    hub_kms_key_arn          = "arn:aws:kms:eu-west-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }
  expect_failures = [aws_lambda_function.this]
}

run "hub_key_of_another_partition" {
  command = plan
  variables {
    hub_report_bucket_name = "acme-security-ecr-reports"
    hub_kms_key_arn        = "arn:aws-cn:kms:cn-north-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }
  expect_failures = [aws_lambda_function.this]
}

run "hub_prefix_without_its_bucket" {
  command = plan
  variables {
    hub_report_prefix = "123456789012/eu-west-1/"
  }
  expect_failures = [aws_lambda_function.this]
}

run "bad_hub_bucket_name" {
  command = plan
  variables {
    hub_report_bucket_name = "Acme_Security"
    hub_kms_key_arn        = var.hub_key
  }
  expect_failures = [var.hub_report_bucket_name]
}

run "an_alias_is_not_a_key_arn" {
  command = plan
  variables {
    hub_report_bucket_name = "acme-security-ecr-reports"
    hub_kms_key_arn        = "arn:aws:kms:us-east-1:210987654321:alias/hub"
  }
  expect_failures = [var.hub_kms_key_arn]
}

run "not_a_key_arn" {
  command = plan
  variables {
    hub_report_bucket_name = "acme-security-ecr-reports"
    hub_kms_key_arn        = "1234abcd-12ab-34cd-56ef-1234567890ab"
  }
  expect_failures = [var.hub_kms_key_arn]
}

run "a_prefix_must_end_in_a_slash" {
  command = plan
  variables {
    hub_report_bucket_name = "acme-security-ecr-reports"
    hub_kms_key_arn        = var.hub_key
    hub_report_prefix      = "123456789012/eu-west-1"
  }
  expect_failures = [var.hub_report_prefix]
}
