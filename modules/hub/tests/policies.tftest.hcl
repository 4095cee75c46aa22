# The hub's policies, read from the plan (mocked provider, nothing created): a spoke of the organization may
# publish (its publishing roles: tests/publishers.tftest.hcl) and write its own prefix; another account may not; a
# spoke may not write another spoke's prefix.

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

variables {
  organization_id    = "o-a1b2c3d4e5"
  spoke_regions      = ["eu-west-1", "us-east-1"]
  report_bucket_name = "acme-security-ecr-reports"
  expected_spokes    = ["111111111111/eu-west-1", "111111111111/us-east-1", "222222222222/eu-west-1"]
}

run "organization" {
  command = plan

  # --- the topic ------------------------------------------------------------------------------------------------
  assert {
    condition = one([for s in jsondecode(aws_sns_topic_policy.this.policy).Statement : s if s.Sid == "SpokesPublish"]) == {
      Sid      = "SpokesPublish", Effect = "Allow", Principal = { AWS = "*" }, Action = "sns:Publish"
      Resource = "arn:aws:sns:eu-west-1:210987654321:ecr-scan-hub-notifications"
      Condition = {
        StringEquals = { "aws:PrincipalOrgID" = ["o-a1b2c3d4e5"] }
        ArnLike = { "aws:PrincipalArn" = [
          "arn:aws:iam::*:role/*-eu-west-1-findings", "arn:aws:iam::*:role/*-eu-west-1-report",
          "arn:aws:iam::*:role/*-us-east-1-findings", "arn:aws:iam::*:role/*-us-east-1-report",
        ] }
      }
    }
    error_message = "The spokes' publishing roles (aws:PrincipalArn) of the organization (aws:PrincipalOrgID) may publish to the central topic (tests/publishers.tftest.hcl: who is allowed and refused)."
  }
  assert {
    # Another account: every statement that allows anyone ("*") is conditioned on the organization, the only
    # other Allow is CloudWatch's, for this account's alarms of the hub's prefix.
    condition = alltrue([
      for s in jsondecode(aws_sns_topic_policy.this.policy).Statement :
      try(s.Principal.AWS, "") == "*" ? try(s.Condition.StringEquals == { "aws:PrincipalOrgID" = ["o-a1b2c3d4e5"] }, false) :
      try(s.Principal == { Service = "cloudwatch.amazonaws.com" } && s.Condition == { ArnLike = { "aws:SourceArn" = "arn:aws:cloudwatch:eu-west-1:210987654321:alarm:ecr-scan-hub-*" } }, false)
      if s.Effect == "Allow"
    ])
    error_message = "No account outside the organization may publish: every Allow is conditioned on the organization (or is the hub's own alarms)."
  }
  assert {
    condition     = one([for s in jsondecode(aws_sns_topic_policy.this.policy).Statement : s.Condition if s.Sid == "DenyInsecureTransport"]) == { Bool = { "aws:SecureTransport" = "false" } }
    error_message = "Publishing without TLS is denied."
  }
  assert {
    condition     = aws_sns_topic.this.kms_master_key_id == "arn:aws:kms:eu-west-1:210987654321:key/11111111-2222-3333-4444-555555555555"
    error_message = "The central topic is encrypted with the hub's key."
  }

  # --- the key --------------------------------------------------------------------------------------------------
  assert {
    condition = one([for s in jsondecode(aws_kms_key.this.policy).Statement : [s.Action, s.Condition] if s.Sid == "SpokesEncryptThroughS3"]) == [
      ["kms:GenerateDataKey"],
      {
        StringEquals = { "aws:PrincipalOrgID" = ["o-a1b2c3d4e5"], "kms:ViaService" = ["s3.eu-west-1.amazonaws.com"] }
        StringLike   = { "kms:EncryptionContext:aws:s3:arn" = ["arn:aws:s3:::acme-security-ecr-reports", "arn:aws:s3:::acme-security-ecr-reports/*"] }
        ArnLike      = { "aws:PrincipalArn" = ["arn:aws:iam::*:role/*-eu-west-1-report", "arn:aws:iam::*:role/*-us-east-1-report"] }
      },
    ]
    error_message = "Spokes' report roles may only encrypt (GenerateDataKey, no Decrypt) with the hub's key, through S3, for the hub's bucket."
  }
  assert {
    condition = one([for s in jsondecode(aws_kms_key.this.policy).Statement : [s.Action, s.Condition] if s.Sid == "SpokesPublishThroughSNS"]) == [
      ["kms:Decrypt", "kms:GenerateDataKey"],
      {
        StringEquals = { "aws:PrincipalOrgID" = ["o-a1b2c3d4e5"], "kms:ViaService" = ["sns.eu-west-1.amazonaws.com"] }
        ArnLike = { "aws:PrincipalArn" = [
          "arn:aws:iam::*:role/*-eu-west-1-findings", "arn:aws:iam::*:role/*-eu-west-1-report",
          "arn:aws:iam::*:role/*-us-east-1-findings", "arn:aws:iam::*:role/*-us-east-1-report",
        ] }
      },
    ]
    error_message = "Spokes' publishing roles may use the hub's key through SNS only (publishing to the encrypted topic)."
  }
  assert {
    condition = alltrue([
      for s in jsondecode(aws_kms_key.this.policy).Statement :
      s.Condition.StringEquals["aws:PrincipalOrgID"] == ["o-a1b2c3d4e5"] && length(s.Condition.StringEquals["kms:ViaService"]) == 1
      if try(s.Principal.AWS, "") == "*"
    ])
    error_message = "Every key statement open to other accounts is conditioned on the organization and on one service."
  }
  assert {
    condition     = aws_kms_key.this.enable_key_rotation
    error_message = "The hub's key rotates."
  }

  # --- the bucket -----------------------------------------------------------------------------------------------
  assert {
    condition = [for s in jsondecode(aws_s3_bucket_policy.this.policy).Statement : [s.Resource, s.Condition] if s.Effect == "Allow"] == [
      [
        "arn:aws:s3:::acme-security-ecr-reports/$${aws:PrincipalAccount}/eu-west-1/*",
        { StringEquals = { "aws:PrincipalOrgID" = ["o-a1b2c3d4e5"] }, ArnLike = { "aws:PrincipalArn" = "arn:aws:iam::*:role/*-eu-west-1-report" } },
      ],
      [
        "arn:aws:s3:::acme-security-ecr-reports/$${aws:PrincipalAccount}/us-east-1/*",
        { StringEquals = { "aws:PrincipalOrgID" = ["o-a1b2c3d4e5"] }, ArnLike = { "aws:PrincipalArn" = "arn:aws:iam::*:role/*-us-east-1-report" } },
      ],
    ]
    error_message = "A spoke of the organization may write under <its own account (aws:PrincipalAccount)>/<its region>/ only, by its region's report role; nothing else is allowed."
  }
  assert {
    # Another spoke's prefix: no Allow names an account literally or spans accounts with a wildcard before the
    # caller's own account, and each region's prefix goes to that region's role only.
    condition = alltrue([
      for s in jsondecode(aws_s3_bucket_policy.this.policy).Statement :
      s.Action == "s3:PutObject" && startswith(s.Resource, "arn:aws:s3:::acme-security-ecr-reports/$${aws:PrincipalAccount}/") &&
      endswith(s.Condition.ArnLike["aws:PrincipalArn"], "-${split("/", s.Resource)[2]}-report")
      if s.Effect == "Allow"
    ])
    error_message = "No spoke may write another account's or another region's prefix."
  }
  assert {
    condition = one([for s in jsondecode(aws_s3_bucket_policy.this.policy).Statement : s.Condition if s.Sid == "DenyOtherEncryption"]) == {
      StringNotEquals = {
        "s3:x-amz-server-side-encryption-aws-kms-key-id" = "arn:aws:kms:eu-west-1:210987654321:key/11111111-2222-3333-4444-555555555555"
        "aws:PrincipalAccount"                           = "210987654321"
      }
    }
    error_message = "Another account's object must be SSE-KMS with the hub's key."
  }
  assert {
    condition     = toset([for s in jsondecode(aws_s3_bucket_policy.this.policy).Statement : s.Sid if s.Effect == "Deny"]) == toset(["DenyInsecureTransport", "DenyOutdatedTLS", "DenyOtherEncryption"])
    error_message = "The bucket denies plain HTTP, TLS below 1.2 and any other encryption."
  }
  assert {
    condition = (
      aws_s3_bucket_public_access_block.this.block_public_policy && aws_s3_bucket_public_access_block.this.restrict_public_buckets &&
      aws_s3_bucket_public_access_block.this.block_public_acls && aws_s3_bucket_public_access_block.this.ignore_public_acls &&
      aws_s3_bucket_ownership_controls.this.rule[0].object_ownership == "BucketOwnerEnforced" &&
      aws_s3_bucket_versioning.this.versioning_configuration[0].status == "Enabled"
    )
    error_message = "The bucket is hardened as the root module's: public access blocked, ACLs disabled (bucket owner enforced), versioned."
  }
  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).sse_algorithm == "aws:kms"
    error_message = "The bucket's default encryption is SSE-KMS with the hub's key."
  }
  assert {
    condition     = one(aws_s3_bucket_lifecycle_configuration.this.rule).expiration[0].days == 365 && one(aws_s3_bucket_lifecycle_configuration.this.rule).noncurrent_version_expiration[0].noncurrent_days == 30
    error_message = "Reports expire after report_retention_days, replaced versions after 30 days."
  }

  # --- the organization report function ----------------------------------------------------------------------
  assert {
    condition     = aws_lambda_function.this.handler == "ecr_scan_reporter.handlers.org_report.handler" && aws_lambda_function.this.function_name == "ecr-scan-hub-org-report"
    error_message = "The organization report runs handlers.org_report from the root module's zip."
  }
  assert {
    condition = aws_lambda_function.this.environment[0].variables == tomap({
      SNS_TOPIC_ARN             = "arn:aws:sns:eu-west-1:210987654321:ecr-scan-hub-notifications"
      REPORT_BUCKET_NAME        = "acme-security-ecr-reports"
      EXPECTED_SPOKES           = "111111111111/eu-west-1,111111111111/us-east-1,222222222222/eu-west-1"
      SPOKE_REPORT_PERIOD_HOURS = "168"
      CHAT_TOPIC_ARN            = ""
      TEAM_NAMES                = ""
      TEAM_TOPIC_ARN_PREFIX     = ""
      METRICS_NAMESPACE         = "ECRScanReporter"
      LOG_LEVEL                 = "INFO"
    })
    error_message = "The function gets the topic, the bucket, the expected spokes and their report period; no teams."
  }
  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.this.policy).Statement : [s.Sid, s.Action, s.Resource]] == [
      ["ListSpokes", ["s3:ListBucket"], ["arn:aws:s3:::acme-security-ecr-reports"]],
      ["ReadSpokeReports", ["s3:GetObject"], ["arn:aws:s3:::acme-security-ecr-reports/*/latest.json"]],
      ["ReadPublicationMarkers", ["s3:GetObject"], ["arn:aws:s3:::acme-security-ecr-reports/organization-report/published/*"]],
      ["WriteOrganizationReport", ["s3:PutObject"], ["arn:aws:s3:::acme-security-ecr-reports/organization-report/*"]],
      ["Publish", ["sns:Publish"], ["arn:aws:sns:eu-west-1:210987654321:ecr-scan-hub-notifications"]],
      ["UseHubKeyThroughS3AndSNS", ["kms:Decrypt", "kms:GenerateDataKey"], ["arn:aws:kms:eu-west-1:210987654321:key/11111111-2222-3333-4444-555555555555"]],
      ["WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], ["arn:aws:logs:eu-west-1:210987654321:log-group:/aws/lambda/ecr-scan-hub-org-report:*"]],
    ]
    error_message = "The function reads the spokes' latest reports and its own publication markers, writes under organization-report/, publishes, logs; nothing more."
  }
  assert {
    condition     = aws_cloudwatch_event_rule.this.schedule_expression == "cron(0 8 ? * MON *)" && aws_iam_role.this.name == "ecr-scan-hub-eu-west-1-org-report"
    error_message = "The organization report runs weekly, two hours after the spokes' default; the role carries the region."
  }
  assert {
    condition     = one(one(aws_lambda_function_event_invoke_config.this.destination_config).on_failure).destination == "arn:aws:sns:eu-west-1:210987654321:ecr-scan-hub-notifications"
    error_message = "A failed invocation reaches the central topic."
  }

  # --- alarms and dashboard ----------------------------------------------------------------------------------------
  assert {
    condition     = toset(keys(aws_cloudwatch_metric_alarm.this)) == toset(["org_report_errors", "silent_spokes", "org_report_not_stored", "org_report_not_published"]) && alltrue([for a in aws_cloudwatch_metric_alarm.this : a.alarm_actions == toset(["arn:aws:sns:eu-west-1:210987654321:ecr-scan-hub-notifications"]) && a.dimensions["FunctionName"] == "ecr-scan-hub-org-report"])
    error_message = "The hub's alarms watch its function and notify the central topic."
  }
  assert {
    # Issue 27: a destination (the central topic, the chat topic, a team's topic) that refused the report.
    condition = [
      aws_cloudwatch_metric_alarm.this["org_report_not_published"].alarm_name,
      aws_cloudwatch_metric_alarm.this["org_report_not_published"].namespace,
      aws_cloudwatch_metric_alarm.this["org_report_not_published"].metric_name,
      aws_cloudwatch_metric_alarm.this["org_report_not_published"].statistic,
      aws_cloudwatch_metric_alarm.this["org_report_not_published"].comparison_operator,
      aws_cloudwatch_metric_alarm.this["org_report_not_published"].threshold,
      ] == [
      "ecr-scan-hub-org-report-not-published", "ECRScanReporter", "OrganizationReportsNotPublished", "Maximum",
      "GreaterThanThreshold", 0,
    ]
    error_message = "A destination that refused the organization report (metric OrganizationReportsNotPublished) raises <prefix>-org-report-not-published."
  }
  assert {
    condition     = strcontains(aws_cloudwatch_dashboard.this[0].dashboard_body, "OrganizationReportsNotPublished")
    error_message = "The dashboard draws the destinations that refused the report."
  }
  assert {
    condition     = aws_cloudwatch_dashboard.this[0].dashboard_name == "ecr-scan-hub-eu-west-1"
    error_message = "The dashboard's name carries the region."
  }
}

