# The Security Hub export (enable_security_hub_export): the findings function imports the images in breach as ASFF
# findings into this account's Security Hub, through the account's default product subscription, and nothing else
# (lambda/ecr_scan_reporter/securityhub/, docs/securityhub.md).

locals {
  # The product subscription every account has for its own findings (BatchImportFindings' only resource type),
  # built from names so the plan shows it and the boolean alone decides the statement.
  securityhub_product_arn = "arn:${local.partition}:securityhub:${local.region}:${local.account_id}:product/${local.account_id}/default"

  # The findings function's environment: the product to import into, or "" (no export).
  securityhub_environment = var.enable_security_hub_export ? local.securityhub_product_arn : ""

  # What the findings function may do for the export, besides its own policy (iam.tf).
  securityhub_statements = {
    findings = var.enable_security_hub_export ? [{
      Sid      = "ImportSecurityHubFindings"
      Effect   = "Allow"
      Action   = ["securityhub:BatchImportFindings"]
      Resource = [local.securityhub_product_arn]
    }] : []
  }
}
