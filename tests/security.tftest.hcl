# The security knobs (X-Ray tracing, reserved concurrency, the customer key for the functions' environment) and the
# functions' KMS grants: `terraform test` (make tf-test), offline with a mocked provider. The checkov scan itself is
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
  }

  assert {
    condition     = alltrue([for function in aws_lambda_function.this : function.kms_key_arn == var.kms_key_arn])
    error_message = "kms_key_arn must also encrypt the functions' environment."
  }
  assert {
    condition = alltrue([
      for policy in aws_iam_role_policy.this : anytrue([
        for statement in jsondecode(policy.policy).Statement :
        try(
          statement.Resource == [var.kms_key_arn] &&
          toset(statement.Condition.StringEquals["kms:ViaService"]) == toset(["sqs.eu-west-1.amazonaws.com", "sns.eu-west-1.amazonaws.com", "lambda.eu-west-1.amazonaws.com"]),
          false,
        )
      ])
    ])
    error_message = "Every role's grant on the key must be limited to use through SQS, SNS and Lambda (kms:ViaService)."
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
