# The security knobs (X-Ray tracing, reserved concurrency, the customer key) and the functions' KMS grants and
# ledger write limits: `terraform test` (make tf-test), offline with a mocked provider. The checkov scan itself is
# `make security`.


mock_provider "aws" {
  source = "./tests/mocks/aws"
}

run "defaults" {
  command = plan

  assert {
    condition     = alltrue([for function in aws_lambda_function.this : function.tracing_config[0].mode == "PassThrough" && function.reserved_concurrent_executions == -1 && function.kms_key_arn == null])
    error_message = "By default: PassThrough tracing, no reserved concurrency, the environment under Lambda's AWS-managed key."
  }
  assert {
    condition = alltrue([
      for policy in aws_iam_role_policy.this : !anytrue([for statement in jsondecode(policy.policy).Statement : anytrue([for action in statement.Action : startswith(action, "xray:") || startswith(action, "kms:")])])
    ])
    error_message = "By default no role gets X-Ray or KMS permissions."
  }
  assert {
    # Known at plan time (built from names), so a reviewer reads where notifications go.
    condition     = aws_lambda_function.this["findings"].environment[0].variables.SNS_TOPIC_ARN == "arn:aws:sns:eu-west-1:123456789012:ecr-scan-reporter-notifications"
    error_message = "The findings function's SNS_TOPIC_ARN must be the created topic's ARN, known at plan time."
  }
}

run "tracing_active" {
  command = plan

  variables {
    tracing_mode = "Active"
  }

  assert {
    condition     = alltrue([for function in aws_lambda_function.this : function.tracing_config[0].mode == "Active"])
    error_message = "tracing_mode = Active must trace every function."
  }
  assert {
    condition = alltrue([
      for policy in aws_iam_role_policy.this : anytrue([
        for statement in jsondecode(policy.policy).Statement :
        statement.Effect == "Allow" && toset(statement.Action) == toset(["xray:PutTelemetryRecords", "xray:PutTraceSegments"])
      ])
    ])
    error_message = "With Active tracing every role may write its traces."
  }
}