run "listed_accounts" {
  command = plan

  variables {
    organization_id   = null
    spoke_account_ids = ["111111111111", "222222222222"]
  }

  assert {
    condition     = one([for s in jsondecode(aws_sns_topic_policy.this.policy).Statement : s.Condition.StringEquals if s.Sid == "SpokesPublish"]) == { "aws:PrincipalAccount" = ["111111111111", "222222222222"] }
    error_message = "Without an organization, the listed accounts (aws:PrincipalAccount) may publish, no other."
  }
  assert {
    condition     = alltrue([for s in jsondecode(aws_s3_bucket_policy.this.policy).Statement : s.Condition.StringEquals == { "aws:PrincipalAccount" = ["111111111111", "222222222222"] } if s.Effect == "Allow"])
    error_message = "Without an organization, only the listed accounts may write (their own prefixes)."
  }
  assert {
    condition     = alltrue([for s in jsondecode(aws_kms_key.this.policy).Statement : s.Condition.StringEquals["aws:PrincipalAccount"] == ["111111111111", "222222222222"] if try(s.Principal.AWS, "") == "*"])
    error_message = "Without an organization, only the listed accounts may use the key."
  }
}

run "both_organization_and_accounts_are_refused" {
  command = plan
  variables {
    spoke_account_ids = ["111111111111"]
  }
  expect_failures = [aws_sns_topic_policy.this]
}

