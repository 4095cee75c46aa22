# The scan ledger (ledger.tf) and its variables, asserted offline: `terraform test` (make tf-test).
# The AWS provider is mocked; the data sources are pinned to one account and region.

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

variables {
  ledger_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/ecr-scan-reporter-ledger"
}

run "ledger_defaults" {
  command = plan

  assert {
    condition     = aws_dynamodb_table.ledger[0].name == "ecr-scan-reporter-ledger" && aws_dynamodb_table.ledger[0].billing_mode == "PAY_PER_REQUEST"
    error_message = "The ledger must be <prefix>-ledger, billed on demand."
  }
  assert {
    condition     = aws_dynamodb_table.ledger[0].hash_key == "pk" && aws_dynamodb_table.ledger[0].range_key == "digest"
    error_message = "The ledger's key must be pk (registry#repository) and digest."
  }
  assert {
    condition     = toset([for a in aws_dynamodb_table.ledger[0].attribute : "${a.name}:${a.type}"]) == toset(["pk:S", "digest:S"])
    error_message = "The ledger's key attributes must be strings."
  }
  assert {
    condition     = aws_dynamodb_table.ledger[0].ttl[0].enabled && aws_dynamodb_table.ledger[0].ttl[0].attribute_name == "expires_at"
    error_message = "The ledger's records must expire through TTL attribute expires_at."
  }
  assert {
    condition     = aws_dynamodb_table.ledger[0].point_in_time_recovery[0].enabled
    error_message = "Point-in-time recovery must be on."
  }
  assert {
    condition     = aws_dynamodb_table.ledger[0].server_side_encryption[0].enabled == false && aws_dynamodb_table.ledger[0].deletion_protection_enabled == false
    error_message = "Without kms_key_arn the ledger uses DynamoDB's default encryption; deletion protection defaults to off."
  }

  # Environment: both ledger users get the table; the findings function its notification settings.
  assert {
    condition = alltrue([
      for key in ["repositories", "images", "findings", "report"] : aws_lambda_function.this[key].environment[0].variables.LEDGER_TABLE_NAME == "ecr-scan-reporter-ledger"
    ])
    error_message = "LEDGER_TABLE_NAME must reach every function (the repositories function: the scan budget's sweep markers)."
  }
  assert {
    condition = (
      aws_lambda_function.this["findings"].environment[0].variables.NOTIFY_ON == "new_findings" &&
      aws_lambda_function.this["findings"].environment[0].variables.NOTIFY_ON_RESOLVED == "true" &&
      aws_lambda_function.this["findings"].environment[0].variables.RENOTIFY_AFTER_DAYS == "30"
    )
    error_message = "The notification defaults are new_findings, resolved notifications on, reminders after 30 days."
  }

  # Least privilege: narrow actions on exactly this table, per function (what their Allow statements grant; the
  # Deny statements that keep them out of the config# items: tests/security.tftest.hcl).
  assert {
    condition = toset(flatten([
      for s in jsondecode(aws_iam_role_policy.this["findings"].policy).Statement : s.Action if s.Effect == "Allow" && contains(s.Resource, var.ledger_arn)
    ])) == toset(["dynamodb:GetItem", "dynamodb:UpdateItem"])
    error_message = "The findings function may only read and update an image's record in the ledger."
  }
  assert {
    condition = toset(flatten([
      for s in jsondecode(aws_iam_role_policy.this["images"].policy).Statement : s.Action if s.Effect == "Allow" && contains(s.Resource, var.ledger_arn)
    ])) == toset(["dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:UpdateItem"])
    error_message = "The images function may only query a repository's records, read the scan budget's plan (BatchGetItem) and update records in the ledger."
  }
  assert {
    condition = [
      for s in jsondecode(aws_iam_role_policy.this["repositories"].policy).Statement : {
        actions = s.Action, keys = s.Condition["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"]
      } if s.Effect == "Allow" && contains(s.Resource, var.ledger_arn)
    ] == [{ actions = ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem"], keys = ["config#sweep", "config#plan"] }]
    error_message = "The repositories function may only read and update the sweep markers and the scan budget's plan (config#sweep, config#plan)."
  }
  assert {
    condition = alltrue([
      for key in ["images", "findings", "repositories"] : alltrue([
        for s in jsondecode(aws_iam_role_policy.this[key].policy).Statement : alltrue([
          for a in s.Action : !strcontains(a, "*") && !contains(["dynamodb:Scan", "dynamodb:DeleteItem", "dynamodb:PutItem"], a)
        ]) if s.Effect == "Allow"
      ])
    ])
    error_message = "No wildcard action and no Scan, DeleteItem or PutItem on the ledger."
  }
}

run "ledger_with_customer_key_and_protection" {
  command = plan

  variables {
    kms_key_arn                = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    create_topic_kms_key       = false
    ledger_deletion_protection = true
    notify_on                  = "every_scan"
    notify_on_resolved         = false
    renotify_after_days        = null
  }

  assert {
    condition     = aws_dynamodb_table.ledger[0].server_side_encryption[0].enabled && aws_dynamodb_table.ledger[0].server_side_encryption[0].kms_key_arn == "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    error_message = "With kms_key_arn the ledger must be encrypted with that key."
  }
  assert {
    condition     = aws_dynamodb_table.ledger[0].deletion_protection_enabled
    error_message = "ledger_deletion_protection = true must turn deletion protection on."
  }
  assert {
    condition = (
      aws_lambda_function.this["findings"].environment[0].variables.NOTIFY_ON == "every_scan" &&
      aws_lambda_function.this["findings"].environment[0].variables.NOTIFY_ON_RESOLVED == "false" &&
      aws_lambda_function.this["findings"].environment[0].variables.RENOTIFY_AFTER_DAYS == "never"
    )
    error_message = "notify_on, notify_on_resolved and a null renotify_after_days (\"never\") must reach the findings function."
  }
}

run "ledger_edge_values_are_accepted" {
  command = plan
  variables {
    renotify_after_days = 365
  }
}

run "ledger_bad_values_round_1" {
  command = plan
  variables {
    notify_on           = "always" # not a choice
    renotify_after_days = 0        # below 1
  }
  expect_failures = [var.notify_on, var.renotify_after_days]
}

run "ledger_bad_values_round_2" {
  command = plan
  variables {
    notify_on           = "NEW_FINDINGS" # upper case
    renotify_after_days = 1.5            # not whole
  }
  expect_failures = [var.notify_on, var.renotify_after_days]
}

run "ledger_bad_values_round_3" {
  command = plan
  variables {
    notify_on           = "" # empty
    renotify_after_days = 366
  }
  expect_failures = [var.notify_on, var.renotify_after_days]
}
