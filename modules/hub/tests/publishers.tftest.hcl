# Who may publish to the hub's topic and use its key (issue 27), read from the rendered policy JSON (mocked
# provider, nothing created): each request below is evaluated against the planned topic policy and key policy as
# IAM would for a principal of another account (an Allow whose principal, action and every condition match, and no
# Deny that matches). The spokes' publishing roles (the root module names them <prefix>-<region>-findings and
# <prefix>-<region>-report) may publish and use the key through SNS; the report roles may encrypt through S3 for
# the hub's bucket; any other principal of the organization (a sandbox role) may do neither.
#
# The evaluator handles what these policies use: Principal "*", {AWS = "*"} and an account root; Action lists and
# "<service>:*"; the operators StringEquals, ArnEquals, StringLike, ArnLike (* and ?) and Bool. An operator it does
# not know makes the statement never match, so a new condition cannot open a policy unnoticed here.

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

variables {
  organization_id    = "o-a1b2c3d4e5"
  spoke_regions      = ["eu-west-1", "us-east-1"]
  report_bucket_name = "acme-security-ecr-reports"

  # Requests to the central topic: sns:Publish over TLS.
  topic_requests = [
    {
      name      = "a spoke's findings role (eu-west-1)"
      principal = "arn:aws:iam::111111111111:role/ecr-scan-reporter-eu-west-1-findings"
      action    = "sns:Publish"
      context   = { "aws:PrincipalArn" = "arn:aws:iam::111111111111:role/ecr-scan-reporter-eu-west-1-findings", "aws:PrincipalOrgID" = "o-a1b2c3d4e5", "aws:PrincipalAccount" = "111111111111", "aws:SecureTransport" = "true" }
      allowed   = true
    },
    {
      name      = "a spoke's report role (us-east-1), another name_prefix"
      principal = "arn:aws:iam::222222222222:role/payments-us-east-1-report"
      action    = "sns:Publish"
      context   = { "aws:PrincipalArn" = "arn:aws:iam::222222222222:role/payments-us-east-1-report", "aws:PrincipalOrgID" = "o-a1b2c3d4e5", "aws:PrincipalAccount" = "222222222222", "aws:SecureTransport" = "true" }
      allowed   = true
    },
    {
      name      = "a sandbox role of the organization"
      principal = "arn:aws:iam::333333333333:role/sandbox-admin"
      action    = "sns:Publish"
      context   = { "aws:PrincipalArn" = "arn:aws:iam::333333333333:role/sandbox-admin", "aws:PrincipalOrgID" = "o-a1b2c3d4e5", "aws:PrincipalAccount" = "333333333333", "aws:SecureTransport" = "true" }
      allowed   = false
    },
    {
      name      = "a spoke's images role (it never publishes)"
      principal = "arn:aws:iam::111111111111:role/ecr-scan-reporter-eu-west-1-images"
      action    = "sns:Publish"
      context   = { "aws:PrincipalArn" = "arn:aws:iam::111111111111:role/ecr-scan-reporter-eu-west-1-images", "aws:PrincipalOrgID" = "o-a1b2c3d4e5", "aws:PrincipalAccount" = "111111111111", "aws:SecureTransport" = "true" }
      allowed   = false
    },
    {
      name      = "a findings role of a region that is not a spoke region"
      principal = "arn:aws:iam::111111111111:role/ecr-scan-reporter-ap-south-1-findings"
      action    = "sns:Publish"
      context   = { "aws:PrincipalArn" = "arn:aws:iam::111111111111:role/ecr-scan-reporter-ap-south-1-findings", "aws:PrincipalOrgID" = "o-a1b2c3d4e5", "aws:PrincipalAccount" = "111111111111", "aws:SecureTransport" = "true" }
      allowed   = false
    },
    {
      name      = "a findings role outside the organization"
      principal = "arn:aws:iam::444444444444:role/ecr-scan-reporter-eu-west-1-findings"
      action    = "sns:Publish"
      context   = { "aws:PrincipalArn" = "arn:aws:iam::444444444444:role/ecr-scan-reporter-eu-west-1-findings", "aws:PrincipalOrgID" = "o-zzzzzzzzzz", "aws:PrincipalAccount" = "444444444444", "aws:SecureTransport" = "true" }
      allowed   = false
    },
    {
      name      = "a spoke's findings role without TLS"
      principal = "arn:aws:iam::111111111111:role/ecr-scan-reporter-eu-west-1-findings"
      action    = "sns:Publish"
      context   = { "aws:PrincipalArn" = "arn:aws:iam::111111111111:role/ecr-scan-reporter-eu-west-1-findings", "aws:PrincipalOrgID" = "o-a1b2c3d4e5", "aws:PrincipalAccount" = "111111111111", "aws:SecureTransport" = "false" }
      allowed   = false
    },
  ]

  # Requests to the hub's key: the data key SNS (publishing) or S3 (writing a report) asks for with the caller's
  # credentials.
  key_requests = [
    {
      name      = "a spoke's findings role, through SNS of the hub's region"
      principal = "arn:aws:iam::111111111111:role/ecr-scan-reporter-eu-west-1-findings"
      action    = "kms:GenerateDataKey"
      context   = { "aws:PrincipalArn" = "arn:aws:iam::111111111111:role/ecr-scan-reporter-eu-west-1-findings", "aws:PrincipalOrgID" = "o-a1b2c3d4e5", "aws:PrincipalAccount" = "111111111111", "kms:ViaService" = "sns.eu-west-1.amazonaws.com" }
      allowed   = true
    },
    {
      name      = "a spoke's report role, Decrypt through SNS"
      principal = "arn:aws:iam::111111111111:role/ecr-scan-reporter-us-east-1-report"
      action    = "kms:Decrypt"
      context   = { "aws:PrincipalArn" = "arn:aws:iam::111111111111:role/ecr-scan-reporter-us-east-1-report", "aws:PrincipalOrgID" = "o-a1b2c3d4e5", "aws:PrincipalAccount" = "111111111111", "kms:ViaService" = "sns.eu-west-1.amazonaws.com" }
      allowed   = true
    },
    {
      name      = "a spoke's report role, through S3 for the hub's bucket"
      principal = "arn:aws:iam::111111111111:role/ecr-scan-reporter-us-east-1-report"
      action    = "kms:GenerateDataKey"
      context   = { "aws:PrincipalArn" = "arn:aws:iam::111111111111:role/ecr-scan-reporter-us-east-1-report", "aws:PrincipalOrgID" = "o-a1b2c3d4e5", "aws:PrincipalAccount" = "111111111111", "kms:ViaService" = "s3.eu-west-1.amazonaws.com", "kms:EncryptionContext:aws:s3:arn" = "arn:aws:s3:::acme-security-ecr-reports/111111111111/us-east-1/latest.json" }
      allowed   = true
    },
    {
      name      = "a spoke's report role, through S3 for another bucket"
      principal = "arn:aws:iam::111111111111:role/ecr-scan-reporter-us-east-1-report"
      action    = "kms:GenerateDataKey"
      context   = { "aws:PrincipalArn" = "arn:aws:iam::111111111111:role/ecr-scan-reporter-us-east-1-report", "aws:PrincipalOrgID" = "o-a1b2c3d4e5", "aws:PrincipalAccount" = "111111111111", "kms:ViaService" = "s3.eu-west-1.amazonaws.com", "kms:EncryptionContext:aws:s3:arn" = "arn:aws:s3:::somebody-elses-bucket/x" }
      allowed   = false
    },
    {
      name      = "a spoke's findings role, through S3 (only report roles write reports)"
      principal = "arn:aws:iam::111111111111:role/ecr-scan-reporter-eu-west-1-findings"
      action    = "kms:GenerateDataKey"
      context   = { "aws:PrincipalArn" = "arn:aws:iam::111111111111:role/ecr-scan-reporter-eu-west-1-findings", "aws:PrincipalOrgID" = "o-a1b2c3d4e5", "aws:PrincipalAccount" = "111111111111", "kms:ViaService" = "s3.eu-west-1.amazonaws.com", "kms:EncryptionContext:aws:s3:arn" = "arn:aws:s3:::acme-security-ecr-reports/111111111111/eu-west-1/latest.json" }
      allowed   = false
    },
    {
      name      = "a spoke's findings role, directly (no service)"
      principal = "arn:aws:iam::111111111111:role/ecr-scan-reporter-eu-west-1-findings"
      action    = "kms:Decrypt"
      context   = { "aws:PrincipalArn" = "arn:aws:iam::111111111111:role/ecr-scan-reporter-eu-west-1-findings", "aws:PrincipalOrgID" = "o-a1b2c3d4e5", "aws:PrincipalAccount" = "111111111111" }
      allowed   = false
    },
    {
      name      = "a spoke's findings role, through SNS of another region"
      principal = "arn:aws:iam::111111111111:role/ecr-scan-reporter-eu-west-1-findings"
      action    = "kms:GenerateDataKey"
      context   = { "aws:PrincipalArn" = "arn:aws:iam::111111111111:role/ecr-scan-reporter-eu-west-1-findings", "aws:PrincipalOrgID" = "o-a1b2c3d4e5", "aws:PrincipalAccount" = "111111111111", "kms:ViaService" = "sns.us-east-1.amazonaws.com" }
      allowed   = false
    },
    {
      name      = "a sandbox role of the organization, through SNS"
      principal = "arn:aws:iam::333333333333:role/sandbox-admin"
      action    = "kms:GenerateDataKey"
      context   = { "aws:PrincipalArn" = "arn:aws:iam::333333333333:role/sandbox-admin", "aws:PrincipalOrgID" = "o-a1b2c3d4e5", "aws:PrincipalAccount" = "333333333333", "kms:ViaService" = "sns.eu-west-1.amazonaws.com" }
      allowed   = false
    },
    {
      name      = "a sandbox role of the organization, through S3 for the hub's bucket"
      principal = "arn:aws:iam::333333333333:role/sandbox-admin"
      action    = "kms:GenerateDataKey"
      context   = { "aws:PrincipalArn" = "arn:aws:iam::333333333333:role/sandbox-admin", "aws:PrincipalOrgID" = "o-a1b2c3d4e5", "aws:PrincipalAccount" = "333333333333", "kms:ViaService" = "s3.eu-west-1.amazonaws.com", "kms:EncryptionContext:aws:s3:arn" = "arn:aws:s3:::acme-security-ecr-reports/333333333333/eu-west-1/latest.json" }
      allowed   = false
    },
  ]

  # additional_publisher_arns: another principal of the organization that may publish (and so use the key through
  # SNS), never write reports.
  ci_publisher = "arn:aws:iam::111111111111:role/security-tooling/ci-publisher"
}

