# The Security Hub export (enable_security_hub_export): the findings function imports the images in breach as ASFF
# findings into this account's Security Hub, through the account's default product subscription, and nothing else,
# and resolves them when the image is deleted from ECR (lambda/ecr_scan_reporter/securityhub/, docs/securityhub.md).

locals {
  # The product subscription every account has for its own findings (BatchImportFindings' only resource type),
  # built from names so the plan shows it and the boolean alone decides the statement.
  securityhub_product_arn = "arn:${local.partition}:securityhub:${local.region}:${local.account_id}:product/${local.account_id}/default"

  # The findings function's environment: the product to import into, or "" (no export).
  securityhub_environment = var.enable_security_hub_export ? local.securityhub_product_arn : ""

  # What the findings function may do for the export, besides its own policy (iam.tf).
  securityhub_statements = {
    findings = var.enable_security_hub_export ? [
      {
        Sid      = "ImportSecurityHubFindings"
        Effect   = "Allow"
        Action   = ["securityhub:BatchImportFindings"]
        Resource = [local.securityhub_product_arn]
      },
      {
        # An image deletion event also names a tag removed from an image that remains: only a digest ECR no longer
        # has (ImageNotFoundException) has its findings resolved.
        Sid      = "CheckDeletedImages"
        Effect   = "Allow"
        Action   = ["ecr:DescribeImages"]
        Resource = [local.repository_arns]
      },
    ] : []
  }
}

# Images deleted from ECR: the findings function resolves what it exported for them (RESOLVED/ARCHIVED). Its target
# and permission are main.tf's, with the scan-event rules' (local.event_targets).
resource "aws_cloudwatch_event_rule" "ecr_image_deleted" {
  count = var.create && var.enable_security_hub_export ? 1 : 0

  name        = local.names.ecr_image_deleted_rule
  description = "Images deleted from ECR, whose Security Hub findings ecr-scan-reporter resolves (${var.name_prefix})."
  event_pattern = jsonencode({
    source      = ["aws.ecr"]
    detail-type = ["ECR Image Action"]
    detail = {
      action-type = ["DELETE"]
      result      = ["SUCCESS"]
    }
  })
  tags = local.tags
}