run "neither_organization_nor_accounts_is_refused" {
  command = plan
  variables {
    organization_id = null
  }
  expect_failures = [aws_sns_topic_policy.this]
}

run "bad_values_are_refused" {
  command = plan
  variables {
    organization_id           = "a1b2c3d4e5"
    spoke_account_ids         = ["12345"]
    spoke_regions             = []
    expected_spokes           = ["111111111111-eu-west-1"]
    spoke_report_period_hours = 0
    report_bucket_name        = "Acme_Reports"
  }
  expect_failures = [
    var.organization_id, var.spoke_account_ids, var.spoke_regions, var.expected_spokes,
    var.spoke_report_period_hours, var.report_bucket_name,
  ]
}

run "a_subscription_key_misspelt_is_refused" {
  command = plan
  variables {
    subscriptions = { audit = { protocol = "https", endpoint = "https://audit.example.com/sns", filter_polcy = "{}" } }
  }
  expect_failures = [var.subscriptions]
}

run "subscriptions_and_chat" {
  command = plan
  variables {
    email_subscriptions = ["security@example.com"]
    subscriptions       = { audit = { protocol = "sqs", endpoint = "arn:aws:sqs:eu-west-1:210987654321:audit", raw_message_delivery = "true" } }
    create_chat_topic   = true
  }
  assert {
    condition     = aws_sns_topic_subscription.email["security@example.com"].protocol == "email" && aws_sns_topic_subscription.this["audit"].raw_message_delivery
    error_message = "Subscriptions as the root module's."
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables.CHAT_TOPIC_ARN == "arn:aws:sns:eu-west-1:210987654321:ecr-scan-hub-chat" && contains(one([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Resource if s.Sid == "Publish"]), "arn:aws:sns:eu-west-1:210987654321:ecr-scan-hub-chat")
    error_message = "With create_chat_topic the function publishes the chat form there."
  }
}