run "the_spokes_publishing_roles_and_no_other_principal" {
  command = plan

  assert {
    condition = [
      for r in var.topic_requests : anytrue([
        for s in jsondecode(aws_sns_topic_policy.this.policy).Statement : s.Effect == "Allow" && (
          try(s.Principal == "*", false) || try(s.Principal.AWS == "*", false) || try(contains(flatten([s.Principal.AWS]), r.principal), false) ||
          try(anytrue([for p in flatten([s.Principal.AWS]) : endswith(p, ":root") && split(":", p)[4] == split(":", r.principal)[4]]), false)
          ) && (contains(flatten([s.Action]), r.action) || contains(flatten([s.Action]), "${split(":", r.action)[0]}:*")) && alltrue([
            for op, block in try(s.Condition, {}) : alltrue([
              for key, values in block :
              contains(["StringEquals", "ArnEquals"], op) ? contains(flatten([values]), lookup(r.context, key, "")) :
              contains(["StringLike", "ArnLike"], op) ? anytrue([for pattern in flatten([values]) : can(regex("^${replace(replace(replace(pattern, ".", "\\."), "?", "."), "*", ".*")}$", lookup(r.context, key, "")))]) :
              op == "Bool" ? lookup(r.context, key, "") == tostring(values) : false
            ])
        ])
        ]) && !anytrue([
        for s in jsondecode(aws_sns_topic_policy.this.policy).Statement : s.Effect == "Deny" && (contains(flatten([s.Action]), r.action) || contains(flatten([s.Action]), "${split(":", r.action)[0]}:*")) && alltrue([
          for op, block in try(s.Condition, {}) : alltrue([
            for key, values in block :
            contains(["StringEquals", "ArnEquals"], op) ? contains(flatten([values]), lookup(r.context, key, "")) :
            contains(["StringLike", "ArnLike"], op) ? anytrue([for pattern in flatten([values]) : can(regex("^${replace(replace(replace(pattern, ".", "\\."), "?", "."), "*", ".*")}$", lookup(r.context, key, "")))]) :
            op == "Bool" ? lookup(r.context, key, "") == tostring(values) : false
          ])
        ])
      ])
    ] == [for r in var.topic_requests : r.allowed]
    error_message = "The central topic: only the spokes' findings and report roles (of the spoke regions, in the organization, over TLS) may publish."
  }

  assert {
    condition = [
      for r in var.key_requests : anytrue([
        for s in jsondecode(aws_kms_key.this.policy).Statement : s.Effect == "Allow" && (
          try(s.Principal == "*", false) || try(s.Principal.AWS == "*", false) || try(contains(flatten([s.Principal.AWS]), r.principal), false) ||
          try(anytrue([for p in flatten([s.Principal.AWS]) : endswith(p, ":root") && split(":", p)[4] == split(":", r.principal)[4]]), false)
          ) && (contains(flatten([s.Action]), r.action) || contains(flatten([s.Action]), "${split(":", r.action)[0]}:*")) && alltrue([
            for op, block in try(s.Condition, {}) : alltrue([
              for key, values in block :
              contains(["StringEquals", "ArnEquals"], op) ? contains(flatten([values]), lookup(r.context, key, "")) :
              contains(["StringLike", "ArnLike"], op) ? anytrue([for pattern in flatten([values]) : can(regex("^${replace(replace(replace(pattern, ".", "\\."), "?", "."), "*", ".*")}$", lookup(r.context, key, "")))]) :
              op == "Bool" ? lookup(r.context, key, "") == tostring(values) : false
            ])
        ])
      ])
    ] == [for r in var.key_requests : r.allowed]
    error_message = "The hub's key: the spokes' publishing roles through SNS of the hub's region, their report roles through S3 for the hub's bucket; no other principal of the organization, no other service or region."
  }

  assert {
    # The patterns themselves, as the bucket policy's: one per spoke region and publishing function.
    condition = one([for s in jsondecode(aws_sns_topic_policy.this.policy).Statement : s.Condition.ArnLike["aws:PrincipalArn"] if s.Sid == "SpokesPublish"]) == [
      "arn:aws:iam::*:role/*-eu-west-1-findings", "arn:aws:iam::*:role/*-eu-west-1-report",
      "arn:aws:iam::*:role/*-us-east-1-findings", "arn:aws:iam::*:role/*-us-east-1-report",
    ]
    error_message = "The publishers are named by the root module's role names <prefix>-<region>-findings and -report, for each spoke region."
  }
}

