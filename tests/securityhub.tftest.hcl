# The Security Hub export (securityhub.tf), asserted offline: `terraform test` (make tf-test). Off by default; when
# on, the findings function gets the account's product subscription in its environment and may import findings
# there and nowhere else; no other function gets anything.

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

variables {
  product_arn = "arn:aws:securityhub:eu-west-1:123456789012:product/123456789012/default"
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
      ] == [{
        Sid      = "ImportSecurityHubFindings"
        Effect   = "Allow"
        Action   = ["securityhub:BatchImportFindings"]
        Resource = [var.product_arn]
    }]
    error_message = "The findings function may call BatchImportFindings on the product subscription only, and no other Security Hub action."
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