# Issue 29: each team's own organization-wide report goes to its hub topic, <name_prefix>-<team>: the function gets
# the names and the topics' prefix (both empty without teams) and may publish to exactly those topics.
run "team_reports" {
  command = plan
  variables {
    teams = [{ name = "payments", repository_regex = "^payments/" }, { name = "web", repository_regex = "^web/" }]
  }
  assert {
    condition = [
      aws_lambda_function.this.environment[0].variables.TEAM_NAMES,
      aws_lambda_function.this.environment[0].variables.TEAM_TOPIC_ARN_PREFIX,
    ] == ["payments,web", "arn:aws:sns:eu-west-1:210987654321:ecr-scan-hub-"]
    error_message = "The function gets the teams' names and their topics' prefix."
  }
  assert {
    condition = one([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : [s.Action, s.Resource] if s.Sid == "PublishTeamReports"]) == [
      ["sns:Publish"],
      ["arn:aws:sns:eu-west-1:210987654321:ecr-scan-hub-payments", "arn:aws:sns:eu-west-1:210987654321:ecr-scan-hub-web"],
    ]
    error_message = "The function may publish to exactly the teams' topics (no wildcard)."
  }
}

# A bad team name is refused with the root module's rule: tests/refused, run by tests/terraform/test_hub_team_rules.py.

run "an_environment_over_lambdas_4_kb_is_refused_at_plan" {
  command = plan
  variables {
    expected_spokes = [for i in range(120) : format("%012d/eu-west-1", i)]
    teams           = [for i in range(40) : { name = format("team-%02d-%s", i, join("", [for j in range(30) : "x"])), repository_regex = "^t${i}/" }]
  }
  expect_failures = [aws_lambda_function.this]
}