run "additional_publishers" {
  command = plan

  variables {
    additional_publisher_arns = [var.ci_publisher]
  }

  assert {
    condition = contains(one([for s in jsondecode(aws_sns_topic_policy.this.policy).Statement : s.Condition.ArnLike["aws:PrincipalArn"] if s.Sid == "SpokesPublish"]), var.ci_publisher) && (
      one([for s in jsondecode(aws_sns_topic_policy.this.policy).Statement : s.Condition.StringEquals if s.Sid == "SpokesPublish"]) == { "aws:PrincipalOrgID" = ["o-a1b2c3d4e5"] }
    )
    error_message = "An additional publisher may publish, still only from the organization."
  }
  assert {
    condition     = contains(one([for s in jsondecode(aws_kms_key.this.policy).Statement : s.Condition.ArnLike["aws:PrincipalArn"] if s.Sid == "SpokesPublishThroughSNS"]), var.ci_publisher)
    error_message = "An additional publisher may use the key through SNS (publishing to the encrypted topic)."
  }
  assert {
    condition     = !contains(one([for s in jsondecode(aws_kms_key.this.policy).Statement : s.Condition.ArnLike["aws:PrincipalArn"] if s.Sid == "SpokesEncryptThroughS3"]), var.ci_publisher)
    error_message = "An additional publisher may not encrypt through S3: only the report roles write reports."
  }
}

run "listed_accounts_narrowed_too" {
  command = plan

  variables {
    organization_id   = null
    spoke_account_ids = ["111111111111"]
  }

  assert {
    condition = alltrue([
      for s in concat(jsondecode(aws_sns_topic_policy.this.policy).Statement, jsondecode(aws_kms_key.this.policy).Statement) :
      s.Condition.StringEquals["aws:PrincipalAccount"] == ["111111111111"] && length(s.Condition.ArnLike["aws:PrincipalArn"]) > 0
      if try(s.Principal.AWS, "") == "*"
    ])
    error_message = "Without an organization the listed accounts' publishing roles, and only they, are allowed."
  }
}

run "bad_additional_publishers_are_refused" {
  command = plan

  variables {
    additional_publisher_arns = ["*", "arn:aws:iam::*:role/*", "arn:aws:sns:eu-west-1:111111111111:topic", "arn:aws:iam::111111111111:root"]
  }

  expect_failures = [var.additional_publisher_arns]
}