run "customer_key_encrypts_the_environment" {
  command = plan

  variables {
    kms_key_arn          = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    create_topic_kms_key = false
    create_chat_topic    = true
    create_report_bucket = true
    report_bucket_name   = "example-ecr-exposure-reports"
  }

  assert {
    condition     = alltrue([for function in aws_lambda_function.this : function.kms_key_arn == var.kms_key_arn])
    error_message = "kms_key_arn must also encrypt the functions' environment."
  }
  assert {
    condition = (
      aws_dynamodb_table.ledger[0].server_side_encryption[0].kms_key_arn == var.kms_key_arn &&
      one(aws_s3_bucket_server_side_encryption_configuration.report[0].rule).apply_server_side_encryption_by_default[0].kms_master_key_id == var.kms_key_arn
    )
    error_message = "kms_key_arn encrypts the ledger table and the report bucket."
  }
  # Per role, exactly the services of the encrypted resources it uses (tests/terraform/test_kms_grants.py derives
  # the same from a real plan): the queues it sends to or consumes, the topics it publishes to, the table it reads
  # or writes, the bucket it writes, and Lambda for its own environment.
  assert {
    condition = {
      for key, policy in aws_iam_role_policy.this : key => toset([
        for statement in jsondecode(policy.policy).Statement : statement.Condition.StringEquals["kms:ViaService"]
        if anytrue([for action in statement.Action : startswith(action, "kms:")])
      ])
      } == {
      repositories = toset(["sqs.eu-west-1.amazonaws.com", "dynamodb.eu-west-1.amazonaws.com", "lambda.eu-west-1.amazonaws.com"])
      images       = toset(["sqs.eu-west-1.amazonaws.com", "dynamodb.eu-west-1.amazonaws.com", "lambda.eu-west-1.amazonaws.com"])
      findings     = toset(["sqs.eu-west-1.amazonaws.com", "sns.eu-west-1.amazonaws.com", "dynamodb.eu-west-1.amazonaws.com", "lambda.eu-west-1.amazonaws.com"])
      report       = toset(["sqs.eu-west-1.amazonaws.com", "sns.eu-west-1.amazonaws.com", "dynamodb.eu-west-1.amazonaws.com", "s3.eu-west-1.amazonaws.com", "lambda.eu-west-1.amazonaws.com"])
    }
    error_message = "Each role may use the key through the services of the encrypted resources it uses, and no other."
  }
  assert {
    condition = alltrue(flatten([
      for policy in aws_iam_role_policy.this : [
        for statement in jsondecode(policy.policy).Statement : statement.Effect == "Allow" && statement.Resource == [var.kms_key_arn] && length(statement.Condition) == 1
        if anytrue([for action in statement.Action : startswith(action, "kms:")])
      ]
    ]))
    error_message = "Every grant on the key names the key alone, only through one service (kms:ViaService)."
  }
  assert {
    condition     = alltrue(flatten([for policy in aws_iam_role_policy.this : [for statement in jsondecode(policy.policy).Statement : [for action in statement.Action : !strcontains(action, "*")]]]))
    error_message = "No role's action is a wildcard, the key operations included (kms:GenerateDataKey, not kms:GenerateDataKey*)."
  }
  assert {
    # DynamoDB: reads need Decrypt and DescribeKey, writes also Encrypt and GenerateDataKey; S3 PutObject
    # GenerateDataKey; Lambda (the environment) Decrypt. No wildcard action (the compliance gate refuses them).
    condition = (
      toset(one([for s in jsondecode(aws_iam_role_policy.this["report"].policy).Statement : s.Action if try(s.Condition.StringEquals["kms:ViaService"], "") == "dynamodb.eu-west-1.amazonaws.com"])) == toset(["kms:Decrypt", "kms:DescribeKey"]) &&
      toset(one([for s in jsondecode(aws_iam_role_policy.this["findings"].policy).Statement : s.Action if try(s.Condition.StringEquals["kms:ViaService"], "") == "dynamodb.eu-west-1.amazonaws.com"])) == toset(["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]) &&
      toset(one([for s in jsondecode(aws_iam_role_policy.this["images"].policy).Statement : s.Action if try(s.Condition.StringEquals["kms:ViaService"], "") == "dynamodb.eu-west-1.amazonaws.com"])) == toset(["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]) &&
      toset(one([for s in jsondecode(aws_iam_role_policy.this["report"].policy).Statement : s.Action if try(s.Condition.StringEquals["kms:ViaService"], "") == "s3.eu-west-1.amazonaws.com"])) == toset(["kms:GenerateDataKey"]) &&
      toset(one([for s in jsondecode(aws_iam_role_policy.this["repositories"].policy).Statement : s.Action if try(s.Condition.StringEquals["kms:ViaService"], "") == "lambda.eu-west-1.amazonaws.com"])) == toset(["kms:Decrypt"]) &&
      toset(one([for s in jsondecode(aws_iam_role_policy.this["repositories"].policy).Statement : s.Action if try(s.Condition.StringEquals["kms:ViaService"], "") == "dynamodb.eu-west-1.amazonaws.com"])) == toset(["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"])
    )
    error_message = "Each service's grant carries the key operations that use needs: a reader of the table cannot encrypt."
  }
}

# A topic the module does not create (sns_topic_arn) is not encrypted with kms_key_arn by the module: no role uses
# the key through SNS for it.
run "customer_key_with_a_given_topic" {
  command = plan

  variables {
    kms_key_arn          = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    create_topic_kms_key = false
    create_sns_topic     = false
    sns_topic_arn        = "arn:aws:sns:eu-west-1:123456789012:security-alerts"
  }

  assert {
    condition     = !anytrue([for policy in aws_iam_role_policy.this : strcontains(policy.policy, "sns.eu-west-1.amazonaws.com")])
    error_message = "Without a module topic (nor chat topic) under the key, no role may use the key through SNS."
  }
  assert {
    condition = alltrue([
      for key in ["findings", "report"] : anytrue([
        for statement in jsondecode(aws_iam_role_policy.this[key].policy).Statement : try(statement.Condition.StringEquals["kms:ViaService"] == "dynamodb.eu-west-1.amazonaws.com", false)
      ])
    ])
    error_message = "The table stays under the key whatever the topic: its readers keep their grant."
  }
}

# The config# partitions of the ledger are configuration: config#suppressions is written by Terraform only, the
# sweep markers (config#sweep) by the images and repositories functions, the scan budget's plan (config#plan) by the
# repositories function only. No function may write another config# item.
run "functions_cannot_write_the_ledger_configuration" {
  command = plan

  assert {
    condition = anytrue([
      for statement in jsondecode(aws_iam_role_policy.this["findings"].policy).Statement :
      statement.Effect == "Deny" &&
      toset(statement.Action) == toset(["dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]) &&
      statement.Resource == ["arn:aws:dynamodb:eu-west-1:123456789012:table/ecr-scan-reporter-ledger"] &&
      try(statement.Condition == { "ForAnyValue:StringLike" = { "dynamodb:LeadingKeys" = ["config#*"] } }, false)
    ])
    error_message = "The findings function must be denied every write to a config# partition of the ledger."
  }
  assert {
    condition = anytrue([
      for statement in jsondecode(aws_iam_role_policy.this["images"].policy).Statement :
      statement.Effect == "Deny" &&
      toset(statement.Action) == toset(["dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]) &&
      statement.Resource == ["arn:aws:dynamodb:eu-west-1:123456789012:table/ecr-scan-reporter-ledger"] &&
      try(statement.Condition == {
        "ForAnyValue:StringLike"      = { "dynamodb:LeadingKeys" = ["config#*"] }
        "ForAnyValue:StringNotEquals" = { "dynamodb:LeadingKeys" = ["config#sweep"] }
      }, false)
    ])
    error_message = "The images function must be denied every write to a config# partition but its sweep markers (config#sweep)."
  }
  assert {
    # Whatever they may write, their Allow statements name the table alone: the Deny covers every write they have.
    condition = alltrue(flatten([
      for key, policy in aws_iam_role_policy.this : [
        for statement in jsondecode(policy.policy).Statement : contains(["images", "findings"], key) || (
          key == "repositories" && try(statement.Condition == { "ForAllValues:StringEquals" = { "dynamodb:LeadingKeys" = ["config#sweep", "config#plan"] } }, false)
        )
        if statement.Effect == "Allow" && anytrue([for action in statement.Action : contains(["dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], action)])
      ]
    ]))
    error_message = "Only the images and findings functions may write the ledger at large; the repositories function only the sweep markers and the scan budget's plan (config#sweep, config#plan); the report function nothing."
  }
  assert {
    condition = alltrue([
      for statement in jsondecode(aws_iam_role_policy.this["report"].policy).Statement : statement.Effect == "Allow"
    ]) && alltrue([for statement in jsondecode(aws_iam_role_policy.this["repositories"].policy).Statement : statement.Effect == "Allow"])
    error_message = "The roles that write nothing to the ledger need no Deny."
  }
}

run "reserved_concurrency" {
  command = plan

  variables {
    max_scan_concurrency           = 4
    reserved_concurrent_executions = { images = 4, findings = 10 }
  }

  assert {
    condition = (
      aws_lambda_function.this["images"].reserved_concurrent_executions == 4 &&
      aws_lambda_function.this["findings"].reserved_concurrent_executions == 10 &&
      aws_lambda_function.this["repositories"].reserved_concurrent_executions == -1
    )
    error_message = "Each function gets its own reservation; a function left out none."
  }
}

run "reserved_concurrency_null_is_no_reservation" {
  command = plan

  variables {
    reserved_concurrent_executions = { repositories = 1, images = null }
  }

  assert {
    condition     = aws_lambda_function.this["repositories"].reserved_concurrent_executions == 1 && aws_lambda_function.this["images"].reserved_concurrent_executions == -1
    error_message = "A null reservation is no reservation."
  }
}

# --- bad input -----------------------------------------------------------------------------------------------------

run "tracing_mode_misspelled" {
  command = plan
  variables {
    tracing_mode = "active"
  }
  expect_failures = [var.tracing_mode]
}

run "reserved_concurrency_unknown_function" {
  command = plan
  variables {
    reserved_concurrent_executions = { finding = 5 }
  }
  expect_failures = [var.reserved_concurrent_executions]
}

run "reserved_concurrency_zero" {
  command = plan
  variables {
    reserved_concurrent_executions = { findings = 0 }
  }
  expect_failures = [var.reserved_concurrent_executions]
}

run "reserved_concurrency_fraction" {
  command = plan
  variables {
    reserved_concurrent_executions = { repositories = 1.5 }
  }
  expect_failures = [var.reserved_concurrent_executions]
}

run "images_reservation_below_the_event_source_concurrency" {
  command = plan
  variables {
    max_scan_concurrency           = 5
    reserved_concurrent_executions = { images = 2 }
  }
  expect_failures = [aws_lambda_function.this]
}
