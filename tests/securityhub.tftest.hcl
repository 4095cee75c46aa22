# The Security Hub export (securityhub.tf), asserted offline: `terraform test` (make tf-test). Off by default; when
# on, the findings function gets the account's product subscription in its environment and may import findings
# there and nowhere else, and may set the workflow of this account's findings to RESOLVED and change nothing else
# (BatchUpdateFindings on the account's hub, securityhub:ASFFSyntaxPath conditions); no other function gets anything.

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

variables {
  product_arn = "arn:aws:securityhub:eu-west-1:123456789012:product/123456789012/default"
  hub_arn     = "arn:aws:securityhub:eu-west-1:123456789012:hub/default"
}

run "off_by_default" {
  command = plan

  assert {
    condition     = aws_lambda_function.this["findings"].environment[0].variables.SECURITY_HUB_PRODUCT_ARN == ""
    error_message = "Without enable_security_hub_export the findings function exports nothing."
  }
  assert {
    condition = alltrue([
      for key, policy in aws_iam_role_policy.this : !strcontains(policy.policy, "securityhub:")
    ])
    error_message = "Without enable_security_hub_export no function may call Security Hub."
  }
}

run "enabled" {
  command = plan

  variables {
    enable_security_hub_export = true
  }

  assert {
    condition     = aws_lambda_function.this["findings"].environment[0].variables.SECURITY_HUB_PRODUCT_ARN == var.product_arn
    error_message = "The findings function imports into this account's default product subscription."
  }
  assert {
    condition = [
      for s in jsondecode(aws_iam_role_policy.this["findings"].policy).Statement : s if anytrue([for a in s.Action : startswith(a, "securityhub:")])
      ] == [
      {
        Sid      = "ImportSecurityHubFindings"
        Effect   = "Allow"
        Action   = ["securityhub:BatchImportFindings"]
        Resource = [var.product_arn]
      },
      {
        Sid      = "ResolveSecurityHubFindings"
        Effect   = "Allow"
        Action   = ["securityhub:BatchUpdateFindings"]
        Resource = [var.hub_arn]
        Condition = {
          StringEquals = { "securityhub:ASFFSyntaxPath/Workflow.Status" = "RESOLVED" }
          Null = {
            "securityhub:ASFFSyntaxPath/Confidence"              = "true"
            "securityhub:ASFFSyntaxPath/Criticality"             = "true"
            "securityhub:ASFFSyntaxPath/Note.Text"               = "true"
            "securityhub:ASFFSyntaxPath/Note.UpdatedBy"          = "true"
            "securityhub:ASFFSyntaxPath/RelatedFindings"         = "true"
            "securityhub:ASFFSyntaxPath/Severity.Label"          = "true"
            "securityhub:ASFFSyntaxPath/Severity.Normalized"     = "true"
            "securityhub:ASFFSyntaxPath/Severity.Product"        = "true"
            "securityhub:ASFFSyntaxPath/Types"                   = "true"
            "securityhub:ASFFSyntaxPath/UserDefinedFields.key"   = "true"
            "securityhub:ASFFSyntaxPath/UserDefinedFields.value" = "true"
            "securityhub:ASFFSyntaxPath/VerificationState"       = "true"
          }
        }
      },
    ]
    error_message = "The findings function may call BatchImportFindings on the product subscription, and BatchUpdateFindings on this account's hub to set Workflow.Status RESOLVED with no other field, and no other Security Hub action."
  }
  assert {
    condition = alltrue([
      for key, policy in aws_iam_role_policy.this : !strcontains(policy.policy, "securityhub:") if key != "findings"
    ])
    error_message = "Only the findings function may call Security Hub."
  }
  assert {
    condition     = !contains(keys(aws_lambda_function.this["images"].environment[0].variables), "SECURITY_HUB_PRODUCT_ARN")
    error_message = "Only the findings function reads SECURITY_HUB_PRODUCT_ARN."
  }
}

# An image deleted from ECR: with the export, one more rule (ECR Image Action, DELETE, SUCCESS) invokes the findings
# function, with the scan-event rules' target (dead-lettered to the failed-events queue) and permission; the
# function may ask ECR whether the digest is gone. Without the export, none of it.
run "deletions_off_by_default" {
  command = plan

  assert {
    condition     = length(aws_cloudwatch_event_rule.ecr_image_deleted) == 0
    error_message = "Without enable_security_hub_export no rule listens for image deletions."
  }
  assert {
    condition     = !contains(keys(aws_cloudwatch_event_target.this), "ecr_image_deleted") && !contains(keys(aws_lambda_permission.events), "ecr_image_deleted")
    error_message = "Without enable_security_hub_export image deletions have no target and no permission."
  }
  assert {
    condition     = !strcontains(aws_sqs_queue_policy.failed_events[0].policy, "ecr-image-deleted")
    error_message = "Without enable_security_hub_export the failed-events queue takes nothing from a deletion rule."
  }
  assert {
    condition     = !contains(keys(output.event_rule_names), "ecr_image_deleted")
    error_message = "Without enable_security_hub_export the outputs name no deletion rule."
  }
}

run "deletions_enabled" {
  command = plan

  variables {
    enable_security_hub_export = true
  }

  assert {
    condition     = aws_cloudwatch_event_rule.ecr_image_deleted[0].name == "ecr-scan-reporter-ecr-image-deleted"
    error_message = "The deletion rule is named <name_prefix>-ecr-image-deleted."
  }
  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.ecr_image_deleted[0].event_pattern) == {
      source      = ["aws.ecr"]
      detail-type = ["ECR Image Action"]
      detail      = { action-type = ["DELETE"], result = ["SUCCESS"] }
    }
    error_message = "The deletion rule matches successful ECR image deletions only (no push, no failure)."
  }
  assert {
    condition     = aws_cloudwatch_event_target.this["ecr_image_deleted"].rule == aws_cloudwatch_event_rule.ecr_image_deleted[0].name && aws_cloudwatch_event_target.this["ecr_image_deleted"].target_id == "ecr-scan-reporter-findings"
    error_message = "The deletion rule targets the findings function."
  }
  assert {
    condition     = length(aws_cloudwatch_event_target.this["ecr_image_deleted"].dead_letter_config) == 1
    error_message = "Deletion events EventBridge cannot deliver go to the failed-events queue."
  }
  assert {
    condition     = aws_lambda_permission.events["ecr_image_deleted"].principal == "events.amazonaws.com" && aws_lambda_permission.events["ecr_image_deleted"].function_name == aws_lambda_function.this["findings"].function_name
    error_message = "EventBridge may invoke the findings function for the deletion rule."
  }
  assert {
    condition     = strcontains(aws_sqs_queue_policy.failed_events[0].policy, "arn:aws:events:eu-west-1:123456789012:rule/ecr-scan-reporter-ecr-image-deleted")
    error_message = "The deletion rule may dead-letter to the failed-events queue."
  }
  assert {
    condition = [
      for s in jsondecode(aws_iam_role_policy.this["findings"].policy).Statement : s if s.Sid == "CheckDeletedImages"
      ] == [{
        Sid      = "CheckDeletedImages"
        Effect   = "Allow"
        Action   = ["ecr:DescribeImages"]
        Resource = ["arn:aws:ecr:eu-west-1:123456789012:repository/*"]
    }]
    error_message = "The findings function may ask ECR whether a deleted digest is gone (DescribeImages on this account's repositories)."
  }
  assert {
    condition     = contains(keys(output.event_rule_names), "ecr_image_deleted")
    error_message = "The outputs name the deletion rule."
  }
}
